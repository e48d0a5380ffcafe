"""In a real Chromium: an org admin opens a campaign of CALMS and SRE practices from the form, the
team lead answers one question of each and submits both, and the result page and the campaign
heatmap switch between the two frameworks; the team page shows both radars side by side."""

import pytest

from apps.assessments.models import Answer, Assessment, Campaign
from tests.browser import login, screenshot

from .conftest import questions_of

pytestmark = pytest.mark.browser


def _answer_first_question_and_submit(page, live_server, assessment):
    question = questions_of(assessment.framework)[0]
    page.goto(f"{live_server.url}/assessments/{assessment.pk}/")
    with page.expect_response(lambda r: f"/questions/{question.pk}/" in r.url):
        page.click(f"label[for='q{question.pk}-l3']")
    page.wait_for_selector(f"#status-{question.pk} >> text=Saved")
    page.click("[data-testid=submit-assessment]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/assessments/{assessment.pk}/result/")
    return question


def _settled_screenshot(page, name):
    page.wait_for_timeout(1200)  # let Chart.js finish its entry animation so the PNG shows the values
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, name)


def _radar_labels(page):
    page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('#calms-radar'))")
    return page.evaluate("() => Chart.getChart(document.querySelector('#calms-radar')).data.labels")


def test_admin_opens_both_frameworks_lead_answers_each_and_results_switch(
    page, browser, live_server, cast, calms, today
):
    # The org admin opens the campaign: CALMS is ticked already, SRE practices is added.
    login(page, live_server, cast.org_admin)
    page.goto(f"{live_server.url}/assessments/campaigns/new/")
    assert page.get_by_label("CALMS v1").is_checked() and not page.get_by_label("SRE practices v1").is_checked()
    page.fill("input[name=name]", "DevOps and SRE Q4")
    page.get_by_label("SRE practices v1").check()
    page.click("button:has-text('Open campaign')")
    page.wait_for_load_state("networkidle")
    campaign = Campaign.objects.get(name="DevOps and SRE Q4")
    assert page.url.endswith(f"/assessments/campaigns/{campaign.pk}/")
    assert [f.key for f in campaign.frameworks.all()] == ["calms", "sre"]
    assert campaign.assessments.count() == 4  # two teams x two frameworks
    assert page.locator("#campaign-teams tbody tr").count() == 2
    assert [t.strip() for t in page.locator("#campaign-teams th").all_text_contents()] == [
        "Team",
        "CALMS",
        "SRE practices",
    ]

    # The team lead answers one question of each framework and submits each.
    lead_context = browser.new_context(viewport={"width": 1366, "height": 900})
    lead_page = lead_context.new_page()
    try:
        login(lead_page, live_server, cast.lead)
        lead_page.goto(f"{live_server.url}/assessments/campaigns/{campaign.pk}/")
        starts = lead_page.locator("#campaign-teams tbody tr", has_text=cast.team.name).locator("a", has_text="Start")
        assert starts.count() == 2
        ours = {a.framework.key: a for a in campaign.assessments.filter(team=cast.team).select_related("framework")}
        calms_q = _answer_first_question_and_submit(lead_page, live_server, ours["calms"])
        sre_q = _answer_first_question_and_submit(lead_page, live_server, ours["sre"])
        assert Answer.objects.get(assessment=ours["calms"]).question == calms_q
        assert Answer.objects.get(assessment=ours["sre"]).question == sre_q
        for a in ours.values():
            a.refresh_from_db()
            assert a.status == Assessment.Status.SUBMITTED and a.answered_count == 1

        # The result page (on SRE after the last submit) switches to CALMS and back.
        assert _radar_labels(lead_page)[0] == "SLOs and SLIs"
        switcher = lead_page.locator("[data-testid=framework-switcher]")
        assert switcher.locator(".nav-link.active").inner_text() == "SRE practices"
        _settled_screenshot(lead_page, "campaign-frameworks-result-sre")
        switcher.locator("a", has_text="CALMS").click()
        lead_page.wait_for_load_state("networkidle")
        assert lead_page.url.endswith(f"/assessments/{ours['calms'].pk}/result/")
        assert _radar_labels(lead_page) == ["Culture", "Automation", "Lean", "Measurement", "Sharing"]
        assert lead_page.locator("[data-testid=overall-score]").inner_text() == "75"
        _settled_screenshot(lead_page, "campaign-frameworks-result-calms")
        lead_page.locator("[data-testid=framework-switcher] a", has_text="SRE practices").click()
        lead_page.wait_for_load_state("networkidle")
        assert lead_page.url.endswith(f"/assessments/{ours['sre'].pk}/result/")

        # The team page: both profiles side by side, each with its radar.
        lead_page.goto(f"{live_server.url}/teams/{cast.team.pk}/")
        lead_page.wait_for_function("() => window.Chart && document.querySelectorAll('#calms-panel canvas').length")
        labels = lead_page.evaluate(
            "() => [...document.querySelectorAll('#calms-panel canvas')].map(c => Chart.getChart(c).data.labels[0])"
        )
        assert labels == ["Culture", "SLOs and SLIs"]
        boxes = [lead_page.locator(f"#calms-panel [data-framework={k}]").bounding_box() for k in ("calms", "sre")]
        assert boxes[0]["y"] == boxes[1]["y"] and boxes[0]["x"] < boxes[1]["x"]  # side by side
        _settled_screenshot(lead_page, "campaign-frameworks-team-page")
    finally:
        lead_context.close()

    # The campaign heatmap switches too: CALMS first, then SRE practices with its eight dimensions.
    page.goto(f"{live_server.url}/assessments/campaigns/{campaign.pk}/")
    assert page.locator("[data-testid=heatmap-framework]").inner_text() == "CALMS v1"
    assert page.locator(".calms-heatmap thead th").count() == 2 + 5 + 1
    _settled_screenshot(page, "campaign-frameworks-campaign-calms")
    page.locator("#heatmap .nav-link", has_text="SRE practices").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("?framework=sre#heatmap")
    assert page.locator("[data-testid=heatmap-framework]").inner_text() == "SRE practices v1"
    assert page.locator(".calms-heatmap thead th").count() == 2 + 8 + 1
    page.wait_for_function("() => window.Chart && document.querySelector('canvas[data-chart]')")
    _settled_screenshot(page, "campaign-frameworks-campaign-sre")
