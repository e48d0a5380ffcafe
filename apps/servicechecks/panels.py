"""Panel context functions for the service page and the team page."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from . import registry, selectors


def service(request, service) -> dict:
    """Each check for this service: pass / fail / not applicable, the reason and where to fix it."""
    rows = selectors.service_results(service, today=timezone.localdate())
    applicable = [r for _c, r in rows if r.passed is not None]
    return {
        "rows": [{"check": c, "result": r} for c, r in rows],
        "passing": sum(1 for r in applicable if r.passed),
        "applicable": len(applicable),
        "index_url": reverse("servicechecks:index"),
    }


def team(request, team) -> dict:
    """The team's aggregate per check: how many of its applicable services pass."""
    summary = selectors.team_summary(None, [team.pk], today=timezone.localdate())[team.pk]
    return {
        "rows": [{"check": registry.CHECKS[k], "result": r} for k, r in summary.items()],
        "index_url": reverse("servicechecks:index"),
    }
