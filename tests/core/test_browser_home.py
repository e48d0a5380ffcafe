"""Each role's home page on the demo data in a real Chromium: the parts are there, the charts
are drawn, and a screenshot of each is kept (looked at when the page changes)."""

import pytest
from django.core.management import call_command

from apps.teams.demo import DEMO_PASSWORD
from apps.teams.models import OrgMembership, TeamMembership
from tests.browser import login, screenshot

pytestmark = pytest.mark.browser


def _drawn(page, selector):
    canvas = page.locator(selector).first
    assert canvas.get_attribute("data-rendered") == "1", selector
    box = canvas.bounding_box()
    assert box and box["width"] > 150 and box["height"] > 100, selector


@pytest.mark.django_db(transaction=True)
def test_each_roles_home_on_the_demo(browser, live_server):
    call_command("seed_demo", "--quiet-logins")
    northwind = {m.role: m.user for m in OrgMembership.objects.filter(organization__slug="northwind")}
    member = TeamMembership.objects.filter(team__slug="checkout", role="member").order_by("user__email").first().user
    globex_admin = OrgMembership.objects.get(organization__slug="globex", role="admin").user
    roles = {
        "home-org-admin": (northwind["admin"], ["Needs setting up", "Teams that moved most", "Levels by department"]),
        "home-leader": (northwind["leader"], ["Teams that moved most", "SLOs burning now", "Evidence gone stale"]),
        "home-member": (member, ["Next three steps", "Open alerts", "Your action items due", "Assessment waiting"]),
        # The second organization: two teams measured, two not yet; one team without services,
        # one deployment of an unmapped repository.
        "home-globex-admin": (globex_admin, ["Needs setting up", "2 not yet measured", "Customs Docs"]),
    }
    for name, (user, texts) in roles.items():
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
        page = context.new_page()
        login(page, live_server, user, password=DEMO_PASSWORD)
        page.goto(f"{live_server.url}/")
        page.wait_for_load_state("networkidle")
        body = page.inner_text("body")
        for text in texts:
            assert text in body, (name, text)
        if name in ("home-org-admin", "home-leader"):
            _drawn(page, "canvas[aria-label^='Number of measured teams']")
            _drawn(page, "canvas[aria-label^='Average overall score']")
        if name == "home-member":
            _drawn(page, 'canvas[aria-label^="Your team\'s overall score"]')
        screenshot(page, name)
        if name == "home-leader":
            # One click further: the movement against each team's own baseline leads the scores page.
            page.click("text=Every team's movement")
            page.wait_for_load_state("networkidle")
            assert page.locator("#movement-table tbody tr").count() >= 6
            assert "within all of Northwind Commerce" in page.inner_text("#ranking .card-header")
            screenshot(page, "scores-baseline-and-cohort")
        context.close()
