"""Reads: digest contents (from the scoring, postmortems, SLO and assessment selectors), preferences, targets.

The digest selectors take whole organizations and run a fixed number of queries whatever the number
of teams: the weekly job builds every team's digest at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from apps.assessments import selectors as assessment_selectors
from apps.core import permissions
from apps.postmortems import selectors as postmortem_selectors
from apps.scoring import selectors as scoring_selectors
from apps.scoring.models import LEVEL_NAMES
from apps.slos import selectors as slo_selectors
from apps.teams.models import OrgMembership, Team, TeamMembership

from . import kinds
from .models import Delivery, Preference, Target

WEEK = timedelta(days=7)
MOVERS = 5


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def level_label(level: int | None) -> str:
    if level is None:
        return "not measured"
    name = LEVEL_NAMES.get(level, "")
    return f"level {level} ({name})" if name else f"level {level}"


@dataclass
class TeamDigest:
    team: Team
    as_of: date
    level: int | None = None
    overall: float | None = None
    previous_level: int | None = None
    previous_overall: float | None = None
    has_previous: bool = False
    action_items: list = field(default_factory=list)
    assessments: list = field(default_factory=list)
    alerts: list = field(default_factory=list)

    @property
    def measured(self) -> bool:
        return self.level is not None

    @property
    def level_change(self) -> int | None:
        if not self.measured or not self.has_previous:
            return None
        return self.level - self.previous_level

    @property
    def overall_change(self) -> float | None:
        if self.overall is None or self.previous_overall is None:
            return None
        return round(self.overall - self.previous_overall, 1)

    @property
    def level_text(self) -> str:
        return level_label(self.level)

    @property
    def change_text(self) -> str:
        """What changed since the snapshot a week before (one sentence)."""
        if not self.measured:
            return "Not measured yet: no scoring run has covered this team."
        if not self.has_previous:
            return "No score a week ago to compare with."
        parts = []
        change = self.level_change
        if change:
            direction = "up" if change > 0 else "down"
            parts.append(f"Level {direction} from {self.previous_level} to {self.level}")
        else:
            parts.append(f"Level unchanged at {self.level}")
        delta = self.overall_change
        if delta is not None:
            parts.append(f"overall {self.previous_overall:.0f} → {self.overall:.0f} ({delta:+.1f})")
        elif self.overall is None:
            parts.append("no overall score this week")
        else:
            parts.append("no overall score a week ago")
        return "; ".join(parts) + "."

    @property
    def overdue_items(self) -> list:
        return [i for i in self.action_items if i.due_date < self.as_of]

    @property
    def nothing_due(self) -> bool:
        return not (self.action_items or self.assessments or self.alerts)


def team_digests(*, teams: QuerySet, as_of: date) -> dict[int, TeamDigest]:
    """{team id: digest} for these teams as of a day: the latest score on or before it, against the
    latest on or before a week earlier; open action items due within the next week (overdue too);
    unsubmitted assessments of campaigns open that day; open burn-rate alerts. Six queries."""
    team_list = list(teams.select_related("organization"))
    ids = [t.pk for t in team_list]
    ids_qs = Team.objects.filter(pk__in=ids)
    now = scoring_selectors.previous_scores(ids_qs, on_or_before=as_of)
    before = scoring_selectors.previous_scores(ids_qs, on_or_before=as_of - WEEK)
    items = postmortem_selectors.action_items_due(team_ids=ids, until=as_of + WEEK)
    waiting = assessment_selectors.waiting_assessments(team_ids=ids, on=as_of)
    alerts = slo_selectors.open_alerts_by_team(team_ids=ids)
    digests = {}
    for team in team_list:
        d = TeamDigest(team=team, as_of=as_of)
        if team.pk in now:
            d.level, d.overall = now[team.pk].level, now[team.pk].overall
        if team.pk in before:
            d.has_previous = True
            d.previous_level, d.previous_overall = before[team.pk].level, before[team.pk].overall
        d.action_items = items.get(team.pk, [])
        d.assessments = waiting.get(team.pk, [])
        d.alerts = alerts.get(team.pk, [])
        digests[team.pk] = d
    return digests


@dataclass
class LeaderDigest:
    organization: object
    as_of: date
    movers: list[TeamDigest] = field(default_factory=list)
    unmeasured: list[Team] = field(default_factory=list)
    overdue_postmortems: list = field(default_factory=list)
    team_count: int = 0


def leader_digest(*, organization, as_of: date, digests: dict[int, TeamDigest] | None = None) -> LeaderDigest:
    """The organization's week: the teams whose overall score moved most (by size of the move, then a
    level change; at most five), the teams without a score, overdue postmortems."""
    if digests is None:
        digests = team_digests(teams=Team.objects.filter(organization=organization), as_of=as_of)
    rows = [d for d in digests.values() if d.team.organization_id == organization.pk]
    moved = [d for d in rows if (d.overall_change or 0) != 0 or (d.level_change or 0) != 0]
    moved.sort(key=lambda d: (-abs(d.overall_change or 0), -abs(d.level_change or 0), d.team.name))
    overdue = postmortem_selectors.overdue_postmortems_in(organization_ids=[organization.pk], on=as_of)
    return LeaderDigest(
        organization=organization,
        as_of=as_of,
        movers=moved[:MOVERS],
        unmeasured=sorted((d.team for d in rows if not d.measured), key=lambda t: t.name),
        overdue_postmortems=list(overdue),
        team_count=len(rows),
    )


# --- recipients ----------------------------------------------------------------------------


def disabled_kinds(user_ids) -> dict[int, set[str]]:
    """{user id: kinds they turned off}, one query."""
    off: dict[int, set[str]] = {}
    for uid, kind in Preference.objects.filter(user_id__in=list(user_ids), enabled=False).values_list(
        "user_id", "kind"
    ):
        off.setdefault(uid, set()).add(kind)
    return off


def team_people(team_ids) -> dict[int, list]:
    """{team id: its active members with an email address}, one query."""
    people: dict[int, list] = {}
    rows = TeamMembership.objects.filter(team_id__in=list(team_ids), user__is_active=True).select_related("user")
    for m in rows.order_by("team_id", "user__email"):
        if m.user.email:
            people.setdefault(m.team_id, []).append(m.user)
    return people


def org_leaders(organization) -> list:
    """Org admins and leaders of an organization (the leader digest's readers)."""
    rows = OrgMembership.objects.filter(
        organization=organization,
        role__in=[OrgMembership.Role.ADMIN, OrgMembership.Role.LEADER],
        user__is_active=True,
    ).select_related("user")
    return [m.user for m in rows.order_by("user__email") if m.user.email]


def active_targets(*, organization, kind: str) -> dict[int | None, list[Target]]:
    """{team id or None (org-wide): active targets subscribed to `kind`}, one query."""
    by_team: dict[int | None, list[Target]] = {}
    for t in Target.objects.filter(organization=organization, active=True, kinds__contains=[kind]):
        by_team.setdefault(t.team_id, []).append(t)
    return by_team


# --- pages -------------------------------------------------------------------------------


def preferences_for(user) -> list[dict]:
    """Every kind with whether this person receives it."""
    off = disabled_kinds([user.pk]).get(user.pk, set())
    return [{"kind": k, "enabled": k.key not in off} for k in kinds.KINDS.values()]


def recent_deliveries_for(user, limit: int = 20) -> list[Delivery]:
    return list(Delivery.objects.filter(user=user).order_by("-created_at", "-pk")[:limit])


def may_manage_targets(user, organization) -> bool:
    """Org admins, leaders (read only) and team leads see the targets pages."""
    return permissions.sees_whole_org(user, organization) or bool(
        permissions.team_ids(user, roles=(permissions.TEAM_LEAD,))
        & set(Team.objects.filter(organization=organization).values_list("pk", flat=True))
    )


def target_list(*, user, organization) -> QuerySet:
    """Targets this person sees: the whole org's for admins and leaders, their own teams' for team leads."""
    qs = Target.objects.filter(organization=organization).select_related("team")
    if permissions.sees_whole_org(user, organization) or user.is_superuser:
        return qs
    return qs.filter(team_id__in=permissions.team_ids(user, roles=(permissions.TEAM_LEAD,)))


def target_detail(*, user, pk: int, change: bool = False) -> Target:
    """One target (404 when not in `target_list` for its organization, 403 when `change` and not editable)."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    target = Target.objects.select_related("team", "organization").filter(pk=pk).first()
    if target is None or not target_list(user=user, organization=target.organization).filter(pk=pk).exists():
        if target is not None and permissions.can_view(user, target):
            raise PermissionDenied("Only org admins, leaders and the team's lead see its notification targets.")
        raise Http404("No such target.")
    if change and not permissions.can_change(user, target):
        raise PermissionDenied("You may view this target but not change it.")
    return target


def target_deliveries(target: Target, limit: int = 30) -> QuerySet:
    return Delivery.objects.filter(target=target).order_by("-created_at", "-pk")[:limit]


def targets_with_recent(qs: QuerySet) -> QuerySet:
    return qs.prefetch_related(
        Prefetch("deliveries", queryset=Delivery.objects.order_by("-created_at", "-pk")[:1], to_attr="latest")
    )


# --- for the sending jobs -----------------------------------------------------------------


def pending_ids(*, kind: str | None = None, period: str | None = None, organization=None) -> list[int]:
    """Planned deliveries not sent yet, of one kind, period and organization when given."""
    qs = Delivery.objects.filter(status=Delivery.Status.PENDING)
    if kind:
        qs = qs.filter(kind=kind)
    if period:
        qs = qs.filter(period=period)
    if organization is not None:
        qs = qs.filter(organization=organization)
    return list(qs.values_list("pk", flat=True))


def due_retry_ids(now=None) -> list[int]:
    """Deliveries to send again now: retries whose backoff has passed, and planned ones never queued."""
    now = now or timezone.now()
    # Retries whose backoff has passed, and deliveries planned but never queued (the broker was away).
    lost = Q(status=Delivery.Status.PENDING, created_at__lte=now - timedelta(minutes=5))
    return list(
        Delivery.objects.filter(Q(status=Delivery.Status.RETRYING, next_attempt_at__lte=now) | lost).values_list(
            "pk", flat=True
        )
    )
