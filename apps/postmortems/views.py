"""HTML pages: the library, incidents, postmortems and their workflow, the action-item board.
Views check input and call services or selectors; every object goes through apps.core.permissions."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from apps.core import panels, permissions
from apps.core.charts import chart_attr
from apps.core.forms import add_service_errors
from apps.teams.middleware import current_organization, organization_or_404
from apps.teams.models import Service, Team

from . import charts, exports, search, selectors, services
from .forms import (
    ActionItemForm,
    FactorFormSet,
    IncidentForm,
    LinkFormSet,
    PostmortemForm,
    ReviewForm,
    TimelineFormSet,
)
from .models import MARKDOWN_FIELDS, ActionItem, Incident, Postmortem


def _int(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _date(value):
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- library ------------------------------------------------------------------------


def library_filters(params) -> search.LibraryFilters:
    status = params.get("status", Postmortem.Status.PUBLISHED)
    if status not in (*Postmortem.Status.values, "all"):
        status = Postmortem.Status.PUBLISHED
    return search.LibraryFilters(
        q=(params.get("q") or "").strip()[:200],
        team=_int(params.get("team")),
        service=_int(params.get("service")),
        severity=_int(params.get("severity")),
        tag=(params.get("tag") or "").strip()[:50],
        category=_int(params.get("category")),
        since=_date(params.get("since")),
        until=_date(params.get("until")),
        status="" if status == "all" else status,
    )


@login_required
def index(request):
    """The library: search and filter the postmortems, see what waits for you."""
    org = current_organization(request)
    if org is None:
        return render(request, "teams/no_organization.html")
    filters = library_filters(request.GET)
    results = search.search(user=request.user, organization=org, filters=filters)
    page = Paginator(results, 20).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "querystring": query.urlencode(),
        "status_choice": request.GET.get("status", "published"),
        "facets": selectors.facet_choices(user=request.user, organization=org),
    }
    if request.htmx:
        return render(request, "postmortems/_results.html", context)
    overdue = selectors.overdue_postmortems(user=request.user, organization=org)
    context.update(
        queue=selectors.my_queue(user=request.user, organization=org),
        overdue=overdue[:10],
        overdue_count=overdue.count(),
        published_count=search.library(user=request.user, organization=org, filters=search.LibraryFilters()).count(),
    )
    return render(request, "postmortems/index.html", context)


# --- incidents --------------------------------------------------------------------------


@login_required
def incident_list(request):
    org = current_organization(request)
    if org is None:
        return render(request, "teams/no_organization.html")
    team = _int(request.GET.get("team"))
    severity = _int(request.GET.get("severity"))
    status = request.GET.get("status") if request.GET.get("status") in Incident.Status.values else None
    service = _int(request.GET.get("service"))
    incidents = selectors.incident_list(
        user=request.user, organization=org, team=team, severity=severity, status=status, service=service
    )
    page = Paginator(incidents, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    editable = permissions.editable_teams(request.user, Incident, Team.objects.filter(organization=org))
    return render(
        request,
        "postmortems/incident_list.html",
        {
            "page": page,
            "querystring": query.urlencode(),
            "teams": Team.objects.filter(organization=org).order_by("name"),
            "team": team,
            "severity": severity,
            "status": status,
            "service": service,
            "services": Service.objects.filter(organization=org).order_by("name"),
            "severities": Incident.Severity.choices,
            "statuses": Incident.Status.choices,
            "can_report": editable.exists(),
            "chart": chart_attr(
                charts.incidents_per_month(selectors.incidents_by_month(user=request.user, organization=org))
            ),
            "needing": selectors.incidents_needing_postmortem(user=request.user, organization=org)[:8],
        },
    )


@login_required
def incident_create(request):
    org = organization_or_404(request)
    if not permissions.editable_teams(request.user, Incident, Team.objects.filter(organization=org)).exists():
        raise PermissionDenied("You are not on a team that can report incidents.")
    teams = list(permissions.editable_teams(request.user, Incident, Team.objects.filter(organization=org))[:2])
    initial = {"team": teams[0].pk} if len(teams) == 1 else {}  # the reporter's only team
    form = IncidentForm(request.POST or None, user=request.user, organization=org, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("team", "services")}
        try:
            incident = services.incident_create(
                actor=request.user, team=form.cleaned_data["team"], services=form.cleaned_data["services"], **data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Reported {incident}.")
            return redirect(incident)
    return render(request, "postmortems/incident_form.html", {"form": form})


@login_required
def incident_detail(request, pk):
    incident = selectors.incident_detail(user=request.user, pk=pk)
    postmortem = selectors.postmortem_of(user=request.user, incident=incident)
    return render(
        request,
        "postmortems/incident_detail.html",
        {
            "incident": incident,
            "postmortem": postmortem,
            "has_hidden_postmortem": postmortem is None and Postmortem.objects.filter(incident=incident).exists(),
            "can_edit": permissions.can_change(request.user, incident),
            "can_start": permissions.can_create(request.user, Postmortem, team=incident.team),
            "impact": selectors.slo_impact(incident),
            "panels": panels.render_context("incident", request, incident),
        },
    )


@login_required
def incident_edit(request, pk):
    incident = selectors.incident_detail(user=request.user, pk=pk, change=True)
    form = IncidentForm(request.POST or None, instance=incident, user=request.user, organization=incident.organization)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "services"}
        try:
            with transaction.atomic():
                services.incident_update(
                    actor=request.user, incident=incident, services=form.cleaned_data["services"], **data
                )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Saved the incident.")
            return redirect(incident)
    return render(request, "postmortems/incident_form.html", {"form": form, "incident": incident})


@login_required
@require_POST
def postmortem_start(request, pk):
    incident = selectors.incident_detail(user=request.user, pk=pk)
    postmortem, created = services.postmortem_create(actor=request.user, incident=incident)
    if created:
        messages.success(request, "Started the postmortem from the template for this severity.")
        return redirect("postmortems:edit", pk=postmortem.pk)
    return redirect(postmortem)


# --- postmortems ---------------------------------------------------------------------------


@login_required
def detail(request, pk):
    postmortem = selectors.postmortem_detail(user=request.user, pk=pk)
    my_review = selectors.review_of(postmortem, request.user)
    return render(
        request,
        "postmortems/detail.html",
        {
            "pm": postmortem,
            "incident": postmortem.incident,
            "timeline": selectors.timeline(postmortem),
            "sections": [(name, Postmortem._meta.get_field(name).verbose_name) for name in MARKDOWN_FIELDS],
            "can_edit": permissions.can_change(request.user, postmortem),
            "my_review": my_review,
            "review_form": ReviewForm() if my_review and postmortem.status == "in_review" else None,
            "impact": selectors.slo_impact(postmortem.incident),
            "related": selectors.related_postmortems(user=request.user, postmortem=postmortem),
            "all_approved": bool(postmortem.reviews.all())
            and all(r.decision == "approved" for r in postmortem.reviews.all()),
        },
    )


def _formset_initial(postmortem):
    return (
        [{"at": e.at, "description": e.description} for e in postmortem.timeline.all()],
        [
            {"category": f.category_id, "description": f.description, "is_root_cause": f.is_root_cause}
            for f in postmortem.factors.all()
        ],
        [{"title": link.title, "url": link.url} for link in postmortem.links.all()],
    )


@login_required
def edit(request, pk):
    postmortem = selectors.postmortem_detail(user=request.user, pk=pk, change=True)
    if postmortem.status != Postmortem.Status.DRAFT:
        messages.warning(request, "Only drafts can be edited. Withdraw it from review to change it.")
        return redirect(postmortem)
    categories = selectors.categories_for(postmortem.organization)
    timeline0, factors0, links0 = _formset_initial(postmortem)
    data = request.POST if request.method == "POST" else None
    form = PostmortemForm(data, instance=postmortem)
    timeline = TimelineFormSet(data, initial=timeline0, prefix="timeline")
    factors = FactorFormSet(data, initial=factors0, prefix="factors", form_kwargs={"categories": categories})
    links = LinkFormSet(data, initial=links0, prefix="links")
    if request.method == "POST" and all([form.is_valid(), timeline.is_valid(), factors.is_valid(), links.is_valid()]):
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            services.postmortem_update(
                actor=request.user,
                postmortem=postmortem,
                tags=form.tag_names(),
                reviewers=form.cleaned_data["reviewers"],
                authors=form.cleaned_data["authors"],
                timeline=timeline.rows(),
                factors=factors.rows(),
                links=links.rows(),
                **fields,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Saved the draft.")
            if "submit" in request.POST:
                return _transition(request, postmortem, services.postmortem_submit, "Submitted for review.")
            return redirect(postmortem)
    return render(
        request,
        "postmortems/edit.html",
        {
            "pm": postmortem,
            "form": form,
            "timeline": timeline,
            "incident_times": [row for row in selectors.timeline(postmortem) if row.from_incident],
            "can_edit_incident": permissions.can_change(request.user, postmortem.incident),
            "factors": factors,
            "links": links,
        },
    )


def _transition(request, postmortem, action, success: str):
    try:
        action(actor=request.user, postmortem=postmortem)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            label = field.replace("_", " ").capitalize()
            messages.error(request, f"{label}: {' '.join(errors)}")
    else:
        messages.success(request, success)
    return redirect(postmortem)


def _changeable(request, pk) -> Postmortem:
    return selectors.postmortem_detail(user=request.user, pk=pk, change=True)


@login_required
@require_POST
def submit(request, pk):
    return _transition(request, _changeable(request, pk), services.postmortem_submit, "Submitted for review.")


@login_required
@require_POST
def withdraw(request, pk):
    return _transition(request, _changeable(request, pk), services.postmortem_withdraw, "Back to draft.")


@login_required
@require_POST
def publish(request, pk):
    return _transition(
        request, _changeable(request, pk), services.postmortem_publish, "Published: the whole org can read it now."
    )


@login_required
@require_POST
def review(request, pk):
    postmortem = selectors.postmortem_detail(user=request.user, pk=pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve or ask for changes.")
        return redirect(postmortem)
    try:
        services.postmortem_review(actor=request.user, postmortem=postmortem, **form.cleaned_data)
    except ValidationError as exc:
        for errors in exc.message_dict.values():
            messages.error(request, " ".join(errors))
    else:
        if form.cleaned_data["decision"] == "approved":
            messages.success(request, "Approved.")
        else:
            messages.info(request, "Asked for changes; the postmortem is back in draft.")
    return redirect(postmortem)


@login_required
def export_markdown(request, pk):
    postmortem = selectors.postmortem_detail(user=request.user, pk=pk)
    response = HttpResponse(exports.to_markdown(postmortem), content_type="text/markdown; charset=utf-8")
    name = slugify(postmortem.title)[:60] or f"postmortem-{postmortem.pk}"
    started = postmortem.incident.started_at
    day = f"{started:%Y-%m-%d}" if started else "start-unknown"
    response["Content-Disposition"] = f'attachment; filename="{day}-{name}.md"'
    return response


# --- action items -------------------------------------------------------------------------


@login_required
def board(request):
    org = current_organization(request)
    if org is None:
        return render(request, "teams/no_organization.html")
    state = request.GET.get("state", "open")
    if state not in ("open", "overdue", "closed", "all"):
        state = "open"
    kind = request.GET.get("kind") if request.GET.get("kind") in ActionItem.Kind.values else ""
    filters = selectors.BoardFilters(
        team=_int(request.GET.get("team")),
        owner=_int(request.GET.get("owner")),
        state=state,
        kind=kind,
        priority=_int(request.GET.get("priority")),
    )
    data = selectors.action_board(user=request.user, organization=org, filters=filters)
    page = Paginator(data["items"], 30).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    from .forms import org_people

    return render(
        request,
        "postmortems/board.html",
        {
            **data,
            "page": page,
            "filters": filters,
            "querystring": query.urlencode(),
            "teams": Team.objects.filter(organization=org).order_by("name"),
            "people": org_people(org),
            "kinds": ActionItem.Kind.choices,
            "priorities": ActionItem.Priority.choices,
            "today": timezone.localdate(),
            "chart": chart_attr(charts.board_chart(data["by_team"])),
        },
    )


@login_required
def action_create(request, pk):
    postmortem = selectors.postmortem_detail(user=request.user, pk=pk, change=True)
    form = ActionItemForm(
        request.POST or None,
        organization=postmortem.organization,
        initial={"team": postmortem.team_id, "owner": request.user.pk},
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            item, created = services.action_item_create(actor=request.user, postmortem=postmortem, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if created:
                messages.success(request, f"Added “{item.title}”.")
            else:
                messages.info(request, f"“{item.title}” was already on this postmortem.")
            return redirect(postmortem)
    return render(request, "postmortems/action_form.html", {"form": form, "pm": postmortem})


@login_required
def action_edit(request, pk):
    item = permissions.get_for_user(
        request.user, ActionItem.objects.select_related("postmortem", "team"), change=True, pk=pk
    )
    form = ActionItemForm(request.POST or None, instance=item, organization=item.organization)
    if request.method == "POST" and form.is_valid():
        try:
            services.action_item_update(actor=request.user, item=item, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Saved the action item.")
            target = request.POST.get("next", "")
            if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
                target = item.postmortem.get_absolute_url()
            return redirect(target)
    return render(request, "postmortems/action_form.html", {"form": form, "pm": item.postmortem, "item": item})
