"""Panels the slos app adds to other apps' pages (registered in apps.py): the team page's
reliability summary and the service page's SLOs, read from the stored statuses."""

from __future__ import annotations

from apps.core import permissions

from . import selectors
from .models import SLI, AlertSettings


def team_panel(request, team) -> dict:
    slos = selectors.slos_for_services(service_ids=team.services.values_list("pk", flat=True))
    selectors.ensure_stored(slos)
    summary = selectors.team_reliability(team_ids=[team.pk])[team.pk]
    slos = list(slos.select_related("status_record"))
    statuses = selectors.stored_statuses(slos)
    rows = sorted(
        ((s, statuses[s.pk]) for s in slos),
        key=lambda r: (r[1].remaining is None, r[1].remaining or 0),
    )
    return {
        "team": team,
        "summary": summary,
        "as_of": min((st.as_of for _, st in rows), default=None),
        "tiers": [(tier, summary["coverage_by_tier"][tier]) for tier in (1, 2, 3)],
        "rows": rows[:8],
        "more": max(len(rows) - 8, 0),
        "can_configure": permissions.can_create(request.user, AlertSettings, team=team),
    }


def service_panel(request, service) -> dict:
    slos = selectors.slos_for_services(service_ids=[service.pk])
    selectors.ensure_stored(slos)
    slos = list(slos.select_related("status_record"))
    statuses = selectors.stored_statuses(slos)
    return {
        "service": service,
        "as_of": min((st.as_of for st in statuses.values()), default=None),
        "rows": [(s, statuses[s.pk]) for s in slos],
        "can_add": permissions.can_create(request.user, SLI, team=service.team),
    }
