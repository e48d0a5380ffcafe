import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.http import require_POST

from apps.core import permissions
from apps.teams.models import Service, Team

from . import selectors, services
from .forms import OverrideForm, ToilItemForm, ToilReviewForm
from .models import ToilItem, ToilReview


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


# --- toil ------------------------------------------------------------------------------


def _form_errors_to(form, exc: ValidationError) -> None:
    for field, errs in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errs)


def _toil_chart(trend: list[dict]) -> str:
    config = {
        "type": "line",
        "data": {
            "labels": [p["day"].isoformat() for p in trend],
            "datasets": [
                {"label": "Toil hours a week", "data": [p["hours"] for p in trend]},
                {"label": "Hours a week saved", "data": [p["saved_hours"] for p in trend]},
            ],
        },
        "options": {"scales": {"y": {"beginAtZero": True}}},
    }
    return escape(json.dumps(config, separators=(",", ":")))


@login_required
def toil_list(request, team_id):
    team = permissions.get_for_user(request.user, Team.objects.select_related("organization"), pk=team_id)
    figures = selectors.team_toil(team_ids=[team.pk])[team.pk]
    trend = selectors.toil_trend(team=team)
    items = selectors.toil_items(team=team)
    return render(
        request,
        "sre/toil_list.html",
        {
            "team": team,
            "toil": figures,
            "open_items": [i for i in items if i.status in ToilItem.OPEN_STATUSES],
            "closed_items": [i for i in items if i.status not in ToilItem.OPEN_STATUSES],
            "reviews": selectors.toil_reviews(team=team),
            "trend": trend,
            "chart": _toil_chart(trend) if len(trend) > 1 else None,
            "can_add": permissions.can_create(request.user, ToilItem, team=team),
            "can_review": permissions.can_create(request.user, ToilReview, team=team),
        },
    )


@login_required
def toil_create(request, team_id):
    team = permissions.get_for_user(request.user, Team.objects.all(), pk=team_id)
    if not permissions.can_create(request.user, ToilItem, team=team):
        raise PermissionDenied("Only the team's members log its toil.")
    form = ToilItemForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        try:
            services.toil_item_create(team=team, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors_to(form, exc)
        else:
            messages.success(request, "Toil logged.")
            return redirect("sre:toil", team.pk)
    return render(request, "sre/toil_form.html", {"form": form, "team": team, "item": None})


@login_required
def toil_edit(request, pk):
    item = permissions.get_for_user(request.user, ToilItem.objects.select_related("team"), change=True, pk=pk)
    initial = {f: getattr(item, f) for f in services.TOIL_ITEM_FIELDS}
    form = ToilItemForm(request.POST or None, team=item.team, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.toil_item_update(item=item, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors_to(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("sre:toil", item.team_id)
    return render(request, "sre/toil_form.html", {"form": form, "team": item.team, "item": item})


@login_required
def toil_review(request, team_id):
    team = permissions.get_for_user(request.user, Team.objects.all(), pk=team_id)
    if not permissions.can_create(request.user, ToilReview, team=team):
        raise PermissionDenied("The team lead reviews the team's toil.")
    figures = selectors.team_toil(team_ids=[team.pk])[team.pk]
    form = ToilReviewForm(request.POST or None, initial={"capacity_hours": figures["capacity"]})
    if request.method == "POST" and form.is_valid():
        try:
            services.toil_review_record(team=team, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors_to(form, exc)
        else:
            messages.success(request, "Review recorded.")
            return redirect("sre:toil", team.pk)
    items = [i for i in selectors.toil_items(team=team) if i.status in ToilItem.OPEN_STATUSES]
    return render(request, "sre/toil_review.html", {"form": form, "team": team, "toil": figures, "items": items})


def team_panel(request, team) -> dict:
    return {"team": team, "toil": selectors.team_toil(team_ids=[team.pk])[team.pk]}
