"""Delivery pages: the org's DORA overview, a team's four keys, deployments,
integrations (with the intake endpoint) and the incident-to-deployment link."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from apps.core import permissions
from apps.core.charts import chart_attr
from apps.core.forms import add_service_errors
from apps.teams.middleware import current_organization
from apps.teams.models import Service, Team

from .. import charts, selectors, services
from .. import sources as delivery_sources
from ..forms import IncidentLinkForm, IntegrationEditForm, IntegrationForm, SecretForm
from ..models import Deployment, IncidentDeploymentLink, Integration
from .evidence import _context, _render, parse_scope, unattributed_context

TIER_COLORS = {"elite": "#16a34a", "high": "#2563eb", "medium": "#d97706", "low": "#dc2626"}


def _window(request) -> int:
    try:
        value = int(request.GET.get("window", 90))
    except ValueError:
        return 90
    return value if value in selectors.WINDOWS else 90


def _trend_charts(points: list[dict]) -> dict[str, str]:
    return {name: chart_attr(config) for name, config in charts.trend_configs(points).items()}


# --- DORA pages ---------------------------------------------------------------------


@login_required
def index(request):
    org = current_organization(request)
    if org is None:
        return render(request, "teams/no_organization.html")
    window = _window(request)
    teams = list(permissions.viewable(request.user, Team.objects.filter(organization=org)).order_by("name"))
    dora = selectors.team_dora(team_ids=[t.pk for t in teams], window_days=window, full=True)
    rows = [{"team": t, "keys": dora[t.pk]} for t in teams]
    with_data = [r for r in rows if any(r["keys"][key]["tier"] for key in selectors.KEY_NAMES)]
    counts = selectors.org_tier_counts({r["team"].pk: r["keys"] for r in with_data})
    chart = chart_attr(charts.tier_counts_config(counts, TIER_COLORS))
    return render(
        request,
        "delivery/index.html",
        {
            "rows": rows,
            "window": window,
            "windows": selectors.WINDOWS,
            "chart": chart,
            "teams_with_data": len(with_data),
            "can_manage": permissions.is_org_admin(request.user, org)
            or bool(permissions.team_ids(request.user, roles=(permissions.TEAM_LEAD,))),
            "freshness": selectors.freshness(user=request.user, organization=org),
            "show_integration": True,
            **unattributed_context(request.user, org),
        },
    )


@login_required
def team_detail(request, pk):
    team = permissions.get_for_user(request.user, Team.objects.select_related("organization"), pk=pk)
    window = _window(request)
    keys = selectors.team_dora(team_ids=[team.pk], window_days=window, full=True)[team.pk]
    team_services = list(Service.objects.filter(team=team).order_by("tier", "name"))
    by_service = selectors.service_dora(service_ids=[s.pk for s in team_services], window_days=window)
    recent = selectors.deployment_list(user=request.user, organization=team.organization, team=team)[:10]
    incidents = selectors.recent_incidents(team=team, limit=8)
    return render(
        request,
        "delivery/team_detail.html",
        {
            "team": team,
            "keys": keys,
            "window": window,
            "windows": selectors.WINDOWS,
            "charts": _trend_charts(selectors.team_trend(team_id=team.pk, weeks=max(4, window // 7))),
            "services": [{"service": s, "keys": by_service[s.pk]} for s in team_services],
            "recent": recent,
            "incidents": incidents,
            "start_unknown": selectors.incidents_start_unknown(team_ids=[team.pk], window_days=window).get(team.pk, 0),
            "can_link": permissions.can_create(request.user, IncidentDeploymentLink, team=team),
            "freshness": selectors.freshness(user=request.user, organization=team.organization, team_ids=[team.pk]),
        },
    )


@login_required
def deployment_list(request):
    """Deployments, filterable by team, service and window (?team=&service=&since=&until=);
    `failures=1` lists the change failures, `rework=1` the rework: the records behind those figures."""
    org = current_organization(request)
    if org is None:
        return render(request, "teams/no_organization.html")
    scope = parse_scope(request.GET, user=request.user, organization=org)
    status = request.GET.get("status", "")
    status = status if status in Deployment.Status.values else ""
    production_only = request.GET.get("env", "production") == "production"
    failures, rework = request.GET.get("failures") == "1", request.GET.get("rework") == "1"
    qs = selectors.deployment_list(
        user=request.user,
        organization=org,
        team=scope.team,
        service=scope.service,
        status=status or None,
        production_only=production_only or failures or rework,
        since=scope.since,
        until=scope.until,
        failures=failures,
        rework=rework,
    )
    context = _context(request, org, scope, qs)
    context.update(
        {
            "team": scope.team,
            "status": status,
            "statuses": Deployment.Status.choices,
            "production_only": production_only,
            "failures": failures,
            "rework": rework,
        }
    )
    return _render(request, "delivery/deployment_list.html", context, scope)


# --- integrations -----------------------------------------------------------------


def _creatable_teams(user, organization):
    return permissions.editable_teams(user, Integration, Team.objects.filter(organization=organization)).order_by(
        "name"
    )


@login_required
def integration_list(request):
    org = current_organization(request)
    if org is None:
        return render(request, "teams/no_organization.html")
    integrations = selectors.integration_list(user=request.user, organization=org)
    can_add = permissions.is_org_admin(request.user, org) or _creatable_teams(request.user, org).exists()
    return render(
        request,
        "delivery/integration_list.html",
        {"integrations": integrations, "can_add": can_add},
    )


def _intake_url(request, integration) -> str:
    return request.build_absolute_uri(reverse("delivery:intake", args=[integration.token]))


@login_required
def integration_create(request):
    org = current_organization(request)
    if org is None:
        return render(request, "teams/no_organization.html")
    allow_org_wide = permissions.is_org_admin(request.user, org)
    teams = _creatable_teams(request.user, org)
    if not allow_org_wide and not teams.exists():
        raise PermissionDenied("Only an org admin or a team lead adds integrations.")
    form = IntegrationForm(request.POST or None, teams=teams, allow_org_wide=allow_org_wide)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            integration, secret = services.integration_create(
                actor=request.user,
                organization=org,
                name=data["name"],
                kind=data["kind"],
                team=data["team"],
                production_environments=data["production_environments"],
                secret=data["secret"] or None,
                **form.patterns(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _secret_page(request, integration, secret, created=True)
    return render(request, "delivery/integration_form.html", {"form": form, "title": "Add an integration"})


def _secret_page(request, integration, secret: str, *, created: bool):
    response = render(
        request,
        "delivery/integration_secret.html",
        {
            "integration": integration,
            "event_types": {"guide": delivery_sources.guide(integration)},
            "secret": secret,
            "intake_url": _intake_url(request, integration),
            "created": created,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
def integration_detail(request, pk):
    integration = selectors.integration_detail(user=request.user, pk=pk)
    return render(
        request,
        "delivery/integration_detail.html",
        {
            "integration": integration,
            "intake_url": _intake_url(request, integration),
            "mappings": integration.mappings.select_related("service").order_by("key"),
            "events": selectors.integration_events(integration=integration),
            "event_types": selectors.integration_event_types(integration=integration),
            "can_edit": permissions.can_change(request.user, integration),
            **unattributed_context(request.user, integration.organization, integration),
        },
    )


@login_required
def integration_edit(request, pk):
    integration = selectors.integration_detail(user=request.user, pk=pk, change=True)
    candidates = Service.objects.filter(organization=integration.organization_id)
    if integration.team_id:
        candidates = candidates.filter(team_id=integration.team_id)
    initial = {
        "name": integration.name,
        "production_environments": ", ".join(integration.production_environments or []),
        "is_active": integration.is_active,
        "deploy_workflow": integration.deploy_workflow,
        "deploy_job": integration.deploy_job,
        "deploy_branch": integration.deploy_branch,
        "mappings": "\n".join(
            f"{m.key} = {m.service.slug}" for m in integration.mappings.select_related("service").order_by("key")
        ),
    }
    form = IntegrationEditForm(request.POST or None, initial=initial, services=candidates, kind=integration.kind)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.integration_update(
                actor=request.user,
                integration=integration,
                name=data["name"],
                production_environments=data["production_environments"],
                is_active=data["is_active"],
                mappings=data["mappings"],
                **form.patterns(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved {integration.name}.")
            return redirect(integration)
    return render(
        request,
        "delivery/integration_form.html",
        {"form": form, "title": f"Edit {integration.name}", "integration": integration},
    )


@login_required
def integration_rotate(request, pk):
    integration = selectors.integration_detail(user=request.user, pk=pk, change=True)
    form = SecretForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            secret = services.integration_rotate_secret(
                actor=request.user, integration=integration, secret=form.cleaned_data["secret"] or None
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _secret_page(request, integration, secret, created=False)
    return render(
        request,
        "delivery/integration_form.html",
        {
            "form": form,
            "title": f"Rotate the secret of {integration.name}",
            "integration": integration,
            "warning": "The old secret stops working at once: update the source's webhook right after.",
        },
    )


# --- incident link ------------------------------------------------------------------


@login_required
def incident_link(request, incident_pk):
    from apps.postmortems.models import Incident

    incident = permissions.get_for_user(
        request.user, Incident.objects.select_related("team", "organization"), pk=incident_pk
    )
    link = selectors.incident_link(incident=incident) or IncidentDeploymentLink(incident=incident)
    if not permissions.can_change(request.user, link):
        raise PermissionDenied("Only the team's lead or an org admin changes this link.")
    candidates = list(selectors.link_candidates(incident=incident))
    if link.deployment_id and link.deployment not in candidates:
        candidates.insert(0, link.deployment)
    initial = {
        "choice": IncidentLinkForm.AUTO
        if link.method != IncidentDeploymentLink.Method.EXPLICIT
        else (str(link.deployment_id) if link.deployment_id else IncidentLinkForm.NONE),
        "note": link.note,
    }
    form = IncidentLinkForm(request.POST or None, initial=initial, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        choice = form.cleaned_data["choice"]
        services.incident_link_set(
            actor=request.user,
            incident=incident,
            deployment=form.deployment(),
            note=form.cleaned_data["note"],
            automatic=choice == IncidentLinkForm.AUTO,
        )
        messages.success(request, "Saved the deployment link.")
        return redirect(incident.get_absolute_url())
    return render(
        request,
        "delivery/incident_link.html",
        {"form": form, "incident": incident, "link": link, "history": selectors.link_history(incident=incident)},
    )
