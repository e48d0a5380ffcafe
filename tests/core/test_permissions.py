"""The permissions module on objects, for every role of the cast."""

import pytest
from django.db.models import Q

from apps.core import permissions
from apps.teams.models import Department, Organization, Service, Team, TeamMembership

pytestmark = pytest.mark.django_db


def test_org_roles(cast):
    assert permissions.org_role(cast.org_admin, cast.org) == "admin"
    assert permissions.org_role(cast.leader, cast.org) == "leader"
    # Team membership implies org membership.
    assert permissions.org_role(cast.member, cast.org) == "member"
    assert permissions.org_role(cast.outsider, cast.org) is None
    assert permissions.team_role(cast.lead, cast.team) == "lead"
    assert permissions.team_role(cast.lead, cast.other_team) is None


@pytest.mark.parametrize(
    "role, can_view, can_change",
    [
        ("org_admin", True, True),
        ("leader", True, False),
        ("lead", True, True),
        ("member", True, False),
        ("other_member", True, False),
        ("outsider", False, False),
    ],
)
def test_service_access(cast, role, can_view, can_change):
    user = cast.user(role)
    assert permissions.can_view(user, cast.service) is can_view
    assert permissions.can_change(user, cast.service) is can_change


@pytest.mark.parametrize("role", ["leader", "lead", "member", "other_member", "outsider"])
def test_only_org_admins_change_org_structure(cast, role):
    user = cast.user(role)
    for obj in (cast.org, cast.department, cast.team, cast.team.memberships.first()):
        assert permissions.can_change(user, obj) is False, (role, obj)
    assert permissions.can_change(cast.org_admin, cast.team)
    assert not permissions.can_change(cast.org_admin, cast.other_org)


def test_create_rules(cast):
    assert permissions.can_create(cast.lead, Service, team=cast.team)
    assert not permissions.can_create(cast.lead, Service, team=cast.other_team)
    assert not permissions.can_create(cast.member, Service, team=cast.team)
    assert not permissions.can_create(cast.leader, Service, team=cast.team)
    assert permissions.can_create(cast.org_admin, Service, team=cast.other_team)
    assert not permissions.can_create(cast.outsider, Service, team=cast.team)
    assert not permissions.can_create(cast.lead, Team, organization=cast.org)
    assert not permissions.can_create(None, Service, team=cast.team)


def test_viewable_scopes_querysets(cast):
    def names(user, model):
        return set(permissions.viewable(user, model.objects.all()).values_list("slug", flat=True))

    assert names(cast.member, Team) == {"checkout", "search"}
    assert names(cast.outsider, Team) == {"billing"}
    assert names(cast.leader, Service) == {"checkout-api", "search-api"}
    assert names(cast.outsider, Organization) == {"initech"}
    assert names(cast.member, Department) == {"engineering"}
    assert permissions.viewable(cast.member, TeamMembership.objects.all()).count() == 3


def test_inactive_and_anonymous_users_see_nothing(cast):
    from django.contrib.auth.models import AnonymousUser

    cast.member.is_active = False
    assert permissions.viewable(cast.member, Team.objects.all()).count() == 0
    assert not permissions.can_view(AnonymousUser(), cast.team)


def test_shared_rows_and_extra_viewers(cast):
    """A model with drafts: the team and named viewers read them, the rest of the org does not."""
    permissions.register(
        Service,
        org="organization",
        team="team",
        shared=Q(lifecycle="production"),
        extra_viewers=lambda user: Q(description__contains=f"reviewer:{user.pk}"),
    )
    try:
        draft = cast.service
        draft.lifecycle = "experimental"
        draft.save()
        permissions.forget_memberships(cast.other_member)
        assert permissions.can_view(cast.member, draft)
        assert permissions.can_view(cast.leader, draft)
        assert not permissions.can_view(cast.other_member, draft)
        assert draft not in permissions.viewable(cast.other_member, Service.objects.all())
        draft.description = f"reviewer:{cast.other_member.pk}"
        draft.save()
        assert permissions.can_view(cast.other_member, draft)
        assert draft in permissions.viewable(cast.other_member, Service.objects.all())
    finally:
        permissions.register(Service, org="organization", team="team", editors=permissions.EDITORS_LEAD)


def test_get_for_user_404_and_403(cast):
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    with pytest.raises(Http404):
        permissions.get_for_user(cast.outsider, Service.objects.all(), pk=cast.service.pk)
    with pytest.raises(PermissionDenied):
        permissions.get_for_user(cast.member, Service.objects.all(), change=True, pk=cast.service.pk)
    assert permissions.get_for_user(cast.lead, Service.objects.all(), change=True, pk=cast.service.pk) == cast.service
