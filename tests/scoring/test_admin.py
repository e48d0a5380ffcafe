"""The scoring admin as an org admin: own org's scorecard, checks inline, the run button, read-only audit."""

from unittest import mock

import pytest

from apps.core import permissions
from apps.scoring import services, tasks
from apps.scoring.models import Scorecard, ScoringRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, cast):
    services.scorecard_ensure(actor=permissions.SYSTEM, organization=cast.org)
    services.scorecard_ensure(actor=permissions.SYSTEM, organization=cast.other_org)
    client.force_login(cast.org_admin)
    return client


def test_scorecards_of_own_org_only(cast, admin_client):
    own = Scorecard.objects.get(organization=cast.org)
    foreign = Scorecard.objects.get(organization=cast.other_org)
    page = admin_client.get("/admin/scoring/scorecard/").content.decode()
    assert "Acme" in page and "Initech" not in page
    page = admin_client.get(f"/admin/scoring/scorecard/{own.pk}/change/").content.decode()
    assert "Run scoring now" in page and "Every tier-1 service has an SLO" in page
    assert admin_client.get(f"/admin/scoring/scorecard/{foreign.pk}/change/").status_code == 302


def test_run_button_queues_a_run(cast, admin_client, django_capture_on_commit_callbacks):
    own = Scorecard.objects.get(organization=cast.org)
    foreign = Scorecard.objects.get(organization=cast.other_org)
    with mock.patch.object(tasks.run_scoring, "delay") as delay, django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/scoring/scorecard/{own.pk}/run/")
        assert response.status_code == 302
        assert admin_client.post(f"/admin/scoring/scorecard/{foreign.pk}/run/").status_code == 404
    run = ScoringRun.objects.get()
    assert (run.organization, run.trigger) == (cast.org, "admin")
    delay.assert_called_once_with(run.pk)


def test_exemptions_and_snapshots_are_read_only(cast, admin_client, requested):
    page = admin_client.get(f"/admin/scoring/exemption/{requested.pk}/change/").content.decode()
    assert "Service is retiring." in page and 'name="_save"' not in page
    assert admin_client.get("/admin/scoring/exemption/add/").status_code == 403
    assert admin_client.get("/admin/scoring/snapshot/add/").status_code == 403
