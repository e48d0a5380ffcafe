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
import gc
import json
import operator
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from functools import reduce

from django.db import connection, transaction
from django.db.models import BigIntegerField, Exists, F, Func, Max, Min, OuterRef, Q
from django.utils import timezone

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
    days = _recovery_days(list(team_ids), since, until)
    ordered = sorted(days, key=lambda t: (days[t], t))
    # Fewer, larger chunks for short ranges (the 5-minute job); each chunk starts at its earliest day.
    size = max(CHUNK, min(CHUNK * 3, CHUNK * 30 // max(1, (until - since).days + 1)))
    written = 0
    # The chunks build large lists of small containers: the cycle collector would rescan them
    # over and over (nothing here makes cycles), so it waits until the end.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for i in range(0, len(ordered), size):
            part = ordered[i : i + size]
            written += _refresh_chunk(part, days[part[0]], until)
    finally:
        if collecting:
            gc.enable()
    return written


def _recovery_days(team_ids: list[int], since: date, until: date) -> dict[int, date]:
    start, end = day_start(since), day_start(until + timedelta(days=1))
    days = dict.fromkeys(team_ids, since)
    prod = Deployment.objects.filter(is_production=True)
    ok = Deployment.Status.SUCCESS
    # Services that recover in the range, and their last success before it.
    last_ok = {
        service_id: (team_id, last or start - RECOVERY_LOOKBACK)
        for service_id, team_id, last in Service.objects.filter(team_id__in=team_ids)
        .filter(Exists(prod.filter(service_id=OuterRef("pk"), status=ok, finished_at__gte=start, finished_at__lt=end)))
        .annotate(
            last=prod.filter(service_id=OuterRef("pk"), status=ok, finished_at__lt=start)
            .order_by("-finished_at")
            .values("finished_at")[:1]
        )
        .values_list("pk", "team_id", "last")
    }
    if not last_ok:
        return days
    lowest = max(min(last for _, last in last_ok.values()), start - RECOVERY_LOOKBACK)
    for service_id, finished in prod.filter(
        service_id__in=list(last_ok), status=Deployment.Status.FAILURE, finished_at__gte=lowest, finished_at__lt=start
    ).values_list("service_id", "finished_at"):
        team_id, last = last_ok[service_id]
        if finished > last:
            days[team_id] = min(days[team_id], utc_day(finished))
    return days


def _epoch(field: str):
    """Whole UTC seconds of a datetime column, computed by the database (ints compare and
    subtract much faster than datetimes in the hot loops below)."""
    if connection.vendor == "postgresql":
        template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) AS bigint)"
    else:
        template = "CAST(strftime('%%%%s', %(expressions)s) AS integer)"
    return Func(F(field), template=template, output_field=BigIntegerField())


def _raw_rows(queryset) -> list[tuple]:
    """The rows of a values_list() queryset straight from the cursor (no per-value converters:
    the columns read this way are ints, strings and booleans)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _day(seconds: int) -> date:
    return EPOCH_DATE + timedelta(days=seconds // 86400)


EPOCH_DATE = date(1970, 1, 1)


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
    oldest_s = int(oldest.timestamp())
    lookback_s = int(LEAD_TIME_LOOKBACK.total_seconds())
    success = Deployment.Status.SUCCESS

    deployments = list(
        prod.filter(status__in=(success, Deployment.Status.FAILURE), finished_at__gte=start, finished_at__lt=end)
        .annotate(t=_epoch("finished_at"))
        .values_list(
            "pk", "team_id", "service_id", "repository", "organization_id", "status", "t", "sha", "ref", "rework_marked"
        )
        .order_by("finished_at", "pk")
    )
    in_range = prod.filter(finished_at__gte=start, finished_at__lt=end)
    deployed = {(d[4], d[7]) for d in deployments if d[7]}

    # The previous successful production deployment of every stream, from before the range.
    previous: dict[tuple, int] = {}
    for service_id, last in (
        Service.objects.filter(pk__in=list(service_team))
        .annotate(
            last=prod.filter(service_id=OuterRef("pk"), status=success, finished_at__lt=start, finished_at__gte=oldest)
            .order_by("-finished_at")
            .annotate(t=_epoch("finished_at"))
            .values("t")[:1]
        )
        .values_list("pk", "last")
    ):
        if last is not None:
            previous[("s", service_id)] = last
    for repository, last in (
        prod.filter(service__isnull=True, status=success, finished_at__lt=start, finished_at__gte=oldest)
        .values("repository")
        .annotate(last=Max(_epoch("finished_at")))
        .values_list("repository", "last")
    ):
        key = _stream(None, repository)
        if key not in previous or last > previous[key]:
            previous[key] = last

    # Candidate commits: those no deployment before the range shipped (shipped_at says which).
    nodes: dict[tuple, list] = {}  # (org, repository, sha) -> [pk, parent, committed, stream, old values, repository]
    by_sha: dict[tuple, list] = defaultdict(list)  # (org, sha) -> nodes
    by_time: dict[tuple, list] = defaultdict(list)  # stream -> nodes in commit order
    service_rows = Q(service_id__in=list(service_team))
    repo_rows = Q(service__isnull=True, team_id__in=list(teams))
    candidates = []
    # Four index range scans (an OR across them would read every commit of the services).
    for rows, when in (
        (service_rows, Q(shipped_at__gte=start)),
        (service_rows, Q(shipped_at__isnull=True, committed_at__gte=oldest)),
        (repo_rows, Q(shipped_at__gte=start)),
        (repo_rows, Q(shipped_at__isnull=True, committed_at__gte=oldest)),
    ):
        candidates.extend(
            _raw_rows(
                Change.objects.filter(rows, when, committed_at__lt=end)
                .annotate(ct=_epoch("committed_at"), st=_epoch("shipped_at"))
                .values_list(
                    "pk",
                    "organization_id",
                    "service_id",
                    "repository",
                    "sha",
                    "parent_sha",
                    "ct",
                    "shipped_by_id",
                    "st",
                    "lead_time_seconds",
                    "shipped_estimated",
                )
            )
        )
    candidates.sort(key=lambda c: (c[6], c[0]))
    for (
        pk,
        org_id,
        service_id,
        repository,
        sha,
        parent,
        committed,
        shipped_by,
        shipped_at,
        lead,
        estimated,
    ) in candidates:
        stream = ("s", service_id) if service_id else ("r", repository.lower())
        node = [pk, parent, committed, stream, (shipped_by, shipped_at, lead, bool(estimated)), repository]
        nodes[(org_id, repository, sha)] = node
        if (org_id, sha) in deployed:
            by_sha[(org_id, sha)].append(node)
        by_time[stream].append(node)
    del candidates
    times: dict[tuple, list] = {}
    # Deployed commits that are known but were shipped before the range (so not candidates),
    # looked up by the unique (organization, repository, sha) index.
    missing = defaultdict(set)
    for d in deployments:
        if d[7] and d[5] == success and (d[4], d[7]) not in by_sha:
            missing[(d[4], d[3])].add(d[7])
    known_before = set()
    if missing:
        lookups = [Q(organization_id=org_id, repository=repo, sha__in=shas) for (org_id, repo), shas in missing.items()]
        for i in range(0, len(lookups), 200):
            known_before.update(
                Change.objects.filter(owned)
                .filter(reduce(operator.or_, lookups[i : i + 200]))
                .values_list("organization_id", "sha")
            )

    def start_node(org_id, sha, stream, repository):
        found = by_sha.get((org_id, sha), ())
        for node in found:
            if node[3] == stream:
                return node
        for node in found:
            if node[5].lower() == (repository or "").lower():
                return node
        return None

    shipped: dict[int, tuple] = {}  # change pk -> (deployment pk, finished, lead seconds or None, estimated)

    # Incidents linked to the range's deployments, and incidents open during it (rework).
    links = defaultdict(list)
    for dep_id, started, resolved in (
        IncidentDeploymentLink.objects.filter(deployment__in=in_range.filter(status__in=(success, "failure")))
        .annotate(st=_epoch("incident__started_at"), rt=_epoch("incident__resolved_at"))
        .values_list("deployment_id", "st", "rt")
    ):
        links[dep_id].append((started, resolved))
    open_incidents = defaultdict(list)
    for service_id, started, resolved in (
        Incident.services.through.objects.filter(service_id__in=list(service_team), incident__started_at__lt=end)
        .filter(Q(incident__resolved_at__isnull=True) | Q(incident__resolved_at__gte=start))
        .annotate(st=_epoch("incident__started_at"), rt=_epoch("incident__resolved_at"))
        .values_list("service_id", "st", "rt")
    ):
        open_incidents[service_id].append((started, resolved))

    # The next success after the range, for failures the range does not recover.
    after = {}
    for service_id, repository, first in (
        prod.filter(status=success, finished_at__gte=end)
        .values("service_id", "repository")
        .annotate(first=Min(_epoch("finished_at")))
        .values_list("service_id", "repository", "first")
    ):
        key = _stream(service_id, repository)
        if key not in after or first < after[key]:
            after[key] = first

    facts: dict[tuple, dict] = {}

    def rows_of(team_id, service_id, day):
        keys = ((team_id, None, day), (team_id, service_id, day)) if service_id else ((team_id, None, day),)
        out = []
        for key in keys:
            row = facts.get(key)
            if row is None:
                row = facts[key] = {
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
            out.append(row)
        return out

    waiting: dict[tuple, list] = defaultdict(list)  # stream -> failures waiting for their recovery
    for pk, team_id, service_id, repository, org_id, status, finished, sha, ref, marked in deployments:
        team_id = service_team[service_id] if service_id else team_id
        day = _day(finished)
        key = ("s", service_id) if service_id else ("r", (repository or "").lower())
        ok = status == success
        rows = rows_of(team_id, service_id, day)
        lead, estimated, recovery, rework, failed = [], 0, None, 0, not ok
        if ok:
            floor = finished - lookback_s
            node = start_node(org_id, sha, key, repository) if sha else None
            if node is not None or (sha and (org_id, sha) in known_before):
                # Walk the deployed commit's history back to the first commit already shipped.
                seen = set()
                while node is not None and node[0] not in seen and node[2] > floor:
                    seen.add(node[0])
                    if node[3] == key:
                        if node[0] in shipped:
                            break
                        secs = finished - node[2]
                        shipped[node[0]] = (pk, finished, secs if secs > 0 else None, False)
                        if secs > 0:
                            lead.append(secs)
                    node = nodes.get((org_id, node[5], node[1])) if node[1] else None
            else:
                # The time rule: the stream's commits since the previous successful deployment.
                prev = max(previous.get(key) or oldest_s, floor)
                stream_times = times.get(key)
                if stream_times is None:
                    stream_times = times[key] = [n[2] for n in by_time.get(key, ())]
                lo = bisect.bisect_right(stream_times, prev)
                hi = bisect.bisect_right(stream_times, finished)
                for candidate in by_time[key][lo:hi] if hi > lo else ():
                    if candidate[0] not in shipped:
                        secs = finished - candidate[2]
                        shipped[candidate[0]] = (pk, finished, secs if secs > 0 else None, True)
                        if secs > 0:
                            lead.append(secs)
                            estimated += 1
            previous[key] = finished
            for failed_at, fail_rows in waiting.pop(key, ()):
                for row in fail_rows:
                    row["recovery_times"].append(finished - failed_at)
            impacts = links.get(pk)
            if impacts:
                failed = True
                if all(resolved is not None for _, resolved in impacts):
                    recovery = max(max(0, resolved - started) for started, resolved in impacts)
            if marked is not None:
                rework = int(marked)
            elif is_rework_ref(ref) or any(
                started <= finished and (resolved is None or finished <= resolved)
                for started, resolved in open_incidents.get(service_id, ())
            ):
                rework = 1
        else:
            waiting[key].append((finished, rows))
        for row in rows:
            row["deployments"] += 1
            row["successful"] += ok
            row["failed"] += failed
            row["lead_times"].extend(lead)
            row["lead_times_estimated"] += estimated
            row["rework"] += rework
            if recovery is not None:
                row["recovery_times"].append(recovery)
    for key, failures in waiting.items():
        if key in after:
            for failed_at, fail_rows in failures:
                for row in fail_rows:
                    row["recovery_times"].append(after[key] - failed_at)

    incidents = list(
        Incident.objects.filter(team_id__in=list(teams), started_at__gte=start, started_at__lt=end)
        .annotate(st=_epoch("started_at"), rt=_epoch("resolved_at"))
        .values_list("pk", "team_id", "st", "rt")
    )
    services_of = defaultdict(list)
    for incident_id, service_id in Incident.services.through.objects.filter(
        incident__team_id__in=list(teams), incident__started_at__gte=start, incident__started_at__lt=end
    ).values_list("incident_id", "service_id"):
        services_of[incident_id].append(service_id)
    for incident_id, team_id, started, resolved in incidents:
        day = _day(started)
        # A service's restore time counts the incidents of its own team's services.
        own = [s for s in services_of.get(incident_id, ()) if service_team.get(s) == team_id]
        rows = [rows_of(team_id, None, day)[0]] + [rows_of(team_id, s, day)[1] for s in own]
        for row in rows:
            row["incidents"] += 1
            if resolved is not None:
                row["restore_times"].append(max(0, resolved - started))

    _write_shipped(nodes, shipped)
    DailyRollup.objects.filter(team_id__in=list(teams), day__gte=since, day__lte=until).delete()
    keep = [(key, values) for key, values in facts.items() if since <= key[2] <= until]
    if connection.vendor == "postgresql":
        now = timezone.now()
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                f"COPY {DailyRollup._meta.db_table} (organization_id, team_id, service_id, day, {', '.join(FACTS)}, "
                "computed_at) FROM STDIN"
            ) as copy,
        ):
            for (team_id, service_id, day), values in keep:
                copy.write_row(
                    (
                        teams[team_id],
                        team_id,
                        service_id,
                        day,
                        *(json.dumps(values[f]) if f in LISTS else values[f] for f in FACTS),
                        now,
                    )
                )
    else:
        DailyRollup.objects.bulk_create(
            [
                DailyRollup(organization_id=teams[team_id], team_id=team_id, service_id=service_id, day=day, **values)
                for (team_id, service_id, day), values in keep
            ],
            batch_size=2000,
        )
    return len(keep)


FACTS = (
    "deployments",
    "successful",
    "failed",
    "lead_times",
    "lead_times_estimated",
    "recovery_times",
    "rework",
    "restore_times",
    "incidents",
)
LISTS = {"lead_times", "recovery_times", "restore_times"}


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
    for i in range(0, len(clear), 10000):
        Change.objects.filter(pk__in=clear[i : i + 10000]).update(
            shipped_by=None, shipped_at=None, lead_time_seconds=None, shipped_estimated=False
        )
    if not sets:
        return
    if connection.vendor != "postgresql":
        for pk, dep, at, secs, est in sets:
            Change.objects.filter(pk=pk).update(
                shipped_by_id=dep,
                shipped_at=datetime.fromtimestamp(at, UTC),
                lead_time_seconds=secs,
                shipped_estimated=est,
            )
        return
    table = Change._meta.db_table
    with connection.cursor() as cursor:
        # Many rows at once (the first rebuild writes every commit): COPY into a scratch table, one UPDATE.
        cursor.execute(
            "CREATE TEMP TABLE shipped_scratch (id bigint, dep bigint, at bigint, secs bigint, est boolean) "
            "ON COMMIT DROP"
        )
        with cursor.cursor.copy("COPY shipped_scratch (id, dep, at, secs, est) FROM STDIN") as copy:
            for row in sets:
                copy.write_row(row)
        cursor.execute("ANALYZE shipped_scratch")
        cursor.execute(
            f"UPDATE {table} c SET shipped_by_id = s.dep, shipped_at = to_timestamp(s.at), "  # noqa: S608
            "lead_time_seconds = s.secs, shipped_estimated = s.est FROM shipped_scratch s WHERE c.id = s.id"
        )
        cursor.execute("DROP TABLE shipped_scratch")


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
