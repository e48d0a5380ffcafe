"""Writes to the org structure. Each function is transactional and idempotent."""

from django.db import transaction
from django.utils.text import slugify

from apps.core import permissions

from .models import Department, Organization, OrgMembership, Service, Team, TeamMembership


def unique_slug(name: str) -> str:
    return slugify(name)[:80] or "item"


@transaction.atomic
def organization_upsert(*, name: str, slug: str | None = None) -> Organization:
    org, _ = Organization.objects.update_or_create(slug=slug or unique_slug(name), defaults={"name": name})
    return org


@transaction.atomic
def org_membership_set(*, organization: Organization, user, role: str) -> OrgMembership:
    membership, _ = OrgMembership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if role == OrgMembership.Role.ADMIN and not user.is_staff:
        # Org admins manage their org in the Django admin, which needs staff.
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    permissions.forget_memberships(user)
    return membership


@transaction.atomic
def department_upsert(*, organization: Organization, name: str, slug: str | None = None, parent=None):
    dept, _ = Department.objects.update_or_create(
        organization=organization, slug=slug or unique_slug(name), defaults={"name": name, "parent": parent}
    )
    dept.full_clean()
    return dept


@transaction.atomic
def team_upsert(
    *, organization: Organization, name: str, slug: str | None = None, department=None, description: str = ""
) -> Team:
    team, _ = Team.objects.update_or_create(
        organization=organization,
        slug=slug or unique_slug(name),
        defaults={"name": name, "department": department, "description": description},
    )
    team.full_clean()
    return team


@transaction.atomic
def team_membership_set(*, team: Team, user, role: str) -> TeamMembership:
    """Put a user on a team (a team member is always at least an org member)."""
    OrgMembership.objects.get_or_create(
        organization_id=team.organization_id, user=user, defaults={"role": OrgMembership.Role.MEMBER}
    )
    membership, _ = TeamMembership.objects.update_or_create(team=team, user=user, defaults={"role": role})
    permissions.forget_memberships(user)
    return membership


@transaction.atomic
def service_upsert(*, organization: Organization, team: Team, name: str, slug: str | None = None, **fields):
    service, _ = Service.objects.update_or_create(
        organization=organization,
        slug=slug or unique_slug(name),
        defaults={"name": name, "team": team, **fields},
    )
    service.full_clean()
    return service
