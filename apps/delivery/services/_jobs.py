"""Queueing work for a worker (shared by intake, retries and re-attribution).

Intake does not queue one task per delivery: it wakes the drain (`drain_raw_events`), at most
once per DRAIN_GATE_MS. The gate is a Redis key set with `SET NX PX`: only the request that
sets it queues the drain; the others rely on that drain, which opens the gate (deletes the
key) *before* its last look for pending events. A request commits its event before it tries
the gate, so whichever way the two interleave, either the drain's last look sees the event or
the request finds the gate open and queues a drain of its own. A drain lost with its broker or
worker leaves the events pending: the sweeper queues them after STALE_AFTER."""

from __future__ import annotations

import logging

logger = logging.getLogger("apps.delivery.services")

DRAIN_GATE = "delivery:drain-gate"
DRAIN_GATE_MS = 200


def _enqueue(raw_event_id: int) -> None:
    from ..tasks import process_raw_event

    try:
        process_raw_event.delay(raw_event_id)
    except Exception:  # the broker is away: the event is stored, the sweeper will queue it
        logger.warning("delivery: could not queue raw event %s; the sweeper will retry", raw_event_id, exc_info=True)


def _gate():
    """(Redis client, key) of the drain gate; (None, None) without a Redis cache (the embedded
    default's database cache): then every delivery queues the drain, which finds nothing to do
    when another drain took its event."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    cache = caches["default"]  # (django.core.cache.cache is a proxy: not an instance of the backend)

    if not isinstance(cache, RedisCache):
        return None, None
    key = cache.make_and_validate_key(DRAIN_GATE)
    return cache._cache.get_client(key, write=True), key


def _wake_drain() -> None:
    """After a commit that stored pending events: make sure a drain will look at them."""
    from ..tasks import drain_raw_events

    client, key = _gate()
    if client is not None:
        try:
            if not client.set(key, b"1", nx=True, px=DRAIN_GATE_MS):
                return  # a drain is queued or running; its last look comes after this commit
        except Exception:  # Redis away: queue the drain anyway (the broker may be elsewhere)
            logger.warning("delivery: drain gate unavailable", exc_info=True)
            client = None
    try:
        drain_raw_events.delay()
    except Exception:  # the broker is away: the events are stored, the sweeper will queue them
        logger.warning("delivery: could not queue the drain; the sweeper will retry", exc_info=True)
        _open_gate(client, key)


def _open_gate(client=None, key=None) -> None:
    """Let the next delivery queue a drain (a drain calls this before its last look)."""
    if client is None:
        client, key = _gate()
    if client is None:
        return
    try:
        client.delete(key)
    except Exception:  # the gate expires by itself within DRAIN_GATE_MS
        logger.warning("delivery: could not open the drain gate", exc_info=True)
