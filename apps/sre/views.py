from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.core import permissions
from apps.core.charts import chart_attr
from apps.core.forms import add_service_errors
from apps.teams.middleware import current_organization, organization_or_404
from apps.teams.models import Service, Team

from . import charts, selectors, services
from .forms import IncidentRunbookForm, OverrideForm, RunbookForm, ToilItemForm, ToilReviewForm
from .models import Runbook, ToilItem, ToilReview


@login_required
@require_POST
def override_create(request, pk):
    service = permissions.get_for_user(request.user, Service.objects.select_related("team"), pk=pk)
    form = OverrideForm(request.POST)
    back = request.POST.get("next") or service.get_absolute_url()
    if not back.startswith("/") or back.startswith("//"):
        back = service.get_absolute_url()
    if form.is_valid():
        try:
            services.gate_override_create(
                service=service,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                hours=form.cleaned_data["hours"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
        else:
            messages.success(request, "Release gate overridden.")
    else:
        messages.error(request, " ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    return redirect(back)


# --- toil ------------------------------------------------------------------------------


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
            "chart": chart_attr(charts.toil_trend_chart(trend)),
            "can_add": permissions.can_create(request.user, ToilItem, team=team),
            "can_review": permissions.can_create(request.user, ToilReview, team=team),
        },
    )


@login_required
def toil_create(request, team_id):
    team = permissions.get_for_user(request.user, Team.objects.all(), pk=team_id)
    if not permissions.can_create(request.user, ToilItem, team=team):  # the form page; the service checks the write
        raise PermissionDenied("Only the team's members log its toil.")
    form = ToilItemForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        try:
            services.toil_item_create(team=team, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
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
            services.toil_item_update(item=item, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
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
            services.toil_review_record(team=team, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Review recorded.")
            return redirect("sre:toil", team.pk)
    items = [i for i in selectors.toil_items(team=team) if i.status in ToilItem.OPEN_STATUSES]
    return render(request, "sre/toil_review.html", {"form": form, "team": team, "toil": figures, "items": items})


# --- runbooks --------------------------------------------------------------------------


def _runbook_teams(user, organization):
    return permissions.editable_teams(user, Runbook, Team.objects.filter(organization=organization)).order_by("name")


@login_required
def runbook_list(request):
    org = organization_or_404(request)
    team_id = request.GET.get("team", "")
    team = Team.objects.filter(organization=org, pk=team_id).first() if team_id.isdigit() else None
    runbooks = list(selectors.runbook_list(user=request.user, organization=org, team=team))
    today = timezone.now().date()
    return render(
        request,
        "sre/runbook_list.html",
        {
            "rows": [(rb, selectors.runbook_is_current(rb, today)) for rb in runbooks],
            "team": team,
            "review_days": selectors.RUNBOOK_REVIEW_DAYS,
            "can_add": _runbook_teams(request.user, org).exists(),
        },
    )


@login_required
def runbook_detail(request, pk):
    runbook = permissions.get_for_user(request.user, Runbook.objects.select_related("team", "last_reviewed_by"), pk=pk)
    return render(
        request,
        "sre/runbook_detail.html",
        {
            "runbook": runbook,
            "current": selectors.runbook_is_current(runbook),
            "review_days": selectors.RUNBOOK_REVIEW_DAYS,
            "services": runbook.services.order_by("name"),
            "slos": runbook.slos.select_related("sli__service").order_by("name"),
            "can_edit": permissions.can_change(request.user, runbook),
        },
    )


def _runbook_form_save(request, form, runbook=None):
    data = dict(form.cleaned_data)
    try:
        if runbook is None:
            return services.runbook_create(actor=request.user, **data)
        return services.runbook_update(runbook=runbook, actor=request.user, **data)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None


@login_required
def runbook_create(request):
    org = organization_or_404(request)
    teams = _runbook_teams(request.user, org)
    if not teams.exists():
        raise PermissionDenied("Only team members add runbooks.")
    initial = {"team": teams.first().pk} if teams.count() == 1 else {}
    service_id = request.GET.get("service", "")
    if service_id.isdigit():
        initial["services"] = [int(service_id)]
    form = RunbookForm(request.POST or None, teams=teams, organization=org, initial=initial)
    if request.method == "POST" and form.is_valid():
        runbook = _runbook_form_save(request, form)
        if runbook is not None:
            messages.success(request, "Runbook added.")
            return redirect(runbook)
    return render(request, "sre/runbook_form.html", {"form": form, "runbook": None})


@login_required
def runbook_edit(request, pk):
    runbook = permissions.get_for_user(request.user, Runbook.objects.select_related("team"), change=True, pk=pk)
    org = runbook.team.organization
    initial = {
        "team": runbook.team_id,
        "title": runbook.title,
        "url": runbook.url,
        "body": runbook.body,
        "services": list(runbook.services.values_list("pk", flat=True)),
        "slos": list(runbook.slos.values_list("pk", flat=True)),
        "incident_types": ", ".join(runbook.incident_types),
    }
    form = RunbookForm(request.POST or None, teams=_runbook_teams(request.user, org), organization=org, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = _runbook_form_save(request, form, runbook)
        if saved is not None:
            messages.success(request, "Saved.")
            return redirect(saved)
    return render(request, "sre/runbook_form.html", {"form": form, "runbook": runbook})


@login_required
@require_POST
def runbook_review(request, pk):
    runbook = permissions.get_for_user(request.user, Runbook.objects.all(), change=True, pk=pk)
    services.runbook_mark_reviewed(runbook=runbook, actor=request.user)
    messages.success(request, "Marked as reviewed today.")
    return redirect(runbook)


@login_required
@require_POST
def incident_runbook(request, pk):
    from apps.postmortems.models import Incident

    incident = permissions.get_for_user(request.user, Incident.objects.all(), change=True, pk=pk)
    form = IncidentRunbookForm(request.POST, organization=incident.organization)
    if form.is_valid():
        services.incident_runbook_set(incident=incident, runbook=form.cleaned_data["runbook"], actor=request.user)
        messages.success(request, "Runbook recorded.")
    else:
        messages.error(request, " ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    return redirect(incident)


# --- index -----------------------------------------------------------------------------


@login_required
def index(request):
    org = current_organization(request)
    if org is None:
        return render(request, "teams/no_organization.html")
    teams = list(permissions.viewable(request.user, Team.objects.filter(organization=org)).order_by("name"))
    ids = [t.pk for t in teams]
    toil = selectors.team_toil(team_ids=ids) if ids else {}
    runbooks = selectors.team_runbooks(team_ids=ids) if ids else {}
    gate = selectors.team_gate(team_ids=ids) if ids else {}
    return render(
        request,
        "sre/index.html",
        {
            "rows": [(t, toil[t.pk], runbooks[t.pk], gate[t.pk]) for t in teams],
            "decisions": selectors.recent_decisions(user=request.user, organization=org, limit=10),
            "guideline": selectors.TOIL_GUIDELINE,
        },
    )
