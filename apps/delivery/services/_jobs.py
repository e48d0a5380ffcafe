"""Queueing a raw event for a worker (shared by intake and re-attribution)."""

from __future__ import annotations

import logging

logger = logging.getLogger("apps.delivery.services")


def _enqueue(raw_event_id: int) -> None:
    from ..tasks import process_raw_event

    try:
        process_raw_event.delay(raw_event_id)
    except Exception:  # the broker is away: the event is stored, the sweeper will queue it
        logger.warning("delivery: could not queue raw event %s; the sweeper will retry", raw_event_id, exc_info=True)
