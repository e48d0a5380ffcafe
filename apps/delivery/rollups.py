"""Daily DORA rollups: recompute a team's days from its raw rows.

For each team and UTC day the job writes one team row (service None) and one
row per service with: production deployments that finished (success or
failure), the successful ones, the failed ones (failed, or linked to an
incident), the lead time of every commit each successful deployment shipped
(commits since the previous successful production deployment of the same
service, or of the same repository when no service is known), and the restore
time of every resolved incident that started that day. Pages and
`selectors.team_dora` read these rows, never the raw ones.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.db.models.functions import Coalesce

from apps.teams.models import Team

from .models import Change, DailyRollup, Deployment, DirtyDay, IncidentDeploymentLink

# A deployment with no earlier one ships at most the commits of this many days before it.
FIRST_DEPLOY_LOOKBACK = timedelta(days=180)
CHUNK = 25


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def today() -> date:
    return datetime.now(UTC).date()


def _stream(service_id, repository):
    return ("s", service_id) if service_id else ("r", (repository or "").lower())


def refresh(*, team_ids, since: date, until: date | None = None) -> int:
    """Recompute the rollups of `team_ids` for the days [since, until]. Returns rows written."""
    until = until or today()
    team_ids = list(team_ids)
    written = 0
    for i in range(0, len(team_ids), CHUNK):
        written += _refresh_chunk(team_ids[i : i + CHUNK], since, until)
    return written


@transaction.atomic
def _refresh_chunk(team_ids: list[int], since: date, until: date) -> int:
    from apps.postmortems.models import Incident

    start, end = day_start(since), day_start(until + timedelta(days=1))
    teams = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "organization_id"))
    if not teams:
        return 0
    prod = Deployment.objects.annotate(eff_team=Coalesce("service__team_id", "team_id")).filter(
        eff_team__in=list(teams), is_production=True
    )
    linked = IncidentDeploymentLink.objects.filter(deployment=OuterRef("pk"))
    deployments = list(
        prod.filter(
            status__in=(Deployment.Status.SUCCESS, Deployment.Status.FAILURE),
            finished_at__gte=start,
            finished_at__lt=end,
        )
        .annotate(linked=Exists(linked))
        .values_list("eff_team", "service_id", "repository", "status", "finished_at", "linked")
        .order_by("finished_at")
    )
    # The previous successful production deployment of every stream, from before the range.
    previous: dict[tuple, datetime] = {}
    for service_id, repository, last in (
        prod.filter(status=Deployment.Status.SUCCESS, finished_at__lt=start)
        .values("service_id", "repository")
        .annotate(last=Max("finished_at"))
        .values_list("service_id", "repository", "last")
    ):
        key = _stream(service_id, repository)
        if key not in previous or last > previous[key]:
            previous[key] = last
    oldest = min([start - FIRST_DEPLOY_LOOKBACK, *[p for p in previous.values() if p > start - FIRST_DEPLOY_LOOKBACK]])
    commits: dict[tuple, list[datetime]] = defaultdict(list)
    for service_id, repository, committed in (
        Change.objects.annotate(eff_team=Coalesce("service__team_id", "team_id"))
        .filter(eff_team__in=list(teams), committed_at__gte=oldest, committed_at__lt=end)
        .values_list("service_id", "repository", "committed_at")
        .order_by("committed_at")
    ):
        commits[_stream(service_id, repository)].append(committed)

    facts: dict[tuple, dict] = defaultdict(
        lambda: {"deployments": 0, "successful": 0, "failed": 0, "lead_times": [], "restore_times": [], "incidents": 0}
    )

    def add(team_id, service_id, day, **values):
        for key in ((team_id, None, day), (team_id, service_id, day)) if service_id else ((team_id, None, day),):
            row = facts[key]
            for name, value in values.items():
                if isinstance(value, list):
                    row[name].extend(value)
                else:
                    row[name] += value

    for team_id, service_id, repository, status, finished, is_linked in deployments:
        day = utc_day(finished)
        ok = status == Deployment.Status.SUCCESS
        lead = []
        if ok:
            key = _stream(service_id, repository)
            prev = previous.get(key) or (finished - FIRST_DEPLOY_LOOKBACK)
            times = commits.get(key, ())
            lo = bisect.bisect_right(times, prev)
            hi = bisect.bisect_right(times, finished)
            lead = [round((finished - c).total_seconds()) for c in times[lo:hi]]
            lead = [s for s in lead if s > 0]
            previous[key] = finished
        add(
            team_id,
            service_id,
            day,
            deployments=1,
            successful=int(ok),
            failed=int(not ok or is_linked),
            lead_times=lead,
        )

    incidents = list(
        Incident.objects.filter(team_id__in=list(teams), started_at__gte=start, started_at__lt=end).values_list(
            "pk", "team_id", "started_at", "resolved_at"
        )
    )
    services_of = defaultdict(list)
    for incident_id, service_id in Incident.services.through.objects.filter(
        incident_id__in=[i[0] for i in incidents]
    ).values_list("incident_id", "service_id"):
        services_of[incident_id].append(service_id)
    service_team = {}
    if services_of:
        from apps.teams.models import Service

        service_team = dict(
            Service.objects.filter(pk__in={s for v in services_of.values() for s in v}).values_list("pk", "team_id")
        )
    for incident_id, team_id, started, resolved in incidents:
        day = utc_day(started)
        restore = [round((resolved - started).total_seconds())] if resolved and resolved > started else []
        if resolved and resolved == started:
            restore = [0]
        facts[(team_id, None, day)]["incidents"] += 1
        facts[(team_id, None, day)]["restore_times"].extend(restore)
        for service_id in services_of.get(incident_id, ()):
            # A service's restore time counts the incidents of its own team's services.
            if service_team.get(service_id) == team_id:
                facts[(team_id, service_id, day)]["incidents"] += 1
                facts[(team_id, service_id, day)]["restore_times"].extend(restore)

    DailyRollup.objects.filter(team_id__in=list(teams), day__gte=since, day__lte=until).delete()
    rows = [
        DailyRollup(organization_id=teams[team_id], team_id=team_id, service_id=service_id, day=day, **values)
        for (team_id, service_id, day), values in facts.items()
        if since <= day <= until
    ]
    DailyRollup.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def refresh_dirty() -> int:
    """Recompute every team marked dirty, from its earliest stale day to today."""
    marks = list(DirtyDay.objects.values_list("team_id", "day", "marked_at"))
    by_day = defaultdict(list)
    for team_id, day, _ in marks:
        by_day[day].append(team_id)
    written = 0
    for day, team_ids in sorted(by_day.items()):
        written += refresh(team_ids=team_ids, since=day)
    for team_id, _day, marked_at in marks:
        # A mark made while we computed stays for the next run.
        DirtyDay.objects.filter(team_id=team_id, marked_at=marked_at).delete()
    return written


def rebuild(*, days: int = 120, organization=None) -> int:
    """Recompute the last `days` days of every team (nightly safety net, and after imports)."""
    teams = Team.objects.all()
    if organization is not None:
        teams = teams.filter(organization=organization)
    return refresh(team_ids=list(teams.values_list("pk", flat=True)), since=today() - timedelta(days=days - 1))
