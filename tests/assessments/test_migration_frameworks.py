"""Migrations 0004-0006: a campaign's old single framework becomes its `frameworks`, run on real
PostgreSQL from the state before (a campaign and its assessments written with the old schema)."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.assessments.models import Campaign

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("assessments", "0003_load_sre_v1")]
AFTER = [("assessments", "0006_remove_campaign_framework")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_the_old_framework_is_copied_into_frameworks(cast):
    old = _migrate(BEFORE)
    try:
        Framework = old.get_model("assessments", "Framework")
        OldCampaign = old.get_model("assessments", "Campaign")
        OldAssessment = old.get_model("assessments", "Assessment")
        sre = Framework.objects.get(organization=None, key="sre", version=1)
        calms = Framework.objects.get(organization=None, key="calms", version=1)
        day = dt.date(2026, 10, 1)
        a = OldCampaign.objects.create(
            organization_id=cast.org.pk, framework=sre, name="Old SRE", opens_on=day, closes_on=day
        )
        b = OldCampaign.objects.create(
            organization_id=cast.org.pk, framework=calms, name="Old CALMS", opens_on=day, closes_on=day
        )
        OldAssessment.objects.create(campaign=a, team_id=cast.team.pk, framework=sre)
    finally:
        _migrate(AFTER)
    assert [f.key for f in Campaign.objects.get(pk=a.pk).frameworks.all()] == ["sre"]
    assert [f.key for f in Campaign.objects.get(pk=b.pk).frameworks.all()] == ["calms"]
    assert Campaign.objects.get(pk=a.pk).assessments.get().framework.key == "sre"
