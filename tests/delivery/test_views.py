"""Pages and API: the role matrix on every route, and what they do."""

import re

import pytest
from django.urls import reverse

from apps.core import permissions
from apps.core.permissions import SYSTEM
from apps.delivery import services
from apps.delivery.models import Deployment, IncidentDeploymentLink, Integration
from apps.postmortems.services import incident_upsert_from_source
from tests.roles import API_SHARED_READ, HTML_SHARED_READ, assert_matrix

pytestmark = pytest.mark.django_db

ORG_PAGE = {**HTML_SHARED_READ, "outsider": 200}  # the outsider sees their own org's page
ORG_LIST_API = {**API_SHARED_READ, "outsider": 200}
TEAM_PRIVATE_HTML = {**HTML_SHARED_READ, "other_member": 404}
TEAM_PRIVATE_API = {**API_SHARED_READ, "other_member": 404}
LEAD_CHANGES_HTML = {
    "org_admin": 200,
    "leader": 403,
    "lead": 200,
    "member": 403,
    "other_member": 404,
    "outsider": 404,
    "anonymous": 302,
}
LEAD_CHANGES_API = {**LEAD_CHANGES_HTML, "anonymous": 401}


@pytest.fixture
def world(cast):
    integration, _ = services.integration_create(
        actor=permissions.SYSTEM, organization=cast.org, team=cast.team, name="GitHub", kind="github", secret="x" * 20
    )
    resolver = services.Resolver(cast.org, integration)
    deployment, _ = services.deployment_apply(
        actor=permissions.SYSTEM,
        organization=cast.org,
        integration=integration,
        source="github",
        resolver=resolver,
        record={
            "external_id": "42",
            "repository": "acme/checkout-api",
            "environment": "production",
            "is_production": True,
            "status": "success",
            "status_at": __import__("datetime").datetime(2026, 3, 1, 12, tzinfo=__import__("datetime").UTC),
        },
    )
    services.changes_upsert(
        actor=permissions.SYSTEM,
        organization=cast.org,
        integration=integration,
        source="github",
        resolver=resolver,
        records=[
            {
                "repository": "acme/checkout-api",
                "sha": "f" * 40,
                "committed_at": __import__("datetime").datetime(2026, 3, 1, 10, tzinfo=__import__("datetime").UTC),
            }
        ],
    )
    incident, _ = incident_upsert_from_source(
        actor=SYSTEM,
        organization=cast.org,
        team=cast.team,
        source="api",
        external_id="inc-1",
        services=[cast.service],
        started_at=__import__("datetime").datetime(2026, 3, 1, 13, tzinfo=__import__("datetime").UTC),
    )
    link = services.incident_link_refresh(actor=permissions.SYSTEM, incident=incident)
    return {"integration": integration, "deployment": deployment, "incident": incident, "link": link}


def test_html_role_matrix(cast, world, client_for):
    integration, incident = world["integration"], world["incident"]
    assert_matrix(client_for, reverse("delivery:index"), ORG_PAGE)
    assert_matrix(client_for, reverse("delivery:deployments"), ORG_PAGE)
    assert_matrix(client_for, reverse("delivery:integrations"), ORG_PAGE)
    assert_matrix(client_for, reverse("delivery:team", args=[cast.team.pk]), HTML_SHARED_READ)
    assert_matrix(client_for, reverse("delivery:integration", args=[integration.pk]), TEAM_PRIVATE_HTML)
    assert_matrix(client_for, reverse("delivery:integration_edit", args=[integration.pk]), LEAD_CHANGES_HTML)
    assert_matrix(client_for, reverse("delivery:integration_rotate", args=[integration.pk]), LEAD_CHANGES_HTML)
    assert_matrix(
        client_for,
        reverse("delivery:integration_create"),
        {**LEAD_CHANGES_HTML, "other_member": 403, "outsider": 200},  # the outsider adds to their own org
    )
    assert_matrix(
        client_for,
        reverse("delivery:incident_link", args=[incident.pk]),
        {**LEAD_CHANGES_HTML, "other_member": 403},  # incidents are shared: visible, not changeable
    )


def test_api_role_matrix(cast, world, api_for):
    integration, deployment, link = world["integration"], world["deployment"], world["link"]
    change = cast.org.changes.get()
    assert_matrix(api_for, reverse("api:integration-list"), ORG_LIST_API)
    assert_matrix(api_for, reverse("api:integration-detail", args=[integration.pk]), TEAM_PRIVATE_API)
    assert_matrix(
        api_for,
        reverse("api:integration-detail", args=[integration.pk]),
        LEAD_CHANGES_API,
        method="patch",
        data={"production_environments": ["production", "live"]},
    )
    assert_matrix(
        api_for,
        reverse("api:integration-rotate-secret", args=[integration.pk]),
        LEAD_CHANGES_API,
        method="post",
        data={},
    )
    assert_matrix(api_for, reverse("api:deployment-list"), ORG_LIST_API)
    assert_matrix(api_for, reverse("api:deployment-detail", args=[deployment.pk]), API_SHARED_READ)
    assert_matrix(api_for, reverse("api:change-detail", args=[change.pk]), API_SHARED_READ)
    assert_matrix(api_for, reverse("api:incident-deployment-link-detail", args=[link.pk]), API_SHARED_READ)
    assert_matrix(
        api_for,
        reverse("api:incident-deployment-link-detail", args=[link.pk]),
        {**LEAD_CHANGES_API, "other_member": 403},
        method="patch",
        data={"deployment": deployment.pk},
    )
    assert_matrix(api_for, reverse("api:team-dora-list"), ORG_LIST_API)
    assert_matrix(api_for, reverse("api:team-dora-detail", args=[cast.team.pk]), API_SHARED_READ)
    assert_matrix(api_for, reverse("api:service-dora-list"), ORG_LIST_API)
    assert_matrix(api_for, reverse("api:service-dora-detail", args=[cast.service.pk]), API_SHARED_READ)
    # Deployments and changes are written by sources, not by hand.
    assert api_for("org_admin").delete(reverse("api:deployment-detail", args=[deployment.pk])).status_code == 405


def test_api_create_matrix_and_secret_once(cast, api_for):
    url = reverse("api:integration-list")

    def reset():
        Integration.objects.filter(name="PD").delete()

    data = {"organization": cast.org.pk, "team": cast.team.pk, "name": "PD", "kind": "pagerduty"}
    assert_matrix(
        api_for,
        url,
        {
            "org_admin": 201,
            "leader": 403,
            "lead": 201,
            "member": 403,
            "other_member": 403,
            "outsider": 400,
            "anonymous": 401,
        },
        method="post",
        data=data,
        reset=reset,
    )
    response = api_for("lead").post(url, data, format="json")
    assert response.status_code == 201
    body = response.json()
    secret = body["secret"]
    assert len(secret) >= 32 and body["intake_url"].endswith(
        f"/delivery/hooks/{Integration.objects.get(name='PD').token}/"
    )
    detail = api_for("lead").get(reverse("api:integration-detail", args=[body["id"]])).json()
    assert "secret" not in detail and secret not in str(detail)
    # A lead cannot add an org-wide integration; an admin can.
    assert api_for("lead").post(url, {**data, "team": None, "name": "Org"}, format="json").status_code == 403
    assert api_for("org_admin").post(url, {**data, "team": None, "name": "Org"}, format="json").status_code == 201


def test_api_bad_input(cast, world, api_for):
    url = reverse("api:integration-list")
    api = api_for("org_admin")
    bad = [
        {"organization": cast.org.pk, "name": "X", "kind": "svn"},
        {"organization": cast.org.pk, "name": "", "kind": "github"},
        {"organization": cast.org.pk, "name": "GitHub", "kind": "github"},  # name taken
        {"organization": cast.org.pk, "name": "Y", "kind": "github", "secret": "short"},
        {"organization": cast.org.pk, "name": "Z", "kind": "github", "production_environments": []},
        {"organization": cast.org.pk, "name": "W", "kind": "github", "team": cast.other_org.teams.first().pk},
        {
            "organization": cast.org.pk,
            "name": "V",
            "kind": "github",
            "team": cast.team.pk,
            "mappings": [{"key": "acme/search", "service": cast.other_service.pk}],  # another team's service
        },
    ]
    for data in bad:
        response = api.post(url, data, format="json")
        assert response.status_code == 400, (data, response.content)
    assert Integration.objects.count() == 1  # nothing half-written
    patch = api.patch(
        reverse("api:integration-detail", args=[world["integration"].pk]), {"kind": "gitlab"}, format="json"
    )
    assert patch.status_code == 400
    dora = api.get(reverse("api:team-dora-list") + "?window=0")
    assert dora.status_code == 400
    link_url = reverse("api:incident-deployment-link-detail", args=[world["link"].pk])
    assert api.patch(link_url, {"note": "x"}, format="json").status_code == 400


def test_api_link_patch_and_dora(cast, world, api_for):
    link_url = reverse("api:incident-deployment-link-detail", args=[world["link"].pk])
    assert world["link"].method == "auto"
    response = api_for("lead").patch(link_url, {"deployment": None, "note": "Not a deploy"}, format="json")
    assert response.status_code == 200
    assert response.json()["method"] == "explicit" and response.json()["deployment"] is None
    response = api_for("lead").patch(link_url, {"automatic": True}, format="json")
    assert response.json()["method"] == "auto" and response.json()["deployment"] == world["deployment"].pk
    from apps.delivery import rollups

    rollups.refresh_dirty()
    dora = api_for("member").get(reverse("api:team-dora-detail", args=[cast.team.pk]) + "?window=7&until=2026-03-03")
    assert dora.status_code == 200
    keys = dora.json()["keys"]
    assert keys["lead_time_hours"]["median"] == 2.0
    # The deployment names no commit: its one commit was attributed by time, and the API says so.
    assert (keys["lead_time_hours"]["changes"], keys["lead_time_hours"]["estimated"]) == (1, 1)
    assert keys["change_failure_rate"]["value"] == 1.0
    # The incident it caused is still open: no recovery yet (no data, not 0).
    assert keys["recovery_time_hours"] == {"median": None, "tier": None, "recoveries": 0}
    assert keys["time_to_restore_hours"] == keys["recovery_time_hours"]  # the deprecated alias
    # Finished (12:00) before the incident opened (13:00): not rework.
    assert keys["deployment_rework_rate"] == {"value": 0.0, "tier": None, "rework": 0, "deployments": 1}
    assert keys["groups"] == {
        "throughput": ["deployment_frequency", "lead_time_hours", "recovery_time_hours"],
        "instability": ["change_failure_rate", "deployment_rework_rate"],
    }
    by_service = api_for("member").get(
        reverse("api:service-dora-detail", args=[cast.service.pk]) + "?window=7&until=2026-03-03"
    )
    assert by_service.json()["keys"] == keys
    assert by_service.json()["team"] == cast.team.pk


def test_create_integration_page_shows_the_secret_once(cast, client_for):
    client = client_for("lead")
    response = client.post(
        reverse("delivery:integration_create"),
        {"name": "GitLab", "kind": "gitlab", "team": cast.team.pk, "production_environments": "production, live"},
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    integration = Integration.objects.get(name="GitLab")
    secret = re.search(r'id="secret" class="[^"]*" value="([^"]+)"', response.content.decode()).group(1)
    assert len(secret) >= 32 and secret not in integration.secret_encrypted
    assert integration.production_environments == ["production", "live"]
    detail = client.get(reverse("delivery:integration", args=[integration.pk]))
    assert secret not in detail.content.decode()
    assert integration.token in detail.content.decode()  # the lead copies the intake URL from here


def test_create_integration_page_bad_input(cast, client_for):
    client = client_for("lead")
    url = reverse("delivery:integration_create")
    response = client.post(url, {"name": "X", "kind": "github", "team": cast.team.pk, "production_environments": " , "})
    assert response.status_code == 200 and "Name at least one production environment" in response.content.decode()
    response = client.post(
        url, {"name": "X", "kind": "github", "team": cast.other_team.pk, "production_environments": "prod"}
    )
    assert response.status_code == 200 and Integration.objects.count() == 0


def test_edit_mappings_and_rotate(cast, world, client_for):
    integration = world["integration"]
    client = client_for("lead")
    url = reverse("delivery:integration_edit", args=[integration.pk])
    bad = client.post(
        url, {"name": "GitHub", "production_environments": "production", "mappings": "acme/x = nope\njunk"}
    )
    assert bad.status_code == 200
    assert "no service" in bad.content.decode() and "Line 2" in bad.content.decode()
    ok = client.post(
        url,
        {
            "name": "GitHub main",
            "production_environments": "production",
            "is_active": "on",
            "mappings": f"legacy/checkout = {cast.service.slug}",
        },
    )
    assert ok.status_code == 302
    integration.refresh_from_db()
    assert integration.name == "GitHub main"
    assert dict(integration.mappings.values_list("key", "service")) == {"legacy/checkout": cast.service.pk}
    old = integration.secret_encrypted
    rotated = client.post(reverse("delivery:integration_rotate", args=[integration.pk]), {"secret": ""})
    assert rotated.status_code == 200
    integration.refresh_from_db()
    assert integration.secret_encrypted != old


def test_incident_link_page(cast, world, client_for):
    incident, deployment = world["incident"], world["deployment"]
    client = client_for("lead")
    url = reverse("delivery:incident_link", args=[incident.pk])
    page = client.get(url)
    assert str(deployment.pk) in page.content.decode()
    assert client.post(url, {"choice": "none", "note": "DNS"}).status_code == 302
    link = IncidentDeploymentLink.objects.get(incident=incident)
    assert (link.method, link.deployment, link.note, link.set_by) == ("explicit", None, "DNS", cast.lead)
    assert client.post(url, {"choice": "999999"}).status_code == 200  # not a candidate: form error
    assert client.post(url, {"choice": "auto"}).status_code == 302
    link.refresh_from_db()
    assert (link.method, link.deployment) == ("auto", deployment)


def test_pages_render_with_data_and_panels(cast, world, client_for):
    from apps.delivery import rollups

    rollups.refresh_dirty()
    client = client_for("member")
    team_page = client.get(reverse("teams:detail", args=[cast.team.pk])).content.decode()
    assert "Delivery (DORA, 90 days)" in team_page
    service_page = client.get(reverse("teams:service", args=[cast.service.pk])).content.decode()
    assert "Delivery (DORA, 90 days)" in service_page
    listing = client.get(reverse("delivery:deployments") + "?env=all&status=success").content.decode()
    assert "checkout-api" in listing
    assert Deployment.objects.count() == 1


def test_incident_page_shows_the_deployment_link_panel(cast, client_for):
    """The postmortems incident page renders the delivery app's panel: the link is shown and can be changed."""
    from datetime import timedelta

    from django.utils import timezone

    incident, _ = incident_upsert_from_source(
        actor=SYSTEM,
        organization=cast.org,
        team=cast.team,
        source="api",
        external_id="P-1",
        title="Checkout 500s",
        services=[cast.service],
        started_at=timezone.now() - timedelta(hours=2),
    )
    services.incident_link_set(actor=cast.lead, incident=incident, deployment=None, note="Hardware failure")
    page = client_for("lead").get(f"/postmortems/incidents/{incident.pk}/").content.decode()
    assert "Caused by a deployment?" in page and "No deployment caused it" in page
    assert f"/delivery/incidents/{incident.pk}/deployment-link/" in page
    # A member of another team reads the panel but is not offered the change link.
    page = client_for("other_member").get(f"/postmortems/incidents/{incident.pk}/").content.decode()
    assert "Caused by a deployment?" in page
    assert f"/delivery/incidents/{incident.pk}/deployment-link/" not in page


ORG_WIDE_FEEDING_LEADS_TEAM = {
    "org_admin": 200,
    "leader": 200,
    "lead": 200,  # read-only: it feeds their team
    "member": 404,
    "other_member": 404,
    "outsider": 404,
    "anonymous": 302,
}


def test_team_lead_reads_org_wide_integrations_that_feed_their_team(cast, client_for):
    mapped, _ = services.integration_create(
        actor=permissions.SYSTEM, organization=cast.org, name="PagerDuty (org)", kind="pagerduty", secret="x" * 20
    )
    services.integration_mappings_set(
        actor=permissions.SYSTEM, integration=mapped, mappings={"Checkout API": cast.service}
    )
    deployed, _ = services.integration_create(
        actor=permissions.SYSTEM, organization=cast.org, name="GitHub (org)", kind="github", secret="x" * 20
    )
    services.deployment_apply(
        actor=permissions.SYSTEM,
        organization=cast.org,
        integration=deployed,
        source="github",
        resolver=services.Resolver(cast.org, deployed),
        record={
            "external_id": "7",
            "repository": "acme/checkout-api",
            "environment": "production",
            "is_production": True,
            "status": "success",
            "status_at": __import__("datetime").datetime(2026, 3, 1, 12, tzinfo=__import__("datetime").UTC),
        },
    )
    elsewhere, _ = services.integration_create(
        actor=permissions.SYSTEM, organization=cast.org, name="Opsgenie (org)", kind="opsgenie", secret="x" * 20
    )
    services.integration_mappings_set(
        actor=permissions.SYSTEM, integration=elsewhere, mappings={"search": cast.other_service}
    )
    for integration in (mapped, deployed):
        assert_matrix(client_for, reverse("delivery:integration", args=[integration.pk]), ORG_WIDE_FEEDING_LEADS_TEAM)
        assert_matrix(
            client_for,
            reverse("delivery:integration_edit", args=[integration.pk]),
            {**ORG_WIDE_FEEDING_LEADS_TEAM, "lead": 403, "leader": 403},
        )
    assert_matrix(
        client_for,
        reverse("delivery:integration", args=[elsewhere.pk]),
        {**TEAM_PRIVATE_HTML, "lead": 404, "member": 404},
    )
    page = client_for("lead").get(reverse("delivery:integrations")).content.decode()
    assert "PagerDuty (org)" in page and "GitHub (org)" in page
    assert "Opsgenie (org)" not in page
    assert "No integrations you can see" not in page
    detail = client_for("lead").get(reverse("delivery:integration", args=[mapped.pk])).content.decode()
    # Read-only: neither the intake URL nor the buttons that would change it.
    assert mapped.token not in detail
    assert reverse("delivery:integration_edit", args=[mapped.pk]) not in detail


def test_api_gives_the_intake_url_only_to_those_who_change_the_integration(cast, api_for):
    integration, _ = services.integration_create(
        actor=permissions.SYSTEM, organization=cast.org, name="PagerDuty (org)", kind="pagerduty", secret="x" * 20
    )
    services.integration_mappings_set(
        actor=permissions.SYSTEM, integration=integration, mappings={"Checkout API": cast.service}
    )
    url = reverse("api:integration-detail", args=[integration.pk])
    assert api_for("lead").get(url).json()["intake_url"] is None
    assert api_for("leader").get(url).json()["intake_url"] is None
    assert api_for("org_admin").get(url).json()["intake_url"].endswith(f"/delivery/hooks/{integration.token}/")
