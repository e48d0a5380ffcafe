"""Prometheus sync: an SLI's buckets from its cursor to the last complete bucket."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from apps.core import permissions

from .. import maths, prometheus, selectors
from ..models import (
    BUCKET_SECONDS,
    SLI,
    SLO,
)
from .ingest import _samples_upsert
from .status import _alerts_evaluate

logger = logging.getLogger(__name__)

# Prometheus sync: how far back a new SLI starts, how many 5-minute steps per request,
# and how long to wait for scrapes to land before a bucket is considered complete.
SYNC_BACKFILL_DAYS = 30
SYNC_STEPS_PER_QUERY = 2016  # 7 days
SYNC_LAG_SECONDS = 60

# --- Prometheus sync -------------------------------------------------------------------


def sli_sync(*, actor, sli_id: int, now: datetime | None = None, force: bool = False) -> int:
    """Fetch the SLI's buckets from its cursor up to the last complete bucket and upsert them.

    Idempotent: the cursor only moves after the rows it covers are stored, and the
    rows are upserted, so a repeated or overlapping run counts nothing twice. A
    connection problem raises PrometheusUnavailable (the task retries with backoff);
    a bad query is recorded on the SLI and the periodic job stops asking until the
    SLI's queries are changed (or a user asks for a sync with force=True).
    Returns the number of buckets stored.
    """
    now = now or timezone.now()
    sli = SLI.objects.select_related("service__team").get(pk=sli_id)
    permissions.require_change(actor, sli, "You may not sync this SLI.")
    if sli.source != SLI.Source.PROMETHEUS:
        return 0
    if sli.sync_state == SLI.SyncState.ERROR and not force:
        return 0
    url = selectors.prometheus_url_for(sli)
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
            _samples_upsert(rows)
            SLI.objects.filter(pk=sli.pk).update(
                sync_cursor=datetime.fromtimestamp(chunk_end, UTC),
                sync_state=SLI.SyncState.OK,
                last_synced_at=now,
                last_error="",
                last_error_at=None,
            )
        stored += len(rows)
        cursor = chunk_end
    _alerts_evaluate(slos=list(SLO.objects.filter(sli_id=sli.pk)), now=now)
    return stored


def _record_error(sli: SLI, message: str, now: datetime) -> None:
    logger.warning("SLI %s (%s): %s", sli.pk, sli.slug, message)
    SLI.objects.filter(pk=sli.pk).update(sync_state=SLI.SyncState.ERROR, last_error=message[:4000], last_error_at=now)
