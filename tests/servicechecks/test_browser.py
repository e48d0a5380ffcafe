"""Journey in Chromium: a lead sees a failing service check, follows its fix link, fixes it, and the
service page and the leader's checks x teams page show it passing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.browser import SCREENSHOTS, login, screenshot
from tests.servicechecks import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_lead_fixes_a_runbook_link_and_the_checks_move(page, browser, live_server, cast):
    today = timezone.localdate()
    f.slo(cast.service)
    f.alert_settings(cast.team, email="oncall@example.test")
    f.mapping(cast.service, "pagerduty")
    f.deployment(cast.service, f.at(today - timedelta(days=3)))
    f.postmortem(f.incident(cast.service, severity=1, resolved_at=f.at(today - timedelta(days=20))))
    f.incident(cast.service, severity=2, resolved_at=f.at(today - timedelta(days=12)))  # no postmortem

    login(page, live_server, cast.lead)
    page.goto(f"{live_server.url}{cast.service.get_absolute_url()}")
    row = page.locator("#service-checks tr[data-check=runbook_link]")
    assert row.locator("[data-state=fail]").count() == 1
    postmortems = page.locator("#service-checks tr[data-check=postmortems_published]")
    assert "1 of 2 SEV1-2 incidents" in postmortems.inner_text()
    screenshot(page, "servicechecks-service-panel")
    row.get_by_role("link", name="Fix it").click()
    page.fill("input[name=runbook_url]", "https://wiki.example.test/checkout")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("networkidle")
    row = page.locator("#service-checks tr[data-check=runbook_link]")
    assert row.locator("[data-state=pass]").count() == 1
    # The team page aggregates: one service, its runbook check now passes.
    page.goto(f"{live_server.url}{cast.team.get_absolute_url()}")
    assert page.locator("#service-checks td[data-figure=runbook_link]").inner_text().strip() == "1 of 1"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#service-checks").screenshot(path=str(SCREENSHOTS / "servicechecks-team-panel.png"))

    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    page = context.new_page()
    login(page, live_server, cast.leader)
    page.goto(f"{live_server.url}/servicechecks/")
    page.get_by_role("link", name="Service checks").first.wait_for()
    cell = page.locator(f"tr[data-team='{cast.team.pk}'] td[data-check=runbook_link]")
    assert cell.inner_text().strip() == "1/1"
    assert "1 of 2" in page.locator("td[data-total=runbook_link]").inner_text()  # Search still has none
    screenshot(page, "servicechecks-org-page")
    context.close()
