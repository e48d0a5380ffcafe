"""Notification jobs (thin: take ids or days, call services)."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from apps.core.permissions import SYSTEM
from apps.core.tasks import enqueue, idempotent_task
from apps.teams.models import Organization

from . import kinds, selectors, services


@idempotent_task
def send_delivery(delivery_id: int) -> str:
    """One webhook (or a retried email) delivery; a failure is recorded on it and its target, not raised."""
    return services.delivery_send(actor=SYSTEM, delivery_id=delivery_id)


def _queue(pk: int) -> None:
    enqueue(send_delivery, pk)  # not queued: retry_due_deliveries picks it up


@idempotent_task
def send_weekly_digests(as_of: str | None = None) -> dict[str, int]:
    """Plan and send every organization's weekly digests (Mondays). Running it again sends nothing twice."""
    day = date.fromisoformat(as_of) if as_of else timezone.localdate()
    totals: dict[str, int] = {}
    for org in Organization.objects.filter(teams__isnull=False).distinct().order_by("pk"):
        period = services.digests_plan(actor=SYSTEM, organization=org, as_of=day)
        ids = [
            *selectors.pending_ids(kind=kinds.TEAM_DIGEST, period=period, organization=org),
            *selectors.pending_ids(kind=kinds.LEADER_DIGEST, period=period, organization=org),
        ]
        for status, n in services.deliveries_send(actor=SYSTEM, delivery_ids=ids, queue_webhook=_queue).items():
            totals[status] = totals.get(status, 0) + n
    return totals


@idempotent_task
def notify_level_changes(team_ids: list[int], as_of: str) -> int:
    """Tell the teams whose level changed in a scoring run (queued after the snapshots are written)."""
    day = date.fromisoformat(as_of)
    changed = services.level_changes_plan(actor=SYSTEM, team_ids=team_ids, as_of=day)
    if changed:
        ids = selectors.pending_ids(kind=kinds.LEVEL_CHANGE, period=day.isoformat())
        services.deliveries_send(actor=SYSTEM, delivery_ids=ids, queue_webhook=_queue)
    return len(changed)


@idempotent_task
def send_initiative_deadlines(as_of: str | None = None) -> int:
    """Daily: tell the teams still failing an initiative due within a week (once per initiative and deadline)."""
    day = date.fromisoformat(as_of) if as_of else timezone.localdate()
    planned = services.initiative_deadlines_plan(actor=SYSTEM, as_of=day)
    if planned:
        ids = selectors.pending_ids(kind=kinds.INITIATIVE_DEADLINE)
        services.deliveries_send(actor=SYSTEM, delivery_ids=ids, queue_webhook=_queue)
    return len(planned)


@idempotent_task
def retry_due_deliveries() -> int:
    """Every minute: send again the failed deliveries whose backoff has passed."""
    services.deliveries_abandon_stale(actor=SYSTEM)
    ids = selectors.due_retry_ids()
    for pk in ids:
        send_delivery.delay(pk)
    return len(ids)
