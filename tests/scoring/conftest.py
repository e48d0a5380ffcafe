import pytest
from django.utils import timezone

from apps.scoring import services
from apps.teams.models import Team


@pytest.fixture
def scored(cast):
    """Today's snapshots for every team of the cast's org (and the other org)."""
    services.score_teams(teams=Team.objects.select_related("organization"), as_of=timezone.localdate())
    return cast


@pytest.fixture
def scorecard(cast):
    return services.scorecard_ensure(organization=cast.org)


@pytest.fixture
def requested(cast, scorecard):
    """An exemption of the level-2 "first SLO" check, asked by the team's lead."""
    check = scorecard.checks.get(key="first-slo")
    return services.exemption_request(team=cast.team, level_check=check, user=cast.lead, reason="Service is retiring.")
