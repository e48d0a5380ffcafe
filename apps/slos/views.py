"""HTML pages of the SLO catalog. Thin: validate input, call services/selectors."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.core import panels, permissions
from apps.core.charts import chart_attr
from apps.core.forms import add_service_errors
from apps.teams.middleware import current_organization, organization_or_404
from apps.teams.models import Service, Team

from . import charts, maths, openslo, selectors, services
from .forms import AlertSettingsForm, OpenSLOImportForm, PolicyForm, SLIForm, SLOForm
from .models import SLI, SLO, AlertSettings, ErrorBudgetPolicy


def _int_param(request, name):
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


CATALOG_PAGE_SIZE = 100


@login_required
def catalog(request):
    org = current_organization(request)
    if not org:
        return render(request, "teams/no_organization.html")
    teams = permissions.viewable(request.user, Team.objects.filter(organization=org)).order_by("name")
    team = teams.filter(pk=_int_param(request, "team")).first() if _int_param(request, "team") else None
    services_qs = permissions.viewable(request.user, Service.objects.filter(organization=org)).order_by("name")
    if team:
        services_qs = services_qs.filter(team=team)
    service = services_qs.filter(pk=_int_param(request, "service")).first() if _int_param(request, "service") else None
    tier = _int_param(request, "tier") if _int_param(request, "tier") in (1, 2, 3) else None
    status = request.GET.get("status") if request.GET.get("status") in selectors.STATUS_LABELS else None
    sort = request.GET.get("sort") if request.GET.get("sort") in selectors.SORTS else "budget"
    slos = selectors.catalog_queryset(
        user=request.user, organization=org, team=team, service=service, tier=tier, status=status, sort=sort
    )
    counts = selectors.catalog_counts(slos)
    page = Paginator(slos.values_list("pk", flat=True), CATALOG_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = selectors.catalog_rows(selectors.catalog_page_slos(page.object_list))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "rows": rows,
        "page": page,
        "total": page.paginator.count,
        "as_of": min((r.status.as_of for r in rows), default=None),
        "query": query.urlencode(),
        "teams": teams,
        "services": services_qs,
        "team": team,
        "service": service,
        "tier": tier,
        "status": status,
        "sort": sort,
        "sorts": selectors.SORTS,
        "statuses": selectors.STATUS_LABELS,
        "counts": counts,
        "filtered": bool(team or service or tier or status),
        "can_add": permissions.editable_teams(request.user, SLO, teams).exists(),
    }
    template = "slos/_catalog_rows.html" if request.htmx else "slos/catalog.html"
    return render(request, template, context)


def _burn_rows(status: selectors.SLOStatus, slo: SLO, policies) -> list[dict]:
    rows = []
    for rule in selectors.slo_alert_rules(slo, policies, status.period_hours):
        long_burn = status.burn_rates.get(rule.long_window)
        short_burn = status.burn_rates.get(rule.short_window)
        rows.append(
            {
                "rule": rule,
                "long": long_burn,
                "short": short_burn,
                "fires": maths.alert_fires(rule, long_burn, short_burn),
            }
        )
    return rows


@login_required
def slo_detail(request, pk):
    slo = selectors.slo_detail(user=request.user, pk=pk)
    selectors.ensure_stored(SLO.objects.filter(pk=slo.pk))
    # The stored figures (as every page shows them), the charts for the same instant.
    status = selectors.stored_statuses([SLO.objects.select_related("status_record").get(pk=slo.pk)])[slo.pk]
    series = selectors.slo_series(slo, now=status.as_of)
    policy = selectors.policy_for(slo)
    alert_policies = selectors.slo_alert_policies([slo.pk]).get(slo.pk, [])
    return render(
        request,
        "slos/slo_detail.html",
        {
            "slo": slo,
            "status": status,
            "burn_rows": _burn_rows(status, slo, alert_policies),
            "alert_policies": alert_policies,
            "alerts": selectors.alert_history(slo=slo),
            "policy": policy,
            # Other apps' panels (e.g. the release gate's decisions).
            "panels": panels.render_context("slo", request, slo),
            "policy_reached": maths.policy_steps_reached(policy.steps, status.consumed) if policy else [],
            "burndown_json": chart_attr(charts.budget_burndown(series)),
            "sli_json": chart_attr(charts.sli_against_target(series)),
            "series_step": maths.duration_label(series["step"]),
            "has_series": any(v is not None for v in series["sli"]),
            "can_edit": permissions.can_change(request.user, slo),
        },
    )


def _save_form(form, save) -> bool:
    """Run a service; its ValidationErrors land on the form's fields."""
    try:
        save()
        return True
    except ValidationError as exc:
        add_service_errors(form, exc)
        return False


@login_required
def slo_create(request):
    org = organization_or_404(request)
    if not permissions.editable_teams(request.user, SLO, Team.objects.filter(organization=org)).exists():
        raise PermissionDenied("Only team leads and org admins add SLOs.")
    form = SLOForm(request.POST or None, user=request.user, organization=org)
    if not form.fields["sli"].queryset.exists() and not request.POST:
        messages.info(request, "Add an SLI first: an SLO sets a target on an SLI.")
        return redirect("slos:sli_create")
    result = {}
    if request.method == "POST" and form.is_valid():
        data = form.slo_fields()
        sli = data.pop("sli")
        if _save_form(form, lambda: result.setdefault("slo", services.slo_create(actor=request.user, sli=sli, **data))):
            messages.success(request, f"Created SLO {result['slo'].name}.")
            return redirect(result["slo"])
    return render(request, "slos/slo_form.html", {"form": form, "slo": None})


@login_required
def slo_edit(request, pk):
    slo = permissions.get_for_user(request.user, SLO.objects.select_related("sli__service__team"), change=True, pk=pk)
    form = SLOForm(request.POST or None, instance=slo, user=request.user, organization=slo.organization)
    if request.method == "POST" and form.is_valid():
        data = form.slo_fields()
        slo.refresh_from_db()
        if _save_form(form, lambda: services.slo_update(actor=request.user, slo=slo, **data)):
            messages.success(request, f"Saved {slo.name}.")
            return redirect(slo)
    return render(request, "slos/slo_form.html", {"form": form, "slo": slo})


@login_required
def slo_delete(request, pk):
    slo = permissions.get_for_user(request.user, SLO.objects.select_related("sli__service"), change=True, pk=pk)
    if request.method != "POST":
        return render(request, "slos/slo_confirm_delete.html", {"slo": slo})
    name = slo.name
    services.slo_delete(actor=request.user, slo=slo)
    messages.success(request, f"Deleted SLO {name}.")
    return redirect("slos:catalog")


@login_required
def policy_edit(request, pk):
    slo = permissions.get_for_user(request.user, SLO.objects.select_related("sli__service__team"), change=True, pk=pk)
    team = slo.sli.service.team
    current = selectors.policy_for(slo)
    initial = {"name": current.name if current else "Error budget policy"}
    initial["steps"] = PolicyForm.steps_text(current.steps if current else ErrorBudgetPolicy().steps)
    initial["notes"] = current.notes if current else ""
    form = PolicyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        scope = None if request.POST.get("scope") == "team" else slo
        data = form.cleaned_data
        if _save_form(
            form,
            lambda: services.policy_set(
                actor=request.user, team=team, slo=scope, name=data["name"], steps=data["steps"], notes=data["notes"]
            ),
        ):
            messages.success(request, "Saved the error budget policy.")
            return redirect(slo)
    return render(request, "slos/policy_form.html", {"form": form, "slo": slo, "current": current})


@login_required
def sli_list(request):
    org = organization_or_404(request)
    slis = selectors.sli_list(user=request.user, organization=org).order_by("service__name", "name")
    teams = Team.objects.filter(organization=org)
    return render(
        request,
        "slos/sli_list.html",
        {"slis": slis, "can_add": permissions.editable_teams(request.user, SLI, teams).exists()},
    )


@login_required
def sli_detail(request, pk):
    sli = selectors.sli_detail(user=request.user, pk=pk)
    selectors.ensure_stored(sli.slos.all())
    slos = list(sli.slos.select_related("status_record"))
    statuses = selectors.stored_statuses(slos)
    last = sli.samples.order_by("-bucket").values_list("bucket", "good", "total").first()
    return render(
        request,
        "slos/sli_detail.html",
        {
            "sli": sli,
            "slo_rows": [(s, statuses[s.pk]) for s in slos],
            "last_sample": last,
            "last_sample_at": datetime.fromtimestamp(last[0], UTC) if last else None,
            "can_edit": permissions.can_change(request.user, sli),
            "prometheus_url": selectors.prometheus_url_for(sli),
        },
    )


@login_required
def sli_create(request):
    org = organization_or_404(request)
    initial = {"service": request.GET.get("service")} if (request.GET.get("service") or "").isdigit() else {}
    form = SLIForm(request.POST or None, user=request.user, organization=org, initial=initial)
    if not form.fields["service"].queryset.exists():
        raise PermissionDenied("You lead no team whose services could get an SLI.")
    result = {}
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        service = data.pop("service")
        if _save_form(
            form,
            lambda: result.setdefault("sli", services.sli_create(actor=request.user, service=service, **data)),
        ):
            messages.success(request, f"Created SLI {result['sli'].name}.")
            return redirect(result["sli"])
    return render(request, "slos/sli_form.html", {"form": form, "sli": None})


@login_required
def sli_edit(request, pk):
    sli = permissions.get_for_user(request.user, SLI.objects.select_related("service__team"), change=True, pk=pk)
    form = SLIForm(request.POST or None, instance=sli, user=request.user, organization=sli.organization)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        sli.refresh_from_db()
        if _save_form(form, lambda: services.sli_update(actor=request.user, sli=sli, **data)):
            messages.success(request, f"Saved {sli.name}.")
            return redirect(sli)
    return render(request, "slos/sli_form.html", {"form": form, "sli": sli})


@login_required
@require_POST
def sli_sync(request, pk):
    sli = permissions.get_for_user(request.user, SLI.objects.all(), change=True, pk=pk)
    if sli.source != SLI.Source.PROMETHEUS:
        messages.error(request, "Only Prometheus SLIs are synced; pushed SLIs receive samples through the API.")
        return redirect(sli)
    from .tasks import sync_sli

    sync_sli.delay(sli.pk, force=True)
    messages.info(request, "Sync queued: the page shows the result once the worker has run it.")
    return redirect(sli)


@login_required
def alert_settings(request, team_id):
    team = permissions.get_for_user(request.user, Team.objects.all(), pk=team_id)
    if not permissions.can_create(request.user, AlertSettings, team=team):
        raise PermissionDenied("Only the team's lead and org admins set where alerts go.")
    instance = AlertSettings.objects.filter(team=team).first() or AlertSettings(team=team)
    form = AlertSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _save_form(form, lambda: services.alert_settings_set(actor=request.user, team=team, **data)):
            messages.success(request, f"Saved where {team.name} hears about burn-rate alerts.")
            return redirect(team)
    return render(request, "slos/alert_settings_form.html", {"form": form, "team": team})


@login_required
def openslo_import(request):
    """Paste or upload OpenSLO YAML; *Preview* runs the import as a dry run and shows what it
    would create, update and ignore; *Import* (offered with the preview) writes it."""
    org = organization_or_404(request)
    form = OpenSLOImportForm(request.POST or None, request.FILES or None)
    result, previewed = None, ""
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["document"]
        previewed = _document_digest(text)
        # Only what was previewed is written: an edited document is previewed again first.
        write = request.POST.get("action") == "import" and request.POST.get("previewed") == previewed
        try:
            result = openslo.import_documents(user=request.user, organization=org, text=text, dry_run=not write)
        except (openslo.OpenSLOError, PermissionDenied) as exc:
            if request.FILES:  # keep the uploaded text on the page, to fix and send again
                form = OpenSLOImportForm({"document": text})
                form.is_valid()
            form.add_error(None, f"Refused, nothing imported. {exc}")
        else:
            if write:
                messages.success(request, f"Imported: {result.summary()}.")
            else:
                form = OpenSLOImportForm(initial={"document": text})  # an uploaded file's text, to import
    context = {"form": form, "result": result, "previewed": previewed if result and result.dry_run else ""}
    return render(request, "slos/openslo_import.html", context)


def _document_digest(text: str) -> str:
    return hashlib.sha256(text.replace("\r\n", "\n").strip().encode()).hexdigest()


@login_required
def openslo_export(request):
    org = organization_or_404(request)
    qs = permissions.viewable(request.user, SLO.objects.filter(organization=org)).select_related(
        "sli__service", "owner"
    )
    team_id = _int_param(request, "team")
    if team_id:
        qs = qs.filter(sli__service__team_id=team_id)
    response = HttpResponse(openslo.export_documents(list(qs)), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{org.slug}-openslo.yaml"'
    return response
