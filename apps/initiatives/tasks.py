"""Initiative jobs (thin: take ids or days, call a service)."""

from __future__ import annotations

from datetime import date

from apps.core import permissions
from apps.core.tasks import idempotent_task

from . import services


@idempotent_task
def record_progress(day: str | None = None, organization_ids: list[int] | None = None) -> int:
    """Store the day's progress point of every active initiative (after each scoring run and daily).
    Idempotent: one point per initiative and day, replaced on a rerun."""
    return services.progress_record_all(
        actor=permissions.SYSTEM,
        day=date.fromisoformat(day) if day else None,
        organization_ids=organization_ids,
    )
