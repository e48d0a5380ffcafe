"""Runbooks: records, review age, the tier-1 check, alert notifications, incidents and the factor category."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from apps.core import permissions
from apps.postmortems.models import ContributingFactorCategory
from apps.scoring import inputs, metrics
from apps.slos import services as slo_services
from apps.sre import selectors, services
from apps.sre.models import IncidentRunbook, Runbook
from tests.factories import ServiceFactory
from tests.postmortems.factories import IncidentFactory
from tests.roles import HTML_SHARED_READ, assert_matrix
from tests.slos.factories import NOW, make_sli, make_slo
from tests.slos.test_alerts import _last_hour, webhook  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db
TODAY = timezone.now().date()


def runbook(cast, title="Checkout failover", *, reviewed_days_ago=0, services_=(), slos=(), **kw):
    rb = services.runbook_create(
        team=cast.team, actor=cast.member, title=title, body="1. Fail over.", services=services_, slos=slos, **kw
    )
    if reviewed_days_ago is None:
        Runbook.objects.filter(pk=rb.pk).update(last_reviewed_on=None)
    else:
        Runbook.objects.filter(pk=rb.pk).update(last_reviewed_on=TODAY - timedelta(days=reviewed_days_ago))
    rb.refresh_from_db()
    return rb


def test_validation(cast):
    with pytest.raises(ValidationError) as err:
        services.runbook_create(
            team=cast.team, actor=cast.member, title=" ", services=[ServiceFactory()], incident_types=["x" * 61]
        )
    assert set(err.value.message_dict) == {"title", "body", "services", "incident_types"}
    rb = services.runbook_create(
        team=cast.team,
        actor=cast.member,
        title="Certs",
        url="https://wiki.example.test/certs",
        incident_types="Certificate  Expiry, certificate expiry, ,TLS",
    )
    assert rb.incident_types == ["certificate expiry", "tls"] and rb.last_reviewed_on == TODAY


def test_tier1_check_counts_runbooks_reviewed_within_180_days(cast):
    tier1_b = ServiceFactory(team=cast.team, name="payments", tier=1)
    tier1_c = ServiceFactory(team=cast.team, name="ledger", tier=1)
    ServiceFactory(team=cast.team, name="docs", tier=3)  # not tier 1: not counted
    runbook(cast, "a", reviewed_days_ago=180, services_=[cast.service])  # exactly 180 days: current
    runbook(cast, "b", reviewed_days_ago=181, services_=[tier1_b])  # too old
    runbook(cast, "c", reviewed_days_ago=None, services_=[tier1_c])  # never reviewed
    out = selectors.team_runbooks(team_ids=[cast.team.pk, cast.other_team.pk])
    assert out[cast.team.pk]["tier1_services"] == 3 and out[cast.team.pk]["tier1_with_runbook"] == 1
    assert out[cast.team.pk]["tier1_coverage"] == round(1 / 3, 4)
    assert out[cast.other_team.pk]["tier1_coverage"] is None  # a tier-2 service only: no data
    facts = inputs.gather(team_ids=[cast.team.pk], as_of=TODAY)[cast.team.pk]
    assert metrics.METRICS["runbook.tier1_coverage"].fn(facts) == round(1 / 3, 4)
    services.runbook_mark_reviewed(runbook=Runbook.objects.get(title="b"), actor=cast.lead)
    assert selectors.team_runbooks(team_ids=[cast.team.pk])[cast.team.pk]["tier1_with_runbook"] == 2
    # As of a day before the review, the review does not count yet.
    before = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC)
    assert selectors.team_runbooks(team_ids=[cast.team.pk], until=before)[cast.team.pk]["tier1_with_runbook"] == 1


def test_alert_notifications_carry_the_runbook_link(cast, webhook, django_capture_on_commit_callbacks):  # noqa: F811
    slo_services.alert_settings_set(
        actor=permissions.SYSTEM, team=cast.team, email="oncall@example.test", webhook_url=webhook["url"]
    )
    sli = make_sli(cast.service)
    slo = make_slo(sli, name="Checkout", target="0.999")
    other = make_slo(sli, name="Other", target="0.99")
    runbook(cast, "Service-wide", reviewed_days_ago=1, services_=[cast.service])
    rb = runbook(cast, "Checkout burn", reviewed_days_ago=30, slos=[slo], url="https://wiki.example.test/burn")
    # The SLO's own runbook wins over a more recently reviewed service-wide one.
    assert selectors.runbook_for_alert(slo) == {"title": "Checkout burn", "url": "https://wiki.example.test/burn"}
    service_wide = selectors.runbook_for_alert(other)
    assert service_wide["title"] == "Service-wide" and service_wide["url"].endswith(
        reverse("sre:runbook", args=[Runbook.objects.get(title="Service-wide").pk])
    )
    _last_hour(sli, 9_000)
    with django_capture_on_commit_callbacks(execute=True):
        slo_services.alerts_evaluate(actor=permissions.SYSTEM, slos=[slo], now=NOW)
    assert webhook["received"] and all(h["runbook"]["url"] == rb.url for h in webhook["received"])
    assert all("Runbook: Checkout burn https://wiki.example.test/burn" in m.body for m in mail.outbox)


def test_alert_without_runbook_falls_back_to_the_service_url(cast):
    slo = make_slo(make_sli(cast.service))
    assert selectors.runbook_for_alert(slo) is None
    cast.service.runbook_url = "https://wiki.example.test/checkout"
    cast.service.save()
    slo.refresh_from_db()
    assert selectors.runbook_for_alert(slo)["url"] == "https://wiki.example.test/checkout"


def test_runbook_factor_category_is_built_in():
    cat = ContributingFactorCategory.objects.get(organization=None, slug="runbook")
    assert cat.name == "Runbook missing or wrong"


def test_pages_and_roles(client_for, cast):
    rb = runbook(cast, services_=[cast.service])
    assert_matrix(client_for, reverse("sre:index"), {**HTML_SHARED_READ, "outsider": 200})
    assert_matrix(client_for, reverse("sre:runbooks"), {**HTML_SHARED_READ, "outsider": 200})
    assert "Checkout failover" not in client_for("outsider").get(reverse("sre:runbooks")).content.decode()
    index = client_for("leader").get(reverse("sre:index")).content.decode()
    assert "Checkout" in index and "gate not used" in index and "1 of 1" in index  # tier-1 runbook current
    assert_matrix(client_for, rb.get_absolute_url(), HTML_SHARED_READ)
    html = client_for("member").get(cast.service.get_absolute_url()).content.decode()
    assert "Checkout failover" in html and "Reviewed" in html
    members_write = {
        "org_admin": 200,
        "leader": 403,
        "lead": 200,
        "member": 200,
        "other_member": 403,
        "outsider": 404,
        "anonymous": 302,
    }
    assert_matrix(client_for, reverse("sre:runbook_edit", args=[rb.pk]), members_write)
    assert_matrix(
        client_for,
        reverse("sre:runbook_create"),
        # The create page is the current organization's: the outsider adds to its own.
        {**members_write, "other_member": 200, "outsider": 200},
    )
    assert_matrix(
        client_for,
        reverse("sre:runbook_review", args=[rb.pk]),
        {k: 302 if v == 200 else v for k, v in members_write.items()},
        method="post",
    )
    # Only the edit controls the user may use are shown.
    edit = reverse("sre:runbook_edit", args=[rb.pk])
    assert edit not in client_for("leader").get(rb.get_absolute_url()).content.decode()
    assert edit in client_for("member").get(rb.get_absolute_url()).content.decode()


def test_create_via_form(client_for, cast):
    slo = make_slo(make_sli(cast.service))
    r = client_for("member").post(
        reverse("sre:runbook_create"),
        {
            "team": cast.team.pk,
            "title": "Burn response",
            "body": "## Steps\n\n1. Look",
            "services": [cast.service.pk],
            "slos": [slo.pk],
            "incident_types": "latency",
        },
    )
    rb = Runbook.objects.get(title="Burn response")
    assert r.status_code == 302 and r["Location"] == rb.get_absolute_url()
    assert list(rb.slos.all()) == [slo] and rb.incident_types == ["latency"]
    html = client_for("other_member").get(rb.get_absolute_url()).content.decode()
    assert "<h2>Steps</h2>" in html
    r = client_for("member").post(reverse("sre:runbook_create"), {"team": cast.team.pk, "title": "Empty"})
    assert r.status_code == 200 and "Link to the runbook or write it here." in r.content.decode()
    # Another team's member cannot file a runbook under this team.
    r = client_for("other_member").post(
        reverse("sre:runbook_create"), {"team": cast.team.pk, "title": "x", "body": "y"}
    )
    assert r.status_code == 200 and not Runbook.objects.filter(title="x").exists()


def test_incident_records_the_runbook_used(client_for, cast):
    rb = runbook(cast)
    incident = IncidentFactory(team=cast.team)
    url = reverse("sre:incident_runbook", args=[incident.pk])
    assert_matrix(
        client_for,
        url,
        {
            "org_admin": 302,
            "leader": 403,
            "lead": 302,
            "member": 302,
            "other_member": 403,
            "outsider": 404,
            "anonymous": 302,
        },
        method="post",
        data={"runbook": rb.pk},
    )
    assert IncidentRunbook.objects.get(incident=incident).runbook == rb
    client_for("member").post(url, {"runbook": ""})  # none was used; the same record, updated
    assert IncidentRunbook.objects.filter(incident=incident).count() == 1
    assert IncidentRunbook.objects.get(incident=incident).runbook is None
    html = client_for("member").get(incident.get_absolute_url()).content.decode()
    assert "No runbook was used." in html
    services.incident_runbook_set(incident=incident, runbook=rb, actor=cast.member)
    assert rb.title in client_for("leader").get(incident.get_absolute_url()).content.decode()
