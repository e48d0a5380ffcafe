"""The service and team panels, the org page and the API: content and the role matrix."""

import pytest
from django.urls import reverse

from apps.servicechecks import registry
from tests.roles import API_SHARED_READ, HTML_SHARED_READ, assert_matrix
from tests.servicechecks import factories as f

pytestmark = pytest.mark.django_db

EVERY_MEMBER = {
    "org_admin": 200,
    "leader": 200,
    "lead": 200,
    "member": 200,
    "other_member": 200,
    "outsider": 200,  # sees the page of their own organization, not Acme's
    "anonymous": 302,
}


def test_service_page_lists_each_check_with_its_reason_and_fix_link(cast, client_for):
    f.slo(cast.service)  # tier-1: the SLO check passes; no alert settings: alerts not routed
    html = client_for("member").get(cast.service.get_absolute_url()).content.decode()
    assert 'id="service-checks"' in html
    for check in registry.CHECKS.values():
        assert f'data-check="{check.key}"' in html
    assert "It has an SLO." in html
    assert "Burn-rate alerts fire but the team set no e-mail or webhook" in html
    assert reverse("slos:alert_settings", args=[cast.team.pk]) in html
    assert "Fix it" in html
    # The lead of Checkout is in the cast: the team-lead check passes; a tier-1 service without
    # runbook records fails the review check.
    assert "The owning team has a lead." in html
    assert "No runbook record covers this service." in html


def test_team_page_panel_shows_the_aggregate_and_no_data(cast, client_for):
    f.slo(cast.service)
    html = client_for("lead").get(cast.team.get_absolute_url()).content.decode()
    assert 'id="service-checks"' in html
    assert 'data-figure="slo_defined">1 of 1' in html
    # Checkout has one service, no incidents: the postmortem check has no applicable service.
    assert 'data-figure="postmortems_published"><span class="text-secondary">no data</span>' in html


def test_org_page_role_matrix_and_who_sees_which_teams(cast, client_for):
    url = reverse("servicechecks:index")
    assert_matrix(client_for, url, EVERY_MEMBER)
    leader = client_for("leader").get(url).content.decode()
    assert f'data-team="{cast.team.pk}"' in leader and f'data-team="{cast.other_team.pk}"' in leader
    assert 'data-figure="services">2<' in leader
    member = client_for("member").get(url).content.decode()
    assert f'data-team="{cast.team.pk}"' in member and f'data-team="{cast.other_team.pk}"' not in member
    assert "You see the teams you belong to" in member
    outsider = client_for("outsider").get(url).content.decode()
    assert "Checkout" not in outsider and "checkout-api" not in outsider


def test_org_page_matrix_counts(cast, client_for):
    f.slo(cast.service)  # Checkout: tier-1 with an SLO; Search: tier-2 (no SLO needed)
    cast.other_service.runbook_url = "https://wiki.example/search"
    cast.other_service.save()
    html = client_for("org_admin").get(reverse("servicechecks:index")).content.decode()
    assert 'data-figure="teams">2<' in html
    # Runbook link: Search passes, Checkout fails: 1 of 2, 50%.
    total = html.split('data-total="runbook_link">')[1].split("</td>")[0]
    assert "50%" in total and "1 of 2" in total
    # SLO: only Checkout applies, and passes.
    total = html.split('data-total="slo_defined">')[1].split("</td>")[0]
    assert "100%" in total and "1 of 1" in total
    # Postmortems: no incident anywhere: no data.
    assert "no data" in html.split('data-total="postmortems_published">')[1].split("</td>")[0]


def test_api_role_matrix(cast, api_for):
    assert_matrix(api_for, reverse("api:service-checks-detail", args=[cast.service.pk]), API_SHARED_READ)
    assert_matrix(api_for, reverse("api:service-checks-list"), {**API_SHARED_READ, "outsider": 200})


def test_api_results_filtered_by_team(cast, api_for):
    f.slo(cast.service)
    response = api_for("leader").get(reverse("api:service-checks-list"), {"team": cast.team.pk})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [cast.service.pk]
    row = rows[0]
    assert set(row["results"]) == set(registry.KEYS)
    assert row["results"]["slo_defined"]["passed"] is True
    assert row["results"]["slo_defined"]["reason"] == "It has an SLO."
    assert row["results"]["postmortems_published"]["passed"] is None
    assert row["applicable"] == sum(1 for r in row["results"].values() if r["passed"] is not None)
    assert row["passing"] == sum(1 for r in row["results"].values() if r["passed"])
    # The outsider's list holds nothing of Acme.
    assert api_for("outsider").get(reverse("api:service-checks-list")).json()["results"] == []


def test_html_matrix_of_the_service_page_is_unchanged_by_the_panel(cast, client_for):
    assert_matrix(client_for, cast.service.get_absolute_url(), HTML_SHARED_READ)


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_pages_and_api_cost_the_same_for_5_and_50_services(cast, client_for, api_for):
    from tests.factories import ServiceFactory

    def counts():
        return (
            _queries(api_for("leader"), reverse("api:service-checks-list") + "?page_size=100"),
            _queries(client_for("leader"), reverse("servicechecks:index")),
            _queries(client_for("lead"), cast.team.get_absolute_url()),
        )

    for i in range(3):
        f.slo(ServiceFactory(team=cast.team, name=f"s{i}", tier=1))
    counts()  # warm the per-process caches (memberships, sessions) so both rounds compare alike
    few = counts()
    for i in range(3, 48):
        s = ServiceFactory(team=cast.team if i % 2 else cast.other_team, name=f"s{i}", tier=1 + i % 3)
        if i % 3 == 0:
            f.mapping(s, "opsgenie")
    assert cast.org.services.count() == 50
    assert counts() == few
