"""Autosave refusals are visible: a bad evidence link and an over-long comment say "Not saved"
beside the question and under the field, keep what was typed, and clear once fixed."""

import pytest

from apps.assessments.models import Answer
from tests.browser import login, screenshot

from .conftest import questions_of

pytestmark = pytest.mark.browser


def test_bad_link_and_long_comment_are_errors_not_silent_losses(page, live_server, cast, assessment):
    question = questions_of(assessment.framework)[0]
    qid = question.pk
    login(page, live_server, cast.member)
    page.goto(f"{live_server.url}/assessments/{assessment.pk}/")
    status = page.locator(f"#status-{qid}")

    # A link without a scheme: the browser's own URL check used to stop the autosave silently.
    with page.expect_response(lambda r: f"/questions/{qid}/" in r.url):
        page.fill(f"#q{qid}-evidence", "wiki.example/runbook")
        page.press(f"#q{qid}-evidence", "Tab")
    assert "Not saved" in status.inner_text() and "http(s) URL" in status.inner_text()
    assert "http(s) URL" in page.inner_text(f"#q{qid}-evidence-error")
    # A red border (Bootstrap's invalid colour, once the colour transition has run).
    page.wait_for_function(
        "(id) => getComputedStyle(document.getElementById(id)).borderTopColor === 'rgb(220, 53, 69)'",
        arg=f"q{qid}-evidence",
    )
    assert page.input_value(f"#q{qid}-evidence") == "wiki.example/runbook"  # what was typed stays

    with page.expect_response(lambda r: f"/questions/{qid}/" in r.url):
        page.fill(f"#q{qid}-evidence", "https://wiki.example/runbook")
        page.press(f"#q{qid}-evidence", "Tab")
    assert "Saved" in status.inner_text() and "Not saved" not in status.inner_text()
    assert page.inner_text(f"#q{qid}-evidence-error") == ""

    # 4,001 characters: nothing cuts them; the counter and the refusal say so.
    long = "x" * 4001
    with page.expect_response(lambda r: f"/questions/{qid}/" in r.url):
        page.fill(f"#q{qid}-comment", long)
    assert page.input_value(f"#q{qid}-comment") == long
    assert page.inner_text(f"#q{qid}-comment-count") == "4,001 / 4,000"
    assert "longer than 4000 characters (4,001)" in status.inner_text()
    assert "longer than 4000" in page.inner_text(f"#q{qid}-comment-error")
    screenshot(page, "assessments-answer-errors")
    answer = Answer.objects.get(assessment=assessment, question=question)
    assert answer.evidence_url == "https://wiki.example/runbook" and answer.comment == ""

    with page.expect_response(lambda r: f"/questions/{qid}/" in r.url):
        page.fill(f"#q{qid}-comment", "x" * 4000)
    assert "Not saved" not in status.inner_text() and page.inner_text(f"#q{qid}-comment-error") == ""
    answer.refresh_from_db()
    assert len(answer.comment) == 4000
