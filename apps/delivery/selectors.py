"""Reads of the delivery app. DORA numbers come from the daily rollups (one
query for any number of teams); lists are scoped by apps.core.permissions."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, Q

from apps.core import permissions

from . import metrics
from .models import Change, DailyRollup, Deployment, IncidentDeploymentLink, Integration, RawEvent

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


def deployment_list(*, user, organization, team=None, service=None, status=None, production_only=False):
    qs = permissions.viewable(user, Deployment.objects.filter(organization=organization)).select_related(
        "service", "team"
    )
    if team is not None:
        qs = qs.filter(Q(service__team=team) | Q(service__isnull=True, team=team))
    if service is not None:
        qs = qs.filter(service=service)
    if status:
        qs = qs.filter(status=status)
    if production_only:
        qs = qs.filter(is_production=True)
    return qs.annotate(incident_count=Count("incident_links", distinct=True)).order_by("-finished_at", "-pk")


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
    """Production deployments of the incident's team or services before it started (for the link form)."""
    service_ids = list(incident.services.values_list("pk", flat=True))
    cond = Q(service__team_id=incident.team_id) | Q(service_id__in=service_ids)
    return (
        Deployment.objects.filter(cond, organization_id=incident.organization_id, is_production=True)
        .filter(finished_at__lte=incident.started_at + timedelta(hours=1))
        .select_related("service")
        .order_by("-finished_at")[:limit]
    )


def recent_incidents(*, team, limit: int = 8):
    """The team's latest incidents with their deployment link (incidents are shared org-wide)."""
    from apps.postmortems.models import Incident

    return list(
        Incident.objects.filter(team=team)
        .select_related("deployment_link__deployment__service")
        .order_by("-started_at")[:limit]
    )
