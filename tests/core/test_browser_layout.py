"""The layout in a real browser: every page styled, nothing wider than a phone, the sidebar as an offcanvas."""

import pytest

from tests.browser import login, screenshot

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}

# Form controls allauth (or a view) rendered without our Bootstrap classes.
UNSTYLED = (
    "main input:not([type=hidden]):not(.form-control):not(.form-check-input):not(.btn),"
    " main select:not(.form-select):not(.form-control), main textarea:not(.form-control),"
    " main button:not(.btn):not(.btn-close):not(.dropdown-item):not(.nav-link):not(.navbar-toggler)"
)

ANONYMOUS_PAGES = [
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/accounts/password/reset/done/",
    "/accounts/password/reset/key/1-not-a-real-key/",
]


def signed_in_pages(cast):
    return [
        "/",
        "/teams/",
        cast.team.get_absolute_url(),
        cast.service.get_absolute_url(),
        "/account/",
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/2fa/",
        "/accounts/reauthenticate/",
        "/accounts/logout/",
    ]


def overflow(page) -> int:
    """How many pixels the page is wider than the viewport (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def check(page, url):
    response = page.goto(url)
    assert response.status == 200, url
    assert page.locator(UNSTYLED).count() == 0, f"unstyled form controls on {url}"
    assert page.locator("h1").count() == 1, f"one page title on {url}"
    # Submit buttons stay submit buttons (allauth's element templates keep type=submit).
    for button in page.locator("main form button").all():
        assert button.get_attribute("type") in ("submit", "button"), url


def test_sign_in_pages_fit_a_phone(page, live_server):
    page.set_viewport_size(PHONE)
    for path in ANONYMOUS_PAGES:
        check(page, live_server.url + path)
        assert page.locator(".auth-card").count() == 1, path
        assert overflow(page) <= 0, f"{path} scrolls sideways on a phone"
    screenshot(page, "layout-phone-bad-reset-link")
    page.goto(live_server.url + "/accounts/signup/")
    assert "by invitation" in page.locator("h1").inner_text()  # sign-up is closed by default


def test_signed_in_pages_fit_a_phone_and_a_desktop(page, live_server, cast):
    # One test for the three kinds of people (a live-server test pays a database flush each).
    for role in ("org_admin", "leader", "member"):
        page.context.clear_cookies()
        page.set_viewport_size(DESKTOP)
        login(page, live_server, cast.user(role))
        # Phones for everyone (where layouts break); the desktop once, for the role that sees the most.
        for viewport in (PHONE, DESKTOP) if role == "org_admin" else (PHONE,):
            page.set_viewport_size(viewport)
            for path in signed_in_pages(cast):
                check(page, live_server.url + path)
                assert overflow(page) <= 0, f"{path} scrolls sideways at {viewport['width']}px for {role}"
        page.goto(live_server.url + "/")
        screenshot(page, f"layout-overview-{role}")


def test_the_sidebar_is_an_offcanvas_on_a_phone(page, live_server, cast):
    login(page, live_server, cast.member)
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/")
    nav_link = page.locator("#sidebar a.nav-link", has_text="Teams & services")
    assert not nav_link.is_visible()
    page.click("button[aria-controls=sidebar]")
    nav_link.wait_for(state="visible")
    page.wait_for_timeout(400)  # let the slide-in finish before the picture
    screenshot(page, "layout-phone-offcanvas")
    nav_link.click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{live_server.url}/teams/"
    assert not page.locator("#sidebar a.nav-link.active").is_visible()  # closed again on the new page

    page.set_viewport_size(DESKTOP)
    assert page.locator("#sidebar a.nav-link.active").is_visible()
    assert page.locator("button[aria-controls=sidebar]").is_hidden()


def test_empty_states_explain_what_to_do(page, live_server, cast):
    login(page, live_server, cast.org_admin)  # nothing scored yet: the home page says what to do
    page.goto(live_server.url + "/")
    empty = page.locator(".empty-state")
    assert "No team is measured yet" in empty.inner_text()
    empty.locator("a.btn", has_text="Open Scores").click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{live_server.url}/scoring/"

    page.goto(live_server.url + "/teams/?q=no-such-team")
    assert "No team matches" in page.locator(".empty-state").inner_text()
    page.goto(live_server.url + "/account/")
    assert "No tokens yet" in page.locator(".empty-state").inner_text()
