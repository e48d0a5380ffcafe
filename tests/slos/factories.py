from datetime import UTC, datetime
from decimal import Decimal

from apps.core import permissions
from apps.slos import services
from apps.slos.models import BUCKET_SECONDS, SLI, SLO

# A fixed "now" on a bucket boundary: Wed 2026-04-15 12:00 UTC (April has 30 days, Q2 has 91).
NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())


def live_now_ts() -> int:
    """The last bucket boundary before the real now (pages and the API compute at the real time)."""
    import time

    now = int(time.time())
    return now - now % BUCKET_SECONDS


def make_sli(service, *, name="Availability", source=SLI.Source.PUSH, **fields) -> SLI:
    return services.sli_create(actor=permissions.SYSTEM, service=service, name=name, source=source, **fields)


def make_slo(sli, *, name="Availability 99.9", target="0.999", **fields) -> SLO:
    return services.slo_create(actor=permissions.SYSTEM, sli=sli, name=name, target=Decimal(target), **fields)


def fill(sli, *, start_ts, end_ts, good, total, refresh=False):
    """One sample per 5-minute bucket in [start_ts, end_ts) with the same counts; with refresh, as the
    job queued after a push does (on commit, which tests inside a transaction never reach),
    the stored status of the SLI's SLOs at the real time."""
    rows = [(sli.pk, b, float(good), float(total)) for b in range(start_ts, end_ts, BUCKET_SECONDS)]
    services.samples_upsert(rows, actor=permissions.SYSTEM)
    if refresh:
        services.slo_status_refresh(actor=permissions.SYSTEM, sli_ids=[sli.pk])
    return len(rows)
