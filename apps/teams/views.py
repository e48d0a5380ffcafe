from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.core import panels, permissions
from apps.core.forms import add_service_errors

from . import selectors, services
from .forms import ServiceForm
from .middleware import SESSION_KEY, current_organization
from .models import Organization, Service


@login_required
def team_list(request):
    org = current_organization(request)
    if org is None:
        return render(request, "teams/no_organization.html")
    departments = selectors.department_list(user=request.user, organization=org)
    department_id = request.GET.get("department") or None
    department = departments.filter(pk=department_id).first() if department_id and department_id.isdigit() else None
    teams = selectors.team_list(
        user=request.user, organization=org, department=department, search=request.GET.get("q", "").strip()
    )
    template = "teams/_team_rows.html" if request.htmx else "teams/team_list.html"
    return render(
        request,
        template,
        {"teams": teams, "departments": departments, "department": department, "q": request.GET.get("q", "")},
    )


@login_required
def team_detail(request, pk):
    team = selectors.team_detail(user=request.user, pk=pk)
    return render(
        request,
        "teams/team_detail.html",
        {
            "team": team,
            "can_edit_services": permissions.can_create(request.user, Service, team=team),
            "my_role": permissions.team_role(request.user, team),
            "panels": panels.render_context("team", request, team),
        },
    )


@login_required
def service_detail(request, pk):
    service = permissions.get_for_user(request.user, Service.objects.select_related("team", "organization"), pk=pk)
    return render(
        request,
        "teams/service_detail.html",
        {
            "service": service,
            "can_edit": permissions.can_change(request.user, service),
            "panels": panels.render_context("service", request, service),
        },
    )


@login_required
def service_edit(request, pk):
    service = permissions.get_for_user(request.user, Service.objects.select_related("team"), change=True, pk=pk)
    form = ServiceForm(request.POST or None, instance=service)
    if request.method == "POST" and form.is_valid():
        try:
            services.service_update(actor=request.user, service=service, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved {service.name}.")
            return redirect(service)
    return render(request, "teams/service_form.html", {"form": form, "service": service})


@login_required
@require_POST
def switch_organization(request):
    org = selectors.organizations_for_user(request.user).filter(pk=request.POST.get("organization")).first()
    if org is None:
        raise Http404("No such organization.")
    request.session[SESSION_KEY] = org.pk
    messages.info(request, f"Switched to {org.name}.")
    return redirect("home")


@login_required
def people_search(request):
    """The people picker's search (widgets.PeoplePicker): people of one organization the
    user belongs to, matched on name or email."""
    org_id = request.GET.get("organization", "")
    org = Organization.objects.filter(pk=org_id).first() if org_id.isdigit() else None
    if org is None or permissions.org_role(request.user, org) is None:
        raise Http404("No such organization.")
    q = (request.GET.get("q") or "").strip()[:100]
    return render(
        request,
        "teams/_people_results.html",
        {"people": selectors.people_search(organization=org, q=q), "q": q, "organization": org},
    )
