import logging

from celery import shared_task
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.utils import timezone

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "worker:heartbeat"

# Failures worth retrying: the database or a network peer was briefly away.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


def idempotent_task(*args, **options):
    """`shared_task` with the project's defaults for jobs that may run twice.

    Acknowledged late (settings), retried with exponential backoff and jitter on
    transient errors. Tasks take ids and call a service that upserts.
    """
    defaults = {
        "autoretry_for": TRANSIENT_ERRORS,
        "retry_backoff": True,
        "retry_backoff_max": 600,
        "retry_jitter": True,
        "max_retries": 8,
    }
    defaults.update(options)
    return shared_task(*args, **defaults)


def enqueue(task, *args) -> bool:
    """Queue `task(*args)`; when the broker is away, log a warning and return False instead of
    failing the write that asked for it (the caller's periodic job catches up, or says why not)."""
    try:
        task.delay(*args)
    except Exception:
        logger.warning("could not queue %s%r; the broker is away", task.name, args, exc_info=True)
        return False
    return True


@idempotent_task
def heartbeat():
    """Record that a worker is alive and beat is scheduling (shown by /healthz)."""
    cache.set(HEARTBEAT_KEY, timezone.now().isoformat(), timeout=60 * 60)
