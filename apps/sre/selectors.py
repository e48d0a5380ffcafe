"""Reads for the release gate and for toil."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, DateTimeField, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.delivery.models import Deployment

from .models import GateDecision, GateOverride, IncidentRunbook, Runbook, ToilItem, ToilReview


def decisions_for_service(*, service_id: int, limit: int = 20) -> list[GateDecision]:
    return list(GateDecision.objects.filter(service_id=service_id).select_related("override")[:limit])


def active_override(*, service_id: int, now) -> GateOverride | None:
    return GateOverride.objects.filter(service_id=service_id, expires_at__gt=now).order_by("-expires_at").first()


# Live gate calls read the latest override from the cache; saving or deleting one drops the entry.
OVERRIDE_CACHE_SECONDS = 60


def override_cache_key(service_id: int) -> str:
    return f"sre:gate:override:{service_id}"


def override_for_call(*, service_id: int, now=None) -> GateOverride | None:
    """The active override of a live call (`now` None) from the cache, else `active_override` at `now`."""
    if now is not None:
        return active_override(service_id=service_id, now=now)
    from django.core.cache import cache

    now = timezone.now()
    key = override_cache_key(service_id)
    entry = cache.get(key)
    if entry is None:
        found = active_override(service_id=service_id, now=now)
        entry = {"id": found.pk, "expires_at": found.expires_at, "reason": found.reason} if found else {}
        cache.set(key, entry, OVERRIDE_CACHE_SECONDS)
    if not entry or entry["expires_at"] <= now:
        return None
    return GateOverride(pk=entry["id"], service_id=service_id, expires_at=entry["expires_at"], reason=entry["reason"])


def deployments_while_denied(*, service_id: int) -> QuerySet:
    """Deployments that started after a deny and before the next allow: they count against the policy."""
    from django.db.models import OuterRef, Subquery

    last = GateDecision.objects.filter(service_id=service_id, decided_at__lte=OuterRef("finished_at")).order_by(
        "-decided_at"
    )
    return (
        Deployment.objects.filter(service_id=service_id, is_production=True, finished_at__isnull=False)
        .annotate(gate_allowed=Subquery(last.values("allowed")[:1]))
        .filter(gate_allowed=False)
    )


# --- toil ------------------------------------------------------------------------------

# The SRE book's guideline: toil at most half of an SRE's time.
TOIL_GUIDELINE = 0.5
# A team that has not stated its weekly hours in a review: this many per member.
HOURS_PER_MEMBER = 40
# Evidence proxies look back this far (four on-call weeks).
PROXY_WINDOW_DAYS = 28
# Working hours, UTC: a page outside Monday-Friday 09:00-18:00 is off hours.
WORK_START_HOUR, WORK_END_HOUR = 9, 18
PAGE_SOURCES = ("pagerduty", "opsgenie")
# A production deployment reported by a CI/CD pipeline carries an automation signal.
AUTOMATED_DEPLOY_SOURCES = ("github", "gitlab")
# An incident that starts up to this long before a burn-rate alert opens follows it up.
ALERT_FOLLOWUP_LEAD = timedelta(hours=1)


def is_off_hours(at: datetime) -> bool:
    at = at.astimezone(UTC)
    return at.weekday() >= 5 or not (WORK_START_HOUR <= at.hour < WORK_END_HOUR)


def _is_toil_on(item, day: date) -> bool:
    return item.started_on <= day and (item.ended_on is None or item.ended_on > day)


def _is_saved_on(item, day: date) -> bool:
    return item.status == ToilItem.Status.AUTOMATED and item.ended_on is not None and item.ended_on <= day


def _share(hours: float, capacity: float | None) -> float | None:
    return None if not capacity else round(hours / capacity, 4)


def _toil_figures(items, reviews, members: int, day: date) -> dict:
    """Toil hours, saved hours, capacity and share of one team on `day` (items and reviews: the team's)."""
    hours = float(sum(i.hours_per_week for i in items if _is_toil_on(i, day)))
    saved = float(sum(i.hours_per_week for i in items if _is_saved_on(i, day)))
    review = next((r for r in reviews if r.reviewed_on <= day), None)  # reviews newest first
    if review is not None:
        capacity, estimated = float(review.capacity_hours), False
    else:
        capacity, estimated = float(members * HOURS_PER_MEMBER) or None, True
    # Nothing logged and never reviewed: the team has not measured its toil (no data, not 0 %).
    measured = review is not None or any(i.started_on <= day for i in items)
    return {
        "hours": round(hours, 1),
        "saved_hours": round(saved, 1),
        "capacity": capacity,
        "capacity_estimated": estimated,
        "measured": measured,
        "share": _share(hours, capacity) if measured else None,
        "items": sum(1 for i in items if _is_toil_on(i, day)),
        "last_reviewed_on": review.reviewed_on if review else None,
    }


def _proxies(team_ids: list[int], since: datetime, until: datetime) -> dict[int, dict]:
    from apps.postmortems.models import Incident, Postmortem
    from apps.slos.models import BurnRateAlert

    weeks = (until - since).total_seconds() / (7 * 86400)
    out = {
        tid: {
            "pages": 0,
            "off_hours_pages": 0,
            "deploys": 0,
            "deploys_unautomated": 0,
            "alerts": 0,
            "alerts_without_followup": 0,
        }
        for tid in team_ids
    }
    pages = Incident.objects.filter(
        team_id__in=team_ids, source__in=PAGE_SOURCES, started_at__gte=since, started_at__lt=until
    ).values_list("team_id", "started_at")
    for tid, at in pages:
        out[tid]["pages"] += 1
        out[tid]["off_hours_pages"] += is_off_hours(at)
    deploys = (
        Deployment.objects.filter(
            team_id__in=team_ids, is_production=True, finished_at__gte=since, finished_at__lt=until
        )
        .values("team_id")
        .annotate(n=Count("pk"), manual=Count("pk", filter=~Q(source__in=AUTOMATED_DEPLOY_SOURCES)))
    )
    for row in deploys:
        out[row["team_id"]]["deploys"] = row["n"]
        out[row["team_id"]]["deploys_unautomated"] = row["manual"]
    followed = Incident.objects.filter(
        services=OuterRef("slo__sli__service_id"),
        started_at__gte=OuterRef("opened_at") - ALERT_FOLLOWUP_LEAD,
        started_at__lte=Coalesce(OuterRef("resolved_at"), Value(until, output_field=DateTimeField())),
    ).filter(Exists(Postmortem.objects.filter(incident=OuterRef("pk"))))
    alerts = (
        BurnRateAlert.objects.filter(slo__sli__service__team_id__in=team_ids, opened_at__gte=since, opened_at__lt=until)
        .annotate(followed=Exists(followed))
        .values("slo__sli__service__team_id")
        .annotate(n=Count("pk"), bare=Count("pk", filter=Q(followed=False)))
    )
    for row in alerts:
        tid = row["slo__sli__service__team_id"]
        out[tid]["alerts"] = row["n"]
        out[tid]["alerts_without_followup"] = row["bare"]
    for p in out.values():
        p["pages_per_week"] = round(p["pages"] / weeks, 2)
        p["off_hours_share"] = round(p["off_hours_pages"] / p["pages"], 4) if p["pages"] else None
        p["unautomated_deploy_share"] = round(p["deploys_unautomated"] / p["deploys"], 4) if p["deploys"] else None
        p["alerts_without_followup_share"] = (
            round(p["alerts_without_followup"] / p["alerts"], 4) if p["alerts"] else None
        )
    return out


def team_toil(*, team_ids, until: datetime | None = None, window_days: int = PROXY_WINDOW_DAYS) -> dict[int, dict]:
    """{team_id: toil figures on the day before `until` (exclusive end) + evidence proxies over the window}.

    Six queries whatever the number of teams."""
    from apps.teams.models import TeamMembership

    team_ids = list(team_ids)
    until = until or timezone.now()
    day = (until - timedelta(microseconds=1)).astimezone(UTC).date()
    items, reviews = defaultdict(list), defaultdict(list)
    for item in ToilItem.objects.filter(team_id__in=team_ids):
        items[item.team_id].append(item)
    for review in ToilReview.objects.filter(team_id__in=team_ids, reviewed_on__lte=day).order_by("-reviewed_on"):
        reviews[review.team_id].append(review)
    members = dict(
        TeamMembership.objects.filter(team_id__in=team_ids)
        .values("team_id")
        .annotate(n=Count("pk"))
        .values_list("team_id", "n")
    )
    proxies = _proxies(team_ids, until - timedelta(days=window_days), until)
    return {
        tid: {
            **_toil_figures(items[tid], reviews[tid], members.get(tid, 0), day),
            "guideline": TOIL_GUIDELINE,
            "window_days": window_days,
            "proxies": proxies[tid],
        }
        for tid in team_ids
    }


def toil_trend(*, team, weeks: int = 13, today: date | None = None) -> list[dict]:
    """Week-end points of toil hours, hours saved and share; starts where the first item starts."""
    from apps.teams.models import TeamMembership

    today = today or timezone.now().date()
    items = list(ToilItem.objects.filter(team=team))
    if not items:
        return []
    reviews = list(ToilReview.objects.filter(team=team).order_by("-reviewed_on"))
    members = TeamMembership.objects.filter(team=team).count()
    first = min(i.started_on for i in items)
    points = []
    for back in range(weeks - 1, -1, -1):
        day = today - timedelta(days=7 * back)
        if day < first:
            continue
        f = _toil_figures(items, reviews, members, day)
        points.append({"day": day, "hours": f["hours"], "saved_hours": f["saved_hours"], "share": f["share"]})
    return points


def toil_items(*, team) -> list[ToilItem]:
    return list(ToilItem.objects.filter(team=team).select_related("owner"))


def toil_reviews(*, team, limit: int = 12) -> list[ToilReview]:
    return list(ToilReview.objects.filter(team=team).select_related("reviewed_by")[:limit])


# --- runbooks --------------------------------------------------------------------------

# A tier-1 service counts as covered by a runbook reviewed this recently.
RUNBOOK_REVIEW_DAYS = 180


def runbook_list(*, user, organization, team=None) -> QuerySet:
    from apps.core import permissions

    qs = Runbook.objects.filter(team__organization=organization)
    if team is not None:
        qs = qs.filter(team=team)
    return permissions.viewable(user, qs).select_related("team").prefetch_related("services", "slos")


def runbook_is_current(runbook: Runbook, today: date | None = None) -> bool:
    today = today or timezone.now().date()
    return runbook.last_reviewed_on is not None and runbook.last_reviewed_on >= today - timedelta(
        days=RUNBOOK_REVIEW_DAYS
    )


def runbook_href(runbook: Runbook) -> str:
    """Where a notification sends the responder: the runbook's own link, else its page here."""
    from django.conf import settings

    return runbook.url or settings.SITE_URL.rstrip("/") + runbook.get_absolute_url()


def runbook_for_alert(slo) -> dict | None:
    """The runbook a burn-rate alert of `slo` links to: one covering the SLO, else one covering its
    service (the most recently reviewed first), else the service's runbook URL; None when there is none."""
    service = slo.sli.service
    runbook = (
        Runbook.objects.filter(Q(slos=slo) | Q(services=service))
        .annotate(for_slo=Exists(Runbook.slos.through.objects.filter(runbook_id=OuterRef("pk"), slo_id=slo.pk)))
        .order_by("-for_slo", F("last_reviewed_on").desc(nulls_last=True), "pk")
        .first()
    )
    if runbook is not None:
        return {"title": runbook.title, "url": runbook_href(runbook)}
    if service.runbook_url:
        return {"title": f"{service.name} runbook", "url": service.runbook_url}
    return None


def team_runbooks(*, team_ids, until: datetime | None = None) -> dict[int, dict]:
    """{team_id: tier-1 services, those with a runbook reviewed in the last 180 days, and the share}.
    One query whatever the number of teams."""
    from apps.teams.models import Service

    team_ids = list(team_ids)
    until = until or timezone.now()
    day = (until - timedelta(microseconds=1)).astimezone(UTC).date()
    cutoff = day - timedelta(days=RUNBOOK_REVIEW_DAYS)
    out = {tid: {"tier1_services": 0, "tier1_with_runbook": 0, "review_days": RUNBOOK_REVIEW_DAYS} for tid in team_ids}
    rows = (
        Service.objects.filter(team_id__in=team_ids, tier=Service.Tier.TIER_1)
        .annotate(
            covered=Exists(
                Runbook.objects.filter(services=OuterRef("pk"), last_reviewed_on__gte=cutoff, last_reviewed_on__lte=day)
            )
        )
        .values_list("team_id", "covered")
    )
    for tid, covered in rows:
        out[tid]["tier1_services"] += 1
        out[tid]["tier1_with_runbook"] += covered
    for entry in out.values():
        n = entry["tier1_services"]
        entry["tier1_coverage"] = round(entry["tier1_with_runbook"] / n, 4) if n else None
    return out


def incident_runbook(*, incident) -> IncidentRunbook | None:
    return IncidentRunbook.objects.filter(incident=incident).select_related("runbook", "set_by").first()


def recent_decisions(*, user, organization, limit: int = 10) -> list[GateDecision]:
    from apps.core import permissions

    qs = GateDecision.objects.filter(service__organization=organization).select_related("service")
    return list(permissions.viewable(user, qs)[:limit])


# --- release gate, per team ----------------------------------------------------------

GATE_WINDOW_DAYS = 90


def team_gate(*, team_ids, until: datetime | None = None, window_days: int = GATE_WINDOW_DAYS) -> dict[int, dict]:
    """{team_id: gate decisions, denials and production deployments made while denied over the window}.

    A deployment made while denied finished after a deny of its service and before the next allow
    (`deployments_while_denied`, per team). Two queries whatever the number of teams."""
    from django.db.models import Subquery

    team_ids = list(team_ids)
    until = until or timezone.now()
    since = until - timedelta(days=window_days)
    out = {
        tid: {"decisions": 0, "denials": 0, "deploys_while_denied": 0, "window_days": window_days} for tid in team_ids
    }
    decisions = (
        GateDecision.objects.filter(service__team_id__in=team_ids, decided_at__gte=since, decided_at__lt=until)
        .values("service__team_id")
        .annotate(n=Count("pk"), denied=Count("pk", filter=Q(allowed=False)))
    )
    for row in decisions:
        out[row["service__team_id"]].update(decisions=row["n"], denials=row["denied"])
    last = GateDecision.objects.filter(
        service_id=OuterRef("service_id"), decided_at__lte=OuterRef("finished_at")
    ).order_by("-decided_at")
    denied = (
        Deployment.objects.filter(
            team_id__in=team_ids,
            service__isnull=False,
            is_production=True,
            finished_at__gte=since,
            finished_at__lt=until,
        )
        .annotate(gate_allowed=Subquery(last.values("allowed")[:1]))
        .filter(gate_allowed=False)
        .values("team_id")
        .annotate(n=Count("pk"))
    )
    for row in denied:
        out[row["team_id"]]["deploys_while_denied"] = row["n"]
    return out


def gate_access(user, service_id: int, *, lead: bool = False):
    """Who may ask the gate (the service's team, org admins) or override it (its lead, org admins), in one
    query: Http404 when the caller cannot see the service, PermissionDenied when they see it but may not act."""
    from apps.core import permissions

    return gate_check(permissions.service_access(user, service_id), lead=lead)


def gate_check(access, *, lead: bool = False):
    """`gate_access`'s answer from a ServiceAccess already read (None: no such service)."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    if access is None or not access.visible:
        raise Http404("No such service.")
    if not access.may_act(lead=lead):
        raise PermissionDenied("Only a team lead may override." if lead else "Only the service's team may do this.")
    return access


def forget_override(service_id: int) -> None:
    """Drop the cached override of a service now and again once the change is committed."""
    from django.core.cache import cache
    from django.db import transaction

    key = override_cache_key(service_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))
