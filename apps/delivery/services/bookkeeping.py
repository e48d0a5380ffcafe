"""Rollup bookkeeping: which team's days are stale (the rollup job recomputes them)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied
from django.db.models import F, Value
from django.db.models.functions import Least
from django.utils import timezone

from apps.core import permissions

from ..models import DirtyDay


def mark_dirty(team_id: int, day: date, *, actor) -> None:
    """Remember that the team's rollups from `day` on are stale. System work (signals, jobs):
    the other services mark the days of what they changed through `_mark_dirty`."""
    if not permissions.is_system(actor):
        raise PermissionDenied("Only the system marks rollup days stale.")
    _mark_dirty(team_id, day)


def _mark_dirty(team_id: int, day: date) -> None:
    now = timezone.now()
    obj, created = DirtyDay.objects.get_or_create(team_id=team_id, defaults={"day": day, "marked_at": now})
    if not created:
        DirtyDay.objects.filter(pk=obj.pk).update(day=Least(F("day"), Value(day)), marked_at=now)
