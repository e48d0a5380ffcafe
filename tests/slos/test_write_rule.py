"""The write rule in the slos services: each one checks its actor with apps.core.permissions,
the jobs pass permissions.SYSTEM, and the API's create/update go through one service."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from apps.core import permissions
from apps.slos import services
from apps.slos.models import SLI, SLO, AlertSettings, BurnRateAlert, ErrorBudgetPolicy, SLISample

from .factories import NOW, NOW_TS, make_sli, make_slo


def test_only_the_team_lead_adds_and_changes_slis_and_slos(cast):
    with pytest.raises(PermissionDenied):
        services.sli_create(actor=cast.member, service=cast.service, name="Latency")
    sli = services.sli_create(actor=cast.lead, service=cast.service, name="Latency")
    assert SLI.objects.filter(pk=sli.pk, service=cast.service).exists()
    with pytest.raises(PermissionDenied):
        services.slo_create(actor=cast.member, sli=sli, name="Fast", target="0.99")
    slo = services.slo_create(actor=cast.lead, sli=sli, name="Fast", target="0.99")
    with pytest.raises(PermissionDenied):
        services.slo_update(actor=cast.member, slo=slo, name="Renamed")
    with pytest.raises(PermissionDenied):
        services.slo_delete(actor=cast.other_member, slo=slo)
    assert SLO.objects.get(pk=slo.pk).name == "Fast"
    services.slo_delete(actor=cast.lead, slo=slo)
    assert not SLO.objects.filter(pk=slo.pk).exists()


def test_moving_an_sli_or_slo_to_another_team_needs_the_right_there(cast):
    sli = make_sli(cast.service)
    slo = make_slo(sli)
    with pytest.raises(PermissionDenied, match="move this there"):
        services.sli_update(actor=cast.lead, sli=sli, service=cast.other_service)
    assert SLI.objects.get(pk=sli.pk).service_id == cast.service.pk
    elsewhere = make_sli(cast.other_service, name="Search availability")
    with pytest.raises(PermissionDenied, match="move this there"):
        services.slo_update(actor=cast.lead, slo=slo, sli=elsewhere)
    assert SLO.objects.get(pk=slo.pk).sli_id == sli.pk
    # The org admin may move it; the organization follows the new SLI.
    services.slo_update(actor=cast.org_admin, slo=slo, sli=elsewhere)
    assert SLO.objects.get(pk=slo.pk).sli_id == elsewhere.pk


def test_policies_and_alert_settings_are_the_team_leads(cast):
    steps = [{"consumed_percent": 50, "action": "Review."}]
    with pytest.raises(PermissionDenied):
        services.policy_set(actor=cast.member, team=cast.team, name="P", steps=steps)
    policy = services.policy_set(actor=cast.lead, team=cast.team, name="P", steps=steps)
    with pytest.raises(PermissionDenied):
        services.policy_set(actor=cast.other_member, team=cast.team, name="Q", steps=steps)
    with pytest.raises(PermissionDenied, match="move this there"):
        services.policy_update(actor=cast.lead, policy=policy, team=cast.other_team)
    assert ErrorBudgetPolicy.objects.get(pk=policy.pk).name == "P"
    with pytest.raises(PermissionDenied):
        services.alert_settings_set(actor=cast.member, team=cast.team, email="a@example.test")
    row = services.alert_settings_set(actor=cast.lead, team=cast.team, email="a@example.test")
    with pytest.raises(PermissionDenied):
        services.alert_settings_update(actor=cast.member, settings_row=row, email="b@example.test")
    assert AlertSettings.objects.get(pk=row.pk).email == "a@example.test"


def test_samples_are_stored_by_the_jobs_or_someone_who_may_change_the_sli(cast):
    sli = make_sli(cast.service)
    rows = [(sli.pk, NOW_TS - 300, 9.0, 10.0)]
    with pytest.raises(PermissionDenied):
        services.samples_upsert(rows, actor=cast.member)
    assert not SLISample.objects.filter(sli=sli).exists()
    assert services.samples_upsert(rows, actor=permissions.SYSTEM) == 1
    assert services.samples_upsert(rows, actor=cast.lead) == 1


def test_the_jobs_work_is_refused_to_people(cast):
    sli = make_sli(cast.service)
    slo = make_slo(sli)
    with pytest.raises(PermissionDenied):
        services.slo_status_refresh_all(actor=cast.org_admin)
    with pytest.raises(PermissionDenied):
        services.alerts_evaluate_all(actor=cast.lead)
    with pytest.raises(PermissionDenied):
        services.slo_status_refresh(actor=cast.lead, slo_ids=[slo.pk])
    with pytest.raises(PermissionDenied):
        services.alerts_evaluate(actor=cast.member, slos=[slo], now=NOW)
    assert services.alerts_evaluate(actor=cast.lead, slos=[slo], now=NOW) == []
    assert services.slo_status_refresh_all(actor=permissions.SYSTEM) >= 1
    alert = BurnRateAlert.objects.create(
        slo=slo,
        severity="page",
        long_window=3600,
        short_window=300,
        factor=14.4,
        opened_at=NOW,
        long_burn_rate=20.0,
        short_burn_rate=20.0,
        peak_burn_rate=20.0,
    )
    with pytest.raises(PermissionDenied):
        services.alert_notify(actor=cast.org_admin, alert_id=alert.pk, event="opened")
    with pytest.raises(PermissionDenied):
        services.sli_sync(actor=cast.member, sli_id=sli.pk)


def test_the_api_moves_an_sli_only_where_the_caller_may_add_one(api_for, cast):
    sli = make_sli(cast.service)
    url = reverse("api:sli-detail", args=[sli.pk])
    response = api_for("lead").patch(url, {"service": cast.other_service.pk}, format="json")
    assert response.status_code == 403
    assert SLI.objects.get(pk=sli.pk).service_id == cast.service.pk
    response = api_for("org_admin").patch(url, {"service": cast.other_service.pk}, format="json")
    assert response.status_code == 200
    assert SLI.objects.get(pk=sli.pk).service_id == cast.other_service.pk


def test_the_api_deletes_an_slo_through_the_service(api_for, cast):
    slo = make_slo(make_sli(cast.service))
    url = reverse("api:slo-detail", args=[slo.pk])
    assert api_for("member").delete(url).status_code == 403
    assert api_for("lead").delete(url).status_code == 204
    assert not SLO.objects.filter(pk=slo.pk).exists()
