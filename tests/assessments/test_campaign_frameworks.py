"""One campaign holding both frameworks (CALMS v1 and SRE practices v1): assessments per team and
framework, adding and removing frameworks, the rules and rights, reads per framework, the migration."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.assessments import selectors, services
from apps.assessments.models import Answer, Assessment, Campaign, Framework
from apps.core import permissions
from tests.factories import TeamFactory

from .conftest import answer_all, questions_of

pytestmark = pytest.mark.django_db

CALMS_QUESTIONS = 32  # calms_v1.yaml: five dimensions
SRE_QUESTIONS = 40  # sre_v1.yaml: eight dimensions of five questions


@pytest.fixture
def sre(calms):
    return Framework.objects.get(organization=None, key="sre", version=1)


@pytest.fixture
def third(cast):
    return TeamFactory(organization=cast.org, name="Payments", slug="payments")


@pytest.fixture
def both(cast, calms, sre, third, today):
    """An open campaign of CALMS and SRE practices for three teams (given SRE first, on purpose)."""
    return services.campaign_open(
        organization=cast.org,
        frameworks=[sre, calms],
        name="Both now",
        opens_on=today - dt.timedelta(days=1),
        closes_on=today + dt.timedelta(days=14),
        teams=[cast.team, cast.other_team, third],
        actor=cast.org_admin,
    )


def _pairs(campaign):
    return sorted(campaign.assessments.values_list("team__name", "framework__key", "question_count"))


def test_two_frameworks_and_three_teams_make_six_assessments(both, calms, sre):
    assert list(both.frameworks.all()) == [calms, sre]  # ordered by key: CALMS first
    assert _pairs(both) == [
        ("Checkout", "calms", CALMS_QUESTIONS),
        ("Checkout", "sre", SRE_QUESTIONS),
        ("Payments", "calms", CALMS_QUESTIONS),
        ("Payments", "sre", SRE_QUESTIONS),
        ("Search", "calms", CALMS_QUESTIONS),
        ("Search", "sre", SRE_QUESTIONS),
    ]
    assert set(both.assessments.values_list("status", flat=True)) == {"not_started"}


def test_identical_retry_returns_the_campaign_and_other_frameworks_are_a_name_clash(cast, both, calms, sre):
    kwargs = {
        "organization": cast.org,
        "name": "Both now",
        "opens_on": both.opens_on,
        "closes_on": both.closes_on,
        "teams": [cast.team],
        "actor": cast.org_admin,
    }
    assert services.campaign_open(frameworks=[calms, sre], **kwargs) == both
    assert both.assessments.count() == 6
    with pytest.raises(ValidationError) as exc:
        services.campaign_open(frameworks=[calms], **kwargs)
    assert "already exists" in exc.value.message_dict["name"][0]


def test_adding_a_framework_adds_one_assessment_per_team(cast, calms, mini, third, today):
    campaign = services.campaign_open(
        organization=cast.org,
        frameworks=[calms],
        name="CALMS only",
        opens_on=today,
        closes_on=today + dt.timedelta(days=7),
        teams=[cast.team, cast.other_team, third],
        actor=cast.org_admin,
    )
    assert campaign.assessments.count() == 3
    services.campaign_update(campaign=campaign, actor=cast.org_admin, frameworks=[calms, mini])
    assert campaign.assessments.count() == 6
    added = campaign.assessments.filter(framework=mini)
    expected = [("Checkout", 6), ("Payments", 6), ("Search", 6)]
    assert sorted(added.values_list("team__name", "question_count")) == expected
    # The same list again changes nothing.
    services.campaign_update(campaign=campaign, actor=cast.org_admin, frameworks=[mini, calms])
    assert campaign.assessments.count() == 6


def test_widening_the_scope_gives_the_new_team_every_framework(cast, both):
    fourth = TeamFactory(organization=cast.org, name="Mobile", slug="mobile")
    services.campaign_update(campaign=both, actor=cast.org_admin, teams=[fourth])
    assert sorted(both.assessments.filter(team=fourth).values_list("framework__key", flat=True)) == ["calms", "sre"]
    assert both.assessments.count() == 8


def test_a_framework_with_answers_cannot_leave(cast, both, calms, sre):
    checkout_sre = both.assessments.get(team=cast.team, framework=sre)
    first = questions_of(sre)[0]
    services.answer_save(assessment=checkout_sre, question=first, level=2, actor=cast.member)
    with pytest.raises(ValidationError) as exc:
        services.campaign_update(campaign=both, actor=cast.org_admin, frameworks=[calms])
    assert exc.value.message_dict["frameworks"] == [
        "SRE practices v1 cannot leave the campaign: teams have answered it. Keep it, or open another campaign."
    ]
    assert list(both.frameworks.all()) == [calms, sre] and both.assessments.count() == 6
    assert Answer.objects.filter(assessment=checkout_sre).count() == 1


def test_an_unanswered_framework_leaves_with_its_empty_assessments(cast, both, calms, sre):
    answer_all(both.assessments.get(team=cast.team, framework=calms), level=3)
    services.campaign_update(campaign=both, actor=cast.org_admin, frameworks=[calms])
    assert list(both.frameworks.all()) == [calms]
    assert sorted(both.assessments.values_list("framework__key", flat=True)) == ["calms"] * 3
    # The teams stay in scope through their CALMS assessments; SRE can come back for all three.
    services.campaign_update(campaign=both, actor=cast.org_admin, frameworks=[calms, sre])
    assert both.assessments.filter(framework=sre).count() == 3


def test_framework_rules_name_the_field(cast, calms, today):
    foreign = services.framework_new_version(framework=calms, organization=cast.other_org, actor=permissions.SYSTEM)
    v2 = services.framework_new_version(framework=calms, actor=permissions.SYSTEM)
    base = {
        "organization": cast.org,
        "name": "Rules",
        "opens_on": today,
        "closes_on": today,
        "teams": [cast.team],
        "actor": cast.org_admin,
    }
    cases = [
        ([], "Choose at least one framework."),
        ([calms, foreign], "The framework CALMS v1 belongs to another organization."),
        ([calms, v2], "Choose one version of each framework, not CALMS v1, CALMS v2 together."),
    ]
    for chosen, message in cases:
        with pytest.raises(ValidationError) as exc:
            services.campaign_open(frameworks=chosen, **base)
        assert exc.value.message_dict == {"frameworks": [message]}
    assert not Campaign.objects.exists()


def test_update_refuses_another_organizations_framework(cast, both, calms):
    foreign = services.framework_new_version(framework=calms, organization=cast.other_org, actor=permissions.SYSTEM)
    with pytest.raises(ValidationError) as exc:
        services.campaign_update(campaign=both, actor=cast.org_admin, frameworks=[foreign])
    assert exc.value.message_dict == {"frameworks": ["The framework CALMS v1 belongs to another organization."]}
    assert both.assessments.count() == 6


def test_only_org_admins_open_campaigns_and_change_their_frameworks(cast, calms, sre, today):
    kwargs = {
        "organization": cast.org,
        "frameworks": [calms, sre],
        "name": "Rights",
        "opens_on": today,
        "closes_on": today,
        "teams": [cast.team],
    }
    for who in (cast.leader, cast.lead, cast.member, cast.outsider):
        with pytest.raises(PermissionDenied):
            services.campaign_open(actor=who, **kwargs)
    assert not Campaign.objects.exists()
    campaign = services.campaign_open(actor=cast.org_admin, **kwargs)
    for who in (cast.leader, cast.lead, cast.member, cast.outsider):
        with pytest.raises(PermissionDenied):
            services.campaign_update(campaign=campaign, actor=who, frameworks=[calms])
    assert campaign.frameworks.count() == 2 and campaign.assessments.count() == 2


def test_framework_in_use_through_any_campaign_is_locked(both, sre):
    assert sre.is_in_use()
    with pytest.raises(ValidationError):
        sre.save()


def test_reads_per_framework(cast, both, calms, sre):
    checkout_sre = both.assessments.get(team=cast.team, framework=sre)
    answer_all(checkout_sre, level=2)
    services.assessment_submit(assessment=checkout_sre, actor=cast.lead)
    assert selectors.campaign_framework(both) == calms
    assert selectors.campaign_framework(both, "sre") == sre
    assert selectors.campaign_framework(both, "nope") == calms
    calms_view = selectors.campaign_overview(campaign=both)
    assert calms_view.framework == calms and len(calms_view.dimensions) == 5
    assert calms_view.counts == {"not_started": 3, "in_progress": 0, "submitted": 0}
    assert calms_view.organization.team_count == 0
    sre_view = selectors.campaign_overview(campaign=both, framework=sre)
    assert [d.key for d in sre_view.dimensions][:2] == ["slos", "error-budgets"]
    assert sre_view.counts == {"not_started": 2, "in_progress": 0, "submitted": 1}
    by_team = {r.assessment.team.name: r for r in sre_view.rows}
    assert by_team["Checkout"].cells == [50.0] * 8 and by_team["Checkout"].overall == 50.0
    assert sre_view.organization.overall == 50.0
    rows = selectors.campaign_teams(campaign=both)
    assert [r.team.name for r in rows] == ["Checkout", "Payments", "Search"]
    assert [[a.framework.key for a in r.assessments] for r in rows] == [["calms", "sre"]] * 3
    assert selectors.assessment_counts(rows) == {
        "not_started": 5,
        "in_progress": 0,
        "submitted": 1,
        "total": 6,
        "submitted_percent": 17,
    }
    # The result of Checkout's SRE assessment knows its CALMS sibling (the switcher).
    result = selectors.assessment_result(assessment=checkout_sre)
    assert [s.framework.key for s in result.siblings] == ["calms", "sre"]


def test_csv_has_every_assessment_with_its_framework(cast, both, calms, sre):
    checkout_sre = both.assessments.get(team=cast.team, framework=sre)
    answer_all(checkout_sre, level=4)
    services.assessment_submit(assessment=checkout_sre, actor=cast.lead)
    rows = selectors.campaign_csv_rows(campaign=both)
    header = rows[0]
    assert header[:8] == [
        "team",
        "department",
        "framework",
        "status",
        "answered",
        "questions",
        "submitted_at",
        "overall",
    ]
    assert header[8:13] == ["calms.culture", "calms.automation", "calms.lean", "calms.measurement", "calms.sharing"]
    assert header[13] == "sre.slos" and len(header) == 8 + 5 + 8
    assert [(r[0], r[2], r[3]) for r in rows[1:]] == [
        ("Checkout", "calms v1", "not_started"),
        ("Payments", "calms v1", "not_started"),
        ("Search", "calms v1", "not_started"),
        ("Checkout", "sre v1", "submitted"),
        ("Payments", "sre v1", "not_started"),
        ("Search", "sre v1", "not_started"),
    ]
    checkout = rows[4]
    assert checkout[7] == 100.0 and checkout[8:13] == [""] * 5 and checkout[13:] == [100.0] * 8


def test_digest_names_each_framework_of_a_campaign(cast, both):
    waiting = selectors.waiting_assessments(team_ids=[cast.team.pk], on=both.opens_on)
    assert [(a.campaign.name, a.framework.key) for a in waiting[cast.team.pk]] == [
        ("Both now", "calms"),
        ("Both now", "sre"),
    ]


def test_assessments_are_unique_per_campaign_team_and_framework(cast, both, sre):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Assessment.objects.create(campaign=both, team=cast.team, framework=sre)
