"""The one place that answers "may this user do this to this object".

Every HTML view, API endpoint, admin page and export asks this module (Roles
in DESIGN.md):

| role        | sees                                  | changes                                   |
|-------------|---------------------------------------|-------------------------------------------|
| org admin   | the whole org                         | everything in the org                     |
| leader      | the whole org                         | nothing of the teams' own records         |
| team lead   | the org's shared records + own team's | own team's records                        |
| team member | the org's shared records + own team's | own team's records whose editors="member" |
| anyone else | nothing (404)                         | nothing                                   |

A model takes part by registering a `Policy`: the ORM path to its
organization, to its owning team (None for org-level records such as teams and
departments, which only org admins change), who in the team edits it, and
which rows are "shared" (visible to the whole org; the rest only to the
owning team, admins and leaders).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404

ORG_ADMIN = "admin"
ORG_LEADER = "leader"
ORG_MEMBER = "member"
TEAM_LEAD = "lead"
TEAM_MEMBER = "member"

EDITORS_LEAD = "lead"
EDITORS_MEMBER = "member"
EDITORS_ADMIN = "admin"


@dataclass(frozen=True)
class Policy:
    org_path: str
    team_path: str | None = None
    editors: str = EDITORS_LEAD
    # Q selecting the rows the whole org may read; None means every row.
    shared_q: Q | None = None
    # Extra readers/editors beyond the team (e.g. named reviewers of a draft).
    extra_viewers_q: Callable[[object], Q] | None = None
    extra_editor: Callable[[object, Model], bool] | None = None


_registry: dict[type[Model], Policy] = {}


def register(
    model: type[Model],
    *,
    org: str,
    team: str | None = None,
    editors: str = EDITORS_LEAD,
    shared: Q | None = None,
    extra_viewers: Callable[[object], Q] | None = None,
    extra_editor: Callable[[object, Model], bool] | None = None,
) -> None:
    """Declare how a model is scoped. `org` and `team` are ORM paths ("team__organization")."""
    _registry[model] = Policy(
        org_path=org,
        team_path=team,
        editors=editors,
        shared_q=shared,
        extra_viewers_q=extra_viewers,
        extra_editor=extra_editor,
    )


def is_registered(model) -> bool:
    return model in _registry


def policy_for(model: type[Model]) -> Policy:
    model = getattr(model, "_meta", None) and model._meta.concrete_model or model
    try:
        return _registry[model]
    except KeyError as exc:
        raise LookupError(f"{model.__name__} has no permission policy; call permissions.register") from exc


# --- who is this user in the org? -------------------------------------------


def _memberships(user) -> tuple[dict[int, str], dict[int, tuple[int, str]]]:
    """(org_id -> org role, team_id -> (org_id, team role)), loaded once per user object."""
    if is_system(user):
        return {}, {}
    cached = getattr(user, "_dm_memberships", None)
    if cached is not None:
        return cached
    from apps.teams.models import OrgMembership, TeamMembership

    orgs = dict(OrgMembership.objects.filter(user=user).values_list("organization_id", "role"))
    teams = {
        team_id: (org_id, role)
        for team_id, org_id, role in TeamMembership.objects.filter(user=user).values_list(
            "team_id", "team__organization_id", "role"
        )
    }
    # Belonging to a team makes one at least a member of its organization.
    for org_id, _role in teams.values():
        orgs.setdefault(org_id, ORG_MEMBER)
    user._dm_memberships = (orgs, teams)
    return user._dm_memberships


def forget_memberships(user) -> None:
    """Drop the per-request cache after memberships change."""
    if hasattr(user, "_dm_memberships"):
        del user._dm_memberships


class SystemActor:
    """The actor of work no person asked for in the moment: jobs, webhook intake, imports, the demo
    seed. Every write service takes a required `actor`; these callers pass `SYSTEM` (never None),
    which may do anything and is recorded as no person (`person(actor)` is None)."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    is_system = True
    pk = None
    id = None

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<SystemActor {self.name}>"

    def __str__(self) -> str:
        return self.name


SYSTEM = SystemActor("system")


def is_system(actor) -> bool:
    return getattr(actor, "is_system", False) is True


def person(actor):
    """The user to record as the author of a write: None for the system actor."""
    return None if is_system(actor) else actor


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def org_ids(user) -> set[int]:
    """Organizations the user belongs to (every org for a superuser is handled by callers)."""
    if not _active(user):
        return set()
    return set(_memberships(user)[0])


def org_role(user, organization) -> str | None:
    if not _active(user):
        return None
    if user.is_superuser:
        return ORG_ADMIN
    org_id = getattr(organization, "pk", organization)
    return _memberships(user)[0].get(org_id)


def team_role(user, team) -> str | None:
    if not _active(user):
        return None
    team_id = getattr(team, "pk", team)
    entry = _memberships(user)[1].get(team_id)
    return entry[1] if entry else None


def team_ids(user, *, roles: tuple[str, ...] = (TEAM_LEAD, TEAM_MEMBER)) -> set[int]:
    if not _active(user):
        return set()
    return {tid for tid, (_org, role) in _memberships(user)[1].items() if role in roles}


def admin_org_ids(user) -> set[int]:
    if not _active(user):
        return set()
    return {oid for oid, role in _memberships(user)[0].items() if role == ORG_ADMIN}


def sees_whole_org(user, organization) -> bool:
    return org_role(user, organization) in (ORG_ADMIN, ORG_LEADER)


def is_org_admin(user, organization) -> bool:
    return org_role(user, organization) == ORG_ADMIN


# --- objects ----------------------------------------------------------------


def _walk(obj, path: str | None):
    if path is None:
        return None
    for part in path.split("__"):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj


def _pk(value):
    return getattr(value, "pk", value)


def organization_of(obj):
    pol = policy_for(type(obj))
    return obj if pol.org_path == "self" else _walk(obj, pol.org_path)


def team_of(obj):
    return _walk(obj, policy_for(type(obj)).team_path)


def _is_shared(obj, pol: Policy) -> bool:
    if pol.shared_q is None:
        return True
    return type(obj)._default_manager.filter(pk=obj.pk).filter(pol.shared_q).exists()


def can_view(user, obj) -> bool:
    if not _active(user):
        return False
    if user.is_superuser:
        return True
    pol = policy_for(type(obj))
    org = organization_of(obj)
    role = org_role(user, org)
    if role is None:
        return False
    if role in (ORG_ADMIN, ORG_LEADER):
        return True
    team = team_of(obj)
    if team is not None and team_role(user, team) is not None:
        return True
    extra = pol.extra_viewers_q
    if extra is not None and type(obj)._default_manager.filter(pk=obj.pk).filter(extra(user)).exists():
        return True
    return _is_shared(obj, pol)


def can_change(user, obj) -> bool:
    if not _active(user):
        return False
    if user.is_superuser:
        return True
    pol = policy_for(type(obj))
    org = organization_of(obj)
    role = org_role(user, org)
    if role == ORG_ADMIN:
        return True
    if role is None:
        return False
    if pol.extra_editor is not None and pol.extra_editor(obj, user):
        return True
    return _team_may_edit(user, team_of(obj), pol.editors)


def can_create(user, model: type[Model], *, organization=None, team=None) -> bool:
    """May the user add a `model` row owned by `team` (or, for org-level rows, in `organization`)?"""
    if not _active(user):
        return False
    if user.is_superuser:
        return True
    pol = policy_for(model)
    if organization is None and team is not None:
        organization = team.organization
    if org_role(user, organization) == ORG_ADMIN:
        return True
    if pol.team_path is None or team is None:
        return False
    return _team_may_edit(user, team, pol.editors)


def _team_may_edit(user, team, editors: str) -> bool:
    if team is None or editors == EDITORS_ADMIN:
        return False
    role = team_role(user, team)
    if editors == EDITORS_MEMBER:
        return role in (TEAM_LEAD, TEAM_MEMBER)
    return role == TEAM_LEAD


# --- querysets --------------------------------------------------------------


def viewable(user, queryset: QuerySet) -> QuerySet:
    """The rows of `queryset` this user may read."""
    if not _active(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    pol = policy_for(queryset.model)
    orgs, _teams = _memberships(user)
    whole = [oid for oid, role in orgs.items() if role in (ORG_ADMIN, ORG_LEADER)]
    org_field = "pk" if pol.org_path == "self" else pol.org_path
    conditions = [Q(**{f"{org_field}__in": whole})] if whole else []
    member_orgs = [oid for oid, role in orgs.items() if role == ORG_MEMBER]
    if member_orgs:
        in_my_orgs = Q(**{f"{org_field}__in": member_orgs})
        shared = pol.shared_q if pol.shared_q is not None else Q()
        conditions.append(in_my_orgs & shared)
        if pol.team_path:
            conditions.append(in_my_orgs & Q(**{f"{pol.team_path}__in": team_ids(user)}))
        if pol.extra_viewers_q is not None:
            conditions.append(in_my_orgs & pol.extra_viewers_q(user))
    if not conditions:
        return queryset.none()
    filtered = queryset.filter(reduce(lambda a, b: a | b, conditions))
    # Only a many-valued extra-viewers join can repeat rows.
    return filtered.distinct() if pol.extra_viewers_q is not None else filtered


def editable_teams(user, model: type[Model], teams: QuerySet) -> QuerySet:
    """Teams in `teams` under which the user may create `model` rows (for form choices)."""
    if not _active(user):
        return teams.none()
    if user.is_superuser:
        return teams
    pol = policy_for(model)
    cond = Q(organization_id__in=admin_org_ids(user))
    if pol.editors == EDITORS_MEMBER:
        cond |= Q(pk__in=team_ids(user))
    elif pol.editors == EDITORS_LEAD:
        cond |= Q(pk__in=team_ids(user, roles=(TEAM_LEAD,)))
    return teams.filter(cond)


# --- views ------------------------------------------------------------------


def require_view(actor, obj) -> None:
    if not can_view(actor, obj):
        raise PermissionDenied("You may not see this.")


def require_change(actor, obj, message: str = "You may not change this.") -> None:
    """The check a write service makes before changing `obj` (403 in pages and the API)."""
    if not can_change(actor, obj):
        raise PermissionDenied(message)


def require_create(
    actor, model: type[Model], *, organization=None, team=None, message: str = "You may not add this here."
) -> None:
    """The check a write service makes before adding a `model` row under `team` / `organization`."""
    if not can_create(actor, model, organization=organization, team=team):
        raise PermissionDenied(message)


def _team_id_of(obj) -> int | None:
    """The id of the team owning `obj`, read from its foreign key (no query for the team itself)."""
    path = policy_for(type(obj)).team_path
    if path is None:
        return None
    *parents, last = path.split("__")
    return getattr(_walk(obj, "__".join(parents)) if parents else obj, f"{last}_id", None)


def require_move(actor, obj, *, team, message: str = "You may not move this there.") -> None:
    """A change that hands `obj` to another team needs the right to add it there as well; nothing
    to check when `team` is None or is the team it already belongs to."""
    if team is None or team.pk == _team_id_of(obj):
        return
    require_create(actor, type(obj), team=team, organization=team.organization_id, message=message)


def require_org_admin(actor, organization, message: str = "Only an organization admin may do this.") -> None:
    if not is_org_admin(actor, organization):
        raise PermissionDenied(message)


def get_for_user(user, queryset: QuerySet, *, change: bool = False, **lookup):
    """Fetch one row: 404 when the user may not see it, 403 when they may see but not change it."""
    obj = viewable(user, queryset).filter(**lookup).first()
    if obj is None:
        raise Http404("No such object.")
    if change and not can_change(user, obj):
        raise PermissionDenied("You may view this but not change it.")
    return obj


# --- one service, one query (hot paths such as the release gate) --------------


@dataclass(frozen=True)
class ServiceAccess:
    service_id: int
    team_id: int
    organization_id: int
    org_role: str | None  # the caller's role in the service's organization (team members are members)
    team_role: str | None  # the caller's role in the service's team

    @property
    def visible(self) -> bool:
        return self.org_role is not None

    def may_act(self, *, lead: bool = False) -> bool:
        """A member (lead=False) or lead (lead=True) of the service's team, or an org admin."""
        if self.org_role == ORG_ADMIN:
            return True
        return self.team_role == TEAM_LEAD if lead else self.team_role in (TEAM_LEAD, TEAM_MEMBER)


def service_roles_sql(*, service: str, user: str) -> str:
    """SQL for three select-list columns: the caller's org role, team role and "member of a team of the
    service's organization", for the service row aliased `service` and the user id SQL `user` (a column
    or a placeholder). `service_access` reads them, and so does the release gate's short path in the same
    statement as the token; `access_from_roles` turns them into the answer."""
    from apps.teams.models import OrgMembership, Team, TeamMembership

    om, tm, team = OrgMembership._meta.db_table, TeamMembership._meta.db_table, Team._meta.db_table
    return (
        f"(SELECT om.role FROM {om} om WHERE om.organization_id = {service}.organization_id"  # noqa: S608 (model tables, an alias, a column or placeholder)
        f" AND om.user_id = {user} LIMIT 1), "
        f"(SELECT tm.role FROM {tm} tm WHERE tm.team_id = {service}.team_id AND tm.user_id = {user} LIMIT 1), "
        f"EXISTS (SELECT 1 FROM {tm} tm2 JOIN {team} t2 ON t2.id = tm2.team_id"
        f" WHERE tm2.user_id = {user} AND t2.organization_id = {service}.organization_id)"
    )


def access_from_roles(
    *,
    service_id: int,
    team_id: int,
    organization_id: int,
    org: str | None,
    team: str | None,
    in_org: bool,
    is_superuser: bool,
) -> ServiceAccess:
    """The caller's ServiceAccess from the columns of `service_roles_sql` (superusers are org admins;
    belonging to a team of the organization makes one at least a member of it)."""
    if is_superuser:
        org = ORG_ADMIN
    elif org is None and in_org:
        org = ORG_MEMBER
    return ServiceAccess(
        service_id=service_id, team_id=team_id, organization_id=organization_id, org_role=org, team_role=team
    )


def service_access(user, service_id: int) -> ServiceAccess | None:
    """The caller's roles for one service in a single query (the same answers as `viewable`,
    `org_role` and `team_role` on Service); None when there is no such service."""
    from django.db import connection

    from apps.teams.models import Service

    if not _active(user):
        return None
    table = Service._meta.db_table
    if is_system(user):
        sql, params = f"SELECT s.id, s.team_id, s.organization_id FROM {table} s WHERE s.id = %s", [service_id]  # noqa: S608
    else:
        roles = service_roles_sql(service="s", user="%(user)s")
        sql = f"SELECT s.id, s.team_id, s.organization_id, {roles} FROM {table} s WHERE s.id = %(service)s"  # noqa: S608
        params = {"user": user.pk, "service": service_id}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    if is_system(user):
        return ServiceAccess(row[0], row[1], row[2], ORG_ADMIN, None)
    pk, team_id, org_id, org, team, in_org = row
    return access_from_roles(
        service_id=pk,
        team_id=team_id,
        organization_id=org_id,
        org=org,
        team=team,
        in_org=in_org,
        is_superuser=user.is_superuser,
    )
