"""Print and wide-page layouts: the maturity report on paper, the admin's team page."""

import re

import pytest
from django.utils import timezone

from apps.core import permissions
from apps.scoring import services as scoring_services
from apps.teams.models import Team
from tests.browser import login, screenshot
from tests.factories import ServiceFactory, TeamFactory

pytestmark = pytest.mark.browser

# The report prints on A4 landscape (app.css): 297 mm less 2 x 12 mm margins is about 1032 px at
# 96 dpi, wider than the lg breakpoint (992 px) where the screen layout shows the sidebar.
A4_LANDSCAPE_CONTENT = {"width": 1032, "height": 700}


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.django_db(transaction=True)
def test_printed_report_has_no_sidebar_and_every_column(page, live_server, cast):
    from tests.scoring.conftest import give_slo_evidence

    for i in range(3):
        service = ServiceFactory(
            team=TeamFactory(organization=cast.org, name=f"Platform team {i}", slug=f"team-{i}"), tier=1
        )
        give_slo_evidence(service)  # measured teams are ranked (with their gaps); unmeasured ones are listed apart
    scoring_services.score_teams(
        actor=permissions.SYSTEM, teams=Team.objects.select_related("organization"), as_of=timezone.localdate()
    )
    login(page, live_server, cast.leader)
    page.goto(f"{live_server.url}/scoring/report/")
    page.emulate_media(media="print")
    page.set_viewport_size(A4_LANDSCAPE_CONTENT)
    screenshot(page, "scoring-report-print")
    assert not page.locator("#sidebar").is_visible() and not page.locator("header.app-topbar").is_visible()
    assert overflow(page) <= 0
    # Every table fits its card: nothing scrolls inside (paper cannot scroll), the Gaps column is there.
    clipped = page.evaluate(
        "[...document.querySelectorAll('.report-page .table-responsive')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).length"
    )
    assert clipped == 0
    gaps = page.locator(".report-page th", has_text="Gaps").bounding_box()
    assert gaps and gaps["x"] + gaps["width"] <= A4_LANDSCAPE_CONTENT["width"]
    # The real print: Chromium lays the report out on landscape A4 pages (842 x 595 pt), no blank first page.
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes and all(round(float(w)) == 842 and round(float(h)) == 595 for w, h in boxes), boxes
    assert len(boxes) == 1  # five teams fit on one page


@pytest.mark.django_db(transaction=True)
def test_admin_team_page_with_services_fits_the_screen(page, live_server, cast):
    ServiceFactory(
        team=cast.team,
        name="payments-gateway-with-a-long-name",
        tier=1,
        repository_url="https://github.example/acme/payments-gateway-with-a-long-name",
        runbook_url="https://wiki.example/runbooks/payments-gateway-with-a-long-name",
    )
    cast.org_admin.is_staff = True
    cast.org_admin.save()
    login(page, live_server, cast.org_admin)
    page.goto(f"{live_server.url}/admin/teams/team/{cast.team.pk}/change/")
    assert page.locator("#services-group").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, "admin-team-services")
    assert width <= 1366, f"the admin team page is {width}px wide"
    # ...and no inline hides a column in a scroll box of its own.
    hidden = page.evaluate(
        "[...document.querySelectorAll('.inline-group fieldset')].filter(e => e.scrollWidth > e.clientWidth + 1).length"
    )
    assert hidden == 0
