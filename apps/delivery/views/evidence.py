"""The records behind each DORA figure (deployments, the commits they shipped, incidents and
their links), unattributed evidence and its one-step mapping. Kept apart from views.py so
the figure pages and these lists change independently; templates reach them through the
`evidence_url` tag (apps/delivery/templatetags/delivery_tags.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from apps.core import permissions
from apps.teams.middleware import current_organization
from apps.teams.models import Service, Team

from .. import selectors, services
from ..forms import UnattributedMapForm
from ..models import Deployment, UnattributedKey

MAX_WINDOW_DAYS = 730


@dataclass
class Scope:
    """What a records page shows: ?team=&service=&since=&until= (UTC days, both included),
    or ?window=N days ending today when no dates are given."""

    team: Team | None
    service: Service | None
    since: date | None
    until: date | None
    errors: dict[str, str]

    def query(self) -> dict[str, str]:
        out = {}
        if self.team:
            out["team"] = str(self.team.pk)
        if self.service:
            out["service"] = str(self.service.pk)
        if self.since:
            out["since"] = self.since.isoformat()
        if self.until:
            out["until"] = self.until.isoformat()
        return out

    @property
    def querystring(self) -> str:
        return urlencode(self.query())


def _date(params, name: str, errors: dict) -> date | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = f"{name} is a date, YYYY-MM-DD (got {value[:20]!r})."
        return None


def parse_scope(params, *, user, organization) -> Scope:
    """Read the filters; a bad one is named in `errors` (the page answers 400 and says which)."""
    errors: dict[str, str] = {}
    teams = permissions.viewable(user, Team.objects.filter(organization=organization))
    team = service = None
    raw_team = (params.get("team") or "").strip()
    if raw_team:
        team = teams.filter(pk=raw_team).first() if raw_team.isdigit() else None
        if team is None:
            errors["team"] = f"No team {raw_team[:20]!r} you can see."
    raw_service = (params.get("service") or "").strip()
    if raw_service:
        visible = permissions.viewable(user, Service.objects.filter(organization=organization))
        service = visible.select_related("team").filter(pk=raw_service).first() if raw_service.isdigit() else None
        if service is None:
            errors["service"] = f"No service {raw_service[:20]!r} you can see."
    since, until = _date(params, "since", errors), _date(params, "until", errors)
    if since is None and until is None and "window" in params:
        try:
            window = int(params["window"])
        except ValueError:
            window = 0
        if not 1 <= window <= MAX_WINDOW_DAYS:
            errors["window"] = f"window is a number of days from 1 to {MAX_WINDOW_DAYS}."
        else:
            since, until = selectors.window_bounds(window)
    if since and until and since > until:
        errors["since"] = "since is after until."
    if since and until and (until - since).days >= MAX_WINDOW_DAYS:
        errors["since"] = f"At most {MAX_WINDOW_DAYS} days at once."
    return Scope(team, service, since, until, errors)


def _context(request, organization, scope: Scope, qs, *, per_page=50) -> dict:
    page = Paginator(qs, per_page).get_page(request.GET.get("page")) if not scope.errors else None
    query = request.GET.copy()
    query.pop("page", None)
    teams = permissions.viewable(request.user, Team.objects.filter(organization=organization)).order_by("name")
    service_choices = permissions.viewable(request.user, Service.objects.filter(organization=organization))
    if scope.team:
        service_choices = service_choices.filter(team=scope.team)
    keep = [(k, v) for k, v in request.GET.items() if k not in ("team", "service", "since", "until", "page", "window")]
    return {
        "scope": scope,
        "keep": keep,
        "page": page,
        "query": query.urlencode(),
        "teams": teams,
        "service_choices": service_choices.order_by("name"),
        "freshness": selectors.freshness(
            user=request.user, organization=organization, team_ids=[scope.team.pk] if scope.team else None
        ),
    }


def _render(request, template, context, scope: Scope):
    return render(request, template, context, status=400 if scope.errors else 200)


@login_required
def commits(request):
    """The commits each successful production deployment shipped, with their lead times."""
    org = current_organization(request)
    if org is None:
        return render(request, "teams/no_organization.html")
    scope = parse_scope(request.GET, user=request.user, organization=org)
    deployment = None
    raw = (request.GET.get("deployment") or "").strip()
    if raw:
        visible = permissions.viewable(request.user, Deployment.objects.filter(organization=org))
        deployment = visible.filter(pk=raw).first() if raw.isdigit() else None
        if deployment is None:
            scope.errors["deployment"] = f"No deployment {raw[:20]!r} you can see."
    qs = selectors.shipped_commits(
        user=request.user,
        organization=org,
        team=scope.team,
        service=scope.service,
        since=scope.since,
        until=scope.until,
        deployment=deployment,
    )
    context = _context(request, org, scope, qs)
    context["deployment"] = deployment
    return _render(request, "delivery/evidence_commits.html", context, scope)


@login_required
def incidents(request):
    """Incidents with the deployment link that made each one count (or not) and its history."""
    org = current_organization(request)
    if org is None:
        return render(request, "teams/no_organization.html")
    scope = parse_scope(request.GET, user=request.user, organization=org)
    qs = selectors.evidence_incidents(
        user=request.user,
        organization=org,
        team=scope.team,
        service=scope.service,
        since=scope.since,
        until=scope.until,
    )
    return _render(request, "delivery/evidence_incidents.html", _context(request, org, scope, qs), scope)


@login_required
def unattributed_map(request, pk):
    """Map one unattributed key to a service: its whole history is re-attributed."""
    row = permissions.get_for_user(
        request.user, UnattributedKey.objects.select_related("integration__team", "integration__organization"), pk=pk
    )
    integration = row.integration
    if not permissions.can_change(request.user, integration):
        raise PermissionDenied("Only who may change the integration maps its keys.")
    candidates = Service.objects.filter(organization=integration.organization_id).select_related("team")
    if integration.team_id:
        candidates = candidates.filter(team_id=integration.team_id)
    form = UnattributedMapForm(request.POST or None, services=candidates.order_by("name"))
    if request.method == "POST" and form.is_valid():
        try:
            service = form.cleaned_data["service"]
            moved = services.unattributed_map(actor=request.user, unattributed=row, service=service)
        except ValidationError as exc:
            form.add_error("service", exc.messages)
        else:
            messages.success(
                request,
                f"Mapped {row.key} to {form.cleaned_data['service'].name}: {moved['commits']} commits, "
                f"{moved['deployments']} deployments and {moved['events']} held events re-attributed; "
                "the figures follow at the next rollup refresh.",
            )
            target = request.POST.get("next") or ""
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = integration.get_absolute_url()
            return redirect(target)
    status = 400 if request.method == "POST" else 200
    return render(request, "delivery/unattributed_map.html", {"row": row, "form": form}, status=status)


def sees_unattributed(user, organization) -> bool:
    """Unattributed evidence is shown to org admins and team leads (who map it)."""
    return permissions.is_org_admin(user, organization) or bool(
        permissions.team_ids(user, roles=(permissions.TEAM_LEAD,))
    )


def unattributed_context(user, organization, integration=None) -> dict:
    """{"unattributed": rows, "mappable": pks this person may map} for _unattributed.html."""
    if not sees_unattributed(user, organization):
        return {"unattributed": [], "mappable": set()}
    rows = list(selectors.unattributed_list(user=user, organization=organization, integration=integration))
    may = {}
    for row in rows:
        if row.integration_id not in may:
            may[row.integration_id] = permissions.can_change(user, row.integration)
    return {"unattributed": rows, "mappable": {r.pk for r in rows if may[r.integration_id]}}
