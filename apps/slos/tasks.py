"""Celery jobs of the SLO catalog: thin, take ids, call a service."""

import logging

from apps.core import permissions
from apps.core.tasks import idempotent_task

from . import prometheus, selectors, services
from .models import SLO

logger = logging.getLogger(__name__)


@idempotent_task
def sync_all_prometheus():
    """Periodic: queue a sync for every Prometheus SLI (those with a bad query wait for a fix)."""
    for sli_id in selectors.prometheus_slis_due().values_list("pk", flat=True):
        sync_sli.delay(sli_id)


@idempotent_task
def sync_sli(sli_id: int, force: bool = False):
    try:
        return services.sli_sync(actor=permissions.SYSTEM, sli_id=sli_id, force=force)
    except prometheus.PrometheusUnavailable as exc:
        # An expected outage, not a bug: one warning line, no traceback. The SLI shows
        # "retrying" and the periodic sync (every 5 minutes) is the retry; retrying here
        # as well only stacked chains of retries that each ended in a traceback.
        logger.warning("SLI %s not synced: %s (the periodic sync tries again)", sli_id, exc)
        return 0


@idempotent_task
def evaluate_all_alerts():
    """Periodic: refresh the stored status and alerts of the SLOs that are due (their windows
    moved or their data changed), so alerts also resolve when pushes stop or slow down."""
    return services.alerts_evaluate_all(actor=permissions.SYSTEM)


@idempotent_task
def evaluate_alerts(sli_id: int):
    services.alerts_evaluate(actor=permissions.SYSTEM, slos=list(SLO.objects.filter(sli_id=sli_id)))


@idempotent_task
def refresh_status(sli_ids: list[int]):
    """After a push: the stored status and alerts of the SLOs on these SLIs."""
    return services.slo_status_refresh(actor=permissions.SYSTEM, sli_ids=sli_ids)


@idempotent_task
def refresh_all_statuses():
    """Full recompute of every SLO's stored status (`manage.py slo_status --all` runs it inline)."""
    return services.slo_status_refresh_all(actor=permissions.SYSTEM)


@idempotent_task
def notify_alert(alert_id: int, event: str):
    return services.alert_notify(actor=permissions.SYSTEM, alert_id=alert_id, event=event)
