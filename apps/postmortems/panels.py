"""Panels this app adds to other pages (registered in apps.py): the team page's postmortems panel."""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from apps.core import permissions

from . import selectors
from .models import ActionItem, Postmortem


def team_panel(request, team) -> dict:
    """Recent postmortems, open and overdue action items and the learning figures of one team."""
    user = request.user
    recent = (
        permissions.viewable(user, Postmortem.objects.filter(team=team))
        .select_related("incident")
        .order_by(F("incident__started_at").desc(nulls_last=True))[:5]
    )
    open_items = permissions.viewable(user, ActionItem.objects.filter(team=team)).exclude(status__in=ActionItem.CLOSED)
    today = timezone.localdate()
    since, until = selectors.learning_window()
    learning = selectors.team_learning(team_ids=[team.pk], since=since, until=until)[team.pk]
    return {
        "team": team,
        "recent": list(recent),
        "open_items": open_items.count(),
        "overdue_items": open_items.filter(due_date__lt=today).count(),
        "learning": learning,
        "window_days": selectors.LEARNING_WINDOW_DAYS,
    }
