"""The delivery panels on team, service and incident pages (registered from apps.py)."""

from __future__ import annotations

from apps.core import permissions
from apps.core.charts import chart_attr

from . import charts, selectors
from .models import IncidentDeploymentLink


def team_panel(request, team) -> dict:
    keys = selectors.team_dora(team_ids=[team.pk], window_days=90, full=True)[team.pk]
    points = selectors.team_trend(team_id=team.pk, weeks=13)
    spark = chart_attr(charts.deployments_spark_config(points))
    return {"team": team, "keys": keys, "spark": spark}


def service_panel(request, service) -> dict:
    keys = selectors.service_dora(service_ids=[service.pk], window_days=90, full=True)[service.pk]
    return {"service": service, "keys": keys}


def incident_panel(request, incident) -> dict:
    link = selectors.incident_link(incident=incident)
    probe = link or IncidentDeploymentLink(incident=incident)
    return {
        "incident": incident,
        "link": link,
        "can_change": permissions.can_change(request.user, probe),
        "history": selectors.link_history(incident=incident),
    }
