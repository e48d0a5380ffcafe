"""The write rule in teams and accounts: services check the actor (org admins shape their org,
people make their own tokens), and the API's create/update go through them."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.accounts.services import api_token_create, api_token_revoke, user_get_or_create
from apps.teams import services
from apps.teams.models import Service, Team, TeamMembership

pytestmark = pytest.mark.django_db


def test_only_an_org_admin_changes_memberships_and_teams(cast):
    for actor in (cast.lead, cast.leader, cast.member, cast.outsider):
        with pytest.raises(PermissionDenied):
            services.team_membership_set(actor=actor, team=cast.team, user=cast.other_member, role="member")
        with pytest.raises(PermissionDenied):
            services.team_upsert(actor=actor, organization=cast.org, name="Payments")
    assert not TeamMembership.objects.filter(team=cast.team, user=cast.other_member).exists()
    assert not Team.objects.filter(slug="payments").exists()
    services.team_membership_set(actor=cast.org_admin, team=cast.team, user=cast.other_member, role="member")
    assert TeamMembership.objects.filter(team=cast.team, user=cast.other_member).exists()


def test_a_team_lead_edits_their_service_but_cannot_hand_it_to_another_team(cast, client_for, api_for):
    response = client_for("lead").post(
        f"/teams/services/{cast.service.pk}/edit/",
        {"name": "checkout-api", "slug": cast.service.slug, "description": "Takes payments", "tier": 1,
         "lifecycle": cast.service.lifecycle, "repository_url": "", "runbook_url": ""},
    )  # fmt: skip
    assert response.status_code == 302, response.content[:500]
    assert Service.objects.get(pk=cast.service.pk).description == "Takes payments"
    moved = api_for("lead").patch(f"/api/v1/services/{cast.service.pk}/", {"team": cast.other_team.pk}, format="json")
    assert moved.status_code == 403
    assert Service.objects.get(pk=cast.service.pk).team_id == cast.team.pk
    with pytest.raises(PermissionDenied):
        services.service_update(actor=cast.lead, service=cast.service, team=cast.other_team)


def test_the_api_creates_teams_through_the_service(cast, api_for):
    body = {"organization": cast.org.pk, "name": "Payments", "slug": "payments"}
    assert api_for("lead").post("/api/v1/teams/", body, format="json").status_code == 403
    created = api_for("org_admin").post("/api/v1/teams/", body, format="json")
    assert created.status_code == 201, created.content
    assert Team.objects.get(slug="payments").organization_id == cast.org.pk
    renamed = api_for("org_admin").patch(f"/api/v1/teams/{created.json()['id']}/", {"name": "Pay"}, format="json")
    assert renamed.status_code == 200 and Team.objects.get(slug="payments").name == "Pay"


def test_a_department_of_another_org_is_refused_by_the_service(cast):
    from apps.teams.models import Organization

    other = Organization.objects.get(slug="initech")
    foreign = services.department_upsert(actor=cast.outsider, organization=other, name="Finance")
    with pytest.raises(ValidationError) as exc:
        services.team_upsert(actor=cast.org_admin, organization=cast.org, name="Payments", department=foreign)
    assert exc.value.message_dict == {"department": ["The department belongs to another organization."]}


def test_people_make_and_revoke_only_their_own_tokens(cast):
    with pytest.raises(PermissionDenied):
        api_token_create(actor=cast.member, user=cast.lead, name="not mine")
    token, _raw = api_token_create(actor=cast.lead, user=cast.lead, name="mine")
    with pytest.raises(PermissionDenied):
        api_token_revoke(actor=cast.member, token=token)
    token.refresh_from_db()
    assert token.revoked_at is None
    api_token_revoke(actor=cast.lead, token=token)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_only_an_admin_adds_people(cast):
    with pytest.raises(PermissionDenied):
        user_get_or_create(actor=cast.lead, email="new@example.test")
    user, created = user_get_or_create(actor=cast.org_admin, email="new@example.test")
    assert created and user.email == "new@example.test"
