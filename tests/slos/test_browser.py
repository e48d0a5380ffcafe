"""The SLO pages in a real Chromium: charts drawn by Chart.js, htmx filters, no console errors."""

import pytest
from playwright.sync_api import expect

from apps.slos import services as slo_services
from tests.browser import login, screenshot

from .factories import fill, live_now_ts, make_sli, make_slo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_slo_page_draws_its_charts_and_catalog_filters(page, live_server, cast, monkeypatch):
    # The firing alert is what this page shows; sending its notification is tested in test_alerts.
    monkeypatch.setattr(slo_services.status, "_queue_notifications", lambda pending: None)
    sli = make_sli(cast.service, name="Checkout availability")
    slo = make_slo(sli, name="Checkout 99.9", target="0.999")
    make_slo(make_sli(cast.other_service, name="Search"), name="Search 99", target="0.99")
    now = live_now_ts()
    fill(sli, start_ts=now - 2 * 86400, end_ts=now - 3600, good=9995, total=10000)
    fill(sli, start_ts=now - 3600, end_ts=now, good=9000, total=10000, refresh=True)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, live_server, cast.member)

    page.goto(f"{live_server.url}/slos/{slo.pk}/")
    page.wait_for_selector("canvas[data-rendered='1']")
    assert page.locator("canvas[data-rendered='1']").count() == 2
    assert page.locator(".alert-danger", has_text="Page").count() >= 1  # the fast burn is shown as firing
    screenshot(page, "slos-detail")

    page.goto(f"{live_server.url}/slos/")
    assert page.locator("#slo-rows tbody tr").count() == 2
    page.select_option("#f-team", str(cast.other_team.pk))
    expect(page.locator("#slo-rows tbody tr")).to_have_count(1)  # CSP forbids eval: no wait_for_function
    assert "Search 99" in page.locator("#slo-rows").inner_text()
    assert f"team={cast.other_team.pk}" in page.url  # hx-push-url keeps the filter in the address
    page.set_viewport_size({"width": 390, "height": 800})
    screenshot(page, "slos-catalog-narrow")
    assert not errors, errors


def test_openslo_import_preview_then_import(page, live_server, cast, monkeypatch):
    from apps.slos.models import SLO

    from .test_openslo import RICH

    monkeypatch.setattr(slo_services.status, "_queue_notifications", lambda pending: None)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, live_server, cast.org_admin)
    page.goto(f"{live_server.url}/slos/openslo/import/")
    page.fill("textarea[name=document]", RICH.replace("counter: true", "counter: true\n        colour: red"))
    page.get_by_role("button", name="Preview").click()
    result = page.locator("#openslo-result")
    expect(result).to_contain_text("Preview: what the import would do")
    expect(result).to_contain_text("will create")
    expect(result).to_contain_text("ratioMetric.colour (not used by this platform)")
    assert not SLO.objects.exists()
    screenshot(page, "slos-openslo-preview")
    page.get_by_role("button", name="Import these changes").click()
    expect(page.locator("#openslo-result")).to_contain_text("Imported")
    assert SLO.objects.count() == 4
    screenshot(page, "slos-openslo-imported")
    page.goto(f"{live_server.url}/slos/{SLO.objects.get(slug='checkout-fast-1').pk}/")
    expect(page.get_by_text("thresholds from the SLO's OpenSLO alert policies")).to_be_visible()
    expect(page.get_by_text("On-call mail (email)")).to_be_visible()
    screenshot(page, "slos-detail-openslo-policies")
    assert errors == []
