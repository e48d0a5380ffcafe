"""Context of the sre panels on team, service, SLO and incident pages (registered in apps.py)."""

from django.utils import timezone

from apps.core import permissions

from . import selectors
from .forms import IncidentRunbookForm, OverrideForm
from .models import Runbook


def _may_override(user, service) -> bool:
    return permissions.team_role(user, service.team_id) == permissions.TEAM_LEAD or permissions.is_org_admin(
        user, service.team.organization_id
    )


def _gate_context(request, service, *, slo=None) -> dict:
    decisions = selectors.decisions_for_service(service_id=service.pk, limit=10)
    if slo is not None:
        # On an SLO page: the decisions this SLO took part in.
        decisions = [d for d in decisions if any(v.get("slo") == slo.pk for v in d.slos)]
    return {
        "service": service,
        "slo": slo,
        "decisions": decisions,
        "override": selectors.active_override(service_id=service.pk, now=timezone.now()),
        "denied_deploys": selectors.deployments_while_denied(service_id=service.pk).count(),
        "may_override": _may_override(request.user, service),
        "form": OverrideForm(),
    }


def service_panel(request, service):
    return _gate_context(request, service)


def slo_panel(request, slo):
    return _gate_context(request, slo.sli.service, slo=slo)


def team_panel(request, team) -> dict:
    return {"team": team, "toil": selectors.team_toil(team_ids=[team.pk])[team.pk]}


def service_runbooks_panel(request, service) -> dict:
    runbooks = list(service.runbooks.select_related("team").order_by("title"))
    today = timezone.now().date()
    return {
        "service": service,
        "rows": [(rb, selectors.runbook_is_current(rb, today)) for rb in runbooks],
        "review_days": selectors.RUNBOOK_REVIEW_DAYS,
        "can_add": permissions.can_create(request.user, Runbook, team=service.team),
    }


def incident_runbook_panel(request, incident) -> dict:
    record = selectors.incident_runbook(incident=incident)
    return {
        "incident": incident,
        "record": record,
        "may_set": permissions.can_change(request.user, incident),
        "form": IncidentRunbookForm(
            organization=incident.organization, initial={"runbook": record.runbook_id if record else None}
        ),
    }
