"""Samples in: push validation (one tight loop for the common case, a checked pass
for errors) and the upsert with its hourly rollups."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.core import permissions

from ..models import (
    BUCKET_SECONDS,
    SLI,
    SLIRollup,
    SLISample,
)

logger = logging.getLogger(__name__)

MAX_PUSH_SAMPLES = 10_000


class PayloadTooLarge(Exception):
    """More samples than one request may carry (HTTP 413)."""


# --- samples -----------------------------------------------------------------------


def samples_upsert(rows: Iterable[tuple[int, int, float, float]], *, actor) -> int:
    """Store rows that are already valid (the sync, the seed, imports): see `_samples_upsert`.

    A person needs the right to change each SLI; the jobs pass `permissions.SYSTEM`."""
    rows = list(rows)
    if not permissions.is_system(actor):
        sli_ids = {row[0] for row in rows}
        slis = SLI.objects.filter(pk__in=sli_ids).select_related("service__team")
        refused = sorted(sli.pk for sli in slis if not permissions.can_change(actor, sli))
        if refused:
            raise PermissionDenied(f"You may not store samples of SLI(s) {', '.join(map(str, refused))}.")
    return _samples_upsert(rows)


@transaction.atomic
def _samples_upsert(rows: Iterable[tuple[int, int, float, float]]) -> int:
    """Store (sli_id, bucket, good, total) rows; the last write of a (sli, bucket) wins.

    Sending the same rows twice changes nothing. The hourly rollups of the hours the
    rows touch are recomputed in the same transaction. Rows must not repeat a
    (sli, bucket).

    The SLIs' rows are locked first, in id order: batches for the same SLI take turns
    (so two cannot append the same buckets), and an SLI cannot be deleted under a batch.
    That check, once per SLI, stands in for the database foreign key the samples table
    does without (checked per row at commit, it cost as much as the rest of the write).
    """
    rows = list(rows)
    if not rows:
        return 0
    sli_ids = sorted({row[0] for row in rows})
    if connection.vendor == "postgresql":
        latest = _lock_and_stamp_postgresql(sli_ids)
        _samples_upsert_postgresql(rows, latest)
        return len(rows)
    locked = SLI.objects.filter(pk__in=sli_ids).order_by("pk").select_for_update(no_key=True)
    missing = set(sli_ids) - set(locked.values_list("pk", flat=True))
    if missing:
        raise IntegrityError(f"Samples for SLI(s) that do not exist: {', '.join(map(str, sorted(missing)))}.")
    # Marks the SLOs' stored statuses stale (see slo_statuses_due); the rows are locked already.
    SLI.objects.filter(pk__in=sli_ids).update(data_changed_at=timezone.now())
    if connection.vendor == "sqlite":
        _samples_upsert_sqlite(rows)
    else:
        raise NotImplementedError(f"Samples are stored on PostgreSQL or SQLite, not {connection.vendor}.")
    return len(rows)


def _lock_and_stamp_postgresql(sli_ids: list[int]) -> dict[int, int | None]:
    """Lock the SLIs' rows in id order and stamp `data_changed_at` (which marks their SLOs'
    stored statuses stale, see slo_statuses_due) in one statement, then read each one's
    latest stored bucket. Returns {sli_id: latest bucket or None}; raises for a missing SLI.

    The read is a statement of its own (sent in the same round trip): it must see what a batch we
    waited for committed (a subquery of the locking statement would read its older snapshot).
    """
    table = SLISample._meta.db_table
    ids = _array_text(sli_ids)
    with connection.cursor() as cursor:
        # Both statements in one round trip (client-side binding sends them as one simple query);
        # each still takes its own snapshot, as READ COMMITTED gives every statement one.
        cursor.execute(
            "WITH locked AS (SELECT id FROM slos_sli WHERE id = ANY(%s::bigint[]) ORDER BY id FOR NO KEY UPDATE) "  # noqa: S608 (the model's table)
            "UPDATE slos_sli SET data_changed_at = %s FROM locked WHERE slos_sli.id = locked.id "
            "RETURNING slos_sli.id; "
            f"SELECT b.sli, (SELECT max(s.bucket) FROM {table} s WHERE s.sli_id = b.sli) "
            "FROM unnest(%s::bigint[]) AS b(sli)",
            [ids, timezone.now(), ids],
        )
        found = {row[0] for row in cursor.fetchall()}
        missing = set(sli_ids) - found
        if missing:
            raise IntegrityError(f"Samples for SLI(s) that do not exist: {', '.join(map(str, sorted(missing)))}.")
        cursor.nextset()
        return dict(cursor.fetchall())


def _samples_upsert_postgresql(rows: list[tuple[int, int, float, float]], latest_bucket: dict) -> None:
    """Appends go straight in with COPY; only rows at or before an SLI's latest bucket are merged.

    Pushes and syncs nearly always carry buckets newer than anything stored, and a COPY
    into the table is much faster than merging through ON CONFLICT. The caller holds
    the SLIs' row locks, so no other batch appends to them between the read of their
    latest bucket and the COPY.
    """
    table, rollups = SLISample._meta.db_table, SLIRollup._meta.db_table
    latest = {sli_id: bucket for sli_id, bucket in latest_bucket.items() if bucket is not None}
    # One pass over the rows: split appends from merges and add up the appends' hourly sums
    # (two passes cost about twice as much for a 10,000-row batch, the largest part of the
    # write after COPY itself).
    appended, merged = [], []
    fresh: dict[tuple[int, int], list[float]] = {}
    append, merge, sums_of, latest_of = appended.append, merged.append, fresh.get, latest.get
    # Batches come SLI by SLI in time order: consecutive rows of one SLI share its latest bucket, and
    # of one hour its sums, so those are looked up once per run of rows (any order stays correct).
    last_sli = last_hour = sums = None
    floor = -1
    for row in rows:
        sli_id, bucket, good, total = row
        if sli_id != last_sli:
            last_sli, last_hour, floor = sli_id, None, latest_of(sli_id, -1)
        if bucket <= floor:
            merge(row)
            continue
        append(row)
        hour = bucket - bucket % 3600
        if hour != last_hour:
            last_hour = hour
            sums = sums_of((sli_id, hour))
            if sums is None:
                fresh[(sli_id, hour)] = sums = [good, total]
                continue
        sums[0] += good
        sums[1] += total
    # Rollups. An hour after an SLI's latest stored hour holds only appended rows, so its sums
    # are the ones added up above; every other hour the rows touched (merges, and the appends
    # sharing the latest stored bucket's hour) is summed again in SQL (LATERAL: one index range
    # scan per hour, whatever the planner thinks of unnest()).
    stale: set[tuple[int, int]] = {(sli_id, bucket - bucket % 3600) for sli_id, bucket, _, _ in merged}
    for key in [key for key in fresh if key[1] <= latest_of(key[0], -1)]:
        del fresh[key]
        stale.add(key)
    with connection.cursor() as cursor:
        if appended:
            with cursor.cursor.copy(f"COPY {table} (sli_id, bucket, good, total) FROM STDIN") as copy:
                copy.write(_copy_text(appended))
        if merged:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS slo_ingest "
                "(sli_id bigint, bucket bigint, good double precision, total double precision) ON COMMIT DELETE ROWS"
            )
            cursor.execute("DELETE FROM slo_ingest")  # empty unless called twice in one transaction
            with cursor.cursor.copy("COPY slo_ingest (sli_id, bucket, good, total) FROM STDIN") as copy:
                copy.write(_copy_text(merged))
            cursor.execute(
                f"INSERT INTO {table} (sli_id, bucket, good, total) "  # noqa: S608 (table name from the model)
                "SELECT sli_id, bucket, good, total FROM slo_ingest "
                "ON CONFLICT (sli_id, bucket) DO UPDATE SET good = EXCLUDED.good, total = EXCLUDED.total "
                f"WHERE ({table}.good, {table}.total) IS DISTINCT FROM (EXCLUDED.good, EXCLUDED.total)"
            )
        upsert = (
            "ON CONFLICT (sli_id, hour) DO UPDATE SET good = EXCLUDED.good, total = EXCLUDED.total "
            f"WHERE ({rollups}.good, {rollups}.total) IS DISTINCT FROM (EXCLUDED.good, EXCLUDED.total)"
        )
        if fresh:
            # Hours after the SLI's latest stored bucket's hour: no rollup row exists for them
            # (a rollup exists only where samples do, both written here under the SLI's lock),
            # so they are COPYed in like the samples.
            with cursor.cursor.copy(f"COPY {rollups} (sli_id, hour, good, total) FROM STDIN") as copy:
                copy.write("".join(f"{k[0]}\t{k[1]}\t{v[0]!r}\t{v[1]!r}\n" for k, v in fresh.items()))
        if stale:
            hours = sorted(stale)
            cursor.execute(
                f"INSERT INTO {rollups} (sli_id, hour, good, total) "  # noqa: S608 (table names from the models)
                "SELECT h.sli_id, h.hour, sums.good, sums.total "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS h(sli_id, hour) CROSS JOIN LATERAL ("
                f"SELECT SUM(s.good) AS good, SUM(s.total) AS total FROM {table} s "
                "WHERE s.sli_id = h.sli_id AND s.bucket >= h.hour AND s.bucket < h.hour + 3600) AS sums "
                f"WHERE sums.total IS NOT NULL {upsert}",
                [_array_text(sli_id for sli_id, _ in hours), _array_text(hour for _, hour in hours)],
            )


def _samples_upsert_sqlite(rows: list[tuple[int, int, float, float]], *, using=None) -> None:
    """The embedded default: one prepared upsert run for every row (bulk_create would
    build a model instance per row, ten times slower for a 30-day backfill).

    `using`: another SQLite connection (the property test holding it equal to the PostgreSQL
    path, tests/slos/test_ingest_twins.py)."""
    table, rollups = SLISample._meta.db_table, SLIRollup._meta.db_table
    with (using or connection).cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (sli_id, bucket, good, total) VALUES (%s, %s, %s, %s) "  # noqa: S608
            "ON CONFLICT (sli_id, bucket) DO UPDATE SET good = excluded.good, total = excluded.total",
            rows,
        )
        hours = sorted({(s, b - b % 3600) for s, b, _, _ in rows})
        cursor.executemany(
            f"INSERT INTO {rollups} (sli_id, hour, good, total) "  # noqa: S608 (table names from the models)
            f"SELECT sli_id, %s, SUM(good), SUM(total) FROM {table} WHERE sli_id = %s AND bucket >= %s "
            "AND bucket < %s GROUP BY sli_id "
            "ON CONFLICT (sli_id, hour) DO UPDATE SET good = excluded.good, total = excluded.total",
            [(h, s, h, h + 3600) for s, h in hours],
        )


def _array_text(numbers: Iterable[int | float]) -> str:
    """A PostgreSQL array literal ("{1,2.5}"); psycopg's general list adapter is several
    times slower for the tens of thousands of numbers one batch sends."""
    return "{" + ",".join(map(repr, numbers)) + "}"


def _copy_text(rows: list[tuple[int, int, float, float]]) -> str:
    """Rows in COPY's text format; repr() keeps every float exact."""
    return "".join(f"{s}\t{b}\t{g!r}\t{t!r}\n" for s, b, g, t in rows)


def _number(value, name: str, errors: dict, where: str) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors[f"{where}.{name}"] = [f"{name} must be a number."]
        return None
    if value != value or value in (_INFINITY, -_INFINITY) or value > _LARGEST_COUNT:
        errors[f"{where}.{name}"] = [f"{name} must be finite."]
        return None
    if value < 0:
        errors[f"{where}.{name}"] = [f"{name} must be 0 or more."]
        return None
    return float(value)


def _timestamp(value, errors: dict, where: str) -> int | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if -_LARGEST_COUNT < value < _LARGEST_COUNT:  # not NaN, not infinite, fits a bigint
            return int(value)
        errors[f"{where}.timestamp"] = ["timestamp is out of range."]
        return None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:  # well-formed but impossible, e.g. February 30
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                errors[f"{where}.timestamp"] = ["Give a timezone, e.g. 2026-01-31T12:00:00Z."]
                return None
            return int(parsed.timestamp())
    errors[f"{where}.timestamp"] = ["timestamp is an ISO 8601 date-time with a timezone, or Unix seconds."]
    return None


MAX_REPORTED_ERRORS = 50
SAMPLE_FIELDS = frozenset({"sli", "timestamp", "good", "total"})
_INFINITY = float("inf")
_LARGEST_COUNT = 2**63  # beyond any real event count, and an int this large would not fit a float


def validate_push(*, actor, items, now: datetime | None = None) -> list[tuple[int, int, float, float]]:
    """Check a push request; every failing item is named ("samples[3].good").

    Raises PayloadTooLarge (413) above MAX_PUSH_SAMPLES, ValidationError (400) for bad
    items, PermissionDenied (403) for an SLI the user sees but may not change.
    """
    now = now or timezone.now()
    if not isinstance(items, list):
        raise ValidationError({"samples": ['Send {"samples": [{sli, timestamp, good, total}, ...]}.']})
    if len(items) > MAX_PUSH_SAMPLES:
        raise PayloadTooLarge(f"At most {MAX_PUSH_SAMPLES} samples per request; this one has {len(items)}.")
    if not items:
        raise ValidationError({"samples": ["Send at least one sample."]})
    now_ts = int(now.timestamp())
    well_formed = _well_formed_rows(items, now_ts)
    if well_formed is not None:
        rows, wanted = well_formed
    else:
        rows, wanted = None, {pk for pk in {i.get("sli") for i in items if type(i) is dict} if type(pk) is int}
    slis = permissions.viewable(actor, SLI.objects.filter(pk__in=wanted))
    # Only what the checks read (the rights walk to the SLI's organization and team): the full rows
    # of 100 SLIs with their organizations, services and teams cost more than the items' loop.
    slis = slis.select_related("organization", "service__team").only(*_PUSH_CHECK_FIELDS)
    visible = {sli.pk: sli for sli in slis}
    pushable = {
        pk for pk, sli in visible.items() if sli.source == SLI.Source.PUSH and permissions.can_change(actor, sli)
    }
    if rows is not None and wanted <= pushable:
        return rows
    return _checked_rows(items, visible, actor, now_ts)


_NUMBER_TYPES = frozenset({int, float})
_PUSH_CHECK_FIELDS = ("id", "slug", "source", "organization__id", "service__id", "service__team__id")


def _well_formed_rows(items: list, now_ts: int) -> tuple[list[tuple[int, int, float, float]], set[int]] | None:
    """The common case in one tight loop: every item exactly {sli, timestamp, good,
    total} with plain numbers, a zoned or Unix timestamp in the past, no bucket twice.
    Returns the rows and the SLI ids they name (the caller checks those may be pushed to).

    None sends the request through `_checked_rows`, which names each failure. What this
    accepts for pushable SLIs, that accepts too, with the same rows
    (tests/slos/test_push_validation.py).
    """
    rows, slis = [], set()
    # No bucket twice: true without a set of keys while each SLI's items come in one run of rising
    # buckets (how agents send them); any other order is checked with the set at the end.
    last_sli = last_bucket = None
    in_runs = True
    parse, numbers, largest = datetime.fromisoformat, _NUMBER_TYPES, _LARGEST_COUNT
    # Pushes repeat timestamps (one instant for many SLIs): each distinct string is parsed once.
    seconds_of: dict[str, int] = {}
    for item in items:
        if type(item) is not dict or len(item) != 4:
            return None
        try:
            sli, ts, good, total = item["sli"], item["timestamp"], item["good"], item["total"]
        except KeyError:
            return None
        if type(sli) is not int or type(good) not in numbers or type(total) not in numbers:
            return None
        if not 0 <= good <= total <= largest:  # NaN fails this too
            return None
        if type(ts) is str:
            seconds = seconds_of.get(ts)
            if seconds is None:
                try:
                    parsed = parse(ts)
                except ValueError:
                    return None
                if parsed.tzinfo is None:
                    return None
                seconds = seconds_of[ts] = int(parsed.timestamp())
            ts = seconds
        elif type(ts) in numbers and -largest < ts < largest:
            ts = int(ts)
        else:
            return None
        if ts > now_ts:
            return None
        bucket = ts - ts % BUCKET_SECONDS
        if sli == last_sli:
            if bucket <= last_bucket:
                in_runs = False
        else:
            if sli in slis:
                in_runs = False
            slis.add(sli)
            last_sli = sli
        last_bucket = bucket
        rows.append((sli, bucket, float(good), float(total)))
    if not in_runs and len({(sli, bucket) for sli, bucket, _, _ in rows}) != len(rows):  # a bucket twice
        return None
    return rows, slis


def _checked_rows(items: list, visible: dict[int, SLI], user, now_ts: int) -> list[tuple[int, int, float, float]]:
    """Every item checked on its own; raises with each failing field named."""
    errors: dict[str, list[str]] = {}
    rows, seen, checked, forbidden = [], {}, set(), set()
    for index, item in enumerate(items):
        where = f"samples[{index}]"
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
        if not isinstance(item, dict):
            errors[where] = ["Each sample is an object {sli, timestamp, good, total}."]
            continue
        if not item.keys() <= SAMPLE_FIELDS:
            unknown = item.keys() - SAMPLE_FIELDS
            errors[where] = [f"Unknown field(s): {', '.join(sorted(map(str, unknown)))}."]
            continue
        sli = visible.get(item.get("sli")) if type(item.get("sli")) is int else None  # not True for 1
        if sli is None:
            errors[f"{where}.sli"] = [f"Unknown SLI {item.get('sli')!r}."]
            continue
        if sli.source != SLI.Source.PUSH:
            errors[f"{where}.sli"] = [f"SLI {sli.pk} ({sli.slug}) takes its data from Prometheus, not pushes."]
            continue
        if sli.pk not in checked:  # asked once per SLI, not once per sample
            checked.add(sli.pk)
            if not permissions.can_change(user, sli):
                forbidden.add(sli.pk)
        good = _number(item.get("good"), "good", errors, where)
        total = _number(item.get("total"), "total", errors, where)
        ts = _timestamp(item.get("timestamp"), errors, where)
        if good is None or total is None or ts is None:
            continue
        if good > total:
            errors[f"{where}.good"] = [f"good ({good:g}) must not exceed total ({total:g})."]
            continue
        if ts > now_ts:
            errors[f"{where}.timestamp"] = ["The timestamp is in the future."]
            continue
        bucket = ts - ts % BUCKET_SECONDS
        key = (sli.pk, bucket)
        if key in seen:
            errors[f"{where}.timestamp"] = [f"Same SLI and 5-minute bucket as samples[{seen[key]}]."]
            continue
        seen[key] = index
        rows.append((sli.pk, bucket, good, total))
    if errors:
        raise ValidationError(errors)
    if forbidden:
        raise PermissionDenied(f"You may not push samples to SLI(s) {', '.join(map(str, sorted(forbidden)))}.")
    return rows


def samples_push(*, actor, items, now: datetime | None = None) -> dict:
    """Validate and store pushed samples, all or nothing; then re-evaluate the SLIs' alerts.

    The rights are part of the validation: an SLI the actor sees but may not change is a 403."""
    rows = validate_push(actor=actor, items=items, now=now)
    with transaction.atomic():
        _samples_upsert(rows)
        sli_ids = sorted({r[0] for r in rows})
        transaction.on_commit(lambda: _queue_alert_evaluation(sli_ids))
    return {"accepted": len(rows), "slis": sli_ids}


def _queue_alert_evaluation(sli_ids):
    from ..tasks import refresh_status

    # One job per batch (not per SLI): its SLOs' status and alerts in one pass.
    refresh_status.delay(list(sli_ids))
