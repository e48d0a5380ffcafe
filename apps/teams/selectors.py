"""Reads of the org structure; every list is scoped by apps.core.permissions."""

from django.db.models import Count, Prefetch, Q

from apps.core import permissions

from .models import Department, Organization, Service, Team, TeamMembership


def organizations_for_user(user):
    return permissions.viewable(user, Organization.objects.all()).order_by("name")


def team_list(*, user, organization, department=None, search: str = ""):
    qs = (
        permissions.viewable(user, Team.objects.filter(organization=organization))
        .select_related("department")
        .annotate(
            member_count=Count("memberships", distinct=True),
            service_count=Count("services", distinct=True),
        )
        .order_by("name")
    )
    if department:
        qs = qs.filter(department=department)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(description__icontains=search))
    return qs


def team_detail(*, user, pk: int) -> Team:
    qs = Team.objects.select_related("organization", "department__parent").prefetch_related(
        Prefetch("memberships", queryset=TeamMembership.objects.select_related("user").order_by("role", "user__email")),
        Prefetch("services", queryset=Service.objects.order_by("tier", "name")),
    )
    return permissions.get_for_user(user, qs, pk=pk)


def department_list(*, user, organization):
    return permissions.viewable(user, Department.objects.filter(organization=organization)).select_related("parent")


def service_list(*, user, organization, team=None, tier=None):
    qs = permissions.viewable(user, Service.objects.filter(organization=organization)).select_related("team")
    if team:
        qs = qs.filter(team=team)
    if tier:
        qs = qs.filter(tier=tier)
    return qs.order_by("tier", "name")


def teams_of_user(user):
    return Team.objects.filter(memberships__user=user).select_related("organization").order_by("name")


def org_people(organization):
    """The active people of an organization (what a person picker offers)."""
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(org_memberships__organization=organization, is_active=True)
        .distinct()
        .order_by("name", "email")
    )


def people_search(*, organization, q: str, limit: int = 10) -> list:
    """Up to `limit` people of the organization whose name or email contains `q`."""
    qs = org_people(organization)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(email__icontains=q))
    return list(qs[:limit])
