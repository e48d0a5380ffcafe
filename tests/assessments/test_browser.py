"""A team fills in its CALMS assessment in a real Chromium, the lead submits, the result shows the radar."""

import datetime as dt

import pytest

from apps.assessments import services
from apps.assessments.models import Answer, Assessment
from apps.core import permissions
from tests.browser import login, screenshot

from .conftest import answer_all, questions_of

pytestmark = pytest.mark.browser


def _previous_cycle(cast, calms, today):
    start = today - dt.timedelta(days=90)
    past = services.campaign_open(
        organization=cast.org,
        frameworks=[calms],
        name="Last quarter",
        opens_on=start,
        closes_on=start + dt.timedelta(days=14),
        teams=[cast.team],
        today=start,
        actor=permissions.SYSTEM,
    )
    previous = past.assessments.get()
    answer_all(previous, level=1, today=start)
    services.assessment_submit(assessment=previous, today=start, actor=permissions.SYSTEM)


def test_fill_in_submit_and_see_the_radar(page, browser, live_server, cast, calms, today):
    _previous_cycle(cast, calms, today)
    campaign = services.campaign_open(
        organization=cast.org,
        frameworks=[calms],
        name="This quarter",
        opens_on=today - dt.timedelta(days=1),
        closes_on=today + dt.timedelta(days=14),
        teams=[cast.team, cast.other_team],
        actor=permissions.SYSTEM,
    )
    assessment = campaign.assessments.get(team=cast.team)
    questions = questions_of(calms)

    # A member fills it in, dimension by dimension; every click autosaves through htmx.
    login(page, live_server, cast.member)
    page.goto(f"{live_server.url}/assessments/")
    page.click(f"a[href='/assessments/{assessment.pk}/']")
    page.wait_for_load_state("networkidle")
    dimensions = ["culture", "automation", "lean", "measurement", "sharing"]
    answered = 0
    for key in dimensions:
        assert page.locator(".dimension-nav .active").inner_text().lower().startswith(key)
        for question in [q for q in questions if q.dimension.key == key]:
            level = 3 if question.order % 2 == 0 else 2
            target = f"q{question.pk}-na" if question.key == "database-changes" else f"q{question.pk}-l{level}"
            with page.expect_response(lambda r: f"/questions/{question.pk}/" in r.url):
                page.click(f"label[for='{target}']")
            answered += 1
            page.wait_for_selector(f"#status-{question.pk} >> text=Saved")
        comment_q = next(q for q in questions if q.dimension.key == key)
        with page.expect_response(lambda r: f"/questions/{comment_q.pk}/" in r.url):
            page.fill(f"#q{comment_q.pk}-comment", f"Evidence for {key} is in the wiki.")
        assert page.locator("[data-testid=answered-count]").inner_text() == str(answered)
        if key != "sharing":
            page.click(f"a.btn[href='?d={dimensions[dimensions.index(key) + 1]}']")
            page.wait_for_load_state("networkidle")
    assert page.locator("#overall-progress").inner_text().find("32 of 32 answered") >= 0
    screenshot(page, "assessments-fill-complete")
    assert page.locator("[data-testid=submit-assessment]").count() == 0  # members do not submit
    assert Answer.objects.filter(assessment=assessment).count() == 32
    assert Answer.objects.get(assessment=assessment, question__key="shared-ownership").comment == (
        "Evidence for culture is in the wiki."
    )

    # The team lead submits and lands on the result page with the radar next to last quarter's.
    lead_context = browser.new_context(viewport={"width": 1366, "height": 900})
    lead_page = lead_context.new_page()
    try:
        login(lead_page, live_server, cast.lead)
        lead_page.goto(f"{live_server.url}/assessments/{assessment.pk}/?d=sharing")
        lead_page.click("[data-testid=submit-assessment]")
        lead_page.wait_for_load_state("networkidle")
        assert lead_page.url.endswith(f"/assessments/{assessment.pk}/result/")
        lead_page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('#calms-radar'))")
        datasets = lead_page.evaluate(
            "() => Chart.getChart(document.querySelector('#calms-radar')).data.datasets.map(d => d.label)"
        )
        assert datasets == ["This quarter", "Last quarter"]
        assert lead_page.locator("text=What to do next").count() == 1
        assessment.refresh_from_db()
        assert assessment.status == Assessment.Status.SUBMITTED
        assert lead_page.locator("[data-testid=overall-score]").inner_text() == f"{assessment.overall_score:.0f}"
        screenshot(lead_page, "assessments-result")
    finally:
        lead_context.close()
