"""The demo data: two submitted past CALMS cycles, a submitted SRE practices cycle and a current
campaign holding both frameworks with mixed progress, idempotent."""

import random

import pytest

from apps.assessments import demo as assessments_demo
from apps.assessments.models import Answer, Assessment, Campaign
from apps.teams import demo as teams_demo

pytestmark = pytest.mark.django_db


def _seed():
    context = {"rng": random.Random(20261122), "log": lambda message: None}
    teams_demo.seed(context)
    assessments_demo.seed(context)
    return context


def test_demo_cycles_and_idempotency():
    context = _seed()
    org = context["organization"]
    n_teams = len(context["teams"])
    campaigns = list(Campaign.objects.filter(organization=org, frameworks__key="calms").order_by("opens_on"))
    assert len(campaigns) == 3
    [sre] = Campaign.objects.filter(organization=org, frameworks__key="sre").exclude(frameworks__key="calms")
    assert sre.opens_on == campaigns[1].opens_on and sre.name.startswith("SRE ")
    assert set(sre.assessments.values_list("status", flat=True)) == {"submitted"}
    assert sre.assessments.count() == n_teams
    past, current = campaigns[:2], campaigns[2]
    for campaign in past:
        assert campaign.current_phase == "closed"
        assert [f.key for f in campaign.frameworks.all()] == ["calms"]
        assert set(campaign.assessments.values_list("status", flat=True)) == {"submitted"}
        assert campaign.assessments.count() == n_teams
    # The current campaign holds both frameworks: a CALMS and an SRE assessment per team, answered in part.
    assert current.current_phase == "open" and current.name.startswith("CALMS and SRE ")
    assert [f.key for f in current.frameworks.all()] == ["calms", "sre"]
    assert current.assessments.count() == 2 * n_teams
    for key in ("calms", "sre"):
        mine = current.assessments.filter(framework__key=key)
        assert mine.count() == n_teams
        assert set(mine.values_list("status", flat=True)) == {"not_started", "in_progress", "submitted"}
        assert mine.get(team__slug="checkout").status == "in_progress"
        assert Answer.objects.filter(assessment__in=mine).exists()
    # Submitted past results carry scores, dated inside their campaign.
    first = past[0].assessments.first()
    assert first.overall_score is not None and first.submitted_at.date() <= past[0].closes_on
    counts = (Campaign.objects.count(), Assessment.objects.count(), Answer.objects.count())
    scores = sorted(Assessment.objects.values_list("pk", "overall_score"))
    _seed()
    assert (Campaign.objects.count(), Assessment.objects.count(), Answer.objects.count()) == counts
    assert sorted(Assessment.objects.values_list("pk", "overall_score")) == scores
