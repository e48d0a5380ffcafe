from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.core import permissions
from apps.core.forms import add_service_errors
from apps.teams.middleware import current_organization, organization_or_404
from apps.teams.models import Team

from . import kinds, selectors, services
from .forms import PreferencesForm, TargetForm
from .models import Target


@login_required
def index(request):
    """The person's notification settings: which kinds they receive, and what was sent to them."""
    prefs = selectors.preferences_for(request.user)
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            services.preferences_save(actor=request.user, user=request.user, enabled_kinds=form.cleaned_data["kinds"])
            messages.success(request, "Notification settings saved.")
            return redirect("notifications:index")
    else:
        form = PreferencesForm(initial={"kinds": [p["kind"].key for p in prefs if p["enabled"]]})
    organization = current_organization(request)
    return render(
        request,
        "notifications/index.html",
        {
            "form": form,
            "prefs": prefs,
            "deliveries": selectors.recent_deliveries_for(request.user),
            "manages_targets": organization is not None and selectors.may_manage_targets(request.user, organization),
        },
    )


def _target_org(request):
    organization = organization_or_404(request)
    if not selectors.may_manage_targets(request.user, organization) and not request.user.is_superuser:
        raise PermissionDenied("Org admins, leaders and team leads see notification targets.")
    return organization


def _creatable_teams(user, organization):
    return permissions.editable_teams(user, Target, Team.objects.filter(organization=organization)).order_by("name")


@login_required
def target_list(request):
    organization = _target_org(request)
    targets = selectors.targets_with_recent(selectors.target_list(user=request.user, organization=organization))
    can_add = (
        permissions.is_org_admin(request.user, organization) or _creatable_teams(request.user, organization).exists()
    )
    return render(
        request,
        "notifications/target_list.html",
        {"targets": targets, "can_add": can_add, "organization": organization},
    )


@login_required
def target_new(request):
    organization = _target_org(request)
    teams = _creatable_teams(request.user, organization)
    if not permissions.is_org_admin(request.user, organization) and not teams.exists():
        raise PermissionDenied("Only an org admin or a team lead adds targets.")
    form = TargetForm(request.POST or None, teams=teams, initial={"kinds": [kinds.TEAM_DIGEST, kinds.LEVEL_CHANGE]})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            target = services.target_create(
                actor=request.user,
                organization=organization,
                team=data.get("team"),
                name=data["name"],
                channel=data["channel"],
                address=data["address"],
                kind_keys=data["kinds"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Target “{target.name}” added.")
            return redirect(target)
    return render(request, "notifications/target_form.html", {"form": form, "target": None})


@login_required
def target_detail(request, pk: int):
    target = selectors.target_detail(user=request.user, pk=pk)
    return render(
        request,
        "notifications/target_detail.html",
        {
            "target": target,
            "deliveries": selectors.target_deliveries(target),
            "can_edit": permissions.can_change(request.user, target),
        },
    )


@login_required
def target_edit(request, pk: int):
    target = selectors.target_detail(user=request.user, pk=pk, change=True)
    initial = {
        "name": target.name,
        "channel": target.channel,
        "address": target.address,
        "kinds": target.kinds,
        "active": target.active,
    }
    form = TargetForm(request.POST or None, initial=initial, teams=Team.objects.none(), fixed_team=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.target_update(
                actor=request.user,
                target=target,
                name=data["name"],
                channel=data["channel"],
                address=data["address"],
                kind_keys=data["kinds"],
                active=data["active"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Target saved.")
            return redirect(target)
    return render(request, "notifications/target_form.html", {"form": form, "target": target})


@login_required
@require_POST
def target_delete(request, pk: int):
    target = selectors.target_detail(user=request.user, pk=pk, change=True)
    services.target_delete(actor=request.user, target=target)
    messages.success(request, "Target deleted.")
    return redirect("notifications:targets")
