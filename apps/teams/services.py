"""Writes to the org structure. Each function is transactional and idempotent, takes the `actor`
asking for it and checks their right here (org admins shape their organization; only a superuser
or `permissions.SYSTEM`, for the seed and imports, adds organizations)."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.text import slugify

from apps.core import permissions
from apps.core.validation import require_same_organization

from .models import Department, Organization, OrgMembership, Service, Team, TeamMembership


def _slug(name: str) -> str:
    return slugify(name)[:80] or "item"


@transaction.atomic
def organization_upsert(*, actor, name: str, slug: str | None = None) -> Organization:
    slug = slug or _slug(name)
    existing = Organization.objects.filter(slug=slug).first()
    if existing is None:
        if not getattr(actor, "is_superuser", False):
            raise PermissionDenied("Only a superuser creates organizations.")
    else:
        permissions.require_org_admin(actor, existing)
    org, _ = Organization.objects.update_or_create(slug=slug, defaults={"name": name})
    return org


@transaction.atomic
def org_membership_set(*, actor, organization: Organization, user, role: str) -> OrgMembership:
    permissions.require_org_admin(actor, organization, "Only an organization admin changes who is in it.")
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
def department_upsert(*, actor, organization: Organization, name: str, slug: str | None = None, parent=None):
    permissions.require_org_admin(actor, organization)
    require_same_organization(organization, field="parent", obj=parent, label="The parent department")
    dept, _ = Department.objects.update_or_create(
        organization=organization, slug=slug or _slug(name), defaults={"name": name, "parent": parent}
    )
    dept.full_clean()
    return dept


@transaction.atomic
def team_upsert(
    *, actor, organization: Organization, name: str, slug: str | None = None, department=None, description: str = ""
) -> Team:
    permissions.require_org_admin(actor, organization)
    require_same_organization(organization, field="department", obj=department)
    team, _ = Team.objects.update_or_create(
        organization=organization,
        slug=slug or _slug(name),
        defaults={"name": name, "department": department, "description": description},
    )
    team.full_clean()
    return team


@transaction.atomic
def team_membership_set(*, actor, team: Team, user, role: str) -> TeamMembership:
    """Put a user on a team (a team member is always at least an org member)."""
    permissions.require_org_admin(actor, team.organization, "Only an organization admin changes who is on a team.")
    OrgMembership.objects.get_or_create(
        organization_id=team.organization_id, user=user, defaults={"role": OrgMembership.Role.MEMBER}
    )
    membership, _ = TeamMembership.objects.update_or_create(team=team, user=user, defaults={"role": role})
    permissions.forget_memberships(user)
    return membership


@transaction.atomic
def service_upsert(*, actor, organization: Organization, team: Team, name: str, slug: str | None = None, **fields):
    require_same_organization(organization, field="team", obj=team, label="The owning team")
    slug = slug or _slug(name)
    existing = Service.objects.filter(organization=organization, slug=slug).first()
    if existing is not None:
        permissions.require_change(actor, existing, "You may not change this service.")
    permissions.require_create(actor, Service, organization=organization, team=team)
    service, _ = Service.objects.update_or_create(
        organization=organization,
        slug=slug,
        defaults={"name": name, "team": team, **fields},
    )
    service.full_clean()
    return service


# --- one row at a time (the API: create is a new row, update edits that row) --------------------


def _set_fields(obj, fields: dict, allowed: set) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"Unknown {obj._meta.model_name} fields: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(obj, name, value)


def _require_move(actor, obj, fields: dict) -> None:
    """Moving a row to another organization or team needs the right to create it there."""
    scope = {
        name: fields.get(name, getattr(obj, name)) for name in ("organization", "team") if hasattr(obj, f"{name}_id")
    }
    moved = any(getattr(scope.get(name), "pk", None) != getattr(obj, f"{name}_id") for name in scope)
    if moved:
        permissions.require_create(actor, type(obj), **scope, message="You may not move this there.")


def _save(obj):
    obj.full_clean()
    obj.save()
    return obj


@transaction.atomic
def organization_create(*, actor, name: str, slug: str) -> Organization:
    if not getattr(actor, "is_superuser", False):
        raise PermissionDenied("Only a superuser creates organizations.")
    return _save(Organization(name=name, slug=slug))


@transaction.atomic
def organization_update(*, actor, organization: Organization, **fields) -> Organization:
    permissions.require_org_admin(actor, organization)
    _set_fields(organization, fields, {"name", "slug"})
    return _save(organization)


@transaction.atomic
def department_create(*, actor, organization: Organization, name: str, slug: str, parent=None) -> Department:
    permissions.require_create(actor, Department, organization=organization)
    require_same_organization(organization, field="parent", obj=parent, label="The parent department")
    return _save(Department(organization=organization, name=name, slug=slug, parent=parent))


@transaction.atomic
def department_update(*, actor, department: Department, **fields) -> Department:
    permissions.require_change(actor, department)
    _require_move(actor, department, fields)
    _set_fields(department, fields, {"organization", "name", "slug", "parent"})
    return _save(department)


@transaction.atomic
def team_create(*, actor, organization: Organization, name: str, slug: str, department=None, description="") -> Team:
    permissions.require_create(actor, Team, organization=organization)
    require_same_organization(organization, field="department", obj=department)
    return _save(Team(organization=organization, name=name, slug=slug, department=department, description=description))


@transaction.atomic
def team_update(*, actor, team: Team, **fields) -> Team:
    permissions.require_change(actor, team)
    _require_move(actor, team, fields)
    _set_fields(team, fields, {"organization", "name", "slug", "department", "description"})
    return _save(team)


SERVICE_FIELDS = {"name", "slug", "description", "tier", "lifecycle", "repository_url", "runbook_url"}


@transaction.atomic
def service_create(*, actor, organization: Organization, team: Team, name: str, slug: str, **fields) -> Service:
    permissions.require_create(actor, Service, organization=organization, team=team)
    require_same_organization(organization, field="team", obj=team, label="The owning team")
    service = Service(organization=organization, team=team, name=name, slug=slug)
    _set_fields(service, fields, SERVICE_FIELDS)
    return _save(service)


@transaction.atomic
def service_update(*, actor, service: Service, **fields) -> Service:
    """Edit a service (the service page's form, the API); handing it to another team needs the
    right to add services there."""
    permissions.require_change(actor, service, "You may not change this service.")
    _require_move(actor, service, fields)
    _set_fields(service, fields, SERVICE_FIELDS | {"organization", "team"})
    return _save(service)


@transaction.atomic
def org_membership_update(*, actor, membership: OrgMembership, **fields) -> OrgMembership:
    permissions.require_change(actor, membership)
    _require_move(actor, membership, fields)
    _set_fields(membership, fields, {"organization", "user", "role"})
    _save(membership)
    permissions.forget_memberships(membership.user)
    return membership


@transaction.atomic
def team_membership_update(*, actor, membership: TeamMembership, **fields) -> TeamMembership:
    permissions.require_change(actor, membership)
    _require_move(actor, membership, fields)
    _set_fields(membership, fields, {"team", "user", "role"})
    _save(membership)
    permissions.forget_memberships(membership.user)
    return membership
