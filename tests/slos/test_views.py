"""HTML pages: the role matrix on every route, filters, empty states, query counts."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core import permissions
from apps.slos.models import SLI, SLO, AlertSettings, ErrorBudgetPolicy
from tests.roles import HTML_SHARED_READ, assert_matrix

from .factories import fill, live_now_ts, make_sli, make_slo

pytestmark = pytest.mark.django_db

EDIT = {
    "org_admin": 200,
    "leader": 403,
    "lead": 200,
    "member": 403,
    "other_member": 403,
    "outsider": 404,
    "anonymous": 302,
}
EVERYONE_SIGNED_IN = {**dict.fromkeys(EDIT, 200), "anonymous": 302}


def test_catalog_matrix_and_scoping(client_for, catalog):
    url = reverse("slos:catalog")
    assert_matrix(client_for, url, EVERYONE_SIGNED_IN)
    body = client_for("member").get(url).content.decode()
    assert "Checkout 99.9" in body and "Search 99" in body  # SLOs are shared org-wide
    outsider = client_for("outsider").get(url).content.decode()
    assert "Checkout 99.9" not in outsider and "No SLOs yet" in outsider


def test_catalog_filters_and_sort(client_for, cast, catalog):
    client = client_for("lead")
    url = reverse("slos:catalog")
    body = client.get(url, {"team": cast.other_team.pk}).content.decode()
    assert "Search 99" in body and "Checkout 99.9" not in body
    body = client.get(url, {"tier": 1}).content.decode()
    assert "Checkout 99.9" in body and "Search 99" not in body
    body = client.get(url, {"status": "no_data"}).content.decode()
    assert "Search 99" in body and "Checkout 99.9" not in body
    body = client.get(url, {"service": cast.service.pk, "status": "healthy"}).content.decode()
    assert "No SLO matches" in body
    # htmx asks for the rows only
    partial = client.get(url, {"tier": 1}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "Checkout 99.9" in partial
    # Default sort: least budget left first; no data last.
    rows = client.get(url).context["rows"]
    assert [r.slo.name for r in rows] == ["Checkout 99.9", "Search 99"]


def test_catalog_query_count_does_not_grow_with_slos(client_for, cast, catalog):
    client = client_for("leader")
    url = reverse("slos:catalog")
    client.get(url)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    before = count()
    for i in range(12):
        sli = make_sli(cast.other_service, name=f"extra {i}")
        make_slo(
            sli,
            name=f"extra {i}",
            budgeting="timeslices" if i % 2 else "occurrences",
            timeslice_seconds=900 if i % 2 else None,
            timeslice_target="0.9" if i % 2 else None,
        )
        fill(sli, start_ts=live_now_ts() - 3600, end_ts=live_now_ts(), good=9, total=10)
    after = count()
    assert after <= before + 1  # +1: the timeslices query appears once, whatever their number


def test_slo_detail_matrix_and_content(client_for, catalog):
    slo = catalog["slo"]
    assert_matrix(client_for, reverse("slos:detail", args=[slo.pk]), HTML_SHARED_READ)
    response = client_for("member").get(reverse("slos:detail", args=[slo.pk]))
    body = response.content.decode()
    assert "Error budget burn-down" in body and "data-chart=" in body and "<script>" not in body
    assert "Burn rates" in body and "No alerts so far" in body
    assert "Edit" not in body.split("Burn rates")[0].split("</h1>")[1]  # no edit button for a member


def test_slo_edit_matrix(client_for, catalog):
    slo = catalog["slo"]
    assert_matrix(client_for, reverse("slos:edit", args=[slo.pk]), EDIT)
    assert_matrix(client_for, reverse("slos:delete", args=[slo.pk]), EDIT)
    assert_matrix(client_for, reverse("slos:policy", args=[slo.pk]), EDIT)


def test_slo_edit_saves_through_the_service(client_for, catalog):
    slo = catalog["slo"]
    client = client_for("lead")
    data = {
        "sli": slo.sli_id,
        "name": "Checkout 99.5",
        "slug": slo.slug,
        "description": "",
        "owner": "",
        "target_percent": "99.5",
        "window_kind": "calendar",
        "window_days": "30",
        "calendar_unit": "quarter",
        "budgeting": "timeslices",
        "timeslice_minutes": "10",
        "timeslice_target_percent": "95",
        "alerting": "on",
    }
    response = client.post(reverse("slos:edit", args=[slo.pk]), data)
    assert response.status_code == 302
    slo.refresh_from_db()
    assert (str(slo.target), slo.calendar_unit, slo.timeslice_seconds, str(slo.timeslice_target)) == (
        "0.995000",
        "quarter",
        600,
        "0.950000",
    )
    # A slice length that is not a multiple of 5 minutes is refused on the field.
    response = client.post(reverse("slos:edit", args=[slo.pk]), {**data, "timeslice_minutes": "7"})
    assert response.status_code == 200 and "multiple of 300" in response.content.decode()
    # A calendar window needs a unit.
    response = client.post(reverse("slos:edit", args=[slo.pk]), {**data, "calendar_unit": ""})
    assert response.status_code == 200 and "week, month, quarter or year" in response.content.decode()


def test_slo_create_and_delete(client_for, cast, catalog):
    client = client_for("lead")
    response = client.post(
        reverse("slos:create"),
        {
            "sli": catalog["sli"].pk,
            "name": "Checkout 99",
            "target_percent": "99",
            "window_kind": "rolling",
            "window_days": "7",
            "budgeting": "occurrences",
            "alerting": "on",
        },
    )
    assert response.status_code == 302
    created = SLO.objects.get(name="Checkout 99")
    assert created.slug == "checkout-99" and created.organization == cast.org
    # A member of the team may not create one, nor may anyone for another team's SLI.
    assert client_for("member").get(reverse("slos:create")).status_code == 403
    response = client.post(
        reverse("slos:create"),
        {
            "sli": catalog["other_sli"].pk,
            "name": "x",
            "target_percent": "99",
            "window_kind": "rolling",
            "window_days": "7",
            "budgeting": "occurrences",
        },
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert client_for("member").post(reverse("slos:delete", args=[created.pk])).status_code == 403
    assert client.post(reverse("slos:delete", args=[created.pk])).status_code == 302
    assert not SLO.objects.filter(pk=created.pk).exists()


def test_slo_create_matrix(client_for, catalog):
    assert_matrix(
        client_for,
        reverse("slos:create"),
        {**EDIT, "outsider": 302},  # an admin of another org with no SLI there is sent to add one first
    )


def test_policy_form(client_for, cast, catalog):
    slo = catalog["slo"]
    client = client_for("lead")
    url = reverse("slos:policy", args=[slo.pk])
    response = client.post(url, {"name": "P", "steps": "50: Review\n100%: Freeze deploys", "scope": "team"})
    assert response.status_code == 302
    policy = ErrorBudgetPolicy.objects.get(team=cast.team, slo__isnull=True)
    assert policy.steps == [
        {"consumed_percent": 50, "action": "Review"},
        {"consumed_percent": 100, "action": "Freeze deploys"},
    ]
    response = client.post(url, {"name": "P", "steps": "100: Freeze\n50: Review", "scope": "slo"})
    assert response.status_code == 200 and "go up" in response.content.decode()
    response = client.post(url, {"name": "P", "steps": "lots: Freeze", "scope": "slo"})
    assert response.status_code == 200 and "Line 1" in response.content.decode()
    assert not ErrorBudgetPolicy.objects.filter(slo=slo).exists()
    body = client.get(reverse("slos:detail", args=[slo.pk])).content.decode()
    assert "Freeze deploys" in body and "team default" in body


def test_sli_pages_matrix(client_for, catalog):
    sli = catalog["sli"]
    assert_matrix(client_for, reverse("slos:sli_list"), EVERYONE_SIGNED_IN)
    assert_matrix(client_for, reverse("slos:sli_detail", args=[sli.pk]), HTML_SHARED_READ)
    assert_matrix(client_for, reverse("slos:sli_edit", args=[sli.pk]), EDIT)
    assert_matrix(
        client_for,
        reverse("slos:sli_create"),
        {**EDIT, "outsider": 403},  # the outsider's org has no service to measure
    )
    # Sync is a POST; a pushed SLI is not synced, so editors are sent back with a message.
    assert_matrix(
        client_for, reverse("slos:sli_sync", args=[sli.pk]), {**EDIT, "org_admin": 302, "lead": 302}, method="post"
    )


def test_sli_create_and_query_change_clears_the_error(client_for, cast):
    client = client_for("lead")
    response = client.post(
        reverse("slos:sli_create"),
        {
            "service": cast.service.pk,
            "name": "Checkout availability",
            "kind": "availability",
            "source": "prometheus",
            "good_query": "",
            "total_query": "sum(x)",
        },
    )
    assert response.status_code == 200 and "good-events query" in response.content.decode()
    response = client.post(
        reverse("slos:sli_create"),
        {
            "service": cast.service.pk,
            "name": "Checkout availability",
            "kind": "availability",
            "source": "prometheus",
            "good_query": "sum(rate(x[5m]",
            "total_query": "sum(x)",
        },
    )
    assert response.status_code == 302
    sli = SLI.objects.get(slug="checkout-availability")
    SLI.objects.filter(pk=sli.pk).update(
        sync_state="error", last_error="bad_data: 1:16: parse error: unclosed left parenthesis"
    )
    body = client.get(reverse("slos:sli_detail", args=[sli.pk])).content.decode()
    assert "Prometheus refused this SLI" in body and "unclosed left parenthesis" in body
    response = client.post(
        reverse("slos:sli_edit", args=[sli.pk]),
        {
            "service": cast.service.pk,
            "name": "Checkout availability",
            "slug": sli.slug,
            "kind": "availability",
            "source": "prometheus",
            "good_query": "sum(rate(x[5m]))",
            "total_query": "sum(x)",
        },
    )
    assert response.status_code == 302
    sli.refresh_from_db()
    assert sli.sync_state == "never" and sli.last_error == ""
    # Another team's service is not a choice for this lead.
    response = client.post(
        reverse("slos:sli_create"),
        {
            "service": cast.other_service.pk,
            "name": "x",
            "kind": "availability",
            "source": "push",
        },
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def test_sync_button_queues_a_forced_sync(client_for, cast, monkeypatch):
    calls = []
    monkeypatch.setattr("apps.slos.services.sli_sync", lambda **kw: calls.append(kw) or 0)
    sli = make_sli(cast.service, source="prometheus", good_query="sum(a)", total_query="sum(b)")
    assert client_for("lead").post(reverse("slos:sli_sync", args=[sli.pk])).status_code == 302
    assert calls == [{"actor": permissions.SYSTEM, "sli_id": sli.pk, "force": True}]


def test_alert_settings_matrix_and_save(client_for, cast):
    url = reverse("slos:alert_settings", args=[cast.team.pk])
    assert_matrix(client_for, url, EDIT)
    client = client_for("lead")
    response = client.post(url, {"email": "oncall@example.test", "webhook_url": "https://hooks.example.test/x"})
    assert response.status_code == 302
    conf = AlertSettings.objects.get(team=cast.team)
    assert conf.webhook_url == "https://hooks.example.test/x" and conf.notify_tickets is False
    response = client.post(url, {"email": "not-an-email", "webhook_url": "ftp://x"})
    assert response.status_code == 200
    conf.refresh_from_db()
    assert conf.email == "oncall@example.test"


def test_team_and_service_panels(client_for, cast, catalog):
    body = client_for("member").get(reverse("teams:detail", args=[cast.team.pk])).content.decode()
    assert "Reliability" in body and "Checkout 99.9" in body and "Alert settings" not in body
    body = client_for("lead").get(reverse("teams:detail", args=[cast.team.pk])).content.decode()
    assert "Alert settings" in body
    body = client_for("member").get(reverse("teams:service", args=[cast.service.pk])).content.decode()
    assert "Checkout 99.9" in body and "99.9%" in body
    body = client_for("member").get(reverse("teams:service", args=[cast.other_service.pk])).content.decode()
    assert "Search 99" in body and "No data" in body


def test_openslo_pages_matrix(client_for, catalog):
    assert_matrix(client_for, reverse("slos:openslo_import"), EVERYONE_SIGNED_IN)
    assert_matrix(client_for, reverse("slos:openslo_export"), EVERYONE_SIGNED_IN)
    text = client_for("member").get(reverse("slos:openslo_export")).content.decode()
    slug = catalog["slo"].slug
    assert "kind: SLO" in text and f"name: {slug}" in text
    assert f"name: {slug}" not in client_for("outsider").get(reverse("slos:openslo_export")).content.decode()


def test_openslo_import_page_reports_the_bad_path(client_for, catalog):
    client = client_for("lead")
    text = client.get(reverse("slos:openslo_export")).content.decode()
    bad = text.replace("target: 0.999", "target: 1.5")
    response = client.post(reverse("slos:openslo_import"), {"document": bad, "action": "import"})
    assert response.status_code == 200
    assert "Refused, nothing imported" in response.content.decode()
    assert "spec.objectives[0].target" in response.content.decode()
    upload = SimpleUploadedFile("slos.yaml", bad.encode(), content_type="application/yaml")
    body = client.post(reverse("slos:openslo_import"), {"file": upload}).content.decode()
    assert "spec.objectives[0].target" in body and "target: 1.5" in body  # the uploaded text stays on the page


def test_openslo_import_page_previews_before_it_writes(client_for, cast, catalog):
    url = reverse("slos:openslo_import")
    slo = catalog["slo"]
    text = client_for("lead").get(reverse("slos:openslo_export")).content.decode()
    changed = text.replace("Checkout 99.9", "Checkout SLO").replace("spec: {}", "spec: {colour: red}", 1)
    assert_matrix(client_for, url, {**EVERYONE_SIGNED_IN}, method="post", data={"document": changed})
    assert SLO.objects.get(pk=slo.pk).name == "Checkout 99.9"  # previews write nothing

    body = client_for("lead").post(url, {"document": changed}).content.decode()
    assert "Preview: what the import would do" in body and "will update" in body and f"SLO {slo.slug}" in body
    assert "documents[0].spec.colour (not used by this platform)" in body and "Import these changes" in body
    digest = re.search(r'name="previewed" value="([0-9a-f]{64})"', body).group(1)
    # An edited document is previewed again, not written.
    edited = changed.replace("Checkout SLO", "Checkout edited")
    body = client_for("lead").post(url, {"document": edited, "action": "import", "previewed": digest}).content.decode()
    assert "Preview: what the import would do" in body and SLO.objects.get(pk=slo.pk).name == "Checkout 99.9"
    # The member may read but not change the SLO: the preview says so, and so does the import.
    body = client_for("member").post(url, {"document": changed}).content.decode()
    assert "You may not change SLO" in body and "Import these changes" not in body
    body = client_for("member").post(url, {"document": changed, "action": "import", "previewed": digest})
    assert "You may not change SLO" in body.content.decode()
    # What was previewed is imported (the browser sends the textarea with CRLF line ends).
    crlf = changed.replace("\n", "\r\n")
    body = client_for("lead").post(url, {"document": crlf, "action": "import", "previewed": digest}).content.decode()
    assert "Imported" in body and "updated" in body
    assert SLO.objects.get(pk=slo.pk).name == "Checkout SLO"


def test_catalog_pages_keep_the_filters(client_for, cast, catalog, monkeypatch):
    monkeypatch.setattr("apps.slos.views.CATALOG_PAGE_SIZE", 1)
    client = client_for("lead")
    first = client.get(reverse("slos:catalog"), {"sort": "name"})
    body = first.content.decode()
    assert "1–1 of 2 SLOs" in body and "Page 1 of 2" in body and "sort=name&amp;page=2" in body
    assert [r.slo.name for r in first.context["rows"]] == ["Checkout 99.9"]
    second = client.get(reverse("slos:catalog"), {"sort": "name", "page": 2})
    assert [r.slo.name for r in second.context["rows"]] == ["Search 99"]
    assert client.get(reverse("slos:catalog"), {"page": "nonsense"}).status_code == 200
