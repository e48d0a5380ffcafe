"""Daily DORA rollups: recompute a team's days from its raw rows (one definition, in Python).

For each team and UTC day the job writes one team row (service None) and one row
per service with: production deployments that finished (success or failure), the
successful ones, the change failures (failed, or linked to an incident), the lead
time of every commit each successful deployment shipped (and how many of those came
from the time rule), the recovery time of every recovered change failure, the
rework deployments, and the restore time of every resolved incident that started
that day. It also writes, on each commit, the deployment that shipped it
(`Change.shipped_by`, `shipped_at`, `lead_time_seconds`, `shipped_estimated`), so the
records behind a figure can be listed. Pages and `selectors.team_dora` read the
rows, never the raw ones.

Which commits a deployment shipped (docs/delivery.md states it for users): the
successful production deployments of a stream (its service; its repository when no
service is known) are taken in the order they finished. From the commit a deployment
deployed (`Deployment.sha`) the parent chain (`Change.parent_sha`) is walked back;
every commit of the stream met that no earlier deployment shipped is shipped by this
one, and the walk stops at the first commit an earlier deployment shipped (so a commit
counts once, for the first deployment whose sha reaches it). Failed deployments ship
nothing. When the deployed sha is empty or is not a known commit of the stream, the
time rule ships the stream's commits not shipped yet committed after the previous
successful deployment finished and up to this one's finish, and marks them estimated.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Exists, Max, Min, OuterRef, Q

from apps.teams.models import Service, Team

from .models import Change, DailyRollup, Deployment, DirtyDay, IncidentDeploymentLink

# A deployment ships at most the commits of this many days before it.
LEAD_TIME_LOOKBACK = timedelta(days=180)
# A failed deployment not recovered yet is looked for this far back (its recovery lands on its day).
RECOVERY_LOOKBACK = timedelta(days=180)
CHUNK = 100
# A deployment whose ref starts with one of these is rework by the source's own word.
REWORK_REF_PREFIXES = ("hotfix/", "hotfix-", "revert-", "refs/heads/hotfix/", "refs/heads/revert-")


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def today() -> date:
    return datetime.now(UTC).date()


def _stream(service_id, repository):
    return ("s", service_id) if service_id else ("r", (repository or "").lower())


def is_rework_ref(ref: str) -> bool:
    ref = (ref or "").lower()
    return ref.startswith(REWORK_REF_PREFIXES)


def refresh(*, team_ids, since: date, until: date | None = None) -> int:
    """Recompute the rollups of `team_ids` for the days [since, until]. Returns rows written.

    A team whose service failed a deployment before `since` and recovers in the range
    (its first success after the failure is in it) is recomputed from the failure's day,
    where its recovery time is written."""
    until = until or today()
    groups = defaultdict(list)
    for team_id, day in _recovery_days(list(team_ids), since, until).items():
        groups[day].append(team_id)
    written = 0
    for day, ids in sorted(groups.items()):
        for i in range(0, len(ids), CHUNK):
            written += _refresh_chunk(ids[i : i + CHUNK], day, until)
    return written


def _recovery_days(team_ids: list[int], since: date, until: date) -> dict[int, date]:
    start, end = day_start(since), day_start(until + timedelta(days=1))
    days = dict.fromkeys(team_ids, since)
    prod = Deployment.objects.filter(is_production=True, service__team_id__in=team_ids)
    success_between = prod.filter(
        service_id=OuterRef("service_id"),
        status=Deployment.Status.SUCCESS,
        finished_at__gt=OuterRef("finished_at"),
        finished_at__lt=start,
    )
    success_in_range = prod.filter(
        service_id=OuterRef("service_id"), status=Deployment.Status.SUCCESS, finished_at__gte=start, finished_at__lt=end
    )
    for team_id, first in (
        prod.filter(status=Deployment.Status.FAILURE, finished_at__lt=start, finished_at__gte=start - RECOVERY_LOOKBACK)
        .filter(~Exists(success_between), Exists(success_in_range))
        .values("service__team_id")
        .annotate(first=Min("finished_at"))
        .values_list("service__team_id", "first")
    ):
        days[team_id] = min(since, utc_day(first))
    return days


@transaction.atomic
def _refresh_chunk(team_ids: list[int], since: date, until: date) -> int:
    from apps.postmortems.models import Incident

    teams = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "organization_id"))
    if not teams:
        return 0
    # A row belongs to its service's team; rows without a service to their own team.
    service_team = dict(Service.objects.filter(team_id__in=list(teams)).values_list("pk", "team_id"))
    owned = Q(service_id__in=list(service_team)) | Q(service__isnull=True, team_id__in=list(teams))
    prod = Deployment.objects.filter(owned, is_production=True)
    start, end = day_start(since), day_start(until + timedelta(days=1))
    oldest = start - LEAD_TIME_LOOKBACK
    success = Deployment.Status.SUCCESS

    deployments = list(
        prod.filter(status__in=(success, Deployment.Status.FAILURE), finished_at__gte=start, finished_at__lt=end)
        .values_list(
            "pk",
            "team_id",
            "service_id",
            "repository",
            "organization_id",
            "status",
            "finished_at",
            "sha",
            "ref",
            "rework_marked",
        )
        .order_by("finished_at", "pk")
    )
    in_range = prod.filter(finished_at__gte=start, finished_at__lt=end)

    # The previous successful production deployment of every stream, from before the range.
    previous: dict[tuple, datetime] = {}
    for service_id, last in (
        Service.objects.filter(pk__in=list(service_team))
        .annotate(
            last=prod.filter(service_id=OuterRef("pk"), status=success, finished_at__lt=start, finished_at__gte=oldest)
            .order_by("-finished_at")
            .values("finished_at")[:1]
        )
        .values_list("pk", "last")
    ):
        if last:
            previous[("s", service_id)] = last
    for repository, last in (
        prod.filter(service__isnull=True, status=success, finished_at__lt=start, finished_at__gte=oldest)
        .values("repository")
        .annotate(last=Max("finished_at"))
        .values_list("repository", "last")
    ):
        key = _stream(None, repository)
        if key not in previous or last > previous[key]:
            previous[key] = last

    # Candidate commits: those no deployment before the range shipped (shipped_at marks it).
    nodes: dict[tuple, list] = {}  # (org, repository, sha) -> [pk, parent, committed, stream, old values]
    by_sha: dict[tuple, list] = defaultdict(list)  # (org, sha) -> nodes
    by_time: dict[tuple, list] = defaultdict(list)  # stream -> nodes sorted by commit time
    for pk, org_id, service_id, repository, sha, parent, committed, shipped_by, shipped_at, lead, estimated in (
        Change.objects.filter(owned, committed_at__lt=end)
        .filter(Q(shipped_at__gte=start) | Q(shipped_at__isnull=True, committed_at__gte=oldest))
        .values_list(
            "pk",
            "organization_id",
            "service_id",
            "repository",
            "sha",
            "parent_sha",
            "committed_at",
            "shipped_by_id",
            "shipped_at",
            "lead_time_seconds",
            "shipped_estimated",
        )
        .order_by("committed_at", "pk")
    ):
        stream = _stream(service_id, repository)
        node = [pk, parent, committed, stream, (shipped_by, shipped_at, lead, estimated), repository]
        nodes[(org_id, repository, sha)] = node
        by_sha[(org_id, sha)].append(node)
        by_time[stream].append(node)
    times = {stream: [n[2] for n in items] for stream, items in by_time.items()}
    # Commits the deployed sha is known for, but that were shipped before the range (not candidates).
    known_before = (
        set(
            Change.objects.filter(owned, shipped_at__lt=start, sha__in={d[7] for d in deployments if d[7]}).values_list(
                "organization_id", "sha"
            )
        )
        if any(d[7] for d in deployments)
        else set()
    )

    def start_node(org_id, sha, stream, repository):
        for node in by_sha.get((org_id, sha), ()):
            if node[3] == stream:
                return node
        for node in by_sha.get((org_id, sha), ()):
            if node[5].lower() == (repository or "").lower():
                return node
        return None

    shipped: dict[int, tuple] = {}  # change pk -> (deployment pk, finished, lead seconds or None, estimated)

    def ship(node, dep_pk, finished, estimated):
        secs = round((finished - node[2]).total_seconds())
        shipped[node[0]] = (dep_pk, finished, secs if secs > 0 else None, estimated)
        return secs

    # Incidents linked to the range's deployments, and incidents open during it (rework).
    links = defaultdict(list)
    for dep_id, started, resolved in IncidentDeploymentLink.objects.filter(
        deployment__in=in_range.filter(status__in=(success, Deployment.Status.FAILURE))
    ).values_list("deployment_id", "incident__started_at", "incident__resolved_at"):
        links[dep_id].append((started, resolved))
    open_incidents = defaultdict(list)
    for service_id, started, resolved in (
        Incident.services.through.objects.filter(service_id__in=list(service_team), incident__started_at__lt=end)
        .filter(Q(incident__resolved_at__isnull=True) | Q(incident__resolved_at__gte=start))
        .values_list("service_id", "incident__started_at", "incident__resolved_at")
    ):
        open_incidents[service_id].append((started, resolved))

    # The next success after the range, for failures the range does not recover.
    after = {}
    for service_id, repository, first in (
        prod.filter(status=success, finished_at__gte=end)
        .values("service_id", "repository")
        .annotate(first=Min("finished_at"))
        .values_list("service_id", "repository", "first")
    ):
        key = _stream(service_id, repository)
        if key not in after or first < after[key]:
            after[key] = first

    facts: dict[tuple, dict] = defaultdict(
        lambda: {
            "deployments": 0,
            "successful": 0,
            "failed": 0,
            "lead_times": [],
            "lead_times_estimated": 0,
            "recovery_times": [],
            "rework": 0,
            "restore_times": [],
            "incidents": 0,
        }
    )

    def add(team_id, service_id, day, **values):
        for key in ((team_id, None, day), (team_id, service_id, day)) if service_id else ((team_id, None, day),):
            row = facts[key]
            for name, value in values.items():
                if isinstance(value, list):
                    row[name].extend(value)
                else:
                    row[name] += value

    waiting: dict[tuple, list] = defaultdict(list)  # stream -> failures waiting for their recovery
    for pk, team_id, service_id, repository, org_id, status, finished, sha, ref, marked in deployments:
        team_id = service_team[service_id] if service_id else team_id
        day = utc_day(finished)
        key = _stream(service_id, repository)
        ok = status == success
        lead, estimated, recovery, rework = [], 0, [], 0
        if ok:
            floor = finished - LEAD_TIME_LOOKBACK
            node = start_node(org_id, sha, key, repository) if sha else None
            if node is not None or (sha and (org_id, sha) in known_before):
                seen = set()
                while node is not None and node[0] not in seen and node[2] > floor:
                    seen.add(node[0])
                    if node[3] == key:
                        if node[0] in shipped:
                            break
                        lead.append(ship(node, pk, finished, False))
                    node = nodes.get((org_id, node[5], node[1])) if node[1] else None
            else:
                prev = max(previous.get(key) or oldest, floor)
                stream_times = times.get(key, ())
                lo = bisect.bisect_right(stream_times, prev)
                hi = bisect.bisect_right(stream_times, finished)
                for candidate in by_time[key][lo:hi] if hi > lo else ():
                    if candidate[0] not in shipped:
                        lead.append(ship(candidate, pk, finished, True))
                        estimated += 1 if lead[-1] > 0 else 0
            previous[key] = finished
            for failed_at, fail_team, fail_service, fail_day in waiting.pop(key, ()):
                add(fail_team, fail_service, fail_day, recovery_times=[round((finished - failed_at).total_seconds())])
            impacts = links.get(pk, ())
            if impacts and all(resolved for _, resolved in impacts):
                recovery = [max(max(0, round((resolved - started).total_seconds())) for started, resolved in impacts)]
            if marked is not None:
                rework = int(marked)
            else:
                rework = int(
                    is_rework_ref(ref)
                    or any(
                        started <= finished and (resolved is None or finished <= resolved)
                        for started, resolved in open_incidents.get(service_id, ())
                    )
                )
        else:
            waiting[key].append((finished, team_id, service_id, day))
        add(
            team_id,
            service_id,
            day,
            deployments=1,
            successful=int(ok),
            failed=int(not ok or bool(links.get(pk))),
            lead_times=[s for s in lead if s > 0],
            lead_times_estimated=estimated,
            recovery_times=recovery,
            rework=rework,
        )
    for key, failures in waiting.items():
        if key in after:
            for failed_at, fail_team, fail_service, fail_day in failures:
                add(fail_team, fail_service, fail_day, recovery_times=[round((after[key] - failed_at).total_seconds())])

    incidents = list(
        Incident.objects.filter(team_id__in=list(teams), started_at__gte=start, started_at__lt=end).values_list(
            "pk", "team_id", "started_at", "resolved_at"
        )
    )
    services_of = defaultdict(list)
    for incident_id, service_id in Incident.services.through.objects.filter(
        incident__team_id__in=list(teams), incident__started_at__gte=start, incident__started_at__lt=end
    ).values_list("incident_id", "service_id"):
        services_of[incident_id].append(service_id)
    for incident_id, team_id, started, resolved in incidents:
        day = utc_day(started)
        restore = [max(0, round((resolved - started).total_seconds()))] if resolved else []
        facts[(team_id, None, day)]["incidents"] += 1
        facts[(team_id, None, day)]["restore_times"].extend(restore)
        for service_id in services_of.get(incident_id, ()):
            # A service's restore time counts the incidents of its own team's services.
            if service_team.get(service_id) == team_id:
                facts[(team_id, service_id, day)]["incidents"] += 1
                facts[(team_id, service_id, day)]["restore_times"].extend(restore)

    _write_shipped(nodes, shipped)
    DailyRollup.objects.filter(team_id__in=list(teams), day__gte=since, day__lte=until).delete()
    rows = [
        DailyRollup(organization_id=teams[team_id], team_id=team_id, service_id=service_id, day=day, **values)
        for (team_id, service_id, day), values in facts.items()
        if since <= day <= until
    ]
    DailyRollup.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _write_shipped(nodes: dict, shipped: dict) -> None:
    """Store on each candidate commit what shipped it; only the rows whose values change are written."""
    clear, sets = [], []
    for node in nodes.values():
        pk, old = node[0], node[4]
        new = shipped.get(pk)
        if new is None:
            if old[0] is not None:
                clear.append(pk)
        elif old != new:
            sets.append((pk, *new))
    if clear:
        for i in range(0, len(clear), 10000):
            Change.objects.filter(pk__in=clear[i : i + 10000]).update(
                shipped_by=None, shipped_at=None, lead_time_seconds=None, shipped_estimated=False
            )
    if not sets:
        return
    table = Change._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for i in range(0, len(sets), 50000):
                part = sets[i : i + 50000]
                cursor.execute(
                    f"""UPDATE {table} c SET shipped_by_id = v.dep, shipped_at = v.at, lead_time_seconds = v.secs,
                        shipped_estimated = v.est
                    FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::bigint[]) AS dep,
                                 unnest(%s::timestamptz[]) AS at, unnest(%s::bigint[]) AS secs,
                                 unnest(%s::boolean[]) AS est) v
                    WHERE c.id = v.id""",  # noqa: S608 - the table name comes from the model
                    [
                        [r[0] for r in part],
                        [r[1] for r in part],
                        [r[2] for r in part],
                        [r[3] for r in part],
                        [r[4] for r in part],
                    ],
                )
    else:
        for pk, dep, at, secs, est in sets:
            Change.objects.filter(pk=pk).update(
                shipped_by_id=dep, shipped_at=at, lead_time_seconds=secs, shipped_estimated=est
            )


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
