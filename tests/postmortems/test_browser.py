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
    # The incident's times open the timeline, above the rows the authors write.
    resolved = start + dt.timedelta(hours=1)
    assert [t.strip() for t in page.locator(".timeline-incident-times li").all_inner_texts()] == [
        f"{start:%b} {start.day} {start:%H:%M} Incident started: users affected",
        f"{resolved:%b} {resolved.day} {resolved:%H:%M} Resolved",
    ]
    page.fill(
        "#id_summary",
        "Checkout returned **500s** for an hour after a pool change.\n\n"
        "| pool | workers |\n|---|---|\n| 10 | 8 |\n\n```\nPOOL_SIZE=10\n```",
    )
    page.fill("#id_impact", "About 4,000 customers could not pay.")
    page.fill("#id_root_causes", "The connection pool was sized per process.")
    page.fill("#id_resolution", "Rolled back the deploy.")
    page.fill("#id_tags", "database, <b>bold</b>")
    # The reviewer picker searches the organization only: the other tenant's admin is not offered.
    page.fill("#id_reviewers", "outsider")
    page.locator("#id_reviewers ~ [data-picker-results]", has_text="No one in Acme matches").wait_for()
    page.fill("#id_reviewers", "lea")
    results = page.locator("#id_reviewers ~ [data-picker-results] [data-pick]")
    results.first.wait_for()
    assert sorted(results.all_inner_texts()) == ["Lead lead@example.test", "Leader leader@example.test"]
    page.click(f"#id_reviewers ~ [data-picker-results] [data-pick='{cast.lead.pk}']")
    chips = page.locator("[data-people-picker][data-name=reviewers] [data-person]")
    assert page.locator("[data-people-picker][data-name=authors] [data-person]").all_inner_texts() == ["Member"]
    assert chips.all_inner_texts() == ["Lead"] and not results.count()  # picked; the list closed
    page.fill("#id_timeline-0-at", (start + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_timeline-0-description", "Burn-rate alert pages the on-call.")
    page.select_option("#id_factors-0-category", label="Configuration")
    page.fill("#id_factors-0-description", "Pool size multiplied by workers.")
    screenshot(page, "postmortems-edit")
    page.click("button[name=submit]")
    page.wait_for_load_state("networkidle")
    # A tag breaking the rule is an error beside the field, not a rewritten tag; nothing typed is lost.
    error = page.locator("#id_tags ~ .invalid-feedback")
    assert "“<b>bold</b>” is not a valid tag" in error.inner_text()
    assert chips.all_inner_texts() == ["Lead"]  # the reviewer is still chosen
    assert page.input_value("#id_timeline-0-description") == "Burn-rate alert pages the on-call."
    assert Postmortem.objects.get(incident=incident).tags.count() == 0
    screenshot(page, "postmortems-edit-tag-error")
    page.fill("#id_tags", "database, Connection-Pool")
    page.click("button[name=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".badge", has_text="In review").first.is_visible()
    assert page.locator("#section-summary strong", has_text="500s").is_visible()
    pm = Postmortem.objects.get(incident=incident)
    assert pm.status == "in_review" and pm.timeline.count() == 1 and pm.factors.count() == 1
    assert sorted(pm.tags.values_list("name", flat=True)) == ["connection-pool", "database"]
    assert [r.reviewer for r in pm.reviews.all()] == [cast.lead]
    # The timeline: the incident's start, the written entry, the resolution.
    rows = page.locator("ol.timeline > li").all_inner_texts()
    assert len(rows) == 3
    assert "Incident started" in rows[0] and "Burn-rate alert" in rows[1] and "Resolved" in rows[2]
    # Markdown tables and code blocks are styled: cell borders, a dark code block.
    cell = page.locator("#section-summary td").first
    assert cell.evaluate("e => getComputedStyle(e).borderTopWidth") == "1px"
    assert page.locator("#section-summary pre").evaluate("e => getComputedStyle(e).backgroundColor") == (
        "rgb(17, 24, 39)"
    )
    screenshot(page, "postmortems-in-review")
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
