import pytest

from apps.accounts.services import api_token_create, api_token_revoke
from apps.teams.models import Service, Team, TeamMembership
from tests.api_base import APICrudTests
from tests.factories import DepartmentFactory, ServiceFactory, TeamFactory, UserFactory


class TestOrganizationAPI(APICrudTests):
    endpoint = "/api/v1/organizations/"
    actor = "superuser"
    update_payload = {"name": "Acme Holdings"}

    @pytest.fixture
    def api_for(self, api_for, cast):
        from rest_framework.test import APIClient

        root = UserFactory(email="root@example.test", is_superuser=True, is_staff=True)

        def make(role):
            if role != "superuser":
                return api_for(role)
            client = APIClient()
            client.force_authenticate(root)
            return client

        return make

    def make_object(self, cast):
        from tests.factories import OrganizationFactory

        org = OrganizationFactory(name="Hooli", slug="hooli")
        org.memberships.create(user=cast.org_admin, role="admin")
        return org

    def create_payload(self, cast):
        return {"name": "Umbrella", "slug": "umbrella"}

    def test_org_admin_cannot_create_organizations(self, cast, api_for):
        assert api_for("org_admin").post(self.endpoint, {"name": "X", "slug": "x"}, format="json").status_code == 403


class TestDepartmentAPI(APICrudTests):
    endpoint = "/api/v1/departments/"
    update_payload = {"name": "Platform"}

    def make_object(self, cast):
        return DepartmentFactory(organization=cast.org, name="Data", slug="data")

    def create_payload(self, cast):
        return {"organization": cast.org.pk, "name": "Infra", "slug": "infra", "parent": cast.department.pk}

    def test_parent_from_another_org_is_refused(self, cast, api_for):
        foreign = DepartmentFactory(organization=cast.other_org)
        response = api_for("org_admin").post(
            self.endpoint, {"organization": cast.org.pk, "name": "X", "slug": "x", "parent": foreign.pk}, format="json"
        )
        assert response.status_code == 400
        assert "parent" in response.json()


class TestTeamAPI(APICrudTests):
    endpoint = "/api/v1/teams/"
    update_payload = {"description": "Owns checkout."}

    def make_object(self, cast):
        return TeamFactory(organization=cast.org, name="Mobile", slug="mobile")

    def create_payload(self, cast):
        return {"organization": cast.org.pk, "name": "Growth", "slug": "growth", "department": cast.department.pk}

    def test_deleting_a_team_that_owns_services_is_a_409(self, cast, api_for):
        response = api_for("org_admin").delete(f"{self.endpoint}{cast.team.pk}/")
        assert response.status_code == 409
        assert "service: checkout-api" in response.json()["blocked_by"]
        assert Team.objects.filter(pk=cast.team.pk).exists()

    def test_filter_by_member_email(self, cast, api_for):
        rows = api_for("leader").get(self.endpoint, {"member": "member@example.test"}).json()["results"]
        assert [r["slug"] for r in rows] == ["checkout"]

    def test_search_and_ordering(self, cast, api_for):
        rows = api_for("leader").get(self.endpoint, {"search": "sear"}).json()["results"]
        assert [r["slug"] for r in rows] == ["search"]
        rows = api_for("leader").get(self.endpoint, {"ordering": "-name"}).json()["results"]
        assert [r["slug"] for r in rows] == ["search", "checkout"]


class TestServiceAPI(APICrudTests):
    endpoint = "/api/v1/services/"
    update_payload = {"tier": 3}

    def make_object(self, cast):
        return ServiceFactory(team=cast.team, name="cart")

    def create_payload(self, cast):
        return {
            "organization": cast.org.pk,
            "team": cast.team.pk,
            "name": "Tax",
            "slug": "tax",
            "tier": 1,
            "lifecycle": "production",
            "repository_url": "https://git.example.com/tax",
        }

    def test_tier_out_of_range_is_a_400_naming_the_field(self, cast, api_for):
        payload = {**self.create_payload(cast), "tier": 7}
        response = api_for("org_admin").post(self.endpoint, payload, format="json")
        assert response.status_code == 400 and "tier" in response.json()
        assert not Service.objects.filter(slug="tax").exists()

    def test_team_of_another_org_is_refused(self, cast, api_for):
        foreign = TeamFactory(organization=cast.other_org)
        payload = {**self.create_payload(cast), "team": foreign.pk}
        response = api_for("org_admin").post(self.endpoint, payload, format="json")
        assert response.status_code == 400 and "team" in response.json()

    def test_pagination(self, cast, api_for):
        for i in range(60):
            ServiceFactory(team=cast.team, name=f"svc-{i:02d}")
        body = api_for("member").get(self.endpoint).json()
        assert body["count"] == 62 and len(body["results"]) == 50 and body["next"]
        body = api_for("member").get(self.endpoint, {"page_size": 10, "page": 2}).json()
        assert len(body["results"]) == 10


class TestTeamMembershipAPI(APICrudTests):
    endpoint = "/api/v1/team-memberships/"
    update_payload = {"role": "lead"}

    def make_object(self, cast):
        return TeamMembership.objects.get(team=cast.team, user=cast.member)

    def create_payload(self, cast):
        UserFactory(email="new.person@example.test")
        return {"team": cast.other_team.pk, "user": "New.Person@example.test", "role": "member"}

    def test_adding_to_a_team_makes_an_org_member(self, cast, api_for):
        payload = self.create_payload(cast)
        assert api_for("org_admin").post(self.endpoint, payload, format="json").status_code == 201
        assert cast.org.memberships.filter(user__email="new.person@example.test", role="member").exists()


class TestOrgMembershipAPI(APICrudTests):
    endpoint = "/api/v1/org-memberships/"
    update_payload = {"role": "admin"}

    def make_object(self, cast):
        return cast.org.memberships.get(user=cast.leader)

    def create_payload(self, cast):
        UserFactory(email="vp@example.test")
        return {"organization": cast.org.pk, "user": "vp@example.test", "role": "leader"}

    def test_unknown_email_is_a_400(self, cast, api_for):
        payload = {"organization": cast.org.pk, "user": "nobody@example.test", "role": "member"}
        response = api_for("org_admin").post(self.endpoint, payload, format="json")
        assert response.status_code == 400 and "user" in response.json()


@pytest.mark.django_db
class TestTokenAuth:
    def test_bearer_token_acts_as_its_user(self, cast, client):
        token, raw = api_token_create(actor=cast.member, user=cast.member, name="ci")
        response = client.get("/api/v1/teams/", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 200
        assert {r["slug"] for r in response.json()["results"]} == {"checkout", "search"}
        token.refresh_from_db()
        assert token.last_used_at is not None

    def test_revoked_expired_and_wrong_tokens_are_401(self, cast, client):
        from datetime import timedelta

        from django.utils import timezone

        token, raw = api_token_create(actor=cast.member, user=cast.member, name="ci")
        api_token_revoke(actor=token.user, token=token)
        assert client.get("/api/v1/teams/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
        _expired, raw2 = api_token_create(
            actor=cast.member, user=cast.member, name="old", expires_at=timezone.now() - timedelta(days=1)
        )
        assert client.get("/api/v1/teams/", HTTP_AUTHORIZATION=f"Bearer {raw2}").status_code == 401
        assert client.get("/api/v1/teams/", HTTP_AUTHORIZATION="Bearer dm_not-a-token").status_code == 401
        assert client.get("/api/v1/teams/", HTTP_AUTHORIZATION="Token").status_code == 401

    def test_only_the_hash_is_stored(self, cast):
        token, raw = api_token_create(actor=cast.member, user=cast.member, name="ci")
        assert raw not in (token.key_hash, token.key_prefix) and len(token.key_hash) == 64
        assert raw.startswith(token.key_prefix)


@pytest.mark.django_db
def test_openapi_schema_and_docs_work_offline(client, cast):
    client.force_login(cast.member)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/teams/" in schema.content and b"apiToken" in schema.content
    docs = client.get("/api/docs/").content.decode()
    # Swagger UI is served from our static files (drf-spectacular-sidecar), not a CDN.
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs
    assert "cdn" not in docs.lower()
    # No inline start-up script (CSP script-src 'self'): it is served as a script of its own.
    assert "<script>" not in docs and 'src="/api/docs/?script="' in docs
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content and b"/api/schema/" in script.content
