"""Delivery jobs: thin wrappers that take ids and call services."""

from apps.core import permissions
from apps.core.tasks import idempotent_task

from . import rollups, services


@idempotent_task
def process_raw_event(raw_event_id: int) -> str | None:
    return services.raw_event_process(actor=permissions.SYSTEM, raw_event_id=raw_event_id)


@idempotent_task
def drain_raw_events() -> int:
    """Process pending raw events in batches until none is left (woken by intake)."""
    return services.raw_events_drain(actor=permissions.SYSTEM)


@idempotent_task
def sweep_raw_events() -> int:
    """Re-queue raw events left pending (a lost task or broker loses nothing)."""
    return services.raw_events_requeue_stale(actor=permissions.SYSTEM)


@idempotent_task
def refresh_rollups() -> int:
    """Recompute the days the normalizers marked stale."""
    return rollups.refresh_dirty()


@idempotent_task
def rebuild_rollups(days: int = 120) -> int:
    """Nightly: recompute the last `days` days of every team (links changed by hand, moved services)."""
    return rollups.rebuild(days=days)


@idempotent_task
def reattribute_service_evidence(service_id: int) -> int:
    """A service's repository URL was set or changed: give it the unattributed history it now matches."""
    from apps.teams.models import Service

    service = Service.objects.filter(pk=service_id).first()
    if service is None:
        return 0
    return services.service_evidence_reattribute(actor=permissions.SYSTEM, service=service)
