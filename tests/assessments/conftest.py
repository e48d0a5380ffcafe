"""Fixtures of the assessments tests: the built-in CALMS v1, a small hand-made framework, open campaigns."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.assessments import services
from apps.assessments.models import Framework
from apps.core import permissions


@pytest.fixture
def calms(db):
    """CALMS v1, installed the way the migration and `load_framework` do (idempotent)."""
    services.framework_load_builtin(actor=permissions.SYSTEM)
    return Framework.objects.get(organization=None, key="calms", version=1)


SMALL = {
    "key": "mini",
    "version": 1,
    "name": "Mini",
    "description": "Two dimensions for hand-checked maths.",
    "dimensions": [
        {
            "key": "culture",
            "name": "Culture",
            "weight": 2,
            "questions": [
                {"key": "c1", "text": "C1?", "weight": 1, "levels": ["a", "b", "c", "d", "e"]},
                {"key": "c2", "text": "C2?", "weight": 3, "levels": ["a", "b", "c", "d", "e"]},
                {"key": "c3", "text": "C3?", "weight": 2, "levels": ["a", "b", "c", "d", "e"]},
            ],
        },
        {
            "key": "automation",
            "name": "Automation",
            "weight": 1,
            "questions": [
                {"key": "a1", "text": "A1?", "weight": 1, "levels": ["a", "b", "c", "d", "e"]},
                {"key": "a2", "text": "A2?", "weight": 1, "levels": ["a", "b", "c", "d", "e"]},
            ],
        },
        {
            "key": "sharing",
            "name": "Sharing",
            "weight": 1.5,
            "questions": [{"key": "s1", "text": "S1?", "weight": 1, "levels": ["a", "b", "c", "d", "e"]}],
        },
    ],
}


@pytest.fixture
def mini(db):
    return services.framework_load(data=SMALL, actor=permissions.SYSTEM).framework


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def campaign(cast, calms, today):
    """An open CALMS v1 campaign with `team` and `other_team` in scope."""
    return services.campaign_open(
        organization=cast.org,
        frameworks=[calms],
        name="CALMS now",
        opens_on=today - dt.timedelta(days=3),
        closes_on=today + dt.timedelta(days=10),
        teams=[cast.team, cast.other_team],
        actor=cast.org_admin,
    )


@pytest.fixture
def assessment(campaign, cast):
    return campaign.assessments.get(team=cast.team)


@pytest.fixture
def other_assessment(campaign, cast):
    return campaign.assessments.get(team=cast.other_team)


def questions_of(framework):
    from apps.assessments.models import Question

    return list(Question.objects.filter(dimension__framework=framework).select_related("dimension"))


def answer_all(assessment, level=2, by=None, today=None):
    items = [services.AnswerInput(question=q, level=level) for q in questions_of(assessment.framework)]
    return services.answers_upsert(assessment=assessment, items=items, actor=by or permissions.SYSTEM, today=today)
