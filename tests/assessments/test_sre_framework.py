"""The SRE practices framework: shipped as data beside CALMS v1, run in campaigns, shown side by side."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils.html import escape

from apps.assessments import frameworks, selectors, services
from apps.assessments.models import Dimension, Framework, Question
from apps.core import permissions
from apps.scoring import inputs
from tests.roles import HTML_SHARED_READ, assert_matrix

from .conftest import answer_all, questions_of

pytestmark = pytest.mark.django_db

SRE_DIMENSIONS = [
    "slos",
    "error-budgets",
    "toil",
    "on-call",
    "incident-response",
    "postmortems",
    "release-engineering",
    "capacity-planning",
]


@pytest.fixture
def sre(db):
    services.framework_load_builtin(actor=permissions.SYSTEM)
    return Framework.objects.get(organization=None, key="sre", version=1)


@pytest.fixture
def sre_campaign(cast, sre, today):
    return services.campaign_open(
        organization=cast.org,
        frameworks=[sre],
        name="SRE now",
        opens_on=today - dt.timedelta(days=2),
        closes_on=today + dt.timedelta(days=10),
        teams=[cast.team, cast.other_team],
        actor=cast.org_admin,
    )


def test_shipped_as_data_with_eight_dimensions_of_five_to_eight_questions(sre):
    assert "sre_v1.yaml" in frameworks.BUILT_IN
    dims = list(Dimension.objects.filter(framework=sre).order_by("order"))
    assert [d.key for d in dims] == SRE_DIMENSIONS
    for d in dims:
        questions = list(Question.objects.filter(dimension=d))
        assert 5 <= len(questions) <= 8, d.key
        assert all(len(q.level_descriptors) == 5 and all(q.level_descriptors) for q in questions)
    # Loading again changes nothing.
    assert {r.action for r in services.framework_load_builtin(actor=permissions.SYSTEM)} == {"unchanged"}


def test_scored_like_calms_and_kept_out_of_the_team_score(cast, sre, sre_campaign, campaign, assessment):
    ours = sre_campaign.assessments.get(team=cast.team)
    # Level 3 everywhere: 75 on every dimension and overall.
    answer_all(ours, level=3)
    services.assessment_submit(assessment=ours, actor=cast.lead)
    ours.refresh_from_db()
    assert ours.overall_score == 75.0 and set(ours.dimension_scores) == set(SRE_DIMENSIONS)
    assert set(ours.dimension_scores.values()) == {75.0}
    # The team score's self-assessment reads CALMS only: no CALMS submitted yet, so none.
    facts = inputs.gather(team_ids=[cast.team.pk], as_of=dt.date.today())[cast.team.pk]
    assert facts["assessment"] is None
    answer_all(assessment, level=1)
    services.assessment_submit(assessment=assessment, actor=cast.lead)
    facts = inputs.gather(team_ids=[cast.team.pk], as_of=dt.date.today())[cast.team.pk]
    assert facts["assessment"]["overall"] == 25.0 and "culture" in facts["assessment"]["dimensions"]
    assert selectors.latest_submitted_scores(team_ids=[cast.team.pk], family="sre")[cast.team.pk]["overall"] == 75.0


def test_campaign_results_heatmap_and_team_side_by_side(client_for, cast, sre_campaign, campaign, assessment):
    ours = sre_campaign.assessments.get(team=cast.team)
    answer_all(ours, level=2)
    services.assessment_submit(assessment=ours, actor=cast.lead)
    answer_all(assessment, level=4)
    services.assessment_submit(assessment=assessment, actor=cast.lead)

    url = reverse("assessments:campaign", args=[sre_campaign.pk])
    page = client_for("leader").get(url).content.decode()
    assert "Error budgets and policies" in page and "Capacity planning" in page  # heatmap columns
    result = client_for("member").get(reverse("assessments:result", args=[ours.pk]))
    assert result.status_code == 200 and "On-call health" in result.content.decode()
    assert_matrix(client_for, reverse("assessments:result", args=[ours.pk]), HTML_SHARED_READ)

    team_page = client_for("other_member").get(cast.team.get_absolute_url()).content.decode()
    # DevOps (CALMS) first, then SRE practices, each with its own dimensions.
    assert team_page.index('data-framework="calms"') < team_page.index('data-framework="sre"')
    assert "Culture 100" in team_page and "Toil 50" in team_page

    history = client_for("member").get(reverse("assessments:team_history", args=[cast.team.pk]))
    families = history.context["families"]
    assert [f.key for f in families] == ["calms", "sre"]
    assert [k for k, _ in families[1].dimensions] == SRE_DIMENSIONS
    assert "Release engineering" in history.content.decode()


def test_questions_are_answered_in_the_same_form(client_for, cast, sre_campaign):
    ours = sre_campaign.assessments.get(team=cast.team)
    question = questions_of(ours.framework)[0]
    page = client_for("member").get(ours.get_absolute_url()).content.decode()
    assert escape(question.text) in page and "SLOs and SLIs" in page
