"""Every bad write is a clear error and writes nothing."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from apps.assessments import services
from apps.assessments.models import Answer, Question
from apps.core import permissions

from .conftest import answer_all, questions_of

pytestmark = pytest.mark.django_db


def snapshot(assessment):
    assessment.refresh_from_db()
    rows = list(
        Answer.objects.filter(assessment=assessment).values_list("question_id", "level", "not_applicable", "comment")
    )
    return sorted(rows), assessment.status, assessment.overall_score, assessment.answered_count


@pytest.mark.parametrize("level", [5, -1, 17, "3.5", "three", True])
def test_level_outside_the_range_is_rejected(assessment, level):
    q0, q1 = questions_of(assessment.framework)[:2]
    services.answer_save(assessment=assessment, question=q1, level=1, actor=permissions.SYSTEM)
    before = snapshot(assessment)
    with pytest.raises(ValidationError) as exc:
        services.answers_upsert(
            assessment=assessment,
            items=[services.AnswerInput(question=q1, level=2), services.AnswerInput(question=q0, level=level)],
            actor=permissions.SYSTEM,
        )
    assert list(exc.value.message_dict) == ["answers[1].level"]
    assert snapshot(assessment) == before  # the valid first item was not written either


def test_level_and_na_together_is_rejected(assessment):
    q0 = questions_of(assessment.framework)[0]
    with pytest.raises(ValidationError, match="level or N/A, not both"):
        services.answer_save(assessment=assessment, question=q0, level=2, not_applicable=True, actor=permissions.SYSTEM)
    assert not Answer.objects.exists()


def test_answering_a_closed_campaign_is_rejected(assessment):
    q0 = questions_of(assessment.framework)[0]
    after = assessment.campaign.closes_on + dt.timedelta(days=1)
    with pytest.raises(ValidationError, match="closed on"):
        services.answer_save(assessment=assessment, question=q0, level=2, today=after, actor=permissions.SYSTEM)
    before_open = assessment.campaign.opens_on - dt.timedelta(days=1)
    with pytest.raises(ValidationError, match="cannot be answered yet"):
        services.answer_save(assessment=assessment, question=q0, level=2, today=before_open, actor=permissions.SYSTEM)
    assert not Answer.objects.exists()


def test_submitting_after_close_is_rejected(assessment, cast):
    answer_all(assessment, level=2)
    before = snapshot(assessment)
    with pytest.raises(ValidationError, match="closed on"):
        services.assessment_submit(
            assessment=assessment, actor=cast.lead, today=assessment.campaign.closes_on + dt.timedelta(days=1)
        )
    assert snapshot(assessment) == before


def test_answering_a_submitted_assessment_is_rejected(assessment, cast):
    answer_all(assessment, level=2)
    services.assessment_submit(assessment=assessment, actor=cast.lead)
    before = snapshot(assessment)
    q0 = questions_of(assessment.framework)[0]
    with pytest.raises(ValidationError, match="submitted and read-only"):
        services.answer_save(assessment=assessment, question=q0, level=4, actor=permissions.SYSTEM)
    assert snapshot(assessment) == before


def test_question_from_another_framework_version_is_rejected(assessment, calms):
    v2 = services.framework_new_version(framework=calms, actor=permissions.SYSTEM)
    foreign_q = Question.objects.filter(dimension__framework=v2).first()
    own_q = questions_of(assessment.framework)[0]
    with pytest.raises(ValidationError) as exc:
        services.answers_upsert(
            assessment=assessment,
            items=[services.AnswerInput(question=own_q, level=2), services.AnswerInput(question=foreign_q, level=2)],
            actor=permissions.SYSTEM,
        )
    message = exc.value.message_dict["answers[1].question"][0]
    assert "CALMS v2" in message and "CALMS v1" in message
    assert not Answer.objects.exists()


def test_unknown_question_duplicate_items_bad_url_and_long_comment(assessment):
    own = questions_of(assessment.framework)
    with pytest.raises(ValidationError) as exc:
        services.answers_upsert(
            assessment=assessment,
            items=[
                services.AnswerInput(question=999999, level=1),
                services.AnswerInput(question=own[0], level=1),
                services.AnswerInput(question=own[0], level=2),
                services.AnswerInput(question=own[1], evidence_url="javascript:alert(1)"),
                services.AnswerInput(question=own[2], comment="x" * 4001),
            ],
            actor=permissions.SYSTEM,
        )
    errors = exc.value.message_dict
    assert "does not exist" in errors["answers[0].question"][0]
    assert "more than once" in errors["answers[2].question"][0]
    assert "http(s) URL" in errors["answers[3].evidence_url"][0]
    assert "longer than 4000" in errors["answers[4].comment"][0]
    assert not Answer.objects.exists()


def test_empty_request_is_rejected(assessment):
    with pytest.raises(ValidationError, match="at least one answer"):
        services.answers_upsert(assessment=assessment, items=[], actor=permissions.SYSTEM)


def test_same_write_twice_leaves_the_same_rows(assessment, cast):
    q0, q1 = questions_of(assessment.framework)[:2]
    items = [
        services.AnswerInput(question=q0, level=3, comment="c"),
        services.AnswerInput(question=q1, not_applicable=True),
    ]
    services.answers_upsert(assessment=assessment, items=items, actor=cast.member)
    first = list(Answer.objects.order_by("pk").values("pk", "level", "not_applicable", "comment", "updated_at"))
    services.answers_upsert(assessment=assessment, items=items, actor=cast.lead)
    second = list(Answer.objects.order_by("pk").values("pk", "level", "not_applicable", "comment", "updated_at"))
    assert first == second  # same rows, untouched (not even re-saved)
    assert set(Answer.objects.values_list("answered_by", flat=True)) == {cast.member.pk}
