"""Initiative pages: the leadership list, one initiative (burn-up, who is behind), the form, actions.
Thin: fetch with permissions, validate the form, call one service."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.core import permissions
from apps.core.charts import chart_attr
from apps.core.forms import add_service_errors
from apps.core.validation import error_text
from apps.teams.middleware import organization_or_404

from . import exports, selectors, services
from .forms import CheckFormSet, GraduateForm, InitiativeForm
from .models import Initiative


@login_required
def index(request):
    org = organization_or_404(request)
    initiatives = list(selectors.initiative_list(user=request.user, organization=org))
    stand = selectors.standings(initiatives)
    groups = []
    for status, label in Initiative.Status.choices:
        rows = [stand[i.pk] for i in initiatives if i.status == status]
        if rows:
            groups.append({"status": status, "label": label, "rows": rows})
    behind = sum(1 for s in stand.values() if s.initiative.status == Initiative.Status.ACTIVE and s.behind)
    return render(
        request,
        "initiatives/index.html",
        {
            "organization": org,
            "groups": groups,
            "behind": behind,
            "active": sum(1 for i in initiatives if i.status == Initiative.Status.ACTIVE),
            "may_manage": selectors.may_manage(request.user, org),
            "nav_section": "initiatives",
        },
    )


@login_required
def detail(request, pk):
    initiative = permissions.get_for_user(
        request.user, selectors.with_scope(Initiative.objects.select_related("organization", "owner")), pk=pk
    )
    today = timezone.localdate()
    standing = selectors.standings([initiative], today=today)[initiative.pk]
    scope = selectors.evaluate(initiative, as_of=today)
    org = initiative.organization
    return render(
        request,
        "initiatives/detail.html",
        {
            "initiative": initiative,
            "standing": standing,
            "chart": chart_attr(standing.chart()),
            "scope": scope,
            "teams": scope.by_team(),
            "checks": list(initiative.checks.all()),
            "may_manage": selectors.may_manage(request.user, org),
            "may_graduate": selectors.may_graduate(request.user, org)
            and initiative.graduated_at is None
            and any(c.kind == "metric" for c in initiative.checks.all()),
            "graduate_form": GraduateForm(),
            "statuses": Initiative.Status.choices,
            "nav_section": "initiatives",
        },
    )


def _form_save(request, form, formset, org, initiative=None):
    data = dict(form.cleaned_data)
    checks = [spec for f in formset.forms if (spec := f.spec()) is not None]
    try:
        if initiative is None:
            return services.initiative_create(actor=request.user, organization=org, checks=checks, **data)
        return services.initiative_update(actor=request.user, initiative=initiative, checks=checks, **data)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None


@login_required
def create(request):
    org = organization_or_404(request)
    if not selectors.may_manage(request.user, org):
        raise PermissionDenied("Only org admins and leaders start initiatives.")
    today = timezone.localdate()
    form = InitiativeForm(
        request.POST or None, organization=org, initial={"start_date": today, "owner": request.user.pk}
    )
    formset = CheckFormSet(request.POST or None, prefix="checks")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        initiative = _form_save(request, form, formset, org)
        if initiative is not None:
            messages.success(request, "Initiative saved.")
            return redirect(initiative)
    return render(
        request,
        "initiatives/form.html",
        {
            "form": form,
            "formset": formset,
            "initiative": None,
            "nav_section": "initiatives",
        },
    )


@login_required
def edit(request, pk):
    initiative = permissions.get_for_user(request.user, selectors.with_scope(Initiative.objects), change=True, pk=pk)
    initial = {
        "name": initiative.name,
        "reason": initiative.reason,
        "owner": initiative.owner_id,
        "start_date": initiative.start_date,
        "target_date": initiative.target_date,
        "status": initiative.status,
        "teams": [t.pk for t in initiative.teams.all()],
        "services": [s.pk for s in initiative.services.all()],
    }
    checks = [
        {
            k: getattr(c, k)
            for k in ("kind", "name", "metric", "operator", "value", "when_missing", "service_check", "hint")
        }
        for c in initiative.checks.all()
    ]
    form = InitiativeForm(request.POST or None, organization=initiative.organization, initial=initial)
    formset = CheckFormSet(request.POST or None, prefix="checks", initial=checks)
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        saved = _form_save(request, form, formset, initiative.organization, initiative)
        if saved is not None:
            messages.success(request, "Saved.")
            return redirect(saved)
    return render(
        request,
        "initiatives/form.html",
        {
            "form": form,
            "formset": formset,
            "initiative": initiative,
            "nav_section": "initiatives",
        },
    )


@login_required
@require_POST
def set_status(request, pk):
    initiative = permissions.get_for_user(request.user, Initiative.objects.all(), change=True, pk=pk)
    try:
        services.initiative_set_status(actor=request.user, initiative=initiative, status=request.POST.get("status", ""))
        messages.success(request, f"Marked {initiative.get_status_display().lower()}.")
    except ValidationError as exc:
        messages.error(request, error_text(exc, with_fields=False))
    return redirect(initiative)


@login_required
@require_POST
def refresh(request, pk):
    initiative = permissions.get_for_user(request.user, selectors.with_scope(Initiative.objects), change=True, pk=pk)
    point = services.progress_record(actor=request.user, initiative=initiative)
    messages.success(request, f"Today's progress recorded: {point.passing} of {point.total} passing.")
    return redirect(initiative)


@login_required
@require_POST
def graduate(request, pk):
    initiative = permissions.get_for_user(request.user, Initiative.objects.all(), change=True, pk=pk)
    form = GraduateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a level.")
        return redirect(initiative)
    try:
        added = services.initiative_graduate(
            actor=request.user, initiative=initiative, level=form.cleaned_data["level"]
        )
        messages.success(
            request, f"{len(added)} check(s) added to the scorecard at level {form.cleaned_data['level']}."
        )
    except ValidationError as exc:
        messages.error(request, error_text(exc, with_fields=False))
    return redirect(initiative)


@login_required
def export_csv(request, pk):
    """?what=scope (default): each item and check as judged now; ?what=progress: the daily points."""
    initiative = permissions.get_for_user(request.user, selectors.with_scope(Initiative.objects), pk=pk)
    today = timezone.localdate()
    if request.GET.get("what") == "progress":
        body = exports.progress_csv(selectors.standings([initiative], today=today)[initiative.pk])
        name = f"initiative-{initiative.pk}-progress-{today.isoformat()}.csv"
    else:
        body = exports.scope_csv(
            selectors.evaluate(initiative, as_of=today), base_url=request.build_absolute_uri("/")[:-1]
        )
        name = f"initiative-{initiative.pk}-scope-{today.isoformat()}.csv"
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
