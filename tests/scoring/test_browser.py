"""The comparison page in a real Chromium: pick teams, see them side by side, charts drawn."""

import pytest
from django.utils import timezone

from apps.core import permissions
from apps.scoring import services
from apps.teams.models import Team
from tests.browser import login, screenshot
from tests.factories import ServiceFactory, TeamFactory

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_leader_compares_teams(page, live_server, cast):
    for i in range(5):  # seven teams in all, one more than a comparison holds
        ServiceFactory(team=TeamFactory(organization=cast.org, name=f"Team {i}", slug=f"team-{i}"), tier=2)
    services.score_teams(
        actor=permissions.SYSTEM, teams=Team.objects.select_related("organization"), as_of=timezone.localdate()
    )

    login(page, live_server, cast.leader)
    page.goto(f"{live_server.url}/scoring/compare/")
    assert page.locator("text=Pick teams to compare").is_visible()

    page.check("label:has-text('Checkout')")
    page.check("label:has-text('Search')")
    page.click("#compare-submit")
    page.wait_for_load_state("networkidle")

    headers = page.locator("#compare-table thead th").all_inner_texts()
    assert [h.strip().lower() for h in headers[1:]] == ["checkout", "search"]
    assert page.locator("#compare-table").get_by_text("Deployment frequency").is_visible()
    assert page.locator("#compare-table").get_by_text("Tier-1 coverage").is_visible()
    # Chart.js (served from our static files) drew the radar.
    assert page.locator("#compare-radar").get_attribute("data-rendered") == "1"
    box = page.locator("#compare-radar").bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100

    # At six chosen teams the picker disables the rest.
    for i in range(4):
        page.check(f"label:has-text('Team {i}')")
    assert page.locator("[data-compare-count]").inner_text() == "6 of 6 chosen"
    assert page.locator("label:has-text('Team 4') >> xpath=../input").is_disabled()
    page.click("#compare-submit")
    page.wait_for_load_state("networkidle")
    assert page.locator("#compare-table thead th").count() == 7
    screenshot(page, "scoring-compare")


@pytest.mark.django_db(transaction=True)
def test_team_member_cannot_open_comparisons(page, live_server, cast):
    login(page, live_server, cast.member)
    response = page.goto(f"{live_server.url}/scoring/compare/?teams={cast.team.pk}")
    assert response.status == 403


@pytest.mark.django_db(transaction=True)
def test_scorecard_and_dashboard_show_grace_periods_and_exemption_rates(page, live_server, cast):
    from datetime import timedelta

    from tests.scoring.conftest import give_slo_evidence

    give_slo_evidence(cast.service, cast.other_service)
    card = services.scorecard_ensure(actor=permissions.SYSTEM, organization=cast.org)
    services.check_create(
        actor=cast.org_admin,
        scorecard=card,
        key="five-slos",
        level=2,
        name="Five SLOs",
        metric="slo.count",
        value=5,
        hint="Cover every user journey.",
        informational_until=timezone.localdate() + timedelta(days=14),
    )
    check = card.checks.get(key="first-slo")
    asked = services.exemption_request(actor=cast.lead, team=cast.team, level_check=check, reason="Migrating.")
    services.exemption_grant(
        actor=cast.org_admin, exemption=asked, justification="Ok.", expires_on=timezone.localdate() + timedelta(days=30)
    )
    services.score_teams(
        actor=permissions.SYSTEM, teams=Team.objects.select_related("organization"), as_of=timezone.localdate()
    )
    login(page, live_server, cast.org_admin)
    page.goto(f"{live_server.url}/scoring/scorecards/{cast.team.pk}/")
    assert page.locator("#pending-checks").is_visible()
    screenshot(page, "scoring-team-grace-admin")
    page.goto(f"{live_server.url}/scoring/")
    assert page.locator("#pending-checks").is_visible()
    screenshot(page, "scoring-dashboard-admin")
    page.context.clear_cookies()
    login(page, live_server, cast.leader)
    page.goto(f"{live_server.url}/scoring/")
    assert page.locator("th:has-text('Exempt')").is_visible()
    screenshot(page, "scoring-dashboard-leader")
