"""The gate panel on the service and SLO pages, and the lead's override form."""

import pytest
from django.urls import reverse

from apps.slos.models import ErrorBudgetPolicy
from apps.sre import services
from apps.sre.models import GateOverride
from tests.roles import HTML_SHARED_READ, assert_matrix
from tests.slos.factories import BUCKET_SECONDS, fill, live_now_ts, make_sli, make_slo

pytestmark = pytest.mark.django_db


@pytest.fixture
def spent(cast):
    sli = make_sli(cast.service)
    slo = make_slo(sli, target="0.99")
    ErrorBudgetPolicy.objects.create(team=cast.team)
    end = live_now_ts()
    fill(sli, start_ts=end - 12 * BUCKET_SECONDS, end_ts=end, good=980, total=1000)
    return slo


def test_pages_show_both_decisions(client_for, cast, spent):
    services.gate_decide(service=cast.service, actor=cast.member, ref="deny-sha")
    services.gate_override_create(service=cast.service, actor=cast.lead, reason="Launch day", hours=1)
    services.gate_decide(service=cast.service, actor=cast.member, ref="allow-sha")
    for url in (cast.service.get_absolute_url(), spent.get_absolute_url()):
        assert_matrix(client_for, url, HTML_SHARED_READ)
        html = client_for("member").get(url).content.decode()
        assert "deny-sha" in html and "allow-sha" in html and "Launch day" in html
        assert "Override the gate" not in html  # members cannot override
        assert "Override the gate" in client_for("lead").get(url).content.decode()


def test_empty_panel(client_for, cast):
    html = client_for("member").get(cast.service.get_absolute_url()).content.decode()
    assert "No gate decisions yet" in html


def test_override_form_matrix_and_errors(client_for, cast):
    url = reverse("sre:override", args=[cast.service.pk])
    assert_matrix(
        client_for,
        url,
        {
            "org_admin": 302,
            "leader": 403,
            "lead": 302,
            "member": 403,
            "other_member": 403,
            "outsider": 404,
            "anonymous": 302,
        },
        method="post",
        data={"reason": "Launch", "hours": "2"},
        reset=lambda: GateOverride.objects.all().delete(),
    )
    before = GateOverride.objects.count()
    r = client_for("lead").post(url, {"reason": "", "hours": "500"}, follow=True)
    assert GateOverride.objects.count() == before
    assert "reason" in r.content.decode() and "hours" in r.content.decode()
