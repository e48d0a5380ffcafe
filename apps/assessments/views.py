"""HTML pages of CALMS assessments. Thin: check the role, call a selector or service, render."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from apps.core import permissions
from apps.core.charts import chart_attr
from apps.core.forms import add_service_errors
from apps.core.validation import error_text
from apps.teams.middleware import current_organization, organization_or_404
from apps.teams.models import Team

from . import charts, selectors, services
from .forms import CampaignForm
from .models import Assessment, Campaign, Question


@login_required
def index(request):
    org = current_organization(request)
    if org is None:
        return render(request, "teams/no_organization.html")
    return render(
        request,
        "assessments/index.html",
        {
            "campaigns": selectors.campaign_list(user=request.user, organization=org),
            "mine": selectors.my_assessments(user=request.user, organization=org)[:12],
            "can_open": permissions.can_create(request.user, Campaign, organization=org),
            "today": timezone.localdate(),
        },
    )


@login_required
def campaign_create(request):
    org = organization_or_404(request)
    if not permissions.can_create(request.user, Campaign, organization=org):
        raise PermissionDenied("Only org admins open campaigns.")
    form = CampaignForm(request.POST or None, organization=org)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = services.campaign_open(
                organization=org,
                frameworks=list(data["frameworks"]),
                name=data["name"],
                opens_on=data["opens_on"],
                closes_on=data["closes_on"],
                teams=data["teams"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            teams = campaign.assessments.values("team_id").distinct().count()
            count = campaign.assessments.count()
            messages.success(
                request, f"Opened {campaign.name} for {teams} team{'s' if teams != 1 else ''} ({count} assessments)."
            )
            return redirect(campaign)
    return render(request, "assessments/campaign_form.html", {"form": form, "campaign": None})


@login_required
def campaign_edit(request, pk):
    campaign = selectors.campaign_get(user=request.user, pk=pk, change=True)
    form = CampaignForm(
        request.POST or None,
        organization=campaign.organization,
        editing=campaign,
        initial={
            "name": campaign.name,
            "opens_on": campaign.opens_on,
            "closes_on": campaign.closes_on,
            "frameworks": list(campaign.frameworks.all()),
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.campaign_update(
                campaign=campaign,
                actor=request.user,
                name=data["name"],
                opens_on=data["opens_on"],
                closes_on=data["closes_on"],
                teams=data["teams"],
                frameworks=list(data["frameworks"]),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved {campaign.name}.")
            return redirect(campaign)
    return render(request, "assessments/campaign_form.html", {"form": form, "campaign": campaign})


@login_required
def campaign_detail(request, pk):
    campaign = selectors.campaign_get(user=request.user, pk=pk)
    framework = selectors.campaign_framework(campaign, request.GET.get("framework"))
    overview = selectors.campaign_overview(campaign=campaign, framework=framework)
    teams = selectors.campaign_teams(campaign=campaign)
    return render(
        request,
        "assessments/campaign_detail.html",
        {
            "campaign": campaign,
            "frameworks": list(campaign.frameworks.all()),
            "framework": framework,
            "overview": overview,
            "teams": teams,
            "counts": selectors.assessment_counts(teams),
            "chart": chart_attr(charts.campaign_averages(overview)),
            "can_edit": permissions.can_change(request.user, campaign),
            "can_export": permissions.sees_whole_org(request.user, campaign.organization),
            "my_team_ids": permissions.team_ids(request.user),
        },
    )


@login_required
def campaign_export(request, pk):
    """CSV of the campaign's progress and scores, for org admins and leaders."""
    campaign = selectors.campaign_get(user=request.user, pk=pk)
    if not permissions.sees_whole_org(request.user, campaign.organization):
        raise PermissionDenied("Only org admins and leaders export campaign results.")
    rows = selectors.campaign_csv_rows(campaign=campaign)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(campaign.name) or "campaign"}.csv"'
    writer = csv.writer(response)
    for row in rows:
        writer.writerow([_csv_safe(cell) for cell in row])
    return response


def _csv_safe(value):
    # Spreadsheets execute cells starting with these characters as formulas.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _editable(user, assessment: Assessment) -> bool:
    return not assessment.is_submitted and assessment.campaign.is_open() and permissions.can_change(user, assessment)


@login_required
def assessment_detail(request, pk):
    assessment = selectors.assessment_get(user=request.user, pk=pk)
    sheets = selectors.assessment_sheet(assessment=assessment)
    if not sheets:
        raise Http404("This framework has no questions.")
    key = request.GET.get("d")
    current = next((s for s in sheets if s.dimension.key == key), sheets[0])
    index = sheets.index(current)
    return render(
        request,
        "assessments/assessment_detail.html",
        {
            "assessment": assessment,
            "campaign": assessment.campaign,
            "sheets": sheets,
            "current": current,
            "previous_sheet": sheets[index - 1] if index > 0 else None,
            "next_sheet": sheets[index + 1] if index + 1 < len(sheets) else None,
            "editable": _editable(request.user, assessment),
            "can_submit": selectors.can_submit(request.user, assessment),
            "can_reopen": selectors.can_submit(request.user, assessment)
            and assessment.is_submitted
            and assessment.campaign.current_phase != Campaign.Phase.CLOSED,
            "phase": assessment.campaign.current_phase,
        },
    )


@login_required
@require_POST
def answer_save(request, pk, question_pk):
    """Autosave of one question (htmx) or its no-script form post."""
    assessment = selectors.assessment_get(user=request.user, pk=pk, change=True)
    question = Question.objects.filter(pk=question_pk, dimension__framework_id=assessment.framework_id).first()
    if question is None:
        raise Http404("No such question in this assessment.")
    raw_level = request.POST.get("level", "")
    values = {
        "level": None if raw_level in ("", "na") else raw_level,
        "not_applicable": raw_level == "na",
        "comment": request.POST.get("comment", ""),
        "evidence_url": request.POST.get("evidence_url", ""),
    }
    error = None
    answer = None
    field_errors = {}
    try:
        answer = services.answer_save(assessment=assessment, question=question, actor=request.user, **values)
    except ValidationError as exc:
        error = error_text(exc, with_fields=False)
        # "answers[0].comment" -> "comment": shown under that field as well as in the status line.
        field_errors = {key.rsplit(".", 1)[-1]: " ".join(msgs) for key, msgs in exc.message_dict.items()}
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, "Saved.")
        url = reverse("assessments:detail", args=[assessment.pk])
        return redirect(f"{url}?d={question.dimension.key}#q-{question.pk}")
    assessment.refresh_from_db()
    sheets = selectors.assessment_sheet(assessment=assessment)
    return render(
        request,
        "assessments/_save_status.html",
        {
            "assessment": assessment,
            "question": question,
            "answer": answer,
            "error": error,
            "field_errors": field_errors,
            "sheets": sheets,
            "saved_at": timezone.localtime(),
        },
    )


@login_required
@require_POST
def assessment_submit(request, pk):
    assessment = selectors.assessment_get(user=request.user, pk=pk)
    try:
        services.assessment_submit(assessment=assessment, actor=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc, with_fields=False))
        return redirect(assessment)
    messages.success(
        request, f"Submitted {assessment.team.name}'s {assessment.framework.name} assessment. Here is the result."
    )
    return redirect("assessments:result", pk=assessment.pk)


@login_required
@require_POST
def assessment_reopen(request, pk):
    assessment = selectors.assessment_get(user=request.user, pk=pk)
    try:
        services.assessment_reopen(assessment=assessment, actor=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc, with_fields=False))
        return redirect("assessments:result", pk=assessment.pk)
    messages.info(request, "Reopened: the team can change its answers until the campaign closes.")
    return redirect(assessment)


@login_required
def assessment_result(request, pk):
    assessment = selectors.assessment_get(user=request.user, pk=pk)
    result = selectors.assessment_result(assessment=assessment)
    return render(
        request,
        "assessments/result.html",
        {
            "assessment": assessment,
            "campaign": assessment.campaign,
            "result": result,
            "chart": chart_attr(charts.result_radar(result)),
            "history": selectors.team_history(team_id=assessment.team_id, framework_key=assessment.framework.key)[:8],
            "can_reopen": selectors.can_submit(request.user, assessment)
            and assessment.is_submitted
            and assessment.campaign.current_phase != Campaign.Phase.CLOSED,
        },
    )


@login_required
def team_history(request, team_pk):
    team = permissions.get_for_user(request.user, Team.objects.select_related("organization"), pk=team_pk)
    families = selectors.team_histories(team_id=team.pk)
    for family in families:
        family.chart = chart_attr(charts.team_trend(family.history, family.dimensions))
    return render(request, "assessments/team_history.html", {"team": team, "families": families})


@login_required
def framework_detail(request, pk):
    framework = selectors.framework_detail(user=request.user, pk=pk)
    return render(request, "assessments/framework_detail.html", {"framework": framework})
