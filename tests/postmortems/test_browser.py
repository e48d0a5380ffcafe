"""A postmortem written, reviewed and published through a real Chromium."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.postmortems.models import Postmortem
from tests.browser import login, screenshot
from tests.postmortems.factories import IncidentFactory

pytestmark = pytest.mark.browser


def sign_out(page):
    page.click("header .dropdown-toggle")
    page.click("header form[action$='/accounts/logout/'] button")
    page.wait_for_load_state("networkidle")


def test_write_review_publish(page, live_server, cast):
    start = timezone.now().replace(microsecond=0) - dt.timedelta(days=1)
    incident = IncidentFactory(
        team=cast.team,
        severity=2,
        title="Checkout 500s",
        started_at=start,
        detected_at=None,
        mitigated_at=None,
        resolved_at=start + dt.timedelta(hours=1),
    )
    incident.services.add(cast.service)

    # The member writes it.
    login(page, live_server, cast.member)
    page.goto(f"{live_server.url}/postmortems/incidents/{incident.pk}/")
    page.click("text=Write the postmortem")
    page.wait_for_load_state("networkidle")
    assert "/edit/" in page.url
    page.fill("#id_summary", "Checkout returned **500s** for an hour after a pool change.")
    page.fill("#id_impact", "About 4,000 customers could not pay.")
    page.fill("#id_root_causes", "The connection pool was sized per process.")
    page.fill("#id_resolution", "Rolled back the deploy.")
    page.fill("#id_tags", "database, connection-pool")
    page.select_option("#id_reviewers", [str(cast.lead.pk)])
    page.fill("#id_timeline-0-at", (start + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_timeline-0-description", "Burn-rate alert pages the on-call.")
    page.select_option("#id_factors-0-category", label="Configuration")
    page.fill("#id_factors-0-description", "Pool size multiplied by workers.")
    screenshot(page, "postmortems-edit")
    page.click("button[name=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".badge", has_text="In review").first.is_visible()
    assert page.locator("#section-summary strong", has_text="500s").is_visible()
    pm = Postmortem.objects.get(incident=incident)
    assert pm.status == "in_review" and pm.timeline.count() == 1 and pm.factors.count() == 1
    # Publishing waits for the reviewer.
    assert page.locator("button", has_text="Publish").is_disabled()
    sign_out(page)

    # The lead, a named reviewer, approves with a comment.
    login(page, live_server, cast.lead)
    page.goto(f"{live_server.url}/postmortems/{pm.pk}/")
    page.check("input[name=decision][value=approved]")
    page.fill("textarea[name=comment]", "Clear and blameless. Ship it.")
    screenshot(page, "postmortems-review")
    page.click("text=Send review")
    page.wait_for_load_state("networkidle")
    assert page.locator(".alert", has_text="Approved").is_visible()

    # Now publishable: the lead publishes.
    page.click("button:has-text('Publish')")
    page.wait_for_load_state("networkidle")
    assert page.locator(".badge", has_text="Published").first.is_visible()
    screenshot(page, "postmortems-published")
    pm.refresh_from_db()
    assert pm.status == "published" and pm.published_at is not None
    sign_out(page)

    # Someone of another team finds it in the library, highlighted.
    login(page, live_server, cast.other_member)
    page.goto(f"{live_server.url}/postmortems/?q=pool")
    page.wait_for_load_state("networkidle")
    assert page.locator("#pm-results mark").first.is_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "postmortems-library-narrow")
    page.click("#pm-results a.search-result")
    page.wait_for_load_state("networkidle")
    assert page.locator("#pm-title").inner_text() == pm.title
