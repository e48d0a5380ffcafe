"""The CALMS maths of DESIGN.md on hand-checked numbers."""

import datetime as dt
from decimal import Decimal

import pytest

from apps.assessments import calms_maths as scoring
from apps.assessments import services
from apps.assessments.calms_maths import DimensionInput, QuestionInput
from apps.assessments.models import Question
from apps.core import permissions

from .conftest import questions_of


def q(weight, level):
    return QuestionInput(question_id=0, weight=weight, level=level)


def test_dimension_score_is_weighted_mean_times_25():
    # (1*4 + 3*2 + 2*1) / (1+3+2) = 12/6 = 2.0 -> 50
    assert scoring.dimension_score([q(1, 4), q(3, 2), q(2, 1)]) == 50.0
    # (1*3 + 1*4) / 2 = 3.5 -> 87.5
    assert scoring.dimension_score([q(1, 3), q(1, 4)]) == 87.5


def test_na_and_unanswered_questions_are_left_out_of_the_mean_and_the_weights():
    # Only the weight-1 level-4 question counts: 4 * 25 = 100 (not diluted by the weight-3 N/A).
    assert scoring.dimension_score([q(1, 4), q(3, None), q(2, None)]) == 100.0


def test_empty_dimension_has_no_score_not_zero():
    assert scoring.dimension_score([q(1, None), q(2, None)]) is None
    assert scoring.dimension_score([]) is None


def test_level_zero_counts_as_zero():
    assert scoring.dimension_score([q(1, 0), q(1, 4)]) == 50.0


def test_overall_is_weighted_mean_of_scored_dimensions():
    dims = [
        DimensionInput("culture", Decimal("2"), (q(1, 4), q(3, 2), q(2, 1))),  # 50
        DimensionInput("automation", Decimal("1"), (q(1, 3), q(1, 4))),  # 87.5
        DimensionInput("sharing", Decimal("1.5"), (q(1, None),)),  # None: left out of the overall
    ]
    overall, by_dim = scoring.score(dims)
    # (2*50 + 1*87.5) / 3 = 62.5
    assert overall == 62.5
    assert by_dim == {"culture": 50.0, "automation": 87.5, "sharing": None}


def test_everything_na_gives_no_overall():
    overall, by_dim = scoring.score([DimensionInput("culture", 1, (q(1, None),))])
    assert overall is None and by_dim == {"culture": None}


def test_rounding_is_one_decimal_from_unrounded_parts():
    # culture (1*1 + 1*1 + 1*2)/3*25 = 33.333..; automation 25; weights 1 and 2:
    # (33.333 + 50) / 3 = 27.777... -> 27.8
    dims = [
        DimensionInput("culture", 1, (q(1, 1), q(1, 1), q(1, 2))),
        DimensionInput("automation", 2, (q(1, 1),)),
    ]
    overall, by_dim = scoring.score(dims)
    assert by_dim["culture"] == 33.3
    assert overall == 27.8


@pytest.mark.django_db
def test_stored_scores_on_submit_match_the_hand_calculation(cast, mini, today):
    campaign = services.campaign_open(
        organization=cast.org,
        frameworks=[mini],
        name="Mini",
        opens_on=today,
        closes_on=today + dt.timedelta(days=1),
        teams=[cast.team],
        actor=permissions.SYSTEM,
    )
    assessment = campaign.assessments.get()
    qs = {x.key: x for x in questions_of(mini)}
    services.answers_upsert(
        assessment=assessment,
        items=[
            services.AnswerInput(question=qs["c1"], level=4),
            services.AnswerInput(question=qs["c2"], level=2),
            services.AnswerInput(question=qs["c3"], level=1),
            services.AnswerInput(question=qs["a1"], level=3),
            services.AnswerInput(question=qs["a2"], not_applicable=True),
            # s1 left open: Sharing has no score.
        ],
        actor=permissions.SYSTEM,
    )
    assessment = services.assessment_submit(assessment=assessment, actor=cast.lead)
    # culture: (4*1 + 2*3 + 1*2)/6 = 2 -> 50; automation: a1 only -> 75; sharing: None.
    # overall: (2*50 + 1*75) / 3 = 58.33 -> 58.3
    assert assessment.dimension_scores == {"culture": 50.0, "automation": 75.0, "sharing": None}
    assert assessment.overall_score == 58.3
    assert assessment.answered_count == 5
    assert assessment.question_count == 6
    assert assessment.status == "submitted"


@pytest.mark.django_db
def test_scores_recomputed_as_answers_change(assessment):
    q0 = Question.objects.filter(dimension__framework=assessment.framework, dimension__key="lean").first()
    services.answer_save(assessment=assessment, question=q0, level=4, actor=permissions.SYSTEM)
    assessment.refresh_from_db()
    assert assessment.dimension_scores["lean"] == 100.0
    assert assessment.dimension_scores["culture"] is None
    assert assessment.overall_score == 100.0
    services.answer_save(assessment=assessment, question=q0, level=1, actor=permissions.SYSTEM)
    assessment.refresh_from_db()
    assert assessment.dimension_scores["lean"] == 25.0
    services.answer_save(assessment=assessment, question=q0, not_applicable=True, actor=permissions.SYSTEM)
    assessment.refresh_from_db()
    assert assessment.dimension_scores["lean"] is None and assessment.overall_score is None
    assert assessment.answered_count == 1  # N/A counts as answered for progress
