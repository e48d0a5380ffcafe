"""The Django admin as an org admin: only their own organizations, everywhere."""

import pytest

from apps.teams.models import Team
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, cast):
    client.force_login(cast.org_admin)
    return client


def test_org_admin_is_staff_and_sees_only_own_org(cast, admin_client):
    assert cast.org_admin.is_staff
    page = admin_client.get("/admin/teams/team/").content.decode()
    assert "Checkout" in page and "Billing" not in page
    foreign = Team.objects.get(slug="billing")
    assert admin_client.get(f"/admin/teams/team/{foreign.pk}/change/").status_code == 302  # "does not exist" redirect
    assert admin_client.get(f"/admin/teams/team/{cast.team.pk}/change/").status_code == 200
    page = admin_client.get("/admin/teams/organization/").content.decode()
    assert "Acme" in page and "Initech" not in page


def test_org_admin_cannot_create_a_team_in_another_org(cast, admin_client):
    response = admin_client.post(
        "/admin/teams/team/add/",
        {
            "organization": cast.other_org.pk,
            "name": "Sneaky",
            "slug": "sneaky",
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
            "services-TOTAL_FORMS": 0,
            "services-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200  # the form comes back with an error
    assert "Select a valid choice" in response.content.decode()
    assert not Team.objects.filter(slug="sneaky").exists()


def test_org_admin_creates_a_team_with_members_inline(cast, admin_client):
    response = admin_client.post(
        "/admin/teams/team/add/",
        {
            "organization": cast.org.pk,
            "name": "Growth",
            "slug": "growth",
            "description": "",
            "memberships-TOTAL_FORMS": 1,
            "memberships-INITIAL_FORMS": 0,
            "memberships-0-user": cast.other_member.pk,
            "memberships-0-role": "lead",
            "services-TOTAL_FORMS": 0,
            "services-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    team = Team.objects.get(slug="growth")
    assert team.memberships.get().user == cast.other_member


def test_services_inline_takes_the_team_organization(cast, admin_client):
    def post(slug):
        return admin_client.post(
            "/admin/teams/team/add/",
            {
                "organization": cast.org.pk,
                "name": f"Team {slug}",
                "slug": f"team-{slug}",
                "memberships-TOTAL_FORMS": 0,
                "memberships-INITIAL_FORMS": 0,
                "services-TOTAL_FORMS": 1,
                "services-INITIAL_FORMS": 0,
                "services-0-name": "Ledger",
                "services-0-slug": slug,
                "services-0-tier": 1,
                "services-0-lifecycle": "production",
            },
        )

    # No organization column on the inline: the service is the team's organization's.
    assert post("ledger").status_code == 302
    service = Team.objects.get(slug="team-ledger").services.get()
    assert service.organization == cast.org and service.slug == "ledger"
    # Slugs are unique per organization, and that is still checked on the inline.
    response = post(cast.service.slug)
    assert response.status_code == 200 and "already exists" in response.content.decode()
    assert not Team.objects.filter(slug=f"team-{cast.service.slug}").exists()


def test_autocomplete_is_scoped(cast, admin_client):
    TeamFactory(organization=cast.other_org, name="Checkout Foreign", slug="checkout-foreign")
    response = admin_client.get(
        "/admin/autocomplete/",
        {"term": "Checkout", "app_label": "teams", "model_name": "service", "field_name": "team"},
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["Checkout"]


@pytest.mark.parametrize("role", ["leader", "lead", "member"])
def test_non_admins_cannot_use_the_admin(cast, client, role):
    user = cast.user(role)
    user.is_staff = True  # even with the staff flag, no org-admin role means no access
    user.save()
    client.force_login(user)
    assert client.get("/admin/teams/team/").status_code == 403
    assert client.get(f"/admin/teams/team/{cast.team.pk}/change/").status_code == 403


def test_superuser_sees_all_orgs(cast, client):
    client.force_login(UserFactory(email="root@example.test", is_superuser=True, is_staff=True))
    page = client.get("/admin/teams/team/").content.decode()
    assert "Checkout" in page and "Billing" in page


def test_org_admin_sees_only_own_people_and_cannot_grant_superuser(cast, admin_client):
    page = admin_client.get("/admin/accounts/user/").content.decode()
    assert "member@example.test" in page and "outsider@example.test" not in page
    admin_client.post(
        f"/admin/accounts/user/{cast.member.pk}/change/",
        {"email": cast.member.email, "name": "M", "is_active": "on", "is_superuser": "on", "is_staff": "on"},
    )
    cast.member.refresh_from_db()
    assert not cast.member.is_superuser


def test_org_admin_invites_a_person(cast, admin_client, mailoutbox):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "New.Hire@Example.test",
            "name": "New Hire",
            "organization": cast.org.pk,
            "role": "member",
            "send_invite": "on",
        },
    )
    assert response.status_code == 302
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(email="new.hire@example.test")
    assert not user.has_usable_password()
    assert cast.org.memberships.filter(user=user, role="member").exists()
    assert len(mailoutbox) == 1 and "new.hire@example.test" in mailoutbox[0].to
    assert "/accounts/password/reset/key/" in mailoutbox[0].body
