"""Reads of the initiatives app: what each item in scope passes, progress, the list and the panels.

Judging a metric check reuses the scorecard's rule (`apps.scoring.pillars.evaluate_checks`) on the
team's latest score snapshot on or before the day; a service check asks apps.servicechecks
(when installed) and, for a team in scope, passes when every applicable service of the team passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Max, Prefetch, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.core import permissions
from apps.scoring import metrics, pillars
from apps.scoring.models import Snapshot
from apps.teams.models import Service, Team

from . import charts, progress
from .models import Initiative, InitiativeCheck, InitiativeProgress


def may_manage(user, organization) -> bool:
    """Org admins and leaders (and the system) create and change initiatives: an initiative is the
    organization's, not a team's record. Adding checks to the rubric (graduating) is the org admins'."""
    return permissions.is_system(user) or permissions.sees_whole_org(user, organization)


def may_graduate(user, organization) -> bool:
    return permissions.is_system(user) or permissions.is_org_admin(user, organization)


# --- service checks (apps.servicechecks judges them) ---------------------------------------------


def service_check_choices() -> list[tuple[str, str]]:
    from apps.servicechecks import registry

    return list(registry.choices())


def service_check_label(key: str) -> str:
    return dict(service_check_choices()).get(key, key)


def _service_results(keys: list[str], service_ids: set[int], today: date) -> dict[tuple[str, int], tuple]:
    """{(check key, service id): (passed True/False/None, reason, link)}."""
    if not keys or not service_ids:
        return {}
    from apps.servicechecks import selectors as sc

    results = sc.evaluate(keys, Service.objects.filter(pk__in=service_ids), today=today)
    return {k: (r.passed, r.reason, r.link) for k, r in results.items()}


# --- one initiative's scope ------------------------------------------------------------------------


@dataclass
class Outcome:
    check: InitiativeCheck
    passed: bool
    status: str  # passed | failed | n/a
    actual: str
    target: str
    link: str | None = None
    reason: str = ""


@dataclass
class Item:
    kind: str  # team | service
    obj: object
    team: Team
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    @property
    def failing(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    @property
    def label(self) -> str:
        return str(self.obj)

    @property
    def url(self) -> str:
        return self.obj.get_absolute_url()


@dataclass
class Scope:
    initiative: Initiative
    as_of: date
    items: list[Item]

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def passing(self) -> int:
        return sum(1 for i in self.items if i.passed)

    @property
    def share(self) -> float | None:
        return progress.share(self.passing, self.total)

    def by_team(self) -> list[dict]:
        """One row per team with items in scope: passing/total and what fails (behind teams first)."""
        rows: dict[int, dict] = {}
        for item in self.items:
            row = rows.setdefault(item.team.pk, {"team": item.team, "items": [], "passing": 0, "total": 0})
            row["items"].append(item)
            row["total"] += 1
            row["passing"] += int(item.passed)
        out = list(rows.values())
        for row in out:
            row["share"] = progress.share(row["passing"], row["total"])
            row["done"] = row["passing"] == row["total"]
        return sorted(out, key=lambda r: (r["done"], r["share"] or 0, r["team"].name))


def latest_facts(team_ids, *, on_or_before: date) -> dict[int, dict]:
    """{team id: the facts a level check is judged on} from each team's latest snapshot on or before
    the day (two queries; portable, no DISTINCT ON, so the embedded SQLite default works too)."""
    base = Snapshot.objects.filter(team_id__in=list(team_ids), date__lte=on_or_before)
    latest = dict(base.order_by().values("team_id").annotate(last=Max("date")).values_list("team_id", "last"))
    if not latest:
        return {}
    snaps = base.filter(date__in=set(latest.values())).only(
        "team_id", "date", "overall", "inputs", *pillars.PILLAR_KEYS
    )
    return {
        s.team_id: {**s.inputs, "pillars": s.pillars, "overall": s.overall}
        for s in snaps
        if latest[s.team_id] == s.date
    }


def _url(name, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _metric_evidence(metric_key: str, team: Team) -> str | None:
    metric = metrics.METRICS.get(metric_key)
    app = metric.evidence if metric else ""
    return {
        "assessments": _url("assessments:team_history", team.pk),
        "delivery": _url("delivery:team", team.pk),
        "slos": (_url("slos:catalog") or "") + f"?team={team.pk}",
        "postmortems": (_url("postmortems:incidents") or "") + f"?team={team.pk}",
        "sre": _url("sre:toil", team.pk),
    }.get(app) or _url("scoring:team", team.pk)


def judge_metric(check: InitiativeCheck, facts: dict | None, as_of: date) -> dict:
    """The scorecard's evaluation of one metric check on a team's facts (None: no snapshot)."""
    spec = pillars.CheckSpec(
        id=check.pk,
        key=f"initiative-check-{check.pk}",
        level=0,
        name=check.name,
        metric=check.metric,
        operator=check.operator,
        value=check.value,
        hint=check.hint,
        when_missing=check.when_missing,
    )
    return pillars.evaluate_checks([spec], facts or {"as_of": as_of.isoformat()})[0]


def _metric_outcome(check, team, facts, as_of) -> Outcome:
    r = judge_metric(check, facts, as_of)
    return Outcome(
        check=check,
        passed=r["passed"],
        status="passed" if r["passed"] else "failed",
        actual=r["actual_display"],
        target=r["target"],
        link=_metric_evidence(check.metric, team),
        reason=check.hint if not r["passed"] else "",
    )


def _service_outcome(check, service_ids: list[int], results: dict) -> Outcome:
    judged = [results.get((check.service_check, sid)) for sid in service_ids]
    applicable = [r for r in judged if r is not None and r[0] is not None]
    failing = [r for r in applicable if r[0] is False]
    if not applicable:
        return Outcome(check, True, "n/a", "not applicable", "pass", None, "Nothing in scope to judge.")
    passing = len(applicable) - len(failing)
    first = failing[0] if failing else applicable[0]
    return Outcome(
        check=check,
        passed=not failing,
        status="failed" if failing else "passed",
        actual=f"{passing} of {len(applicable)} services",
        target="every service",
        link=first[2],
        reason=first[1] if failing else "",
    )


def evaluate(initiative: Initiative, *, as_of: date | None = None, team_ids: set[int] | None = None) -> Scope:
    """Every item in scope (teams, then services) with each check's outcome on `as_of` (default today).
    `team_ids` keeps only the items of those teams (a team's panel). A few queries, not per item."""
    as_of = as_of or timezone.localdate()
    checks = list(initiative.checks.all())
    teams = list(initiative.teams.all())
    services = list(initiative.services.select_related("team"))
    if team_ids is not None:
        teams = [t for t in teams if t.pk in team_ids]
        services = [s for s in services if s.team_id in team_ids]
    metric_checks = [c for c in checks if c.kind == InitiativeCheck.Kind.METRIC]
    service_keys = sorted({c.service_check for c in checks if c.kind == InitiativeCheck.Kind.SERVICE})
    facts = (
        latest_facts({t.pk for t in teams} | {s.team_id for s in services}, on_or_before=as_of) if metric_checks else {}
    )
    team_services: dict[int, list[int]] = {}
    if service_keys and teams:
        for sid, tid in Service.objects.filter(team__in=teams).values_list("pk", "team_id"):
            team_services.setdefault(tid, []).append(sid)
    all_services = {s.pk for s in services} | {sid for ids in team_services.values() for sid in ids}
    results = _service_results(service_keys, all_services, as_of)

    def outcomes(team, service_ids):
        out = []
        for check in checks:
            if check.kind == InitiativeCheck.Kind.METRIC:
                out.append(_metric_outcome(check, team, facts.get(team.pk), as_of))
            else:
                out.append(_service_outcome(check, service_ids, results))
        return out

    items = [Item("team", t, t, outcomes(t, team_services.get(t.pk, []))) for t in teams]
    items += [Item("service", s, s.team, outcomes(s.team, [s.pk])) for s in services]
    return Scope(initiative=initiative, as_of=as_of, items=items)


# --- progress and the burn-up ---------------------------------------------------------------------


@dataclass
class Standing:
    """Where an initiative stands on a day, from its stored progress points."""

    initiative: Initiative
    points: list[tuple[date, float | None]]
    latest: InitiativeProgress | None
    base: float
    today: date
    counts: dict = field(default_factory=dict)  # {day: (passing, total)}

    @property
    def share(self) -> float | None:
        return self.latest.share if self.latest else None

    @property
    def bar_width(self) -> int:
        """The progress bar's width in percent (layout only; figures are written with |share)."""
        return 0 if self.share is None else round(100 * self.share)

    @property
    def target_width(self) -> int:
        return round(100 * self.target_today)

    @property
    def target_today(self) -> float:
        i = self.initiative
        return progress.target_share(self.today, start=i.start_date, target=i.target_date, base=self.base)

    @property
    def behind(self) -> bool | None:
        i = self.initiative
        return progress.is_behind(self.share, self.today, start=i.start_date, target=i.target_date, base=self.base)

    @property
    def status_word(self) -> str:
        return progress.status_word(self.behind, self.share)

    @property
    def days_left(self) -> int:
        return (self.initiative.target_date - self.today).days

    @property
    def overdue(self) -> bool:
        return self.days_left < 0 and (self.share or 0) < 1.0

    def chart(self) -> dict | None:
        i = self.initiative
        return charts.burnup(self.points, start=i.start_date, target=i.target_date, base=self.base, today=self.today)


def standings(initiatives, *, today: date | None = None) -> dict[int, Standing]:
    """{initiative id: Standing} for these initiatives; one query for all their points."""
    today = today or timezone.localdate()
    initiatives = list(initiatives)
    rows: dict[int, list[InitiativeProgress]] = {}
    for p in InitiativeProgress.objects.filter(initiative__in=initiatives, day__lte=today).order_by("day"):
        rows.setdefault(p.initiative_id, []).append(p)
    out = {}
    for i in initiatives:
        mine = rows.get(i.pk, [])
        points = [(p.day, p.share) for p in mine]
        out[i.pk] = Standing(
            initiative=i,
            points=points,
            latest=mine[-1] if mine else None,
            base=progress.baseline(points, i.start_date),
            today=today,
            counts={p.day: (p.passing, p.total) for p in mine},
        )
    return out


def initiative_list(*, user, organization, statuses=None) -> QuerySet:
    qs = Initiative.objects.filter(organization=organization).select_related("owner")
    if statuses:
        qs = qs.filter(status__in=statuses)
    return permissions.viewable(user, qs).order_by("status", "target_date", "name")


def with_scope(qs: QuerySet) -> QuerySet:
    return qs.prefetch_related("checks", "teams", Prefetch("services", queryset=Service.objects.select_related("team")))


def active_for_teams(team_ids) -> QuerySet:
    """Active initiatives with one of these teams, or one of their services, in scope."""
    team_ids = list(team_ids)
    return with_scope(
        Initiative.objects.filter(status=Initiative.Status.ACTIVE)
        .filter(Q(teams__in=team_ids) | Q(services__team__in=team_ids))
        .distinct()
        .order_by("target_date", "pk")
    )


def team_todo(team_ids, *, today: date | None = None) -> list[dict]:
    """For a team (or a person's teams): each active initiative in scope with what its items still fail
    and by when ("what we must do and by when")."""
    today = today or timezone.localdate()
    team_ids = set(team_ids)
    initiatives = list(active_for_teams(team_ids))
    stand = standings(initiatives, today=today)
    out = []
    for i in initiatives:
        scope = evaluate(i, as_of=today, team_ids=team_ids)
        out.append(
            {
                "initiative": i,
                "standing": stand[i.pk],
                "scope": scope,
                "failing": [item for item in scope.items if not item.passed],
                "days_left": (i.target_date - today).days,
            }
        )
    return out


# --- panels -------------------------------------------------------------------------------------------


def team_panel(request, team) -> dict:
    return {"todo": team_todo([team.pk]), "team": team}


def home_panel(request, organization) -> dict:
    """Leads and members: their teams' initiatives; admins and leaders: the org's active ones."""
    from apps.teams.middleware import current_organization

    org = current_organization(request)
    if org is None:
        return {"todo": [], "board": []}
    if permissions.sees_whole_org(request.user, org):
        active = list(initiative_list(user=request.user, organization=org, statuses=[Initiative.Status.ACTIVE]))
        stand = standings(active)
        return {"todo": [], "board": [stand[i.pk] for i in active], "whole_org": True}
    mine = Team.objects.filter(organization=org, memberships__user=request.user).values_list("pk", flat=True)
    return {"todo": team_todo(list(mine)), "board": [], "whole_org": False}


# --- deadlines (read by the notifications app's "initiative deadline" producer) ----------------------

DEADLINE_WINDOW_DAYS = 7


def deadlines_due(*, as_of: date, window: int = DEADLINE_WINDOW_DAYS) -> list[dict]:
    """Active initiatives due within `window` days after `as_of` (not today, not past), with each team in
    scope that still fails something: [{"initiative", "team", "failing": [Item], "total", "days_left"}]."""
    from datetime import timedelta

    due = with_scope(
        Initiative.objects.filter(
            status=Initiative.Status.ACTIVE, target_date__gt=as_of, target_date__lte=as_of + timedelta(days=window)
        )
        .select_related("organization")
        .order_by("target_date", "pk")
    )
    out = []
    for initiative in due:
        scope = evaluate(initiative, as_of=as_of)
        for row in scope.by_team():
            failing = [item for item in row["items"] if not item.passed]
            if failing:
                out.append(
                    {
                        "initiative": initiative,
                        "team": row["team"],
                        "failing": failing,
                        "total": row["total"],
                        "days_left": (initiative.target_date - as_of).days,
                    }
                )
    return out
