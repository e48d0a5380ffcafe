"""The home page of each role: what it shows, and a query count that does not grow with teams."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.core import permissions
from apps.postmortems.models import ActionItem
from apps.scoring import services as scoring
from apps.teams.models import Team
from tests.factories import ServiceFactory, TeamFactory
from tests.roles import HTML_SHARED_READ, assert_matrix
from tests.scoring.conftest import give_slo_evidence

pytestmark = pytest.mark.django_db


def _score(org):
    scoring.score_teams(
        actor=permissions.SYSTEM,
        teams=Team.objects.filter(organization=org).select_related("organization"),
        as_of=timezone.localdate(),
    )


def test_home_matrix(client_for, cast):
    assert_matrix(client_for, reverse("home"), {**HTML_SHARED_READ, "anonymous": 302, "outsider": 200})


def test_leader_sees_the_organization_at_a_glance(client_for, cast):
    give_slo_evidence(cast.service)
    _score(cast.org)
    page = client_for("leader").get(reverse("home")).content.decode()
    for heading in (
        "Teams that moved most",
        "Levels by department",
        "Score trend",
        "SLOs burning now",
        "SEV1-2 without a postmortem",
        "Overdue action items",
        "Evidence gone stale",
    ):
        assert heading in page, heading
    # Checkout is measured (its SLO has data), Search is not: 1 measured, 1 not yet measured.
    assert 'data-figure="measured">1<' in page and "1 not yet measured" in page
    # Both teams have no self-assessment and no deployment (and Search no SLO): stale or missing evidence.
    assert 'data-figure="stale">2 teams<' in page
    assert "Needs setting up" not in page  # that is the org admin's


def test_org_admin_sees_what_needs_setting_up(client_for, cast):
    TeamFactory(organization=cast.org, name="Fresh", slug="fresh")  # owns no service
    _score(cast.org)
    page = client_for("org_admin").get(reverse("home")).content.decode()
    assert "Needs setting up" in page
    assert 'data-figure="teams-without-services">1<' in page and ">Fresh<" in page
    assert 'data-figure="unattributed">0<' in page
    assert "Teams that moved most" in page  # and the glance below


def test_member_sees_their_team_level_steps_and_items(client_for, cast):
    give_slo_evidence(cast.service)
    _score(cast.org)
    from apps.postmortems.models import Incident, Postmortem

    incident = Incident.objects.create(
        organization=cast.org,
        team=cast.team,
        title="Checkout down",
        severity=2,
        started_at=timezone.now() - timedelta(days=3),
        resolved_at=timezone.now() - timedelta(days=3, hours=-1),
    )
    pm = Postmortem.objects.create(organization=cast.org, team=cast.team, incident=incident, title="Checkout down")
    ActionItem.objects.create(
        organization=cast.org,
        team=cast.team,
        postmortem=pm,
        title="Add a retry budget",
        owner=cast.member,
        due_date=timezone.localdate() + timedelta(days=3),
    )
    page = client_for("member").get(reverse("home")).content.decode()
    assert "<h1" in page and "Checkout" in page
    # Reliability only: coverage 1.0, attainment 1.0, budget left 0 -> 80 (tests/scoring/test_leadership.py).
    assert 'data-figure="overall">80<' in page and "1 of 4 pillars measured" in page
    assert "Next three steps" in page and "Production deployments are recorded" in page
    assert "Add a retry budget" in page
    assert "Needs setting up" not in page and "Teams that moved most" not in page


def _org_with_teams(cast, n):
    """Grow the cast's org to n teams (it starts with two), each with a measured SLO, and score them."""
    for i in range(Team.objects.filter(organization=cast.org).count() - 2, n - 2):
        team = TeamFactory(organization=cast.org, name=f"Team {i:02}", slug=f"team-{i:02}", department=cast.department)
        give_slo_evidence(ServiceFactory(team=team, name=f"svc-{i:02}", tier=2))
    _score(cast.org)


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


@pytest.mark.parametrize("role", ["org_admin", "leader", "member"])
def test_home_queries_do_not_grow_with_teams(client_for, cast, role):
    _org_with_teams(cast, 3)
    client = client_for(role)
    client.get(reverse("home"))  # warm the session and caches
    small = _queries(client, reverse("home"))
    _org_with_teams(cast, 10)
    assert Team.objects.filter(organization=cast.org).count() == 10
    assert _queries(client, reverse("home")) == small
