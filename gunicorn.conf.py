# Read by gunicorn from the directory it starts in (the image's /app, the repository root).
# Webhook intake URLs carry a token: gunicorn's own logs redact it as Django's do.
logger_class = "apps.core.logging.GunicornLogger"


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
