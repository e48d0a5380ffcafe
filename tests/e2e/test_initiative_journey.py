"""An initiative end to end in a real Chromium: a leader opens it, a lead sees it on the home page, fixes
the failing thing (registers the tier-1 service's SLI and SLO), and the next scoring run moves the burn-up.
Screenshots: artifacts/screenshots/initiative-*.png."""

import datetime as dt
import html

import pytest
from django.utils import timezone

from apps.core import permissions
from apps.initiatives import services
from apps.initiatives.models import InitiativeProgress
from apps.scoring import services as scoring_services
from apps.slos.models import SLI
from tests.browser import login, screenshot

pytestmark = pytest.mark.browser


def burnup_data(page) -> list:
    import json

    raw = page.locator("canvas[data-chart]").get_attribute("data-chart")
    return json.loads(html.unescape(raw))["data"]["datasets"][0]["data"]


@pytest.mark.django_db(transaction=True)
def test_leader_opens_lead_fixes_burn_up_moves(page, live_server, cast):
    today = timezone.localdate()
    initiative = services.initiative_create(
        actor=cast.leader,
        organization=cast.org,
        name="Every tier-1 service has an SLO",
        reason="Tier-1 outages cost the most.",
        owner=cast.leader,
        start_date=today - dt.timedelta(days=7),
        target_date=today + dt.timedelta(days=14),
        status="active",
        teams=[cast.team, cast.other_team],
        checks=[
            {
                "name": "Tier-1 services with an SLO",
                "metric": "slo.coverage_tier1",
                "operator": "gte",
                "value": 1.0,
                "when_missing": "pass",
                "hint": "Define an SLO for each tier-1 service.",
            }
        ],
    )
    # Yesterday's scoring run records the first point: Search (no tier-1 service) passes, Checkout does not.
    scoring_services.scoring_run(actor=permissions.SYSTEM, organization=cast.org, as_of=today - dt.timedelta(days=1))
    point = InitiativeProgress.objects.get(initiative=initiative)
    assert (point.passing, point.total) == (1, 2)

    login(page, live_server, cast.leader)
    page.goto(f"{live_server.url}/initiatives/")
    assert page.locator("main", has_text="Every tier-1 service has an SLO").count() == 1
    screenshot(page, "initiative-01-leader-list")
    page.click("text=Every tier-1 service has an SLO")
    page.wait_for_load_state("networkidle")
    assert page.locator("canvas[data-chart]").get_attribute("data-rendered") == "1"
    assert page.locator("main table", has_text="Checkout").count() == 1
    assert burnup_data(page)[6:8] == [50.0, None]
    screenshot(page, "initiative-02-leader-detail-before")
    page.context.clear_cookies()

    login(page, live_server, cast.lead)
    page.goto(f"{live_server.url}/")
    panel = page.locator(".card", has_text="what your teams must do and by when")
    assert panel.count() == 1 and "Tier-1 services with an SLO" in panel.inner_text()
    screenshot(page, "initiative-03-lead-home")

    page.goto(f"{live_server.url}/slos/slis/new/")
    page.select_option("#id_service", str(cast.service.pk))
    page.fill("#id_name", "Checkout availability")
    page.fill("#id_description", "Checkout requests answered without a 5xx.")
    page.click("main form[method=post] button.btn-primary")
    page.wait_for_load_state("networkidle")
    sli = SLI.objects.get(service=cast.service)
    page.goto(f"{live_server.url}/slos/new/")
    page.select_option("#id_sli", str(sli.pk))
    page.fill("#id_name", "Checkout 99.9% over 28 days")
    page.fill("#id_target_percent", "99.9")
    page.fill("#id_window_days", "28")
    page.click("main form[method=post] button.btn-primary")
    page.wait_for_load_state("networkidle")

    # Today's scoring run records today's point through the snapshots_written signal.
    scoring_services.scoring_run(actor=permissions.SYSTEM, organization=cast.org, as_of=today)
    assert InitiativeProgress.objects.get(initiative=initiative, day=today).passing == 2
    page.goto(f"{live_server.url}/")
    assert "Done: everything of yours in scope passes" in page.locator("main").inner_text()
    screenshot(page, "initiative-04-lead-home-after")
    page.context.clear_cookies()

    login(page, live_server, cast.leader)
    page.goto(f"{live_server.url}/initiatives/{initiative.pk}/")
    assert burnup_data(page)[6:8] == [50.0, 100.0]
    assert page.locator("main", has_text="All passing").count() >= 1
    screenshot(page, "initiative-05-leader-detail-after")
    permissions.forget_memberships(cast.leader)
