from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.core import permissions
from apps.teams.models import Service

from . import selectors, services
from .forms import OverrideForm


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


@login_required
@require_POST
def override_create(request, pk):
    service = permissions.get_for_user(request.user, Service.objects.select_related("team"), pk=pk)
    if not _may_override(request.user, service):
        raise PermissionDenied("Only a team lead may override the release gate.")
    form = OverrideForm(request.POST)
    back = request.POST.get("next") or service.get_absolute_url()
    if not back.startswith("/") or back.startswith("//"):
        back = service.get_absolute_url()
    if form.is_valid():
        try:
            services.gate_override_create(
                service=service, user=request.user, reason=form.cleaned_data["reason"], hours=form.cleaned_data["hours"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
        else:
            messages.success(request, "Release gate overridden.")
    else:
        messages.error(request, " ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    return redirect(back)
