"""Reads of the delivery app. DORA numbers come from the daily rollups (one
query for any number of teams); lists are scoped by apps.core.permissions."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.core import permissions

from . import metrics
from .models import Change, DailyRollup, Deployment, IncidentDeploymentLink, Integration, RawEvent, UnattributedKey

WINDOWS = (30, 90, 180)
ROLLUP_FIELDS = (
    "day",
    "deployments",
    "successful",
    "failed",
    "lead_times",
    "lead_times_estimated",
    "recovery_times",
    "rework",
    "restore_times",
)
# What the summary (full=False) keeps of each metric.
SUMMARY = {
    "deployment_frequency": ("per_day", "tier"),
    "lead_time_hours": ("median", "tier", "estimated"),
    "recovery_time_hours": ("median", "tier"),
    "change_failure_rate": ("value", "tier"),
    "deployment_rework_rate": ("value", "tier"),
}


def _until_day(until) -> date:
    if until is None:
        return datetime.now(UTC).date()
    if isinstance(until, datetime):
        return until.astimezone(UTC).date()
    return until


def window_bounds(window_days: int, until=None) -> tuple[date, date]:
    end = _until_day(until)
    return end - timedelta(days=window_days - 1), end


def _keys(rows_by_id: dict, ids, *, end: date, window_days: int, full: bool) -> dict:
    out = {}
    for pk in ids:
        keys = metrics.dora_keys(rows_by_id.get(pk, ()), window_end=end, window_days=window_days)
        if not full:
            keys = {name: {field: keys[name][field] for field in fields} for name, fields in SUMMARY.items()}
        out[pk] = keys
    return out


def team_dora(*, team_ids, window_days: int = 90, until=None, full: bool = False) -> dict:
    """{team_id: {"deployment_frequency": {"per_day", "tier"}, "lead_time_hours": {"median", "tier",
    "estimated"}, "recovery_time_hours": {"median", "tier"}, "change_failure_rate": {"value", "tier"},
    "deployment_rework_rate": {"value", "tier"}}} (metrics.GROUPS tells throughput from instability)

    Over the `window_days` UTC days ending on `until` (default today), from the daily
    rollups: one query whatever the number of teams. `full=True` adds the counts behind
    each number (deployments, changes, recoveries, rework, deploy days per week and month)."""
    team_ids = list(team_ids)
    start, end = window_bounds(window_days, until)
    rows = defaultdict(list)
    for row in DailyRollup.objects.filter(
        team_id__in=team_ids, service__isnull=True, day__gte=start, day__lte=end
    ).values("team_id", *ROLLUP_FIELDS):
        rows[row["team_id"]].append(row)
    return _keys(rows, team_ids, end=end, window_days=window_days, full=full)


def incidents_start_unknown(*, team_ids, window_days: int = 90, until=None) -> dict[int, int]:
    """{team_id: incidents in the window whose start is not known yet} (by when they were
    resolved, else detected, else recorded). Time to restore leaves them out, and says so."""
    from apps.postmortems.models import Incident

    start, end = window_bounds(window_days, until)
    low = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    high = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    rows = (
        Incident.objects.filter(team_id__in=list(team_ids), started_at__isnull=True)
        .annotate(at=Coalesce("resolved_at", "detected_at", "created_at"))
        .filter(at__gte=low, at__lt=high)
        .values("team_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["team_id"]: row["n"] for row in rows}


def service_dora(*, service_ids, window_days: int = 90, until=None, full: bool = False) -> dict:
    """The same metrics per service (its deployments, the commits they shipped, its incidents)."""
    service_ids = list(service_ids)
    start, end = window_bounds(window_days, until)
    rows = defaultdict(list)
    for row in DailyRollup.objects.filter(service_id__in=service_ids, day__gte=start, day__lte=end).values(
        "service_id", *ROLLUP_FIELDS
    ):
        rows[row["service_id"]].append(row)
    return _keys(rows, service_ids, end=end, window_days=window_days, full=full)


def team_trend(*, team_id: int, weeks: int = 13, until=None, service_id: int | None = None) -> list[dict]:
    """Weekly points (oldest first) for charts: deployments, median lead time (h), failure rate,
    median recovery time (h), rework rate."""
    end = _until_day(until)
    start = end - timedelta(days=weeks * 7 - 1)
    qs = DailyRollup.objects.filter(team_id=team_id, day__gte=start, day__lte=end)
    qs = qs.filter(service_id=service_id) if service_id else qs.filter(service__isnull=True)
    buckets = defaultdict(list)
    for row in qs.values(*ROLLUP_FIELDS):
        buckets[(row["day"] - start).days // 7].append(row)
    points = []
    for i in range(weeks):
        week_rows = buckets.get(i, [])
        deployments = sum(r["deployments"] for r in week_rows)
        failed = sum(r["failed"] for r in week_rows)
        lead = metrics.median(v for r in week_rows for v in r["lead_times"])
        recovery = metrics.median(v for r in week_rows for v in r["recovery_times"])
        rework = sum(r["rework"] for r in week_rows)
        points.append(
            {
                "week_start": start + timedelta(days=7 * i),
                "deployments": sum(r["successful"] for r in week_rows),
                "lead_time_hours": round(lead / 3600, 2) if lead is not None else None,
                "change_failure_rate": round(100 * failed / deployments, 1) if deployments else None,
                "recovery_time_hours": round(recovery / 3600, 2) if recovery is not None else None,
                "deployment_rework_rate": round(100 * rework / deployments, 1) if deployments else None,
            }
        )
    return points


def org_tier_counts(dora_by_team: dict) -> dict[str, dict[str, int]]:
    """{key: {tier: number of teams}} for the org chart."""
    counts = {k: dict.fromkeys(metrics.TIERS, 0) for k in KEY_NAMES}
    for keys in dora_by_team.values():
        for key in KEY_NAMES:
            tier = keys[key]["tier"]
            if tier:
                counts[key][tier] += 1
    return counts


KEY_NAMES = metrics.TIERED


# --- lists ------------------------------------------------------------------------


def integration_list(*, user, organization):
    return (
        permissions.viewable(user, Integration.objects.filter(organization=organization))
        .select_related("team")
        .annotate(
            mapping_count=Count("mappings", distinct=True),
            failed_count=Count("events", filter=Q(events__status=RawEvent.Status.FAILED), distinct=True),
        )
        .order_by("name")
    )


def integration_detail(*, user, pk: int, change: bool = False) -> Integration:
    qs = Integration.objects.select_related("team", "organization")
    return permissions.get_for_user(user, qs, pk=pk, change=change)


def integration_events(*, integration: Integration, limit: int = 25):
    return integration.events.only(
        "pk", "delivery_id", "event_type", "status", "received_at", "note", "error", "attempts"
    ).order_by("-received_at")[:limit]


def integration_event_types(*, integration: Integration, days: int = 30) -> dict:
    """The integration page's event-type section: per event type the source may send, whether
    it is used (and what it gives) or ignored (and why), with what arrived in the last `days`
    by result; event types received that the guide does not list come last. One query."""
    from . import sources

    guide = sources.guide(integration)
    since = timezone.now() - timedelta(days=days)
    received: dict[str, dict[str, int]] = defaultdict(dict)
    for row in (
        RawEvent.objects.filter(integration=integration, received_at__gte=since)
        .values("event_type", "status")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        received[row["event_type"]][row["status"]] = row["n"]
    rows = {e.name: {"type": e, "counts": defaultdict(int)} for e in guide.events}
    unlisted = {}
    for event_type, counts in received.items():
        known = guide.row_for(event_type)
        target = rows[known.name]["counts"] if known else unlisted.setdefault(event_type or "—", defaultdict(int))
        for status, n in counts.items():
            target[status] += n
    return {
        "guide": guide,
        "days": days,
        "rows": [{"type": r["type"], "counts": dict(r["counts"])} for r in rows.values()],
        "unlisted": [{"name": name, "counts": dict(c)} for name, c in sorted(unlisted.items())],
    }


def deployment_list(
    *,
    user,
    organization,
    team=None,
    service=None,
    status=None,
    production_only=False,
    since=None,
    until=None,
    failures=False,
    rework=False,
):
    """Deployments, newest first. With `since`/`until` (UTC days, both included) only those that
    finished then: what deployment frequency counts. `failures`: the change failures (failed,
    or succeeded and linked to an incident); `rework`: the successful ones that were unplanned
    fixes (marked so, or finished while an incident of their service was open)."""
    from apps.postmortems.models import Incident

    qs = permissions.viewable(user, Deployment.objects.filter(organization=organization)).select_related(
        "service", "team"
    )
    qs = qs.filter(_owned_by("", team, service))
    if status:
        qs = qs.filter(status=status)
    if production_only:
        qs = qs.filter(is_production=True)
    if since is not None or until is not None:
        qs = qs.filter(_between("finished_at", since, until), finished_at__isnull=False)
    if failures:
        linked = IncidentDeploymentLink.objects.filter(deployment=OuterRef("pk"))
        qs = qs.filter(Q(status=Deployment.Status.FAILURE) | Q(Exists(linked), status=Deployment.Status.SUCCESS))
    if rework:
        open_incident = Incident.objects.filter(
            services=OuterRef("service_id"), started_at__lte=OuterRef("finished_at")
        ).filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=OuterRef("finished_at")))
        qs = qs.filter(status=Deployment.Status.SUCCESS).filter(
            Q(rework_marked=True) | Q(rework_marked__isnull=True, service__isnull=False) & Q(Exists(open_incident))
        )
    return qs.annotate(
        incident_count=Count("incident_links", distinct=True),
        shipped_count=Count("shipped_changes", distinct=True),
    ).order_by("-finished_at", "-pk")


def change_list(*, user, organization, team=None):
    qs = permissions.viewable(user, Change.objects.filter(organization=organization)).select_related("service")
    if team is not None:
        qs = qs.filter(Q(service__team=team) | Q(service__isnull=True, team=team))
    return qs.order_by("-committed_at")


def incident_link(*, incident) -> IncidentDeploymentLink | None:
    return (
        IncidentDeploymentLink.objects.select_related("deployment__service", "set_by").filter(incident=incident).first()
    )


def link_candidates(*, incident, limit: int = 30):
    """Production deployments of the incident's team or services before it started (for the link form).

    While the start is unknown, those that finished before the latest time known of it
    (it started before it was detected, mitigated or resolved)."""
    service_ids = list(incident.services.values_list("pk", flat=True))
    cond = Q(service__team_id=incident.team_id) | Q(service_id__in=service_ids)
    if incident.started_at is not None:
        bound = incident.started_at + timedelta(hours=1)
    else:
        bound = incident.detected_at or incident.mitigated_at or incident.resolved_at or timezone.now()
    return (
        Deployment.objects.filter(cond, organization_id=incident.organization_id, is_production=True)
        .filter(finished_at__lte=bound)
        .select_related("service")
        .order_by("-finished_at")[:limit]
    )


def recent_incidents(*, team, limit: int = 8):
    """The team's latest incidents with their deployment link (incidents are shared org-wide)."""
    from apps.postmortems.models import Incident

    return list(
        Incident.objects.filter(team=team)
        .select_related("deployment_link__deployment__service")
        .order_by(Coalesce("started_at", "detected_at", "resolved_at").desc(), "-pk")[:limit]
    )


# --- the records behind each figure (?team=&service=&since=&until=) -------------------


def _between(field: str, since: date | None, until: date | None) -> Q:
    """UTC days [since, until], both included (the rollups' days)."""
    cond = Q()
    if since is not None:
        cond &= Q(**{f"{field}__gte": datetime.combine(since, datetime.min.time(), tzinfo=UTC)})
    if until is not None:
        cond &= Q(**{f"{field}__lt": datetime.combine(until + timedelta(days=1), datetime.min.time(), tzinfo=UTC)})
    return cond


def _owned_by(prefix: str, team=None, service=None) -> Q:
    """A deployment (at `prefix`) counts for its service's team, or its own team when it has no service."""
    cond = Q()
    if team is not None:
        cond &= Q(**{f"{prefix}service__team": team}) | Q(**{f"{prefix}service__isnull": True, f"{prefix}team": team})
    if service is not None:
        cond &= Q(**{f"{prefix}service": service})
    return cond


def shipped_commits(*, user, organization, team=None, service=None, since=None, until=None, deployment=None):
    """The commits successful production deployments in the window shipped, with their lead
    times: what the lead time figure is the median of (as written by the rollup job)."""
    qs = permissions.viewable(user, Change.objects.filter(organization=organization, shipped_by__isnull=False))
    qs = qs.filter(_owned_by("shipped_by__", team, service), _between("shipped_by__finished_at", since, until))
    if deployment is not None:
        qs = qs.filter(shipped_by=deployment)
    return qs.select_related("shipped_by__service", "service").order_by("-shipped_by__finished_at", "-committed_at")


def evidence_incidents(*, user, organization, team=None, service=None, since=None, until=None):
    """Incidents that started in the window, each with the deployment link that makes it count
    (or not) as a change failure, its restore time and how often the link was changed."""
    from apps.postmortems.models import Incident

    qs = permissions.viewable(user, Incident.objects.filter(organization=organization))
    if team is not None:
        qs = qs.filter(team=team)
    if service is not None:
        qs = qs.filter(services=service)
    qs = qs.filter(_between("started_at", since, until))
    return (
        qs.select_related("team", "deployment_link__deployment__service", "deployment_link__set_by")
        .annotate(link_change_count=Count("link_changes", distinct=True))
        .order_by("-started_at", "-pk")
    )


def link_history(*, incident, limit: int = 50):
    """Who moved the incident's deployment link, when, from where to where (newest first)."""
    from .models import IncidentLinkChange

    return list(
        IncidentLinkChange.objects.filter(incident=incident)
        .select_related("from_deployment__service", "to_deployment__service", "changed_by")
        .order_by("-changed_at", "-pk")[:limit]
    )


# --- unattributed evidence and freshness -------------------------------------------


def unattributed_list(*, user, organization, integration=None):
    """Keys that still hold records without a service (count, reason, last seen), for those who
    may see the integration that sent them."""
    qs = permissions.viewable(user, UnattributedKey.objects.filter(organization=organization))
    if integration is not None:
        qs = qs.filter(integration=integration)
    qs = qs.filter(Q(commits__gt=0) | Q(deployments__gt=0) | Q(incidents__gt=0))
    return qs.select_related("integration").order_by("-last_seen_at", "key")


def freshness(*, user, organization, team_ids=None) -> dict:
    """How fresh a delivery page's data is: the last delivery received per integration (those
    the person may see) and when the rollups behind the page were last computed."""
    from django.db.models import Max

    integrations = list(
        permissions.viewable(user, Integration.objects.filter(organization=organization))
        .order_by("name")
        .values("pk", "name", "kind", "is_active", "last_delivery_at")
    )
    rollups = DailyRollup.objects.filter(organization=organization)
    if team_ids is not None:
        rollups = rollups.filter(team_id__in=list(team_ids))
    return {"integrations": integrations, "last_rollup_at": rollups.aggregate(at=Max("computed_at"))["at"]}
