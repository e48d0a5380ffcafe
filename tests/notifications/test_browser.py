"""The notification pages in a real Chromium: styled, one title, fit a phone, no console errors."""

import pytest

from apps.notifications import kinds
from apps.notifications.models import Target
from tests.browser import login, screenshot
from tests.core.test_browser_layout import check, overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_settings_and_target_pages(page, live_server, cast):
    target = Target.objects.create(
        organization=cast.org, team=cast.team, name="#checkout", channel="slack",
        address="https://hooks.slack.example/services/T0/B0/secret", kinds=[kinds.TEAM_DIGEST],
        health=Target.Health.FAILING, consecutive_failures=2, last_error="The webhook answered HTTP 500.",
    )  # fmt: skip
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, live_server, cast.lead)
    # Reached from the user menu.
    page.click("button.dropdown-toggle[data-bs-toggle=dropdown] >> nth=-1")
    page.click("a.dropdown-item:has-text('Notifications')")
    page.wait_for_url("**/notifications/")
    page.uncheck("#kind-level_change")
    page.click("main button[type=submit]")
    assert page.locator("#kind-level_change").is_checked() is False
    assert page.locator("#kind-team_digest").is_checked() is True
    urls = ["/notifications/", "/notifications/targets/", f"/notifications/targets/{target.pk}/",
            "/notifications/targets/new/", f"/notifications/targets/{target.pk}/edit/"]  # fmt: skip
    for width in (390, 1366):
        page.set_viewport_size({"width": width, "height": 800})
        for path in urls:
            check(page, f"{live_server.url}{path}")
            assert overflow(page) <= 0, f"{path} scrolls sideways at {width} px"
    page.goto(f"{live_server.url}/notifications/targets/{target.pk}/")
    assert "Failing:" in page.locator(".alert-danger").inner_text()
    screenshot(page, "notifications-target")
    assert errors == []
