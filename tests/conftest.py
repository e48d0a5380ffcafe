"""Shared fixtures: real PostgreSQL and Redis, and a fixed cast of users.

The cast (used by every permission test, in every app):

| name          | who                                              |
|---------------|--------------------------------------------------|
| org_admin     | admin of `org`                                   |
| leader        | leader of `org` (reads all, changes none)        |
| lead          | lead of `team` in `org`                          |
| member        | member of `team`                                 |
| other_member  | member of `other_team` (same org, other team)    |
| outsider      | admin of `other_org` only                        |
| anonymous     | not signed in                                    |
"""

import os
import socket
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.core.permissions import SYSTEM
from apps.teams import services as team_services
from tests.factories import OrganizationFactory, ServiceFactory, TeamFactory, UserFactory

pytest_plugins = ["tests.browser"]

ROLES = ("org_admin", "leader", "lead", "member", "other_member", "outsider", "anonymous")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def pytest_sessionstart(session):
    # The suite needs the real services; in CI their absence is a failure, never a skip.
    db = settings.DATABASES["default"]
    missing = []
    if db["ENGINE"].endswith("postgresql") and not _reachable(
        f"postgres://{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}", 5432
    ):
        missing.append("PostgreSQL")
    if not _reachable(settings.REDIS_URL, 6379):
        missing.append("Redis")
    if missing:
        raise pytest.UsageError(
            f"{' and '.join(missing)} not reachable (DATABASE_URL / REDIS_URL). "
            "Start them (see README) — the test suite runs against the real services."
            + (" CI=true: failing." if os.environ.get("CI") else "")
        )


# Data migrations install built-in rows (the CALMS v1 and SRE v1 frameworks, the postmortem
# categories and templates). A transactional test (live_server, a real worker)
# ends by flushing every table, so the transactional tests that follow it get
# those rows back here, the same way a fresh database has them.
BUILTIN_DATA_MIGRATIONS = [
    ("apps.assessments.migrations.0002_load_calms_v1", "load"),
    ("apps.assessments.migrations.0003_load_sre_v1", "load"),
    ("apps.postmortems.migrations.0003_default_catalogue", "forwards"),
    ("apps.sre.migrations.0004_runbook_contributing_factor", "forwards"),
]


@pytest.fixture(autouse=True)
def _builtin_data(request):
    marker = request.node.get_closest_marker("django_db")
    transactional = (
        "live_server" in request.fixturenames
        or "transactional_db" in request.fixturenames
        or bool(marker and marker.kwargs.get("transaction"))
    )
    if transactional:
        import importlib

        from django.apps import apps as django_apps

        request.getfixturevalue("transactional_db")
        for module, function in BUILTIN_DATA_MIGRATIONS:
            getattr(importlib.import_module(module), function)(django_apps, None)


@pytest.fixture(autouse=True)
def _clean_cache():
    from django.core.cache import cache

    from apps.sre import services as sre_services

    cache.clear()
    sre_services._forget_local_verdicts()  # the gate's in-process copies of cached verdicts
    yield


@dataclass
class Cast:
    org: object
    other_org: object
    department: object
    team: object
    other_team: object
    service: object
    other_service: object
    org_admin: object
    leader: object
    lead: object
    member: object
    other_member: object
    outsider: object

    def user(self, role):
        return None if role == "anonymous" else getattr(self, role)


@pytest.fixture
def cast(db):
    org = OrganizationFactory(name="Acme", slug="acme")
    other_org = OrganizationFactory(name="Initech", slug="initech")
    department = team_services.department_upsert(actor=SYSTEM, organization=org, name="Engineering", slug="engineering")
    team = TeamFactory(organization=org, name="Checkout", slug="checkout", department=department)
    other_team = TeamFactory(organization=org, name="Search", slug="search", department=department)
    foreign_team = TeamFactory(organization=other_org, name="Billing", slug="billing")
    people = {
        role: UserFactory(email=f"{role}@example.test", name=role.replace("_", " ").title()) for role in ROLES[:-1]
    }
    team_services.org_membership_set(actor=SYSTEM, organization=org, user=people["org_admin"], role="admin")
    team_services.org_membership_set(actor=SYSTEM, organization=org, user=people["leader"], role="leader")
    team_services.team_membership_set(actor=SYSTEM, team=team, user=people["lead"], role="lead")
    team_services.team_membership_set(actor=SYSTEM, team=team, user=people["member"], role="member")
    team_services.team_membership_set(actor=SYSTEM, team=other_team, user=people["other_member"], role="member")
    team_services.org_membership_set(actor=SYSTEM, organization=other_org, user=people["outsider"], role="admin")
    team_services.team_membership_set(actor=SYSTEM, team=foreign_team, user=people["outsider"], role="lead")
    return Cast(
        org=org,
        other_org=other_org,
        department=department,
        team=team,
        other_team=other_team,
        service=ServiceFactory(team=team, name="checkout-api", tier=1),
        other_service=ServiceFactory(team=other_team, name="search-api", tier=2),
        **people,
    )


@pytest.fixture
def client_for(client, cast):
    """client_for(role) -> a Django test client signed in as that cast member."""

    def make(role):
        from django.test import Client

        c = Client()
        user = cast.user(role)
        if user is not None:
            c.force_login(user)
        return c

    return make


@pytest.fixture
def api_for(cast):
    """api_for(role) -> a DRF APIClient authenticated as that cast member."""

    def make(role):
        c = APIClient()
        user = cast.user(role)
        if user is not None:
            c.force_authenticate(user)
        return c

    return make
