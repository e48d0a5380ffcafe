# Read by gunicorn from the directory it starts in (the image's /app, the repository root).
import os

# Webhook intake URLs carry a token: gunicorn's own logs redact it as Django's do.
logger_class = "apps.core.logging.GunicornLogger"

# Sync workers, one request at a time each. On the 2-core machine, 50 release-gate calls arriving
# at once were answered with a p99 of 61 ms by 3 sync workers against 180 ms by 2 gthread workers
# x 8 threads (threads of one process wait on each other's GIL); scripts/bench_gate.py reads these
# two settings from here. Sync workers need a buffering proxy in front (gunicorn's deployment
# advice): the load balancer or ingress that terminates TLS, so a slow client holds no worker.
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "sync"


def post_worker_init(worker):
    """Keep what the app loaded at start out of the garbage collector's full passes.

    A worker holds about 160,000 objects once Django, DRF and every view module are imported; a
    full collection walks them all (about 100 ms here), and whichever request triggers it waits.
    Frozen objects are never collected again (they live as long as the worker anyway), and the
    full passes only walk what requests allocate."""
    import gc

    from django.urls import get_resolver

    _ = get_resolver().url_patterns  # import every view module now, so that it is frozen too
    gc.freeze()
