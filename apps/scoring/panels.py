"""Panels the scoring app adds to other apps' pages (registered in apps.py)."""

from __future__ import annotations

from django.urls import reverse

from .models import PILLARS, Snapshot
from .selectors import score_band


def team_panel(request, team) -> dict:
    """Context of the level badge and pillars on the team page (one query)."""
    latest = Snapshot.objects.filter(team=team).order_by("-date").first()
    return {
        "snapshot": latest,
        "pillars": [(label, getattr(latest, key), score_band(getattr(latest, key))) for key, label in PILLARS]
        if latest
        else [],
        "url": reverse("scoring:team", args=[team.pk]),
    }
