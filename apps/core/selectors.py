"""The home page of each role, read from the apps' own selectors and models.

Every part is a fixed number of queries (counts and short lists with LIMIT), so the page
costs the same for 3 teams or 300. Figures come from where their pages take them (the
scores from the scoring dashboard, SLO states from the stored SLO status), so the home
page never shows a number that reads differently one click further.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Q, Window
from django.urls import reverse
from django.utils import timezone

from apps.core import permissions

LIST_LIMIT = 6
STALE_ASSESSMENT_DAYS = 180  # a self-assessment older than this is stale evidence
DUE_SOON_DAYS = 14


@dataclass
class Section:
    """A short list with its full count and a link to the page that lists all of it."""

    items: list
    total: int
    url: str | None = None


def _section(qs, url: str | None = None, limit: int = LIST_LIMIT) -> Section:
    # The full count rides along as a window function: one query however long the list is.
    items = list(qs.annotate(section_total=Window(Count("pk")))[:limit])
    return Section(items=items, total=items[0].section_total if items else 0, url=url)


def _url(name: str, query: str = "") -> str | None:
    from django.urls import NoReverseMatch

    try:
        return reverse(name) + (f"?{query}" if query else "")
    except NoReverseMatch:
        return None


# --- parts shared by several roles ---------------------------------------------------------------


def slos_burning(*, organization, team_ids=None) -> Section:
    """SLOs with an open burn-rate alert or an exhausted budget now (the stored SLO status)."""
    from apps.slos.models import SLOStatusRecord

    qs = SLOStatusRecord.objects.filter(slo__sli__service__organization=organization).filter(
        Q(open_alerts__gt=0) | Q(state="exhausted")
    )
    if team_ids is not None:
        qs = qs.filter(slo__sli__service__team_id__in=team_ids)
    qs = qs.select_related("slo__sli__service__team").order_by("-open_alerts", "remaining")
    return _section(qs, _url("slos:catalog"))


def sev12_without_postmortem(*, user, organization) -> Section:
    from apps.postmortems.selectors import incidents_needing_postmortem

    return _section(incidents_needing_postmortem(user=user, organization=organization), _url("postmortems:incidents"))


def overdue_action_items(*, user, organization, owner=None) -> Section:
    from apps.postmortems.models import ActionItem

    qs = permissions.viewable(user, ActionItem.objects.filter(organization=organization)).exclude(
        status__in=ActionItem.CLOSED
    )
    qs = qs.filter(due_date__lt=timezone.localdate())
    if owner is not None:
        qs = qs.filter(owner=owner)
    return _section(
        qs.select_related("team", "postmortem").order_by("due_date", "pk"), _url("postmortems:board", "state=overdue")
    )


# --- leader and org admin ---------------------------------------------------------------------------


@dataclass
class StaleTeam:
    team_id: int
    name: str
    reasons: list[str]


def stale_evidence(*, organization, snapshots: dict) -> Section:
    """Teams whose evidence is old or missing, read from their latest snapshot's inputs (one query):
    a self-assessment older than 180 days (or none), no SLO or SLOs that report no data, no
    production deployment in the DORA window."""
    from apps.scoring.models import Snapshot

    today = timezone.localdate()
    rows = (
        Snapshot.objects.filter(pk__in=[s.pk for s in snapshots.values()])
        .values_list(
            "team_id",
            "team__name",
            "inputs__assessment__submitted_at",
            "inputs__reliability__services",
            "inputs__reliability__slos",
            "inputs__reliability__attainment",
            "inputs__dora__deployment_frequency__per_day",
        )
        .order_by("team__name")
    )
    stale = []
    for team_id, name, submitted, owned, slos, attainment, per_day in rows:
        reasons = []
        if not submitted:
            reasons.append("no self-assessment")
        elif (today - timezone.datetime.fromisoformat(submitted).date()).days > STALE_ASSESSMENT_DAYS:
            reasons.append(f"self-assessment older than {STALE_ASSESSMENT_DAYS} days")
        if not owned:
            reasons.append("no service")
        elif not slos:
            reasons.append("no SLO")
        elif attainment is None:
            reasons.append("SLOs with no data")
        if not per_day:
            reasons.append("no production deployment in 90 days")
        if reasons:
            stale.append(StaleTeam(team_id, name, reasons))
    return Section(items=stale[:LIST_LIMIT], total=len(stale), url=_url("scoring:index"))


@dataclass
class LeaderHome:
    board: object
    burning: Section
    sev12: Section
    overdue: Section
    stale: Section
    movers: list = field(default_factory=list)


def leader_home(*, user, organization) -> LeaderHome:
    from apps.scoring import selectors as scoring

    board = scoring.dashboard(organization=organization, filters=scoring.Filters())
    snapshots = {r.team.pk: r.snapshot for r in board.rows}
    snapshots.update({t.pk: s for t, s in board.unmeasured if s is not None})
    return LeaderHome(
        board=board,
        burning=slos_burning(organization=organization),
        sev12=sev12_without_postmortem(user=user, organization=organization),
        overdue=overdue_action_items(user=user, organization=organization),
        stale=stale_evidence(organization=organization, snapshots=snapshots),
        movers=board.movers[:LIST_LIMIT],
    )


@dataclass
class AdminSetup:
    unattributed_deployments: int
    unattributed_url: str | None
    failing_integrations: Section
    teams_without_services: Section

    @property
    def total(self) -> int:
        return self.unattributed_deployments + self.failing_integrations.total + self.teams_without_services.total


def admin_setup(*, organization) -> AdminSetup:
    """What an org admin still has to set up: evidence that matches no service, integrations whose
    events fail, teams that own no service (nothing to put an SLO or a deployment on)."""
    from apps.delivery.models import Deployment, Integration, RawEvent
    from apps.teams.models import Team

    since = timezone.now() - timedelta(days=30)
    unattributed = Deployment.objects.filter(organization=organization, service__isnull=True).count()
    failing = (
        Integration.objects.filter(organization=organization)
        .annotate(
            failed=Count("events", filter=Q(events__status=RawEvent.Status.FAILED, events__received_at__gte=since))
        )
        .filter(failed__gt=0)
        .order_by("-failed", "name")
    )
    no_services = (
        Team.objects.filter(organization=organization).annotate(n=Count("services")).filter(n=0).order_by("name")
    )
    return AdminSetup(
        unattributed_deployments=unattributed,
        unattributed_url=_url("delivery:index"),
        failing_integrations=_section(failing, _url("delivery:integrations")),
        teams_without_services=_section(no_services, _url("teams:list")),
    )


# --- lead and member ------------------------------------------------------------------------------------


@dataclass
class TeamHome:
    team: object
    snapshot: object | None
    trend_chart: str | None
    alerts: Section
    my_items: Section
    assessments: list


def team_home(*, user, organization) -> TeamHome | None:
    """The first of the user's teams (by name): its level, next three steps, open alerts,
    the user's action items due, the assessments waiting for the team."""
    from apps.assessments.models import Assessment
    from apps.assessments.selectors import my_assessments
    from apps.postmortems.models import ActionItem
    from apps.scoring import selectors as scoring
    from apps.scoring.models import Snapshot
    from apps.teams.models import Team

    ids = permissions.team_ids(user)
    team = Team.objects.filter(organization=organization, pk__in=ids).order_by("name").first()
    if team is None:
        return None
    since = timezone.localdate() - timedelta(weeks=scoring.TREND_WEEKS)
    history = list(Snapshot.objects.filter(team=team, date__gte=since).order_by("date"))
    latest = history[-1] if history else None
    due_by = timezone.localdate() + timedelta(days=DUE_SOON_DAYS)
    items = (
        permissions.viewable(user, ActionItem.objects.filter(organization=organization, owner=user))
        .exclude(status__in=ActionItem.CLOSED)
        .filter(due_date__lte=due_by)
        .select_related("postmortem")
        .order_by("due_date", "pk")
    )
    waiting = list(
        my_assessments(user=user, organization=organization)
        .filter(team=team, campaign__closes_on__gte=timezone.localdate())
        .exclude(status=Assessment.Status.SUBMITTED)[:3]
    )
    return TeamHome(
        team=team,
        snapshot=latest,
        trend_chart=scoring._trend_chart(scoring._from_first_evidence(history)),
        alerts=slos_burning(organization=organization, team_ids=[team.pk]),
        my_items=_section(items, _url("postmortems:board", f"owner={user.pk}")),
        assessments=waiting,
    )
