"""Reads of the leadership pages: the ranking, rollups, movers and summaries (fixed query counts)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Max, QuerySet, Sum
from django.urls import reverse

from apps.core import figures, permissions
from apps.teams.models import Department, Service, Team

from .. import charts, pillars
from ..models import LEVEL_NAMES, PILLARS, Snapshot
from .common import TREND_WEEKS, score_band


@dataclass
class Filters:
    department: Department | None = None
    tier: int | None = None
    period: int = 30


def leadership_teams(*, organization, filters: Filters) -> QuerySet:
    teams = Team.objects.filter(organization=organization).select_related("department")
    if filters.department is not None:
        # A department includes the teams of the departments nested inside it.
        ids = _department_subtree(organization, filters.department)
        teams = teams.filter(department_id__in=ids)
    if filters.tier:
        teams = teams.filter(pk__in=Service.objects.filter(tier=filters.tier).values("team_id"))
    return teams


def _department_subtree(organization, department: Department) -> set[int]:
    children = defaultdict(list)
    for pk, parent_id in Department.objects.filter(organization=organization).values_list("pk", "parent_id"):
        children[parent_id].append(pk)
    out, stack = set(), [department.pk]
    while stack:
        pk = stack.pop()
        out.add(pk)
        stack.extend(children[pk])
    return out


# `checks` too: the ranking shows each team's exemption rate and the level it will hold after grace periods.
LIGHT_FIELDS = ("team_id", "organization_id", "date", "overall", "level", *pillars.PILLAR_KEYS, "gaps", "checks")


def latest_snapshots(teams: QuerySet, *, on_or_before: date | None = None, light: bool = False) -> dict[int, Snapshot]:
    """{team id: latest snapshot (on or before a day)} in two queries, whatever the number of teams.

    `light` loads only the scores and gaps (not the inputs and check results) for pages listing many teams."""
    base = Snapshot.objects.filter(team__in=teams.values("pk"))
    if on_or_before is not None:
        base = base.filter(date__lte=on_or_before)
    latest = dict(base.order_by().values("team_id").annotate(last=Max("date")).values_list("team_id", "last"))
    if not latest:
        return {}
    rows = base.filter(date__in=set(latest.values()))
    if light:
        rows = rows.only(*LIGHT_FIELDS)
    return {s.team_id: s for s in rows if latest.get(s.team_id) == s.date}


def _display(value: float | None) -> str:
    return figures.score(value)


@dataclass
class Previous:
    """What the ranking needs of a team's snapshot one period ago."""

    team_id: int
    date: date
    overall: float | None
    level: int
    exemption_rate: float | None = None


@dataclass
class Row:
    """One team on the leadership pages, with its display values computed once (pages list hundreds)."""

    team: Team
    snapshot: Snapshot
    rank: int = 0
    previous: Previous | None = None
    previous_rank: int | None = None
    url: str = ""
    cells: list[tuple[str, str, str]] = field(default_factory=list)
    overall_display: str = figures.NO_DATA

    def __post_init__(self):
        s = self.snapshot
        self.cells = [(label, _display(getattr(s, key)), score_band(getattr(s, key))) for key, label in PILLARS]
        self.overall_display = _display(s.overall)

    @property
    def movement(self) -> int | None:
        return None if self.previous_rank is None else self.previous_rank - self.rank

    @property
    def movement_abs(self) -> int | None:
        return None if self.movement is None else abs(self.movement)

    @property
    def score_change(self) -> float | None:
        """Points moved, as the difference of the two scores people read (89 - 86 = +3)."""
        if self.previous is None or self.previous.overall is None or self.snapshot.overall is None:
            return None
        return figures.score_number(self.snapshot.overall) - figures.score_number(self.previous.overall)

    @property
    def level_change(self) -> int | None:
        return None if self.previous is None else self.snapshot.level - self.previous.level

    @property
    def exemption_rate(self) -> float | None:
        return self.snapshot.exemption_rate

    @property
    def exemption_rate_change(self) -> float | None:
        """Change of the exemption rate since one period ago (a rising rate is a signal), in points of share."""
        before = self.previous.exemption_rate if self.previous else None
        now = self.exemption_rate
        if before is None or now is None:
            return None
        return now - before

    @property
    def exemption_rate_rising(self) -> bool:
        change = self.exemption_rate_change
        return change is not None and change > 0

    @property
    def level_when_applied(self) -> int:
        return self.snapshot.level_when_applied

    @property
    def pending_count(self) -> int:
        return len(self.snapshot.pending_checks)


def previous_scores(teams: QuerySet, *, on_or_before: date, with_exemption_rate: bool = False) -> dict[int, Previous]:
    """{team id: its latest overall and level on or before a day}, two queries (no model instances).
    `with_exemption_rate` also loads the check results to give that day's exemption rate."""
    base = Snapshot.objects.filter(team__in=teams.values("pk"), date__lte=on_or_before)
    latest = dict(base.order_by().values("team_id").annotate(last=Max("date")).values_list("team_id", "last"))
    if not latest:
        return {}
    if with_exemption_rate:
        rows = base.filter(date__in=set(latest.values())).values_list("team_id", "date", "overall", "level", "checks")
        return {
            tid: Previous(tid, day, overall, level, pillars.exemption_rate(checks or []))
            for tid, day, overall, level, checks in rows
            if latest[tid] == day
        }
    rows = base.filter(date__in=set(latest.values())).values_list("team_id", "date", "overall", "level")
    return {tid: Previous(tid, day, overall, level) for tid, day, overall, level in rows if latest[tid] == day}


def _rank(snapshots: dict) -> dict[int, int]:
    """Competition ranking by overall score (ties share a rank; no score ranks last)."""
    ordered = sorted(snapshots.values(), key=lambda s: (s.overall is None, -(s.overall or 0), -s.level))
    ranks, prev_key, prev_rank = {}, None, 0
    for i, s in enumerate(ordered, 1):
        key = (s.overall, s.level)
        prev_rank = prev_rank if key == prev_key else i
        ranks[s.team_id] = prev_rank
        prev_key = key
    return ranks


@dataclass
class Rollup:
    label: str
    teams: int
    overall: float | None
    level: float | None
    pillars: list[tuple[str, float | None, str]]
    levels: dict[int, int]
    gaps: int
    level_shares: list[tuple[int, str, int, int]] = field(default_factory=list)


def _avg(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 1) if values else None


def rollup(label: str, rows: list[Row]) -> Rollup:
    snaps = [r.snapshot for r in rows]
    levels = dict.fromkeys(range(1, 6), 0)
    for s in snaps:
        levels[s.level] += 1
    return Rollup(
        label=label,
        teams=len(snaps),
        overall=_avg(s.overall for s in snaps),
        level=_avg(s.level for s in snaps),
        pillars=[
            (label_, avg, score_band(avg)) for key, label_ in PILLARS for avg in [_avg(getattr(s, key) for s in snaps)]
        ],
        levels=levels,
        gaps=sum(len(s.gaps) for s in snaps),
    )


@dataclass
class Dashboard:
    rows: list[Row]
    org: Rollup | None
    departments: list[Rollup]
    as_of: date | None
    compared_to: date | None
    trend_chart: str | None
    levels_chart: str | None
    teams_without_scores: int
    top_gaps: list[tuple[Row, dict]]
    # Teams with no evidence at all (no snapshot, or a snapshot with no pillar measured): listed apart.
    unmeasured: list[tuple[Team, Snapshot | None]] = field(default_factory=list)
    # The cohort the ranking is within, in words ("Product Engineering", "teams owning a tier-1 service").
    cohort: str = ""

    @property
    def movers(self) -> list[Row]:
        """Each measured team against its own baseline (its score one period ago), largest move first."""
        moved = [r for r in self.rows if r.score_change is not None]
        return sorted(moved, key=lambda r: (-abs(r.score_change), -r.score_change, r.team.name))

    @property
    def checked_unmeasured(self) -> bool:
        """Whether the scoring job has looked at any of the unmeasured teams (and found no evidence)."""
        return any(snap is not None for _team, snap in self.unmeasured)

    @property
    def pending_checks(self) -> list[dict]:
        """The rubric's checks in their grace period (the same for every team of the org), soonest first."""
        seen: dict[str, dict] = {}
        for r in self.rows:
            for c in r.snapshot.pending_checks:
                seen.setdefault(c["key"], c)
        return sorted(seen.values(), key=lambda c: (c["pending_until"], c["level"], c["key"]))

    @property
    def grace_drops(self) -> list[Row]:
        """Teams that will hold a lower level once the pending checks apply, largest drop first."""
        drops = [r for r in self.rows if r.level_when_applied < r.snapshot.level]
        return sorted(drops, key=lambda r: (r.level_when_applied - r.snapshot.level, r.team.name))

    @property
    def exemptions_rising(self) -> list[Row]:
        """Teams whose exemption rate rose since one period ago, largest rise first."""
        return sorted(
            (r for r in self.rows if r.exemption_rate_rising), key=lambda r: (-r.exemption_rate_change, r.team.name)
        )

    @property
    def new_teams(self) -> list[Row]:
        """Measured teams with no baseline yet (no measured score a period ago)."""
        return [r for r in self.rows if r.score_change is None]


def cohort_label(*, organization, filters: Filters) -> str:
    parts = []
    if filters.department is not None:
        parts.append(f"{filters.department.name} (with its sub-departments)")
    if filters.tier:
        parts.append(f"teams owning a tier-{filters.tier} service")
    return ", ".join(parts) if parts else f"all of {organization.name}"


def dashboard(*, organization, filters: Filters, full: bool = False) -> Dashboard:
    """Everything on the leadership page, in a fixed number of queries. `full` also loads
    each snapshot's inputs and check results (the CSV export).

    Only measured teams (a score resting on at least one pillar) are ranked and rolled up;
    teams without evidence are listed apart as "not yet measured"."""
    teams = leadership_teams(organization=organization, filters=filters)
    team_list = list(teams)
    cohort = cohort_label(organization=organization, filters=filters)
    latest = latest_snapshots(teams, light=not full)
    by_id = {t.pk: t for t in team_list}
    measured = {tid: s for tid, s in latest.items() if s.is_measured and tid in by_id}
    unmeasured = [(t, latest.get(t.pk)) for t in sorted(team_list, key=lambda t: t.name) if t.pk not in measured]
    if not measured:
        return Dashboard([], None, [], None, None, None, None, len(team_list), [], unmeasured, cohort)
    as_of = max(s.date for s in latest.values())
    compared_to = as_of - timedelta(days=filters.period)
    previous = {
        tid: p
        for tid, p in previous_scores(teams, on_or_before=compared_to, with_exemption_rate=True).items()
        if p.overall is not None
    }
    ranks, prev_ranks = _rank(measured), _rank(previous)
    url = reverse("scoring:team", args=[0]).replace("/0/", "/{}/")
    rows = [
        Row(
            team=by_id[tid],
            snapshot=snap,
            rank=ranks[tid],
            previous=previous.get(tid),
            previous_rank=prev_ranks.get(tid),
            url=url.format(tid),
        )
        for tid, snap in measured.items()
    ]
    rows.sort(key=lambda r: (r.rank, r.team.name))
    by_dept: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_dept[r.team.department.name if r.team.department else "No department"].append(r)
    departments = sorted((rollup(name, rs) for name, rs in by_dept.items()), key=lambda d: d.label)
    gaps = sorted(((r, g) for r in rows for g in r.snapshot.gaps), key=lambda rg: -rg[1]["gap"])[:8]
    return Dashboard(
        rows=rows,
        org=rollup(organization.name, rows),
        departments=departments,
        as_of=as_of,
        compared_to=compared_to,
        trend_chart=org_trend_chart(
            teams, as_of, {t.department_id: t.department.name for t in team_list if t.department_id}
        ),
        levels_chart=charts.levels_chart(departments),
        teams_without_scores=len(team_list) - len(rows),
        top_gaps=gaps,
        unmeasured=unmeasured,
        cohort=cohort,
    )


def org_trend_chart(teams: QuerySet, as_of: date, departments: dict[int | None, str]) -> str | None:
    """Average overall score per snapshot day, for the org (filtered) and per department: one query."""
    since = as_of - timedelta(weeks=TREND_WEEKS)
    points = (
        Snapshot.objects.filter(team__in=teams.values("pk"), date__gte=since, date__lte=as_of, overall__isnull=False)
        .values("date", "team__department_id")
        .annotate(total=Sum("overall"), n=Count("pk"))
        .order_by("date")
    )
    by_dept: dict[str, dict[date, float]] = defaultdict(dict)
    sums: dict[date, list[float]] = defaultdict(lambda: [0.0, 0])
    for p in points:
        name = departments.get(p["team__department_id"], "No department")
        by_dept[name][p["date"]] = p["total"] / p["n"]
        sums[p["date"]][0] += p["total"]
        sums[p["date"]][1] += p["n"]
    overall = {d: total / n for d, (total, n) in sums.items()}
    return charts.org_trend_chart(sorted(overall), overall, by_dept)


def departments_for(*, organization) -> QuerySet:
    return Department.objects.filter(organization=organization).select_related("parent").order_by("name")


def teams_for_picker(*, user, organization, filters: Filters | None = None) -> QuerySet:
    """The teams a leader may pick for a comparison, within the cohort of `filters` when given."""
    teams = (
        leadership_teams(organization=organization, filters=filters)
        if filters
        else Team.objects.filter(organization=organization)
    )
    return permissions.viewable(user, teams).order_by("name")


def org_summary(*, organization) -> Rollup | None:
    """The org's average scores and teams per level (no ranking), for people who see their own teams."""
    teams = Team.objects.filter(organization=organization)
    latest = {tid: s for tid, s in latest_snapshots(teams, light=True).items() if s.is_measured}
    if not latest:
        return None
    summary = rollup(organization.name, [Row(team=None, snapshot=s) for s in latest.values()])
    summary.level_shares = [
        (lvl, LEVEL_NAMES[lvl], n, round(100 * n / summary.teams)) for lvl, n in summary.levels.items()
    ]
    return summary


def my_team_snapshots(*, user, organization) -> list[tuple[Team, Snapshot | None]]:
    teams = Team.objects.filter(organization=organization, pk__in=permissions.team_ids(user)).order_by("name")
    latest = latest_snapshots(teams)
    return [(t, latest.get(t.pk)) for t in teams]
