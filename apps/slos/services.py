"""Writes of the SLO catalog: SLIs, SLOs, samples (push and Prometheus sync),
burn-rate alert evaluation and notifications. Transactional and idempotent."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from apps.core import permissions

from . import maths, prometheus, selectors
from .models import (
    BUCKET_SECONDS,
    SLI,
    SLO,
    AlertPolicy,
    AlertSettings,
    BurnRateAlert,
    ErrorBudgetPolicy,
    SLIRollup,
    SLISample,
    SLOStatusRecord,
)

logger = logging.getLogger(__name__)

MAX_PUSH_SAMPLES = 10_000
# Prometheus sync: how far back a new SLI starts, how many 5-minute steps per request,
# and how long to wait for scrapes to land before a bucket is considered complete.
SYNC_BACKFILL_DAYS = 30
SYNC_STEPS_PER_QUERY = 2016  # 7 days
SYNC_LAG_SECONDS = 60
SLI_SYNC_FIELDS = ("source", "good_query", "total_query", "prometheus_url")


class PayloadTooLarge(Exception):
    """More samples than one request may carry (HTTP 413)."""


# --- catalog -----------------------------------------------------------------------


def _unique_slug(model, organization, name: str, slug: str | None, *, exclude_pk=None) -> str:
    base = slugify(slug or name)[:110] or "item"
    candidate, n = base, 2
    qs = model.objects.filter(organization=organization)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    if slug:
        return base  # an explicit slug is taken as given (the unique constraint reports clashes)
    while qs.filter(slug=candidate).exists():
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _save(instance):
    instance.full_clean()
    instance.save()
    return instance


@transaction.atomic
def sli_create(*, service, name: str, slug: str | None = None, **fields) -> SLI:
    sli = SLI(
        organization_id=service.organization_id,
        service=service,
        name=name,
        slug=_unique_slug(SLI, service.organization_id, name, slug),
        **fields,
    )
    return _save(sli)


@transaction.atomic
def sli_update(*, sli: SLI, **fields) -> SLI:
    changed_source = any(k in fields and fields[k] != getattr(sli, k) for k in SLI_SYNC_FIELDS)
    for key, value in fields.items():
        setattr(sli, key, value)
    if "service" in fields:
        sli.organization_id = sli.service.organization_id
    if changed_source:
        # New queries: forget the old error and let the next sync try again from the cursor.
        sli.sync_state, sli.last_error, sli.last_error_at = SLI.SyncState.NEVER, "", None
    return _save(sli)


@transaction.atomic
def slo_create(*, sli: SLI, name: str, target, slug: str | None = None, alert_policies=None, **fields) -> SLO:
    """`alert_policies`: OpenSLO alert policies (or their ids) whose conditions replace the table."""
    slo = SLO(
        organization_id=sli.organization_id,
        sli=sli,
        name=name,
        target=target,
        slug=_unique_slug(SLO, sli.organization_id, name, slug),
        **fields,
    )
    _save(slo)
    if alert_policies is not None:
        slo.alert_policies.set(alert_policies)
    slo_status_refresh(slo_ids=[slo.pk])
    return slo


@transaction.atomic
def slo_update(*, slo: SLO, alert_policies=None, **fields) -> SLO:
    for key, value in fields.items():
        setattr(slo, key, value)
    if "sli" in fields:
        slo.organization_id = slo.sli.organization_id
    _save(slo)
    if alert_policies is not None:
        slo.alert_policies.set(alert_policies)
    # Target, window or SLI changed: the stored figures (and alerts) follow now.
    slo_status_refresh(slo_ids=[slo.pk])
    return slo


@transaction.atomic
def slo_delete(*, slo: SLO) -> None:
    """Delete an SLO with its policy and alert history (the SLI and its samples stay)."""
    slo.delete()


@transaction.atomic
def policy_set(*, team, slo: SLO | None = None, name: str, steps, notes: str = "") -> ErrorBudgetPolicy:
    """The SLO's own policy (slo given) or the team's default; upserted."""
    policy = ErrorBudgetPolicy.objects.filter(team=team, slo=slo).first() or ErrorBudgetPolicy(team=team, slo=slo)
    policy.name, policy.steps, policy.notes = name, steps, notes
    return _save(policy)


@transaction.atomic
def alert_settings_set(*, team, email: str = "", webhook_url: str = "", notify_tickets: bool = True) -> AlertSettings:
    obj = AlertSettings.objects.filter(team=team).first() or AlertSettings(team=team)
    obj.email, obj.webhook_url, obj.notify_tickets = email, webhook_url, notify_tickets
    return _save(obj)


# --- samples -----------------------------------------------------------------------


@transaction.atomic
def samples_upsert(rows: Iterable[tuple[int, int, float, float]]) -> int:
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

    The read is a statement of its own: it must see what a batch we waited for committed
    (a subquery of the locking statement would read that statement's older snapshot).
    """
    table = SLISample._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH locked AS (SELECT id FROM slos_sli WHERE id = ANY(%s::bigint[]) ORDER BY id FOR NO KEY UPDATE) "
            "UPDATE slos_sli SET data_changed_at = %s FROM locked WHERE slos_sli.id = locked.id RETURNING slos_sli.id",
            [_array_text(sli_ids), timezone.now()],
        )
        found = {row[0] for row in cursor.fetchall()}
        missing = set(sli_ids) - found
        if missing:
            raise IntegrityError(f"Samples for SLI(s) that do not exist: {', '.join(map(str, sorted(missing)))}.")
        cursor.execute(
            f"SELECT b.sli, (SELECT max(s.bucket) FROM {table} s WHERE s.sli_id = b.sli) "  # noqa: S608
            "FROM unnest(%s::bigint[]) AS b(sli)",
            [_array_text(sli_ids)],
        )
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
    with connection.cursor() as cursor:
        appended, merged = [], []
        for row in rows:
            (merged if row[1] <= latest.get(row[0], -1) else appended).append(row)
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
        # Rollups. An hour after an SLI's latest stored hour holds only appended rows, so
        # its sums are added up here; every other hour the rows touched is summed again
        # in SQL (LATERAL: one index range scan per hour, whatever the planner thinks
        # of unnest()).
        fresh: dict[tuple[int, int], list[float]] = {}
        stale: set[tuple[int, int]] = {(sli_id, bucket - bucket % 3600) for sli_id, bucket, _, _ in merged}
        for sli_id, bucket, good, total in appended:
            key = (sli_id, bucket - bucket % 3600)
            if sli_id in latest and key[1] <= latest[sli_id]:
                stale.add(key)
            elif sums := fresh.get(key):
                sums[0] += good
                sums[1] += total
            else:
                fresh[key] = [good, total]
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


def _samples_upsert_sqlite(rows: list[tuple[int, int, float, float]]) -> None:
    """The embedded default: one prepared upsert run for every row (bulk_create would
    build a model instance per row, ten times slower for a 30-day backfill)."""
    table, rollups = SLISample._meta.db_table, SLIRollup._meta.db_table
    with connection.cursor() as cursor:
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


def validate_push(*, user, items, now: datetime | None = None) -> list[tuple[int, int, float, float]]:
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
    slis = permissions.viewable(user, SLI.objects.filter(pk__in=wanted))
    visible = {sli.pk: sli for sli in slis.select_related("organization", "service__team")}
    pushable = {
        pk for pk, sli in visible.items() if sli.source == SLI.Source.PUSH and permissions.can_change(user, sli)
    }
    if rows is not None and wanted <= pushable:
        return rows
    return _checked_rows(items, visible, user, now_ts)


_NUMBER_TYPES = frozenset({int, float})


def _well_formed_rows(items: list, now_ts: int) -> tuple[list[tuple[int, int, float, float]], set[int]] | None:
    """The common case in one tight loop: every item exactly {sli, timestamp, good,
    total} with plain numbers, a zoned or Unix timestamp in the past, no bucket twice.
    Returns the rows and the SLI ids they name (the caller checks those may be pushed to).

    None sends the request through `_checked_rows`, which names each failure. What this
    accepts for pushable SLIs, that accepts too, with the same rows
    (tests/slos/test_push_validation.py).
    """
    rows, keys = [], set()
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
        keys.add((sli, bucket))
        rows.append((sli, bucket, float(good), float(total)))
    if len(keys) != len(rows):  # a bucket twice
        return None
    return rows, {sli for sli, _ in keys}


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


def samples_push(*, user, items, now: datetime | None = None) -> dict:
    """Validate and store pushed samples, all or nothing; then re-evaluate the SLIs' alerts."""
    rows = validate_push(user=user, items=items, now=now)
    with transaction.atomic():
        samples_upsert(rows)
        sli_ids = sorted({r[0] for r in rows})
        transaction.on_commit(lambda: _queue_alert_evaluation(sli_ids))
    return {"accepted": len(rows), "slis": sli_ids}


def _queue_alert_evaluation(sli_ids):
    from .tasks import refresh_status

    # One job per batch (not per SLI): its SLOs' status and alerts in one pass.
    refresh_status.delay(list(sli_ids))


# --- Prometheus sync -------------------------------------------------------------------


def prometheus_url_for(sli: SLI) -> str:
    return sli.prometheus_url or settings.PROMETHEUS_URL


def sli_sync(*, sli_id: int, now: datetime | None = None, force: bool = False) -> int:
    """Fetch the SLI's buckets from its cursor up to the last complete bucket and upsert them.

    Idempotent: the cursor only moves after the rows it covers are stored, and the
    rows are upserted, so a repeated or overlapping run counts nothing twice. A
    connection problem raises PrometheusUnavailable (the task retries with backoff);
    a bad query is recorded on the SLI and the periodic job stops asking until the
    SLI's queries are changed (or a user asks for a sync with force=True).
    Returns the number of buckets stored.
    """
    now = now or timezone.now()
    sli = SLI.objects.get(pk=sli_id)
    if sli.source != SLI.Source.PROMETHEUS:
        return 0
    if sli.sync_state == SLI.SyncState.ERROR and not force:
        return 0
    url = prometheus_url_for(sli)
    if not url:
        _record_error(sli, "No Prometheus URL: set it on the SLI or PROMETHEUS_URL on the server.", now)
        return 0
    end = maths.floor_to(int(now.timestamp()) - SYNC_LAG_SECONDS, BUCKET_SECONDS)
    cursor = int(sli.sync_cursor.timestamp()) if sli.sync_cursor else end - SYNC_BACKFILL_DAYS * 86400
    stored = 0
    while cursor < end:
        chunk_end = min(cursor + SYNC_STEPS_PER_QUERY * BUCKET_SECONDS, end)
        try:
            # The value at t counts the events of (t - 5m, t]: the bucket starting at t - 5m.
            good = prometheus.query_range(url, sli.good_query, start=cursor + BUCKET_SECONDS, end=chunk_end, step=300)
            total = prometheus.query_range(url, sli.total_query, start=cursor + BUCKET_SECONDS, end=chunk_end, step=300)
        except prometheus.PromQLError as exc:
            _record_error(sli, str(exc), now)
            return stored
        except prometheus.PrometheusUnavailable as exc:
            SLI.objects.filter(pk=sli.pk).update(
                sync_state=SLI.SyncState.RETRYING, last_error=str(exc), last_error_at=now
            )
            raise
        rows = []
        for ts, t in total.items():
            if ts in good and t >= 0:
                g = min(max(good[ts], 0.0), t)  # counter extrapolation can nudge good past total
                rows.append((sli.pk, ts - BUCKET_SECONDS, g, t))
        with transaction.atomic():
            samples_upsert(rows)
            SLI.objects.filter(pk=sli.pk).update(
                sync_cursor=datetime.fromtimestamp(chunk_end, UTC),
                sync_state=SLI.SyncState.OK,
                last_synced_at=now,
                last_error="",
                last_error_at=None,
            )
        stored += len(rows)
        cursor = chunk_end
    alerts_evaluate(slos=list(SLO.objects.filter(sli_id=sli.pk)), now=now)
    return stored


def _record_error(sli: SLI, message: str, now: datetime) -> None:
    logger.warning("SLI %s (%s): %s", sli.pk, sli.slug, message)
    SLI.objects.filter(pk=sli.pk).update(sync_state=SLI.SyncState.ERROR, last_error=message[:4000], last_error_at=now)


def prometheus_slis_due():
    """Prometheus SLIs the periodic job syncs (those with a query error wait for a fix)."""
    return SLI.objects.filter(source=SLI.Source.PROMETHEUS).exclude(sync_state=SLI.SyncState.ERROR)


# --- alerts ---------------------------------------------------------------------------


@transaction.atomic
def alerts_evaluate(*, slos: list[SLO], now: datetime | None = None) -> list[tuple[BurnRateAlert, str]]:
    """Open and resolve burn-rate alerts for these SLOs and store their status
    (`SLOStatusRecord`, with the alerts left open); returns [(alert, "opened"|"resolved")].

    Running it twice at the same instant changes nothing the second time.
    """
    now = now or timezone.now()
    if not slos:
        return []
    ids = [s.pk for s in slos]
    # Lock the SLOs (not their SLIs) so two evaluations of one SLO take turns.
    slos = list(SLO.objects.select_for_update(of=("self",)).select_related("sli").filter(pk__in=ids).order_by("pk"))
    policies = slo_alert_policies(ids)
    statuses = selectors.slo_statuses(slos, now=now)
    open_alerts = {
        (a.slo_id, a.long_window, a.short_window): a
        for a in BurnRateAlert.objects.filter(slo_id__in=ids, resolved_at__isnull=True)
    }
    events = []
    still_open: dict[int, list[str]] = {}
    for slo in slos:
        st = statuses[slo.pk]
        severities = still_open.setdefault(slo.pk, [])
        rules = slo_alert_rules(slo, policies.get(slo.pk, []), st.period_hours)
        for rule in rules:
            long_burn, short_burn = st.burn_rates.get(rule.long_window), st.burn_rates.get(rule.short_window)
            fires = slo.alerting and maths.alert_fires(rule, long_burn, short_burn)
            alert = open_alerts.pop((slo.pk, rule.long_window, rule.short_window), None)
            if fires and alert is None:
                alert = BurnRateAlert.objects.create(
                    slo=slo,
                    severity=rule.severity,
                    long_window=rule.long_window,
                    short_window=rule.short_window,
                    factor=rule.factor,
                    opened_at=now,
                    long_burn_rate=long_burn,
                    short_burn_rate=short_burn,
                    peak_burn_rate=long_burn,
                )
                events.append((alert, "opened"))
                severities.append(rule.severity)
            elif fires:
                severities.append(rule.severity)
                if long_burn > alert.peak_burn_rate:
                    alert.peak_burn_rate = long_burn
                    alert.save(update_fields=["peak_burn_rate", "updated_at"])
            elif alert is not None:
                alert.resolved_at = now
                alert.save(update_fields=["resolved_at", "updated_at"])
                events.append((alert, "resolved"))
    for alert in open_alerts.values():  # its rule is gone (the SLO's alert policies changed)
        alert.resolved_at = now
        alert.save(update_fields=["resolved_at", "updated_at"])
        events.append((alert, "resolved"))
    _status_store(slos, statuses, still_open, now)
    if events:
        pending = [(a.pk, e) for a, e in events]
        transaction.on_commit(lambda: _queue_notifications(pending))
    return events


def slo_alert_policies(slo_ids) -> dict[int, list[AlertPolicy]]:
    """The OpenSLO alert policies of these SLOs (one query), by SLO id."""
    out: dict[int, list[AlertPolicy]] = {}
    through = SLO.alert_policies.through
    rows = through.objects.filter(slo_id__in=list(slo_ids)).select_related("alertpolicy")
    for row in rows.prefetch_related("alertpolicy__targets").order_by("alertpolicy__slug"):
        out.setdefault(row.slo_id, []).append(row.alertpolicy)
    return out


def slo_alert_rules(slo: SLO, policies: list[AlertPolicy], period_hours: float) -> list[maths.AlertRule]:
    """The SLO's own alert policies (those alerting when breaching), else the platform's scaled table."""
    if not policies:
        return maths.alert_rules(period_hours)
    rules, seen = [], set()
    for p in policies:
        key = (p.lookback_window, p.alert_after or p.lookback_window)
        if not p.alert_when_breaching or key in seen:
            continue
        seen.add(key)
        rules.append(
            maths.AlertRule(
                severity=p.severity,
                budget_percent=round(p.threshold * (key[0] / 3600) / period_hours * 100, 6) if period_hours else 0,
                long_window=key[0],
                short_window=key[1],
                factor=p.threshold,
                op=p.op,
            )
        )
    return rules


STATUS_FIELDS = (
    "as_of",
    "state",
    "window_start",
    "window_end",
    "good",
    "total",
    "sli",
    "consumed",
    "remaining",
    "burn_rates",
    "period_hours",
    "burn_end",
    "open_alerts",
    "alert_severity",
)
SEVERITY_RANK = {BurnRateAlert.Severity.TICKET: 1, BurnRateAlert.Severity.PAGE: 2}
# The periodic tick's interval (apps.py): a status stored less than this ago is not due again.
TICK_SECONDS = 300
# A status whose data has not changed is recomputed this often for its moving windows (an
# open alert: every tick, so it resolves when the data stops).
MOVING_WINDOW_SECONDS = 3600


def _status_store(slos, statuses, open_severities: dict[int, list[str]], now: datetime) -> None:
    """Upsert the SLOs' computed statuses with their open alerts (one statement per 1,000)."""
    records = []
    for slo in slos:
        st = statuses[slo.pk]
        severities = open_severities.get(slo.pk, [])
        st.alert_severity = max(severities, key=SEVERITY_RANK.get, default="")
        st.open_alerts, st.as_of = len(severities), now
        records.append(
            SLOStatusRecord(
                slo_id=slo.pk,
                as_of=now,
                state=st.state,
                window_start=st.window_start,
                window_end=st.window_end,
                good=st.good,
                total=st.total,
                sli=st.sli,
                consumed=st.consumed,
                remaining=st.remaining,
                burn_rates={str(w): v for w, v in st.burn_rates.items()},
                period_hours=st.period_hours,
                burn_end=st.burn_end,
                open_alerts=st.open_alerts,
                alert_severity=st.alert_severity,
            )
        )
    SLOStatusRecord.objects.bulk_create(
        records, update_conflicts=True, unique_fields=["slo"], update_fields=STATUS_FIELDS, batch_size=1000
    )


def slo_status_refresh(*, slo_ids=None, sli_ids=None, now: datetime | None = None, chunk: int = 1000) -> int:
    """Recompute and store the status (and alerts) of these SLOs, or of the SLOs on these
    SLIs, in chunks (one transaction each). Returns the number of SLOs refreshed."""
    now = now or timezone.now()
    qs = SLO.objects.all()
    if slo_ids is not None:
        qs = qs.filter(pk__in=list(slo_ids))
    if sli_ids is not None:
        qs = qs.filter(sli_id__in=list(sli_ids))
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    for i in range(0, len(ids), chunk):
        alerts_evaluate(slos=[SLO(pk=pk) for pk in ids[i : i + chunk]], now=now)
    return len(ids)


def slo_statuses_due(*, now: datetime) -> QuerySet:
    """The SLOs whose stored status the periodic tick recomputes.

    - no status stored yet, or data written at or after the instant it was computed for
      (the push or sync's own refresh was lost);
    - an open alert, not refreshed within the last tick: it must resolve when data stops;
    - a window with data, not refreshed within the hour: the window moves even when no
      data arrives (pushes and syncs refresh their SLOs themselves, so a steadily fed SLO
      is not recomputed here). A window without data stays without data until data
      arrives, which marks it stale.
    - a status computed for an instant after `now` (the clock stepped back).
    """
    tick_ago = now - timedelta(seconds=TICK_SECONDS - 30)
    hour_ago = now - timedelta(seconds=MOVING_WINDOW_SECONDS - 30)
    record = "status_record__"
    alert_open = Q(**{f"{record}open_alerts__gt": 0, f"{record}as_of__lt": tick_ago})
    window_moved = ~Q(**{f"{record}state": selectors.STATUS_NO_DATA}) & Q(**{f"{record}as_of__lt": hour_ago})
    return SLO.objects.filter(
        Q(status_record__isnull=True)
        | Q(sli__data_changed_at__gte=F("status_record__as_of"))
        | alert_open
        | window_moved
        | Q(status_record__as_of__gt=now)
    )


def alerts_evaluate_all(*, now: datetime | None = None, chunk: int = 1000) -> int:
    """The periodic tick: refresh the status and alerts of the SLOs that are due; returns the events."""
    now = now or timezone.now()
    ids = list(slo_statuses_due(now=now).order_by("pk").values_list("pk", flat=True))
    events = 0
    for i in range(0, len(ids), chunk):
        events += len(alerts_evaluate(slos=[SLO(pk=pk) for pk in ids[i : i + chunk]], now=now))
    return events


def slo_status_refresh_all(*, now: datetime | None = None, chunk: int = 1000) -> int:
    """Full recompute of every SLO's stored status (a job, e.g. after a deploy); returns the count."""
    return slo_status_refresh(now=now, chunk=chunk)


def _queue_notifications(pending):
    from .tasks import notify_alert

    for alert_id, event in pending:
        notify_alert.delay(alert_id, event)


def alert_payload(alert: BurnRateAlert, event: str) -> dict:
    from apps.sre.selectors import runbook_for_alert

    slo = alert.slo
    return {
        "event": event,
        "severity": alert.severity,
        "slo": {"id": slo.pk, "slug": slo.slug, "name": slo.name, "target": float(slo.target)},
        "service": slo.sli.service.slug,
        "team": slo.sli.service.team.slug,
        "url": settings.SITE_URL.rstrip("/") + slo.get_absolute_url(),
        "long_window": maths.duration_label(alert.long_window),
        "short_window": maths.duration_label(alert.short_window),
        "factor": alert.factor,
        "long_burn_rate": round(alert.long_burn_rate, 4),
        "short_burn_rate": round(alert.short_burn_rate, 4),
        "opened_at": alert.opened_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        # {"title", "url"} of the runbook that answers this alert (apps.sre), or None.
        "runbook": runbook_for_alert(slo),
    }


def alert_routing(alert: BurnRateAlert, event: str) -> tuple[set[str], list[str]]:
    """Which of the team's channels hear of this alert event, and the notification targets named.

    Without OpenSLO alert policies: both channels. With them, the policies whose condition
    raised the alert decide: a resolve is told only if one of them has alertWhenResolved;
    their targets pick the channels ("email" targets the e-mail, others the webhook); a
    policy without targets uses both.
    """
    policies = [
        p
        for p in AlertPolicy.objects.filter(slos=alert.slo_id).prefetch_related("targets")
        if p.severity == alert.severity
        and p.lookback_window == alert.long_window
        and (p.alert_after or p.lookback_window) == alert.short_window
    ]
    if not policies:
        return {"email", "webhook"}, []
    if event == "resolved":
        policies = [p for p in policies if p.alert_when_resolved]
    channels, targets = set(), []
    for p in policies:
        ts = list(p.targets.all())
        if not ts:
            channels |= {"email", "webhook"}
        for t in ts:
            channels.add(t.channel)
            if t.slug not in targets:
                targets.append(t.slug)
    return channels, targets


def alert_notify(*, alert_id: int, event: str) -> bool:
    """Tell the team (webhook, then email) once per alert event; True when something was sent."""
    alert = BurnRateAlert.objects.select_related("slo__sli__service__team").get(pk=alert_id)
    field = "notified_open_at" if event == "opened" else "notified_resolved_at"
    if getattr(alert, field) is not None:
        return False
    team = alert.slo.sli.service.team
    conf = AlertSettings.objects.filter(team=team).first()
    if conf is None or (alert.severity == BurnRateAlert.Severity.TICKET and not conf.notify_tickets):
        return False
    channels, targets = alert_routing(alert, event)
    email = conf.email if "email" in channels else ""
    webhook_url = conf.webhook_url if "webhook" in channels else ""
    if not email and not webhook_url:
        return False
    payload = alert_payload(alert, event)
    if targets:
        payload["notification_targets"] = targets
    if webhook_url:
        body = json.dumps(payload).encode()
        request = urllib.request.Request(  # noqa: S310 (URLField allows http/https only)
            webhook_url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise ConnectionError(f"Webhook answered {exc.code}")
            logger.warning("Alert webhook for %s refused with %s", team, exc.code)
        except (urllib.error.URLError, OSError) as exc:
            raise ConnectionError(f"Webhook unreachable: {exc}")
    if email:
        verb = "firing" if event == "opened" else "resolved"
        send_mail(
            subject=f"[{alert.severity.upper()}] {alert.slo.name} burn rate {verb}",
            message=(
                f"SLO {alert.slo.name} ({payload['service']}): the error budget burns at "
                f"{payload['long_burn_rate']}x over {payload['long_window']} and {payload['short_burn_rate']}x over "
                f"{payload['short_window']} (threshold {alert.factor}x).\n{payload['url']}"
                + (
                    f"\nRunbook: {payload['runbook']['title']} {payload['runbook']['url']}"
                    if payload["runbook"]
                    else "\nNo runbook covers this SLO or its service."
                )
            ),
            from_email=None,
            recipient_list=[email],
        )
    BurnRateAlert.objects.filter(pk=alert.pk).update(**{field: timezone.now()})
    return True
