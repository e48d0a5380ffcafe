"""A team member opens their team's lead time and reaches the commits behind it, in Chromium."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.delivery import rollups
from apps.delivery.models import Change, Deployment
from tests.browser import login, screenshot

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_a_member_opens_the_lead_time_and_reaches_the_commits_behind_it(page, live_server, cast):
    finished = timezone.now().replace(microsecond=0) - dt.timedelta(days=1)
    deployment = Deployment.objects.create(
        organization=cast.org,
        team=cast.team,
        service=cast.service,
        source="api",
        external_id="journey-1",
        environment="production",
        is_production=True,
        status="success",
        sha="d" * 40,
        started_at=finished - dt.timedelta(minutes=5),
        finished_at=finished,
    )
    for sha, hours in (("a" * 40, 3), ("b" * 40, 1)):
        Change.objects.create(
            organization=cast.org,
            team=cast.team,
            service=cast.service,
            repository="acme/checkout-api",
            sha=sha,
            message=f"Commit {sha[0]}",
            committed_at=finished - dt.timedelta(hours=hours),
            source="github",
            shipped_by=deployment,
            lead_time_seconds=hours * 3600,
        )
    rollups.refresh(team_ids=[cast.team.pk], since=finished.date() - dt.timedelta(days=1))

    login(page, live_server, cast.member)
    page.goto(f"{live_server.url}/delivery/team/{cast.team.pk}/")
    page.wait_for_load_state("networkidle")
    figure = page.locator("a[data-figure='lead_time_hours']").first
    assert figure.inner_text().strip() == "2.0 h"  # the median of 3 h and 1 h
    screenshot(page, "e2e-40-delivery-team-lead-time")
    figure.click()
    page.wait_for_load_state("networkidle")
    assert "/delivery/commits/" in page.url and f"team={cast.team.pk}" in page.url
    table = page.locator("main table").inner_text()
    assert "aaaaaaaaaa" in table and "bbbbbbbbbb" in table
    assert "3.0 h" in table and "1.0 h" in table
    screenshot(page, "e2e-41-delivery-commits-behind-lead-time")
