"""Campaigns, drafts, submit and reopen, results and the selectors other apps use."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.assessments import selectors, services
from apps.assessments.models import Answer, Assessment, Campaign, Question
from apps.core import permissions
from tests.factories import TeamFactory

from .conftest import answer_all, questions_of

pytestmark = pytest.mark.django_db


def test_opening_a_campaign_gives_each_team_in_scope_an_assessment(campaign, cast, calms):
    rows = list(campaign.assessments.order_by("team__name").values_list("team__name", "status", "question_count"))
    assert rows == [("Checkout", "not_started", 32), ("Search", "not_started", 32)]
    assert set(campaign.assessments.values_list("framework_id", flat=True)) == {calms.pk}


def test_opening_twice_with_same_settings_is_idempotent_and_adds_missing_teams(campaign, cast, calms):
    third = TeamFactory(organization=cast.org, name="Third", slug="third")
    again = services.campaign_open(
        organization=cast.org,
        frameworks=[calms],
        name="CALMS now",
        opens_on=campaign.opens_on,
        closes_on=campaign.closes_on,
        teams=[cast.team, third],
        actor=permissions.SYSTEM,
    )
    assert again.pk == campaign.pk
    assert Campaign.objects.count() == 1
    assert campaign.assessments.count() == 3


def test_same_name_with_other_dates_is_an_error(campaign, cast, calms):
    with pytest.raises(ValidationError) as exc:
        services.campaign_open(
            organization=cast.org,
            frameworks=[calms],
            name="calms NOW",
            opens_on=campaign.opens_on,
            closes_on=campaign.closes_on + dt.timedelta(days=1),
            teams=[cast.team],
            actor=permissions.SYSTEM,
        )
    assert "already exists" in str(exc.value)


def test_campaign_rejects_teams_of_another_org_and_bad_dates(cast, calms, today):
    foreign = TeamFactory(organization=cast.other_org, name="Foreign", slug="foreign")
    with pytest.raises(ValidationError, match="Not teams of Acme: Foreign"):
        services.campaign_open(
            organization=cast.org,
            frameworks=[calms],
            name="X",
            opens_on=today,
            closes_on=today,
            teams=[cast.team, foreign],
            actor=permissions.SYSTEM,
        )
    with pytest.raises(ValidationError, match="on or after the open date"):
        services.campaign_open(
            organization=cast.org,
            frameworks=[calms],
            name="X",
            opens_on=today,
            closes_on=today - dt.timedelta(days=1),
            teams=[cast.team],
            actor=permissions.SYSTEM,
        )
    assert not Campaign.objects.exists() and not Assessment.objects.exists()


def test_status_moves_from_not_started_to_in_progress_to_submitted(assessment, cast):
    assert assessment.status == "not_started"
    first = questions_of(assessment.framework)[0]
    services.answer_save(assessment=assessment, question=first, level=3, comment="ok", actor=cast.member)
    assessment.refresh_from_db()
    assert (assessment.status, assessment.answered_count, assessment.progress_percent) == ("in_progress", 1, 3)
    answer = Answer.objects.get(assessment=assessment)
    assert (answer.level, answer.comment, answer.answered_by) == (3, "ok", cast.member)
    done = services.assessment_submit(assessment=assessment, actor=cast.lead)
    assert done.status == "submitted" and done.submitted_by == cast.lead and done.submitted_at is not None


def test_a_partial_answer_keeps_the_other_fields(assessment):
    q0 = questions_of(assessment.framework)[0]
    services.answer_save(
        assessment=assessment,
        question=q0,
        level=2,
        comment="first",
        evidence_url="https://x.test/a",
        actor=permissions.SYSTEM,
    )
    services.answer_save(assessment=assessment, question=q0, comment="second", actor=permissions.SYSTEM)
    answer = Answer.objects.get(assessment=assessment, question=q0)
    assert (answer.level, answer.comment, answer.evidence_url) == (2, "second", "https://x.test/a")
    # Choosing N/A clears the level; choosing a level clears N/A.
    services.answer_save(assessment=assessment, question=q0, not_applicable=True, actor=permissions.SYSTEM)
    answer.refresh_from_db()
    assert (answer.level, answer.not_applicable) == (None, True)
    services.answer_save(assessment=assessment, question=q0, level=4, actor=permissions.SYSTEM)
    answer.refresh_from_db()
    assert (answer.level, answer.not_applicable) == (4, False)


def test_submitting_twice_is_a_no_op(assessment, cast):
    answer_all(assessment, level=3)
    first = services.assessment_submit(assessment=assessment, actor=cast.lead)
    second = services.assessment_submit(assessment=assessment, actor=cast.org_admin)
    assert second.submitted_at == first.submitted_at and second.submitted_by == cast.lead


def test_submit_needs_at_least_one_answer(assessment, cast):
    with pytest.raises(ValidationError, match="at least one question"):
        services.assessment_submit(assessment=assessment, actor=cast.lead)
    assessment.refresh_from_db()
    assert assessment.status == "not_started"


def test_only_the_lead_or_an_org_admin_may_submit(assessment, cast):
    assert services.can_submit(cast.lead, assessment)
    assert services.can_submit(cast.org_admin, assessment)
    for person in (cast.member, cast.leader, cast.other_member, cast.outsider):
        assert not services.can_submit(person, assessment)


def test_reopen_before_close_and_not_after(assessment, cast, today):
    answer_all(assessment, level=1)
    services.assessment_submit(assessment=assessment, actor=cast.lead)
    reopened = services.assessment_reopen(assessment=assessment, actor=cast.lead)
    assert reopened.status == "in_progress" and reopened.submitted_at is None
    # Reopening a draft changes nothing.
    assert services.assessment_reopen(assessment=assessment, actor=cast.lead).status == "in_progress"
    services.assessment_submit(assessment=assessment, actor=cast.lead)
    after_close = assessment.campaign.closes_on + dt.timedelta(days=1)
    with pytest.raises(ValidationError, match="can no longer reopen"):
        services.assessment_reopen(assessment=assessment, actor=cast.lead, today=after_close)
    assessment.refresh_from_db()
    assert assessment.status == "submitted"


def _past_campaign(cast, calms, name, start, levels_by_team):
    campaign = services.campaign_open(
        organization=cast.org,
        frameworks=[calms],
        name=name,
        opens_on=start,
        closes_on=start + dt.timedelta(days=7),
        teams=[cast.team, cast.other_team],
        today=start,
        actor=permissions.SYSTEM,
    )
    for assessment in campaign.assessments.all():
        level = levels_by_team.get(assessment.team_id)
        if level is None:
            continue
        answer_all(assessment, level=level, today=start)
        services.assessment_submit(assessment=assessment, today=start, actor=permissions.SYSTEM)
    return campaign


def test_result_compares_with_previous_cycle_and_suggests_next_levels(cast, calms, assessment, today):
    _past_campaign(cast, calms, "Old", today - dt.timedelta(days=120), {cast.team.pk: 1})
    prev = _past_campaign(cast, calms, "Previous", today - dt.timedelta(days=60), {cast.team.pk: 2})
    answer_all(assessment, level=3)
    lean_first = Question.objects.filter(dimension__framework=calms, dimension__key="lean").order_by("order").first()
    services.answer_save(assessment=assessment, question=lean_first, level=0, actor=permissions.SYSTEM)
    services.assessment_submit(assessment=assessment, actor=cast.lead)
    assessment.refresh_from_db()
    result = selectors.assessment_result(assessment=assessment)
    assert result.previous == prev.assessments.get(team=cast.team)
    rows = {r.dimension.key: r for r in result.dimensions}
    assert rows["culture"].score == 75.0 and rows["culture"].previous == 50.0 and rows["culture"].change == 25.0
    # Lean: five of six at 3 and the first (weight 1.5) at 0 -> (1.5*0 + 5*... ) see weights in the YAML
    lean_weights = [float(q.weight) for q in lean_first.dimension.questions.order_by("order")]
    expected_lean = round((0 * lean_weights[0] + 3 * sum(lean_weights[1:])) / sum(lean_weights) * 25, 1)
    assert rows["lean"].score == expected_lean
    step = result.next_steps[0]
    assert step.question == lean_first and step.level == 0 and step.next_level == 1
    assert step.next == lean_first.level_descriptors[1]
    assert len(result.next_steps) == 5
    assert all(s.level == 3 for s in result.next_steps[1:])
    assert result.overall_change == round(assessment.overall_score - 50.0, 1)


def test_no_previous_cycle_means_no_change(assessment, cast):
    answer_all(assessment, level=4)
    services.assessment_submit(assessment=assessment, actor=cast.lead)
    result = selectors.assessment_result(assessment=assessment)
    assert result.previous is None and result.overall_change is None
    assert all(r.change is None for r in result.dimensions)
    assert result.next_steps == []  # everything at the top level


def test_campaign_overview_progress_heatmap_and_averages(cast, calms, campaign, assessment, other_assessment):
    answer_all(assessment, level=2)
    services.assessment_submit(assessment=assessment, actor=cast.lead)
    answer_all(other_assessment, level=4)  # a draft: no scores on the heatmap
    overview = selectors.campaign_overview(campaign=campaign)
    assert overview.counts == {"not_started": 0, "in_progress": 1, "submitted": 1}
    by_team = {r.assessment.team.name: r for r in overview.rows}
    assert by_team["Checkout"].cells == [50.0] * 5 and by_team["Checkout"].overall == 50.0
    assert by_team["Search"].cells == [None] * 5 and by_team["Search"].overall is None
    assert [(d.label, d.team_count, d.overall) for d in overview.departments] == [("Engineering", 1, 50.0)]
    assert overview.organization.overall == 50.0
    csv_rows = selectors.campaign_csv_rows(campaign=campaign)
    assert csv_rows[0] == [
        "team",
        "department",
        "framework",
        "status",
        "answered",
        "questions",
        "submitted_at",
        "overall",
        "calms.culture",
        "calms.automation",
        "calms.lean",
        "calms.measurement",
        "calms.sharing",
    ]
    assert csv_rows[1][:6] == ["Checkout", "Engineering", "calms v1", "submitted", 32, 32]
    assert csv_rows[2][3:8] == ["in_progress", 32, 32, "", ""]


def test_department_and_org_averages_are_means_of_team_scores(cast, calms, today):
    other_dept_team = TeamFactory(organization=cast.org, name="Ops", slug="ops")  # no department
    campaign = services.campaign_open(
        organization=cast.org,
        frameworks=[calms],
        name="Avg",
        opens_on=today,
        closes_on=today,
        teams=[cast.team, cast.other_team, other_dept_team],
        actor=permissions.SYSTEM,
    )
    for team, level in ((cast.team, 1), (cast.other_team, 2), (other_dept_team, 4)):
        a = campaign.assessments.get(team=team)
        answer_all(a, level=level)
        services.assessment_submit(assessment=a, actor=permissions.SYSTEM)
    overview = selectors.campaign_overview(campaign=campaign)
    deps = {d.label: d for d in overview.departments}
    assert deps["Engineering"].overall == 37.5  # (25 + 50) / 2
    assert deps["No department"].overall == 100.0
    assert overview.organization.overall == 58.3  # (25 + 50 + 100) / 3


def test_latest_submitted_scores_query_count_does_not_grow_with_teams(cast, calms, today):
    teams = [cast.team, cast.other_team] + [
        TeamFactory(organization=cast.org, name=f"T{i}", slug=f"t{i}") for i in range(6)
    ]
    for offset, level in ((60, 1), (10, 3)):
        start = today - dt.timedelta(days=offset)
        campaign = services.campaign_open(
            organization=cast.org,
            frameworks=[calms],
            name=f"C{offset}",
            opens_on=start,
            closes_on=start + dt.timedelta(days=30),
            teams=teams,
            today=start,
            actor=permissions.SYSTEM,
        )
        for a in campaign.assessments.exclude(team=teams[-1]):
            answer_all(a, level=level, today=start)
            services.assessment_submit(assessment=a, today=start, actor=permissions.SYSTEM)
    ids = [t.pk for t in teams]
    with CaptureQueriesContext(connection) as small:
        selectors.latest_submitted_scores(team_ids=ids[:2])
    with CaptureQueriesContext(connection) as large:
        result = selectors.latest_submitted_scores(team_ids=ids)
    assert len(small) == len(large) == 1
    assert set(result) == set(ids[:-1])  # the last team never submitted
    latest = result[cast.team.pk]
    assert latest["overall"] == 75.0
    assert latest["dimensions"] == dict.fromkeys(("culture", "automation", "lean", "measurement", "sharing"), 75.0)
    assert Assessment.objects.get(pk=latest["assessment_id"]).campaign.name == "C10"
    assert latest["submitted_at"] is not None
    assert selectors.latest_submitted_scores(team_ids=[]) == {}


def test_bulk_write_query_count_does_not_grow_with_answers(assessment):
    qs = questions_of(assessment.framework)

    def run(items):
        with CaptureQueriesContext(connection) as ctx:
            services.answers_upsert(assessment=assessment, items=items, actor=permissions.SYSTEM)
        return len(ctx)

    few = run([services.AnswerInput(question=q, level=1) for q in qs[:2]])
    many = run([services.AnswerInput(question=q, level=2) for q in qs])  # 2 updates + 30 inserts
    assert many == few + 1  # one more statement: there are now both inserts and updates
    assert run([services.AnswerInput(question=q, level=3) for q in qs]) <= few
    assert Answer.objects.filter(assessment=assessment, level=3).count() == 32
