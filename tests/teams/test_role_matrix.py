"""Every object route of the teams app, HTML and API, for every member of the cast."""

import pytest

from apps.core.permissions import SYSTEM
from apps.teams.models import Service
from tests.roles import API_SHARED_READ, HTML_SHARED_READ, assert_matrix

pytestmark = pytest.mark.django_db

ADMIN_ONLY_API_WRITE = {
    "org_admin": 200,
    "leader": 403,
    "lead": 403,
    "member": 403,
    "other_member": 403,
    "outsider": 404,
    "anonymous": 401,
}
LEAD_API_WRITE = {**ADMIN_ONLY_API_WRITE, "lead": 200}


def test_team_and_service_pages(cast, client_for):
    assert_matrix(client_for, f"/teams/{cast.team.pk}/", HTML_SHARED_READ)
    assert_matrix(client_for, f"/teams/{cast.other_team.pk}/", HTML_SHARED_READ)
    assert_matrix(client_for, f"/teams/services/{cast.service.pk}/", HTML_SHARED_READ)


def test_service_edit_page(cast, client_for):
    url = f"/teams/services/{cast.service.pk}/edit/"
    expected = {
        "org_admin": 200,
        "leader": 403,
        "lead": 200,
        "member": 403,
        "other_member": 403,
        "outsider": 404,
        "anonymous": 302,
    }
    assert_matrix(client_for, url, expected)
    data = {
        "name": "checkout-api",
        "slug": "checkout-api",
        "tier": 1,
        "lifecycle": "production",
        "description": "edited",
        "repository_url": "",
        "runbook_url": "",
    }
    assert_matrix(client_for, url, {**expected, "org_admin": 302, "lead": 302}, method="post", data=data)
    cast.service.refresh_from_db()
    assert cast.service.description == "edited"


def test_lists_only_show_the_users_org(cast, client_for):
    page = client_for("outsider").get("/teams/").content.decode()
    assert "Billing" in page and "Checkout" not in page
    page = client_for("member").get("/teams/").content.decode()
    assert "Checkout" in page and "Search" in page and "Billing" not in page


@pytest.mark.parametrize(
    "path", ["organizations", "departments", "teams", "services", "org-memberships", "team-memberships"]
)
def test_api_list_is_scoped(cast, api_for, path):
    assert api_for("anonymous").get(f"/api/v1/{path}/").status_code == 401
    outsider_ids = {row["id"] for row in api_for("outsider").get(f"/api/v1/{path}/").json()["results"]}
    member_ids = {row["id"] for row in api_for("member").get(f"/api/v1/{path}/").json()["results"]}
    assert member_ids and not (member_ids & outsider_ids)


def test_api_object_reads(cast, api_for):
    for url in (
        f"/api/v1/organizations/{cast.org.pk}/",
        f"/api/v1/departments/{cast.department.pk}/",
        f"/api/v1/teams/{cast.team.pk}/",
        f"/api/v1/services/{cast.service.pk}/",
        f"/api/v1/services/{cast.other_service.pk}/",
        f"/api/v1/team-memberships/{cast.team.memberships.first().pk}/",
        f"/api/v1/org-memberships/{cast.org.memberships.first().pk}/",
    ):
        assert_matrix(api_for, url, API_SHARED_READ)


def test_api_org_structure_writes_are_admin_only(cast, api_for):
    assert_matrix(
        api_for,
        f"/api/v1/organizations/{cast.org.pk}/",
        ADMIN_ONLY_API_WRITE,
        method="patch",
        data={"name": "Acme Inc"},
    )
    assert_matrix(
        api_for,
        f"/api/v1/departments/{cast.department.pk}/",
        ADMIN_ONLY_API_WRITE,
        method="patch",
        data={"name": "Eng"},
    )
    assert_matrix(
        api_for,
        f"/api/v1/teams/{cast.team.pk}/",
        ADMIN_ONLY_API_WRITE,
        method="patch",
        data={"description": "We run checkout."},
    )
    membership = cast.team.memberships.get(user=cast.member)
    assert_matrix(
        api_for,
        f"/api/v1/team-memberships/{membership.pk}/",
        ADMIN_ONLY_API_WRITE,
        method="patch",
        data={"role": "member"},
    )
    membership = cast.org.memberships.get(user=cast.leader)
    assert_matrix(
        api_for,
        f"/api/v1/org-memberships/{membership.pk}/",
        ADMIN_ONLY_API_WRITE,
        method="patch",
        data={"role": "leader"},
    )


def test_api_service_writes(cast, api_for):
    assert_matrix(
        api_for,
        f"/api/v1/services/{cast.service.pk}/",
        LEAD_API_WRITE,
        method="patch",
        data={"description": "Takes orders."},
    )
    # The lead of one team cannot touch another team's service.
    assert_matrix(
        api_for,
        f"/api/v1/services/{cast.other_service.pk}/",
        ADMIN_ONLY_API_WRITE,
        method="patch",
        data={"description": "x"},
    )


def test_api_service_create(cast, api_for):
    payload = {"organization": cast.org.pk, "team": cast.team.pk, "name": "new-svc", "slug": "new-svc", "tier": 2}
    expected = {
        "org_admin": 201,
        "leader": 403,
        "lead": 201,
        "member": 403,
        "other_member": 403,
        # Another org's team id reads as a bad reference, not as "exists but forbidden".
        "outsider": 400,
        "anonymous": 401,
    }
    assert_matrix(
        api_for,
        "/api/v1/services/",
        expected,
        method="post",
        data=payload,
        reset=lambda: Service.objects.filter(slug="new-svc").delete(),
    )


def test_api_lead_cannot_move_a_service_to_another_team(cast, api_for):
    response = api_for("lead").patch(
        f"/api/v1/services/{cast.service.pk}/", {"team": cast.other_team.pk}, format="json"
    )
    assert response.status_code == 403
    cast.service.refresh_from_db()
    assert cast.service.team == cast.team


def test_api_deletes(cast, api_for):
    url = f"/api/v1/services/{cast.service.pk}/"
    for role, status in [("outsider", 404), ("member", 403), ("leader", 403), ("anonymous", 401)]:
        assert api_for(role).delete(url).status_code == status
    assert Service.objects.filter(pk=cast.service.pk).exists()
    assert api_for("lead").delete(url).status_code == 204
    assert not Service.objects.filter(pk=cast.service.pk).exists()


def test_switch_organization(cast, client_for):
    from apps.teams.services import org_membership_set

    org_membership_set(actor=SYSTEM, organization=cast.other_org, user=cast.leader, role="leader")
    client = client_for("leader")
    assert client.post("/teams/switch-organization/", {"organization": cast.other_org.pk}).status_code == 302
    assert "Billing" in client.get("/teams/").content.decode()
    # Switching to an org one does not belong to is a 404, and changes nothing.
    member = client_for("member")
    assert member.post("/teams/switch-organization/", {"organization": cast.other_org.pk}).status_code == 404
    assert "Checkout" in member.get("/teams/").content.decode()


def test_people_start_in_the_organization_they_joined_first(cast, client_for):
    from apps.teams.services import org_membership_set
    from tests.factories import OrganizationFactory

    # "Aardvark" sorts before "Acme" but the leader joined it later.
    org_membership_set(
        actor=SYSTEM,
        organization=OrganizationFactory(name="Aardvark", slug="aardvark"),
        user=cast.leader,
        role="leader",
    )
    page = client_for("leader").get("/teams/").content.decode()
    assert "Checkout" in page
