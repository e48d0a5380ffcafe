"""HTML pages of the scoring app: thin, they validate input and call selectors or services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.core import permissions
from apps.core.forms import add_service_errors
from apps.teams.middleware import current_organization, organization_or_404
from apps.teams.models import Team

from . import exports, selectors, services
from . import render as render_html
from .forms import ExemptionDecisionForm, ExemptionRequestForm, LeadershipFilterForm
from .models import LEVEL_NAMES, PILLARS, Check, Exemption


def _leadership_org(request):
    """The current org, for people who see all of it (org admins and leaders)."""
    org = organization_or_404(request)
    if not permissions.sees_whole_org(request.user, org):
        raise PermissionDenied("Leadership views are for org admins and leaders.")
    return org


def _filters(request, org):
    form = LeadershipFilterForm(request.GET or None, departments=selectors.departments_for(organization=org))
    filters = selectors.Filters()
    if form.is_bound and form.is_valid():
        filters = selectors.Filters(
            department=form.cleaned_data["department"],
            tier=form.cleaned_data["tier"],
            period=form.cleaned_data["period"] or 30,
        )
    return form, filters


@login_required
@require_GET
def index(request):
    org = current_organization(request)
    if org is None:
        return render(request, "teams/no_organization.html")
    if not permissions.sees_whole_org(request.user, org):
        return render(
            request,
            "scoring/my_teams.html",
            {
                "rows": selectors.my_team_snapshots(user=request.user, organization=org),
                "summary": selectors.org_summary(organization=org),
                "organization": org,
            },
        )
    form, filters = _filters(request, org)
    board = selectors.dashboard(organization=org, filters=filters)
    return render(
        request,
        "scoring/dashboard.html",
        {
            "board": board,
            "ranking_html": render_html.ranking_rows(board.rows),
            "form": form,
            "filters": filters,
            "organization": org,
            "pillar_labels": [label for _, label in PILLARS],
            "level_names": LEVEL_NAMES,
            "is_admin": permissions.is_org_admin(request.user, org),
            "query": request.GET.urlencode(),
        },
    )


@login_required
@require_GET
def report(request):
    org = _leadership_org(request)
    form, filters = _filters(request, org)
    board = selectors.dashboard(organization=org, filters=filters)
    return render(
        request,
        "scoring/report.html",
        {
            "board": board,
            "ranking_html": render_html.ranking_rows(board.rows, compact=True),
            "filters": filters,
            "organization": org,
            "pillar_labels": [label for _, label in PILLARS],
            "level_names": LEVEL_NAMES,
            "printed_at": timezone.now(),
            "query": request.GET.urlencode(),
        },
    )


@login_required
@require_GET
def export_csv(request):
    org = _leadership_org(request)
    _form, filters = _filters(request, org)
    board = selectors.dashboard(organization=org, filters=filters, full=True)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = board.as_of.isoformat() if board.as_of else timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="scores-{org.slug}-{stamp}.csv"'
    exports.write_csv(response, board)
    return response


@login_required
@require_GET
def compare(request):
    org = _leadership_org(request)
    error = None
    try:
        ids = selectors.parse_team_ids(request.GET.getlist("teams"))
    except selectors.CompareError as exc:
        ids, error = [], str(exc)
    comp = selectors.comparison(user=request.user, organization=org, team_ids=ids)
    if ids and not comp.columns and error is None:
        raise Http404("No such team.")
    form, filters = _filters(request, org)
    return render(
        request,
        "scoring/compare.html",
        {
            "comparison": comp,
            "error": error,
            "selected": ids,
            "form": form,
            "cohort": selectors.cohort_label(organization=org, filters=filters),
            "departments_compared": selectors.mixed_departments(comp),
            "teams": selectors.teams_for_picker(user=request.user, organization=org, filters=filters),
            "max_compare": selectors.MAX_COMPARE,
            "organization": org,
        },
        status=400 if error else 200,
    )


def _team(request, pk):
    return permissions.get_for_user(request.user, Team.objects.select_related("organization", "department"), pk=pk)


def _scorecard_context(request, team, request_form=None):
    card = selectors.team_scorecard(user=request.user, team=team)
    may_request = permissions.team_role(request.user, team) == permissions.TEAM_LEAD or permissions.is_org_admin(
        request.user, team.organization
    )
    if request_form is None and may_request:
        request_form = ExemptionRequestForm(
            checks=Check.objects.filter(pk__in=[c.pk for c in card.requestable_checks]).order_by("level", "order")
        )
    return {
        "card": card,
        "team": team,
        "may_request": may_request,
        "is_admin": permissions.is_org_admin(request.user, team.organization),
        "request_form": request_form,
        "decision_form": ExemptionDecisionForm(),
        "level_names": LEVEL_NAMES,
    }


@login_required
@require_GET
def team_scorecard(request, pk):
    team = _team(request, pk)
    return render(request, "scoring/team.html", _scorecard_context(request, team))


@login_required
@require_POST
def exemption_request(request, pk):
    team = _team(request, pk)
    card = selectors.scorecard_for(organization=team.organization)
    form = ExemptionRequestForm(request.POST, checks=card.checks.all() if card else Check.objects.none())
    if form.is_valid():
        try:
            services.exemption_request(
                actor=request.user,
                team=team,
                level_check=form.cleaned_data["level_check"],
                reason=form.cleaned_data["reason"],
                expires_on=form.cleaned_data["expires_on"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Exemption requested; an org admin will decide.")
            return redirect("scoring:team", pk=team.pk)
    return render(request, "scoring/team.html", _scorecard_context(request, team, form), status=400)


DECISIONS = {
    "grant": services.exemption_grant,
    "renew": services.exemption_renew,
    "reject": services.exemption_reject,
    "revoke": services.exemption_revoke,
}
DONE = {"grant": "granted", "renew": "renewed", "reject": "rejected", "revoke": "revoked"}
WITH_EXPIRY = {"grant", "renew"}


@login_required
@require_POST
def exemption_decide(request, pk, action):
    if action not in DECISIONS:
        raise Http404("No such decision.")
    exemption = permissions.get_for_user(
        request.user, Exemption.objects.select_related("team__organization", "level_check"), change=True, pk=pk
    )
    form = ExemptionDecisionForm(request.POST)
    if form.is_valid():
        kwargs = {"actor": request.user, "exemption": exemption, "justification": form.cleaned_data["justification"]}
        if action in WITH_EXPIRY:
            kwargs["expires_on"] = form.cleaned_data["expires_on"]
        try:
            DECISIONS[action](**kwargs)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Exemption {DONE[action]}.")
    else:
        messages.error(request, "A decision needs a justification.")
    return redirect("scoring:team", pk=exemption.team_id)


@login_required
@require_POST
def run_now(request):
    org = organization_or_404(request)
    run = services.scoring_request(actor=request.user, organization=org, trigger="button")
    messages.info(request, f"Scoring queued for {run.as_of:%d %b %Y}; the page shows it when the job has run.")
    return redirect("scoring:index")
