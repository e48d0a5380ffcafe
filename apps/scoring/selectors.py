"""Reads of the scoring app. Every page's query count is fixed, whatever the number of teams."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Max, Prefetch, QuerySet, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.core import figures, permissions
from apps.core.charts import chart_attr
from apps.delivery import metrics as delivery_metrics
from apps.teams.models import Department, Service, Team

from . import metrics, pillars
from .models import LEVEL_NAMES, PILLARS, Check, Exemption, ExemptionEvent, Scorecard, Snapshot

MAX_COMPARE = 6
PERIODS = {7: "week", 30: "month", 90: "quarter"}
TREND_WEEKS = 26
PALETTE = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#64748b"]
PILLAR_LABELS = dict(PILLARS)
DORA_LABELS = {
    "deployment_frequency": "Deployment frequency",
    "lead_time_hours": "Lead time",
    "change_failure_rate": "Change failure rate",
    "recovery_time_hours": "Failed deployment recovery time",
    "deployment_rework_rate": "Deployment rework rate",
}
# Throughput and instability are always shown together, each key with its own tier (never one
# DORA "overall" tier): DORA 2024's five metrics, grouped as apps.delivery.metrics.GROUPS says.
DORA_GROUPS = (
    ("Throughput", delivery_metrics.THROUGHPUT),
    ("Instability", delivery_metrics.INSTABILITY),
)
DORA_METRIC = {
    "deployment_frequency": "dora.deploys_per_day",
    "lead_time_hours": "dora.lead_time_hours",
    "change_failure_rate": "dora.change_failure_rate",
    "recovery_time_hours": "dora.time_to_restore_hours",
    "deployment_rework_rate": "dora.deployment_rework_rate",
}


def dora_figures(dora: dict | None) -> list[tuple[str, str, str, str | None]]:
    """(group, label, shown value, tier) of each key, throughput first then instability."""
    dora = dora or {}
    out = []
    for group, keys in DORA_GROUPS:
        for key in keys:
            entry = dora.get(key) or {}
            value = entry.get("per_day", entry.get("median", entry.get("value")))
            if key == "deployment_frequency" and value is None:
                value = 0.0  # no production deployment in the window: "no deployments"
            out.append((group, DORA_LABELS[key], metrics.format_value(DORA_METRIC[key], value), entry.get("tier")))
    return out


def _url(name: str, *args) -> str | None:
    """The URL of another app's page, or None while that page does not exist."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def score_band(value: float | None) -> str:
    """A colour band for heatmap cells and bars."""
    if value is None:
        return "none"
    if value >= 80:
        return "5"
    if value >= 65:
        return "4"
    if value >= 45:
        return "3"
    if value >= 25:
        return "2"
    return "1"


# --- scorecards -------------------------------------------------------------------------------


def scorecard_for(*, organization) -> Scorecard:
    """The org's scorecard with its checks (created from the default rubric the first time)."""
    from .services import scorecard_ensure

    card = scorecard_ensure(organization=organization)
    return Scorecard.objects.prefetch_related(
        Prefetch("checks", queryset=Check.objects.order_by("level", "order"))
    ).get(pk=card.pk)


def scorecard_list(*, user) -> QuerySet:
    return permissions.viewable(user, Scorecard.objects.select_related("organization")).prefetch_related(
        Prefetch("checks", queryset=Check.objects.order_by("level", "order"))
    )


def snapshot_list(*, user, team=None, since: date | None = None, until: date | None = None) -> QuerySet:
    qs = permissions.viewable(user, Snapshot.objects.select_related("team"))
    if team is not None:
        qs = qs.filter(team=team)
    if since is not None:
        qs = qs.filter(date__gte=since)
    if until is not None:
        qs = qs.filter(date__lte=until)
    return qs.order_by("team_id", "-date")


def exemption_list(*, user, team=None, status: str | None = None) -> QuerySet:
    qs = permissions.viewable(
        user, Exemption.objects.select_related("team", "level_check", "requested_by", "decided_by")
    ).prefetch_related(Prefetch("events", queryset=ExemptionEvent.objects.select_related("actor")))
    if team is not None:
        qs = qs.filter(team=team)
    if status:
        qs = qs.filter(status=status)
    return qs


def exemption_state(exemption: Exemption, today: date | None = None) -> str:
    """requested | granted | expired | rejected | revoked (a grant past its date is expired)."""
    today = today or timezone.localdate()
    if exemption.status == Exemption.Status.GRANTED and exemption.expires_on and exemption.expires_on < today:
        return "expired"
    return exemption.status


# --- one team ---------------------------------------------------------------------------------


def evidence_links(team: Team) -> dict[str, str | None]:
    """Where the numbers of each source can be checked, for this team."""
    links = {
        "assessments": _url("assessments:team_history", team.pk),
        "delivery": _url("delivery:team", team.pk),
        "slos": _url("slos:catalog"),
        "postmortems": _url("postmortems:incidents"),
        "sre": _url("sre:toil", team.pk),
        "runbooks": _url("sre:runbooks"),
    }
    if links["runbooks"]:
        links["runbooks"] += f"?team={team.pk}"
    if links["slos"]:
        links["slos"] += f"?team={team.pk}"
    if links["postmortems"]:
        links["postmortems"] += f"?team={team.pk}"
    return links


def _from_first_evidence(history: list[Snapshot]) -> list[Snapshot]:
    """The trend starts where evidence starts: snapshots before the first measured one are left out."""
    for i, snap in enumerate(history):
        if snap.is_measured:
            return history[i:]
    return []


def _trend_chart(history: list[Snapshot]) -> str | None:
    if len(history) < 2:
        return None
    labels = [s.date.isoformat() for s in history]
    datasets = [
        {
            "label": "Overall",
            "data": [s.overall for s in history],
            "borderColor": "#1e1b4b",
            "backgroundColor": "#1e1b4b",
            "borderWidth": 3,
            "tension": 0.25,
            "spanGaps": True,
        }
    ]
    for i, (key, label) in enumerate(PILLARS):
        datasets.append(
            {
                "label": label,
                "data": [getattr(s, key) for s in history],
                "borderColor": PALETTE[i + 1],
                "backgroundColor": PALETTE[i + 1],
                "borderWidth": 1.5,
                "borderDash": [4, 3],
                "tension": 0.25,
                "spanGaps": True,
                "pointRadius": 0,
            }
        )
    datasets.append(
        {
            "label": "Level",
            "data": [s.level for s in history],
            "yAxisID": "level",
            "stepped": True,
            "borderColor": "#f59e0b",
            "backgroundColor": "rgba(245,158,11,.12)",
            "fill": True,
            "pointRadius": 0,
        }
    )
    return chart_attr(
        {
            "type": "line",
            "data": {"labels": labels, "datasets": datasets},
            "options": {
                "responsive": True,
                "maintainAspectRatio": False,
                "interaction": {"mode": "index", "intersect": False},
                "scales": {
                    "y": {"min": 0, "max": 100, "title": {"display": True, "text": "Score"}},
                    "level": {
                        "position": "right",
                        "min": 0,
                        "max": 5,
                        "ticks": {"stepSize": 1},
                        "grid": {"drawOnChartArea": False},
                        "title": {"display": True, "text": "Level"},
                    },
                },
                "plugins": {"legend": {"position": "bottom"}},
            },
        }
    )


@dataclass
class PillarCard:
    key: str
    label: str
    score: float | None
    weight: int
    band: str
    parts: list[tuple[str, str]] = field(default_factory=list)
    evidence_url: str | None = None


def pillar_cards(snapshot: Snapshot, links: dict) -> list[PillarCard]:
    """The four pillars with the inputs behind each, in words."""
    inputs = snapshot.inputs or {}
    weights = snapshot.weights or {}
    a = inputs.get("assessment") or {}
    dora = inputs.get("dora") or {}
    rel = inputs.get("reliability") or {}
    learning = inputs.get("learning") or {}
    cards = []
    parts = (
        [(pillars.DIMENSION_LABELS[d], _fmt_score((a.get("dimensions") or {}).get(d))) for d in pillars.DIMENSIONS]
        if a
        else [("Self-assessment", "none submitted")]
    )
    cards.append(("self_assessment", parts, links.get("assessments")))
    parts = [
        (f"{label} ({group.lower()})", f"{shown} · {tier}" if tier else shown)
        for group, label, shown, tier in dora_figures(dora)
    ]
    cards.append(("delivery", parts, links.get("delivery")))
    rparts = pillars.reliability_parts(rel)
    if rparts is None:
        parts = [("Services", "none owned")]
    else:
        parts = [
            (COVERAGE_LABEL, figures.share(rparts["coverage"])),
            ("Services with an SLO", figures.of(rel.get("services_with_slo"), rel.get("services"))),
            ("SLOs meeting target", metrics.format_value("slo.attainment", rel.get("attainment"))),
            ("Budget left (avg)", metrics.format_value("slo.budget_remaining", rel.get("budget_remaining_avg"))),
        ]
    cards.append(("reliability", parts, links.get("slos")))
    parts = [
        (
            f"SEV1-2 with a published postmortem ({window_label(inputs)})",
            figures.of(learning.get("sev12_with_published_pm"), learning.get("sev12_incidents"), none="no SEV1-2"),
        ),
        (
            "Median days to publish",
            metrics.format_value("pm.median_days_to_publish", learning.get("median_days_to_publish")),
        ),
        (
            "Action items closed on time",
            figures.of(learning.get("action_items_closed_on_time"), learning.get("action_items_due"), none="none due"),
        ),
    ]
    cards.append(("learning", parts, links.get("postmortems")))
    return [
        PillarCard(
            key=key,
            label=PILLAR_LABELS[key],
            score=getattr(snapshot, key),
            weight=weights.get(key, 0),
            band=score_band(getattr(snapshot, key)),
            parts=parts,
            evidence_url=url,
        )
        for key, parts, url in cards
    ]


COVERAGE_LABEL = "SLO coverage (tier-weighted)"


def window_label(inputs: dict) -> str:
    """The learning window a snapshot's postmortem figures cover, in words ("last 90 days")."""
    from apps.postmortems.selectors import LEARNING_WINDOW_DAYS

    return f"last {LEARNING_WINDOW_DAYS} days"


def _fmt_score(value) -> str:
    return "no answer" if value is None else figures.score(value)


@dataclass
class TeamScorecard:
    team: Team
    scorecard: Scorecard
    latest: Snapshot | None
    history: list[Snapshot]
    checks_by_level: list[tuple[int, str, list[dict]]]
    pillar_cards: list[PillarCard]
    trend_chart: str | None
    exemptions: list[Exemption]
    requestable_checks: list[Check]
    links: dict
    level_name: str = ""
    pending_check_ids: set = field(default_factory=set)


def team_scorecard(*, user, team: Team) -> TeamScorecard:
    scorecard = scorecard_for(organization=team.organization)
    since = timezone.localdate() - timedelta(weeks=52)
    history = list(Snapshot.objects.filter(team=team, date__gte=since).order_by("date"))
    latest = history[-1] if history else Snapshot.objects.filter(team=team).order_by("-date").first()
    links = evidence_links(team)
    by_level: dict[int, list[dict]] = defaultdict(list)
    for result in latest.checks if latest else []:
        by_level[result["level"]].append(pillars.present_check(result))
    checks_by_level = [(lvl, LEVEL_NAMES[lvl], by_level[lvl]) for lvl in sorted(by_level)]
    exemptions = list(exemption_list(user=user, team=team).order_by("-created_at"))
    today = timezone.localdate()
    for e in exemptions:
        e.state = exemption_state(e, today)
    open_ids = {e.level_check_id for e in exemptions if e.state in ("requested", "granted")}
    failed_ids = {r["id"] for r in (latest.checks if latest else []) if r["status"] == "failed"}
    requestable = [c for c in scorecard.checks.all() if c.pk not in open_ids and (not latest or c.pk in failed_ids)]
    return TeamScorecard(
        team=team,
        scorecard=scorecard,
        latest=latest,
        history=history,
        checks_by_level=checks_by_level,
        pillar_cards=pillar_cards(latest, links) if latest else [],
        trend_chart=_trend_chart(_from_first_evidence(history)),
        exemptions=exemptions,
        requestable_checks=requestable,
        links=links,
        level_name=LEVEL_NAMES.get(latest.level, "") if latest else "",
        pending_check_ids={e.level_check_id for e in exemptions if e.state == "requested"},
    )


def team_panel(request, team) -> dict:
    """Context of the level badge and pillars on the team page (one query)."""
    latest = Snapshot.objects.filter(team=team).order_by("-date").first()
    return {
        "snapshot": latest,
        "pillars": [(label, getattr(latest, key), score_band(getattr(latest, key))) for key, label in PILLARS]
        if latest
        else [],
        "url": reverse("scoring:team", args=[team.pk]),
    }


# --- leadership ---------------------------------------------------------------------------------


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


LIGHT_FIELDS = ("team_id", "organization_id", "date", "overall", "level", *pillars.PILLAR_KEYS, "gaps")


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


def previous_scores(teams: QuerySet, *, on_or_before: date) -> dict[int, Previous]:
    """{team id: its latest overall and level on or before a day}, two queries (no model instances)."""
    base = Snapshot.objects.filter(team__in=teams.values("pk"), date__lte=on_or_before)
    latest = dict(base.order_by().values("team_id").annotate(last=Max("date")).values_list("team_id", "last"))
    if not latest:
        return {}
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
    previous = {tid: p for tid, p in previous_scores(teams, on_or_before=compared_to).items() if p.overall is not None}
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
        trend_chart=_org_trend_chart(
            teams, as_of, {t.department_id: t.department.name for t in team_list if t.department_id}
        ),
        levels_chart=_levels_chart(departments),
        teams_without_scores=len(team_list) - len(rows),
        top_gaps=gaps,
        unmeasured=unmeasured,
        cohort=cohort,
    )


def _org_trend_chart(teams: QuerySet, as_of: date, departments: dict[int | None, str]) -> str | None:
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
    overall = {d: [total / n] for d, (total, n) in sums.items()}
    days = sorted(overall)
    if len(days) < 2:
        return None
    datasets = [
        {
            "label": "Organization",
            "data": [round(overall[d][0], 1) for d in days],
            "borderColor": "#1e1b4b",
            "backgroundColor": "#1e1b4b",
            "borderWidth": 3,
            "tension": 0.25,
        }
    ]
    for i, (name, series) in enumerate(sorted(by_dept.items())):
        datasets.append(
            {
                "label": name,
                "data": [round(series[d], 1) if d in series else None for d in days],
                "borderColor": PALETTE[(i + 1) % len(PALETTE)],
                "backgroundColor": PALETTE[(i + 1) % len(PALETTE)],
                "borderWidth": 1.5,
                "tension": 0.25,
                "spanGaps": True,
                "pointRadius": 0,
            }
        )
    return chart_attr(
        {
            "type": "line",
            "data": {"labels": [d.isoformat() for d in days], "datasets": datasets},
            "options": {
                "responsive": True,
                "maintainAspectRatio": False,
                "interaction": {"mode": "index", "intersect": False},
                "scales": {"y": {"min": 0, "max": 100, "title": {"display": True, "text": "Average overall score"}}},
                "plugins": {"legend": {"position": "bottom"}},
            },
        }
    )


LEVEL_COLOURS = {1: "#ef4444", 2: "#f59e0b", 3: "#eab308", 4: "#10b981", 5: "#4f46e5"}


def _levels_chart(departments: list[Rollup]) -> str | None:
    if not departments:
        return None
    return chart_attr(
        {
            "type": "bar",
            "data": {
                "labels": [d.label for d in departments],
                "datasets": [
                    {
                        "label": f"Level {lvl} · {LEVEL_NAMES[lvl]}",
                        "data": [d.levels[lvl] for d in departments],
                        "backgroundColor": LEVEL_COLOURS[lvl],
                    }
                    for lvl in range(1, 6)
                ],
            },
            "options": {
                "indexAxis": "y",
                "responsive": True,
                "maintainAspectRatio": False,
                "scales": {
                    "x": {"stacked": True, "beginAtZero": True, "ticks": {"precision": 0}},
                    "y": {"stacked": True},
                },
                "plugins": {"legend": {"position": "bottom"}},
            },
        }
    )


# --- comparison -------------------------------------------------------------------------------


class CompareError(ValueError):
    pass


def parse_team_ids(raw: str | list[str] | None) -> list[int]:
    """ "1,2,3" (or repeated values) to a list of at most 6 distinct ids; bad input raises CompareError."""
    if not raw:
        return []
    parts = raw if isinstance(raw, list) else [raw]
    ids: list[int] = []
    for part in parts:
        for piece in str(part).split(","):
            piece = piece.strip()
            if not piece:
                continue
            if not piece.isdigit():
                raise CompareError(f"{piece!r} is not a team id.")
            if int(piece) not in ids:
                ids.append(int(piece))
    if len(ids) > MAX_COMPARE:
        raise CompareError(f"Compare at most {MAX_COMPARE} teams at once.")
    return ids


@dataclass
class CompareColumn:
    team: Team
    snapshot: Snapshot | None
    colour: str

    def _in(self, *path):
        d = (self.snapshot.inputs if self.snapshot else {}) or {}
        for p in path:
            d = (d or {}).get(p)
        return d

    @property
    def pillars(self) -> list[tuple[str, float | None, str]]:
        if not self.snapshot:
            return [(label, None, "none") for _, label in PILLARS]
        return [(label, getattr(self.snapshot, key), score_band(getattr(self.snapshot, key))) for key, label in PILLARS]

    @property
    def dora(self) -> list[tuple[str, str, str, str | None]]:
        return dora_figures(self._in("dora"))

    @property
    def slo(self) -> list[tuple[str, str]]:
        rel = self._in("reliability") or {}
        return [
            (COVERAGE_LABEL, figures.share((pillars.reliability_parts(rel) or {}).get("coverage"))),
            ("Services with an SLO", figures.of(rel.get("services_with_slo"), rel.get("services"))),
            (
                "Tier-1 coverage",
                metrics.format_value("slo.coverage_tier1", (rel.get("coverage_by_tier") or {}).get("1")),
            ),
            ("SLOs meeting target", metrics.format_value("slo.attainment", rel.get("attainment"))),
            ("Budget left (avg)", metrics.format_value("slo.budget_remaining", rel.get("budget_remaining_avg"))),
        ]

    @property
    def calms(self) -> list[tuple[str, float | None]]:
        dims = self._in("assessment", "dimensions") or {}
        return [(pillars.DIMENSION_LABELS[d], dims.get(d)) for d in pillars.DIMENSIONS]


@dataclass
class Comparison:
    columns: list[CompareColumn]
    radar_chart: str | None
    calms_chart: str | None


def comparison(*, user, organization, team_ids: list[int]) -> Comparison:
    """Side by side: the chosen teams' latest snapshots. Teams the user cannot see are ignored."""
    teams = permissions.viewable(user, Team.objects.filter(organization=organization, pk__in=team_ids)).select_related(
        "department"
    )
    order = {tid: i for i, tid in enumerate(team_ids)}
    team_list = sorted(teams, key=lambda t: order[t.pk])
    latest = latest_snapshots(teams)
    columns = [CompareColumn(t, latest.get(t.pk), PALETTE[i % len(PALETTE)]) for i, t in enumerate(team_list)]
    scored = [c for c in columns if c.snapshot]
    radar = calms = None
    if scored:
        radar = chart_attr(
            {
                "type": "radar",
                "data": {
                    "labels": [label for _, label in PILLARS],
                    "datasets": [
                        {
                            "label": c.team.name,
                            # No data is a gap in the radar, never a 0.
                            "data": [getattr(c.snapshot, key) for key, _ in PILLARS],
                            "spanGaps": False,
                            "borderColor": c.colour,
                            "backgroundColor": c.colour + "22",
                            "pointBackgroundColor": c.colour,
                        }
                        for c in scored
                    ],
                },
                "options": {
                    "responsive": True,
                    "maintainAspectRatio": False,
                    "scales": {"r": {"min": 0, "max": 100, "ticks": {"stepSize": 20}}},
                    "plugins": {"legend": {"position": "bottom"}},
                },
            }
        )
        calms = chart_attr(
            {
                "type": "bar",
                "data": {
                    "labels": [pillars.DIMENSION_LABELS[d] for d in pillars.DIMENSIONS],
                    "datasets": [
                        {"label": c.team.name, "data": [v for _, v in c.calms], "backgroundColor": c.colour}
                        for c in scored
                    ],
                },
                "options": {
                    "responsive": True,
                    "maintainAspectRatio": False,
                    "scales": {"y": {"min": 0, "max": 100}},
                    "plugins": {"legend": {"position": "bottom"}},
                },
            }
        )
    return Comparison(columns=columns, radar_chart=radar, calms_chart=calms)


def comparison_payload(comp: Comparison) -> list[dict]:
    """The comparison as plain data (API)."""
    out = []
    for c in comp.columns:
        s = c.snapshot
        out.append(
            {
                "team": {"id": c.team.pk, "name": c.team.name},
                "date": s.date if s else None,
                "level": s.level if s else None,
                "overall": s.overall if s else None,
                "pillars": s.pillars if s else dict.fromkeys(pillars.PILLAR_KEYS),
                "pillars_measured": s.measured if s else 0,
                "dora": (s.inputs or {}).get("dora") if s else None,
                "reliability": (s.inputs or {}).get("reliability") if s else None,
                "calms": ((s.inputs or {}).get("assessment") or {}).get("dimensions") if s else None,
                "gaps": s.gaps if s else [],
            }
        )
    return out


# --- CSV ------------------------------------------------------------------------------------------

CSV_HEADER = [
    "rank",
    "movement",
    "team",
    "department",
    "level",
    "level_name",
    "overall",
    "self_assessment",
    "delivery",
    "reliability",
    "learning",
    "deployment_frequency_tier",
    "lead_time_tier",
    "change_failure_rate_tier",
    "time_to_restore_tier",
    "slo_coverage_tier_weighted",
    "services_with_slo_share",
    "slo_attainment",
    "postmortems_published_share",
    "perception_gaps",
    "failed_checks",
    "pillars_measured",
    "snapshot_date",
]


def csv_rows(board: Dashboard) -> list[list]:
    rows = []
    for r in board.rows:
        s = r.snapshot
        inputs = s.inputs or {}
        dora = inputs.get("dora") or {}
        rel = inputs.get("reliability") or {}
        learning = inputs.get("learning") or {}
        rparts = pillars.reliability_parts(rel) or {}
        rows.append(
            [
                r.rank,
                "" if r.movement is None else r.movement,
                r.team.name,
                r.team.department.name if r.team.department else "",
                s.level,
                s.level_name,
                _csv_num(s.overall),
                *(_csv_num(getattr(s, k)) for k in pillars.PILLAR_KEYS),
                *((dora.get(k) or {}).get("tier") or "" for k in pillars.DORA_KEYS),
                _csv_num(rparts.get("coverage"), figures.SHARE_DIGITS),
                _csv_num(metrics.METRICS["slo.coverage"].fn({"reliability": rel}), figures.SHARE_DIGITS),
                _csv_num(rel.get("attainment"), figures.SHARE_DIGITS),
                _csv_num(learning.get("published_share"), figures.SHARE_DIGITS),
                "; ".join(g["label"] for g in s.gaps),
                sum(1 for c in s.checks if c["status"] == "failed"),
                s.measured,
                s.date.isoformat(),
            ]
        )
    # Teams without evidence are listed too, unranked and without figures.
    blank = [""] * (len(CSV_HEADER) - 8)
    for team, snap in board.unmeasured:
        department = team.department.name if team.department else ""
        rows.append(
            ["", "", team.name, department, "", "not yet measured", *blank, 0, snap.date.isoformat() if snap else ""]
        )
    return rows


def _csv_num(value, digits: int = figures.SCORE_DIGITS):
    """The stored precision (apps/core/figures.py): pages show this value rounded, never another."""
    return "" if value is None else figures.stored(value, digits)


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


def mixed_departments(comp: Comparison) -> int:
    """How many departments the compared teams come from (more than one: say so)."""
    return len({c.team.department_id for c in comp.columns})


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
