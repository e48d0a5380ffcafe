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

from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef, Q

from apps.teams.models import Service, Team

from .models import Change, DailyRollup, Deployment, DirtyDay, IncidentDeploymentLink

# A deployment ships at most the commits of this many days before it.
LEAD_TIME_LOOKBACK = timedelta(days=180)
CHUNK = 25
CHUNK_SQL = 1000


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
    if connection.vendor == "postgresql":
        # One statement scans each table once, so bigger chunks are cheaper per team.
        chunk, size = _refresh_chunk_sql, CHUNK_SQL
    else:
        chunk, size = _refresh_chunk, CHUNK
    for i in range(0, len(team_ids), size):
        written += chunk(team_ids[i : i + size], since, until)
    return written


@transaction.atomic
def _refresh_chunk(team_ids: list[int], since: date, until: date) -> int:
    """The portable implementation (SQLite, and the reference the PostgreSQL one is tested against)."""
    from apps.postmortems.models import Incident

    start, end = day_start(since), day_start(until + timedelta(days=1))
    teams = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "organization_id"))
    if not teams:
        return 0
    # A row belongs to its service's team; rows without a service to their own team.
    service_team = dict(Service.objects.filter(team_id__in=list(teams)).values_list("pk", "team_id"))
    owned = Q(service_id__in=list(service_team)) | Q(service__isnull=True, team_id__in=list(teams))
    prod = Deployment.objects.filter(owned, is_production=True)
    linked = IncidentDeploymentLink.objects.filter(deployment=OuterRef("pk"))
    deployments = [
        (service_team[service_id] if service_id else team_id, service_id, repository, status, finished, is_linked)
        for team_id, service_id, repository, status, finished, is_linked in (
            prod.filter(status__in=(Deployment.Status.SUCCESS, Deployment.Status.FAILURE))
            .filter(finished_at__gte=start, finished_at__lt=end)
            .annotate(linked=Exists(linked))
            .values_list("team_id", "service_id", "repository", "status", "finished_at", "linked")
            .order_by("finished_at")
        )
    ]
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
    oldest = start - LEAD_TIME_LOOKBACK
    commits: dict[tuple, list[datetime]] = defaultdict(list)
    for service_id, repository, committed in (
        Change.objects.filter(owned, committed_at__gte=oldest, committed_at__lt=end)
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
            prev = max(previous.get(key) or oldest, finished - LEAD_TIME_LOOKBACK)
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


# On PostgreSQL the same facts are computed inside the database: a commit is shipped by
# the first successful production deployment of its stream at or after it (window
# function over deployments and commits sorted together), grouped per team/service/day
# with GROUPING SETS, and written with one INSERT ... SELECT.
ROLLUP_SQL = """
WITH svc AS (
    SELECT id, team_id FROM teams_service WHERE team_id = ANY(%(teams)s)
), dep AS (
    SELECT d.id, COALESCE(svc.team_id, d.team_id) AS team_id, d.service_id, d.status, d.finished_at,
           CASE WHEN d.service_id IS NULL THEN lower(d.repository) COLLATE "C" END AS repo,
           EXISTS (SELECT 1 FROM delivery_incidentdeploymentlink l WHERE l.deployment_id = d.id) AS linked
    FROM delivery_deployment d LEFT JOIN svc ON svc.id = d.service_id
    WHERE d.is_production AND d.status IN ('success', 'failure')
      AND d.finished_at >= %(start)s AND d.finished_at < %(end)s
      AND (svc.id IS NOT NULL OR (d.service_id IS NULL AND d.team_id = ANY(%(teams)s)))
), prev_svc AS (
    -- The last successful production deployment of each service before the range: commits
    -- before it were shipped by it (or earlier), so only later commits are read.
    SELECT svc.id AS service_id, p.finished_at AS last
    FROM svc CROSS JOIN LATERAL (
        SELECT d.finished_at FROM delivery_deployment d
        WHERE d.service_id = svc.id AND d.is_production AND d.status = 'success'
          AND d.finished_at < %(start)s AND d.finished_at >= %(oldest)s
        ORDER BY d.finished_at DESC LIMIT 1
    ) p
), prev_repo AS (
    SELECT lower(d.repository) COLLATE "C" AS repo, max(d.finished_at) AS last
    FROM delivery_deployment d
    WHERE d.service_id IS NULL AND d.team_id = ANY(%(teams)s) AND d.is_production AND d.status = 'success'
      AND d.finished_at < %(start)s AND d.finished_at >= %(oldest)s
    GROUP BY 1
), counts AS (
    SELECT team_id, CASE WHEN GROUPING(service_id) = 1 THEN 0 ELSE service_id END AS sk,
           (finished_at AT TIME ZONE 'UTC')::date AS day,
           count(*) AS deployments,
           count(*) FILTER (WHERE status = 'success') AS successful,
           count(*) FILTER (WHERE status = 'failure' OR linked) AS failed
    FROM dep
    GROUP BY GROUPING SETS ((team_id, service_id, (finished_at AT TIME ZONE 'UTC')::date),
                            (team_id, (finished_at AT TIME ZONE 'UTC')::date))
), ev AS (
    SELECT service_id AS stream_service, repo, finished_at AS t, 1 AS kind, NULL::bigint AS team_id,
           NULL::bigint AS service_id
    FROM dep WHERE status = 'success'
    UNION ALL
    SELECT c.service_id, NULL, c.committed_at, 0, svc.team_id, c.service_id
    FROM svc JOIN delivery_change c ON c.service_id = svc.id
    LEFT JOIN prev_svc p ON p.service_id = svc.id
    WHERE c.committed_at >= GREATEST(%(oldest)s, p.last) AND c.committed_at < %(end)s
      AND (p.last IS NULL OR c.committed_at > p.last)
    UNION ALL
    SELECT NULL, lower(c.repository) COLLATE "C", c.committed_at, 0, c.team_id, NULL
    FROM delivery_change c LEFT JOIN prev_repo p ON p.repo = lower(c.repository) COLLATE "C"
    WHERE c.service_id IS NULL AND c.team_id = ANY(%(teams)s)
      AND c.committed_at >= %(oldest)s AND c.committed_at < %(end)s
      AND (p.last IS NULL OR c.committed_at > p.last)
), nx AS (
    SELECT kind, t, team_id, service_id,
           -- The earliest deployment at or after this row: a running min over the stream (the
           -- service, else the repository) in descending time (a frame anchored at the start stays linear).
           min(t) FILTER (WHERE kind = 1) OVER (
               PARTITION BY stream_service, repo ORDER BY t DESC, kind DESC
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
           ) AS next_deploy
    FROM ev
), leads AS (
    SELECT team_id, service_id, (next_deploy AT TIME ZONE 'UTC')::date AS day,
           round(extract(epoch FROM next_deploy - t))::bigint AS secs
    FROM nx
    WHERE kind = 0 AND next_deploy >= %(start)s AND next_deploy > t AND next_deploy - t < %(lookback)s
), lead_agg AS (
    SELECT team_id, CASE WHEN GROUPING(service_id) = 1 THEN 0 ELSE service_id END AS sk, day,
           jsonb_agg(secs ORDER BY secs) AS lead_times
    FROM leads
    GROUP BY GROUPING SETS ((team_id, service_id, day), (team_id, day))
), inc AS (
    SELECT i.id, i.team_id, (i.started_at AT TIME ZONE 'UTC')::date AS day,
           CASE WHEN i.resolved_at IS NOT NULL
                THEN greatest(0, round(extract(epoch FROM i.resolved_at - i.started_at)))::bigint END AS secs
    FROM postmortems_incident i
    WHERE i.team_id = ANY(%(teams)s) AND i.started_at >= %(start)s AND i.started_at < %(end)s
), inc_agg AS (
    SELECT team_id, 0 AS sk, day, count(*) AS n,
           COALESCE(jsonb_agg(secs ORDER BY secs) FILTER (WHERE secs IS NOT NULL), '[]'::jsonb) AS restore
    FROM inc GROUP BY team_id, day
    UNION ALL
    SELECT inc.team_id, svc.id, inc.day, count(*),
           COALESCE(jsonb_agg(inc.secs ORDER BY inc.secs) FILTER (WHERE inc.secs IS NOT NULL), '[]'::jsonb)
    FROM inc JOIN postmortems_incident_services s ON s.incident_id = inc.id
    JOIN svc ON svc.id = s.service_id AND svc.team_id = inc.team_id
    GROUP BY inc.team_id, svc.id, inc.day
), keys AS (
    SELECT team_id, sk, day FROM counts WHERE team_id IS NOT NULL AND sk IS NOT NULL
    UNION SELECT team_id, sk, day FROM lead_agg WHERE team_id IS NOT NULL AND sk IS NOT NULL
    UNION SELECT team_id, sk, day FROM inc_agg
)
INSERT INTO delivery_dailyrollup (organization_id, team_id, service_id, day, deployments, successful, failed,
                                  lead_times, restore_times, incidents, computed_at,
                                  lead_times_estimated, recovery_times, rework)
SELECT t.organization_id, k.team_id, NULLIF(k.sk, 0), k.day,
       COALESCE(c.deployments, 0), COALESCE(c.successful, 0), COALESCE(c.failed, 0),
       COALESCE(l.lead_times, '[]'::jsonb), COALESCE(r.restore, '[]'::jsonb), COALESCE(r.n, 0), now(),
       0, '[]'::jsonb, 0
FROM keys k
JOIN teams_team t ON t.id = k.team_id
LEFT JOIN counts c ON c.team_id = k.team_id AND c.sk = k.sk AND c.day = k.day
LEFT JOIN lead_agg l ON l.team_id = k.team_id AND l.sk = k.sk AND l.day = k.day
LEFT JOIN inc_agg r ON r.team_id = k.team_id AND r.sk = k.sk AND r.day = k.day
WHERE k.day BETWEEN %(since)s AND %(until)s
"""


@transaction.atomic
def _refresh_chunk_sql(team_ids: list[int], since: date, until: date) -> int:
    start, end = day_start(since), day_start(until + timedelta(days=1))
    DailyRollup.objects.filter(team_id__in=team_ids, day__gte=since, day__lte=until).delete()
    params = {
        "teams": list(team_ids),
        "start": start,
        "end": end,
        "oldest": start - LEAD_TIME_LOOKBACK,
        "lookback": LEAD_TIME_LOOKBACK,
        "since": since,
        "until": until,
    }
    with connection.cursor() as cursor:
        # Sorting a few million rows in memory rather than on disk (this transaction only).
        cursor.execute("SET LOCAL work_mem = '128MB'")
        cursor.execute(ROLLUP_SQL, params)
        return cursor.rowcount
