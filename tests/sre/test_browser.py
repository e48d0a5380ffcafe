"""Journey in Chromium: the lead logs toil, a CI call is denied once the budget is spent, the lead
overrides, the SLO page shows both decisions."""

import json
import urllib.request

import pytest

from apps.accounts.services import api_token_create
from apps.slos.models import ErrorBudgetPolicy
from tests.browser import login, screenshot
from tests.slos.factories import BUCKET_SECONDS, fill, live_now_ts, make_sli, make_slo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _ci_call(live_server, service, token, ref):
    req = urllib.request.Request(
        f"{live_server.url}/api/v1/sre/gate/{service.pk}/",
        data=json.dumps({"kind": "feature", "ref": ref}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req) as r:  # noqa: S310 - the live test server
        return json.loads(r.read())


def test_denied_then_overridden_on_the_slo_page(page, live_server, cast):
    sli = make_sli(cast.service, name="Checkout availability")
    slo = make_slo(sli, name="Checkout 99", target="0.99")
    ErrorBudgetPolicy.objects.create(team=cast.team)
    end = live_now_ts()
    fill(sli, start_ts=end - 12 * BUCKET_SECONDS, end_ts=end, good=980, total=1000)
    _, token = api_token_create(actor=cast.member, user=cast.member, name="ci")

    login(page, live_server, cast.lead)
    # The lead logs the team's toil from the team page.
    page.goto(f"{live_server.url}{cast.team.get_absolute_url()}")
    page.get_by_role("link", name="Toil list").click()
    page.get_by_role("link", name="Log toil").click()
    page.fill("input[name=title]", "Hand-run database failovers")
    page.select_option("select[name=category]", "interrupts")
    page.fill("input[name=hours_per_week]", "16")
    page.get_by_role("button", name="Save").click()
    page.wait_for_selector("text=Toil logged.")
    body = page.locator("main").inner_text() if page.locator("main").count() else page.inner_text("body")
    # Two members (lead, member) x 40 h: 16 of 80 hours.
    assert "Hand-run database failovers" in body and "20%" in body
    screenshot(page, "sre-toil")

    assert _ci_call(live_server, cast.service, token, "sha-denied")["decision"] == "deny"
    page.goto(f"{live_server.url}/slos/{slo.pk}/")
    page.locator("#release-gate summary").click()
    page.fill("#release-gate textarea[name=reason]", "Launch day, on-call watching")
    page.fill("#release-gate input[name=hours]", "2")
    page.locator("#release-gate button[type=submit]").click()
    page.wait_for_selector("#release-gate .alert-warning")
    assert _ci_call(live_server, cast.service, token, "sha-allowed")["decision"] == "allow"
    page.reload()
    gate = page.locator("#release-gate").inner_text()
    assert "sha-denied" in gate and "sha-allowed" in gate and "Launch day" in gate
    page.locator("#release-gate").scroll_into_view_if_needed()
    screenshot(page, "sre-gate-slo")


def test_runbook_admin_and_pages(page, live_server, cast):
    from apps.core import permissions
    from apps.sre import services

    rb = services.runbook_create(
        team=cast.team,
        actor=permissions.SYSTEM,
        title="Checkout failover",
        body="1. Page the DBA\n2. Fail over",
        services=[cast.service],
        incident_types="database failover",
    )
    cast.org_admin.is_staff = True
    cast.org_admin.save(update_fields=["is_staff"])
    login(page, live_server, cast.org_admin)
    page.goto(f"{live_server.url}/admin/sre/runbook/")
    assert page.get_by_role("link", name="Checkout failover").is_visible()
    screenshot(page, "sre-admin-runbooks")
    page.goto(f"{live_server.url}/admin/sre/runbook/{rb.pk}/change/")
    screenshot(page, "sre-admin-runbook-change")
    page.context.clear_cookies()
    login(page, live_server, cast.leader)
    page.goto(f"{live_server.url}{rb.get_absolute_url()}")
    assert page.get_by_role("heading", name="Checkout failover").is_visible()
    screenshot(page, "sre-runbook-leader")
