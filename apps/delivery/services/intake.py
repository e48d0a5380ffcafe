"""Webhook intake: verify, store each delivery once, wake the drain; and the worker's processing of it.

The raw events table is the outbox: a stored event is pending until a drain (or the sweeper's
per-event task) processes it. See services/_jobs.py for the gate that wakes the drain."""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core import permissions
from apps.core.validation import error_text

from .. import intake, normalizers
from ..models import Integration, RawEvent, UnattributedKey
from ..source_cache import source_for
from ._jobs import _enqueue, _open_gate, _wake_drain
from .evidence import UnattributedError, _recount, _seen
from .records import apply_parsed

logger = logging.getLogger("apps.delivery.services")

STALE_AFTER = timedelta(minutes=2)
# Events one drain transaction claims and processes (each in its own savepoint).
DRAIN_BATCH = 50
# A drain hands over to a fresh task after this long, so one burst does not hold a worker for good.
DRAIN_BUDGET_SECONDS = 30.0


def _require_system(actor) -> None:
    if not permissions.is_system(actor):
        raise PermissionDenied("Only the system does this (intake and its jobs).")


def raw_event_receive(*, actor, token: str, headers, body: bytes, enqueue: bool = True) -> tuple[RawEvent, bool]:
    """Verify and store one delivery. Returns (raw event, created); raises intake.IntakeError.

    Nothing is written unless the proof checks out on the exact bytes received. After the
    commit the drain is woken (at most once per gate interval, not one task per delivery);
    `enqueue=False` leaves it to the caller to process (the demo loader, which runs with no
    worker). The proof is the signature: `actor` is the system."""
    _require_system(actor)
    source = source_for(token)
    if source is None:
        raise intake.IntakeError(404, "No such intake URL.")
    if len(body) > intake.MAX_BODY_BYTES:
        raise intake.IntakeError(413, "The body is larger than 1 MiB.")
    if not intake.verify(source.kind, source.secret, headers, body):
        # The secret may have been rotated since this process cached it: check once more, fresh.
        source = source_for(token, fresh=True)
        if source is None or not intake.verify(source.kind, source.secret, headers, body):
            raise intake.IntakeError(401, "Bad or missing signature.")
    integration = source
    payload = intake.parse_body(integration.kind, headers, body)
    if not isinstance(payload, dict | list):
        raise intake.IntakeError(400, "The body is not a JSON object.")
    delivery = intake.identify(integration.kind, headers, body, payload)
    event = RawEvent(
        integration_id=integration.pk,
        organization_id=integration.organization_id,
        delivery_id=delivery.delivery_id,
        body_sha256=hashlib.sha256(body).hexdigest(),
        event_type=delivery.event_type,
        payload=payload,
        headers=intake.kept_headers(headers),
        received_at=timezone.now(),
    )
    event.pk = _insert_once(event)
    if event.pk is None:
        existing = (
            RawEvent.objects.filter(integration_id=integration.pk)
            .filter(Q(delivery_id=delivery.delivery_id) | Q(body_sha256=event.body_sha256))
            .order_by("pk")
            .first()
        )
        if existing is None:  # pragma: no cover - the conflicting row vanished (deleted integration)
            raise intake.IntakeError(409, "The delivery conflicts with one being deleted.")
        return existing, False
    now = timezone.now()
    if integration.last_delivery_at is None or now - integration.last_delivery_at > timedelta(minutes=1):
        integration.last_delivery_at = now
        Integration.objects.filter(pk=integration.pk).update(last_delivery_at=now)
    if enqueue:
        transaction.on_commit(_wake_drain)
    return event, True


_INSERT_FIELDS = (
    "integration",
    "organization",
    "delivery_id",
    "body_sha256",
    "event_type",
    "payload",
    "headers",
    "received_at",
    "status",
    "subject",
    "attempts",
    "error",
    "note",
    "unattributed_key",
)


def _insert_once(event: RawEvent) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: one round trip, None for a redelivery
    (the same delivery id, or the same body under another id: no conflict target, so both
    unique constraints count).

    (PostgreSQL and SQLite >= 3.35 both speak this; no savepoint needed.)"""
    meta = RawEvent._meta
    fields = [meta.get_field(name) for name in _INSERT_FIELDS]
    qn = connection.ops.quote_name
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
    # Only quoted identifiers from the model's own metadata are interpolated; values are parameters.
    table, columns = qn(meta.db_table), ", ".join(qn(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING RETURNING {qn('id')}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    return row[0] if row else None


def raw_events_requeue_stale(*, actor, older_than: timedelta = STALE_AFTER, limit: int = 5000) -> int:
    """Queue again the raw events still pending after `older_than` (a lost task or broker)."""
    _require_system(actor)
    cutoff = timezone.now() - older_than
    ids = list(
        RawEvent.objects.filter(status=RawEvent.Status.PENDING, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        _enqueue(pk)
    return len(ids)


@transaction.atomic
def raw_events_retry(*, actor, raw_event_ids) -> int:
    """Put failed (or ignored) events back to pending and queue them (admin action: the org admin
    of each event's organization)."""
    events = list(
        RawEvent.objects.filter(pk__in=list(raw_event_ids))
        .exclude(status=RawEvent.Status.PENDING)
        .select_related("integration")
    )
    for event in events:
        permissions.require_change(actor, event, "Only an org admin retries raw events.")
    ids = [event.pk for event in events]
    RawEvent.objects.filter(pk__in=ids).update(status=RawEvent.Status.PENDING, error="", note="")
    for pk in ids:
        transaction.on_commit(lambda pk=pk: _enqueue(pk))
    return len(ids)


def raw_event_process(*, actor, raw_event_id: int) -> str | None:
    """Normalize one raw event. Returns its final status (None when it no longer exists).

    Bad payloads are recorded on the event (status failed, the error kept for the admin);
    transient database errors propagate so the task retries."""
    _require_system(actor)
    with transaction.atomic():
        event = (
            RawEvent.objects.select_for_update(of=("self",))
            .select_related("integration__organization", "integration__team")
            .filter(pk=raw_event_id)
            .first()
        )
        if event is None or event.status != RawEvent.Status.PENDING:
            return event.status if event else None
        return _process_locked(actor, event)


def raw_events_drain(*, actor, batch: int = DRAIN_BATCH, budget_seconds: float = DRAIN_BUDGET_SECONDS) -> int:
    """Process pending raw events, oldest first, in batches, until none is left; the count done.

    Each batch is one transaction that claims up to `batch` pending events with
    `SELECT ... FOR UPDATE SKIP LOCKED` (two drains, or a drain and the sweeper's task, never
    take the same event; a claimed event is processed once, its status no longer pending when
    the lock is released). When a batch finds nothing the drain opens the intake's gate and
    looks once more, so a delivery committed meanwhile is either seen here or wakes a new drain.
    A transient error rolls the batch back whole (the task retries); after `budget_seconds`
    the drain queues a fresh one and returns."""
    _require_system(actor)
    done, deadline = 0, time.monotonic() + budget_seconds
    while True:
        count = _drain_batch(actor, batch)
        if not count:
            _open_gate()
            count = _drain_batch(actor, batch)
            if not count:
                return done
        done += count
        if time.monotonic() > deadline:
            from ..tasks import drain_raw_events

            try:
                drain_raw_events.delay()
            except Exception:  # the broker is away: the sweeper queues what is left
                logger.warning("delivery: could not queue the next drain", exc_info=True)
            return done


@transaction.atomic
def _drain_batch(actor, size: int) -> int:
    events = list(
        RawEvent.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("integration__organization", "integration__team")
        .filter(status=RawEvent.Status.PENDING)
        .order_by("received_at", "pk")[:size]
    )
    for event in events:
        try:
            with transaction.atomic():
                _process_locked(actor, event)
        except Exception as exc:
            from apps.core.tasks import TRANSIENT_ERRORS

            if isinstance(exc, TRANSIENT_ERRORS):
                raise
            # Failed outside the normalizer's own guard: recorded, so it cannot block the drain.
            logger.exception("delivery: raw event %s failed", event.pk)
            RawEvent.objects.filter(pk=event.pk).update(
                status=RawEvent.Status.FAILED,
                error=f"{type(exc).__name__}: {exc}"[:4000],
                attempts=event.attempts,
                processed_at=timezone.now(),
            )
    return len(events)


def _process_locked(actor, event: RawEvent) -> str:
    """Normalize one pending event whose row lock this transaction holds."""
    event.attempts += 1
    held_for = event.unattributed_key
    unattributed: dict[str, str] = {}
    try:
        with transaction.atomic():
            parsed = normalizers.parse(event.integration.kind, event.event_type, event.payload, event.integration)
            event.subject = parsed.subject[:250]
            event.occurred_at = parsed.occurred_at
            if parsed.ignored:
                event.status = RawEvent.Status.IGNORED
                event.note = parsed.ignored[:300]
            else:
                result = apply_parsed(actor=actor, integration=event.integration, parsed=parsed)
                ignored = result.get("ignored") or []
                if ignored and len(ignored) == len(parsed.incidents) and not (parsed.changes or parsed.deployments):
                    # Only updates of incidents not known here: nothing to change, say why.
                    event.status = RawEvent.Status.IGNORED
                    event.note = "; ".join(ignored)[:300]
                else:
                    event.status = RawEvent.Status.PROCESSED
                    unmatched = "; ".join(f"{k}: {why}" for k, why in result["unattributed"].items())
                    event.note = (_summary(parsed) + (f" · no service for {unmatched}" if unmatched else ""))[:300]
                    unattributed = result["unattributed"]
            event.error = ""
    except UnattributedError as exc:
        # Nothing could be placed (no service, no team): keep the event until the key is mapped.
        event.status = RawEvent.Status.UNATTRIBUTED
        event.note = f"no service for {exc.key}: {exc.reason}; kept until it is mapped"[:300]
        event.error = ""
        unattributed = {exc.key: exc.reason}
    except (normalizers.PayloadError, ValidationError) as exc:
        event.status = RawEvent.Status.FAILED
        event.error = error_text(exc)
    except Exception as exc:
        from apps.core.tasks import TRANSIENT_ERRORS

        if isinstance(exc, TRANSIENT_ERRORS):
            raise
        logger.exception("delivery: raw event %s failed", event.pk)
        event.status = RawEvent.Status.FAILED
        event.error = f"{type(exc).__name__}: {exc}"[:4000]
    event.processed_at = timezone.now()
    event.unattributed_key = next(iter(unattributed), "")[:300]
    event.save(
        update_fields=[
            "status",
            "subject",
            "occurred_at",
            "attempts",
            "error",
            "note",
            "unattributed_key",
            "processed_at",
        ]
    )
    for key, reason in unattributed.items():
        _seen(event.integration, key, reason)
    if held_for and held_for.lower() not in {k.lower() for k in unattributed}:
        # Processed again after a mapping: the key's counts drop.
        for row in UnattributedKey.objects.filter(integration=event.integration, key__iexact=held_for):
            _recount(row)
    return event.status


def _summary(parsed) -> str:
    parts = []
    for name, label in (("changes", "commit"), ("deployments", "deployment"), ("incidents", "incident")):
        count = len(getattr(parsed, name))
        if count:
            parts.append(f"{count} {label}{'' if count == 1 else 's'}")
    return ", ".join(parts)[:300]
