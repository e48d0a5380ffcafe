"""The assessments write services check rights themselves (the views only fetch and call them)."""

import pytest
from django.core.exceptions import PermissionDenied

from apps.assessments import services
from apps.assessments.models import Answer, Campaign
from apps.core import permissions

from .conftest import questions_of

pytestmark = pytest.mark.django_db


def test_only_org_admins_open_and_change_campaigns(cast, calms, today):
    kwargs = {
        "organization": cast.org,
        "frameworks": [calms],
        "name": "Q3",
        "opens_on": today,
        "closes_on": today,
        "teams": [cast.team],
    }
    for who in (cast.leader, cast.lead, cast.outsider):
        with pytest.raises(PermissionDenied):
            services.campaign_open(actor=who, **kwargs)
    assert not Campaign.objects.exists()
    campaign = services.campaign_open(actor=cast.org_admin, **kwargs)
    assert campaign.created_by == cast.org_admin
    with pytest.raises(PermissionDenied):
        services.campaign_update(campaign=campaign, actor=cast.lead, name="Mine")
    assert Campaign.objects.get().name == "Q3"


def test_answers_are_the_teams_and_the_lead_submits(cast, campaign):
    assessment = campaign.assessments.get(team=cast.team)
    q0 = questions_of(assessment.framework)[0]
    for who in (cast.leader, cast.other_member):
        with pytest.raises(PermissionDenied):
            services.answer_save(assessment=assessment, question=q0, level=2, actor=who)
    assert not Answer.objects.exists()
    services.answer_save(assessment=assessment, question=q0, level=2, actor=cast.member)
    with pytest.raises(PermissionDenied):
        services.assessment_submit(assessment=assessment, actor=cast.member)
    done = services.assessment_submit(assessment=assessment, actor=cast.lead)
    assert done.submitted_by == cast.lead
    with pytest.raises(PermissionDenied):
        services.assessment_reopen(assessment=assessment, actor=cast.member)


def test_built_in_frameworks_are_the_platforms(cast, calms):
    with pytest.raises(PermissionDenied):
        services.framework_new_version(framework=calms, actor=cast.org_admin)
    with pytest.raises(PermissionDenied):
        services.framework_new_version(framework=calms, actor=cast.lead, organization=cast.org)
    own = services.framework_new_version(framework=calms, actor=cast.org_admin, organization=cast.org)
    assert own.organization == cast.org
    assert services.framework_new_version(framework=calms, actor=permissions.SYSTEM).organization is None
