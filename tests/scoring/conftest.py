import pytest
from django.utils import timezone

from apps.core import permissions
from apps.scoring import services
from apps.teams.models import Team


def give_slo_evidence(*service_list, good=999, total=1000, hours=1):
    """An SLO with an hour of samples on each service, so its team's reliability is measured
    (its status stored, as a push or sync would leave it: today's scores read the stored status)."""
    from apps.slos.services import slo_status_refresh
    from tests.slos.factories import fill, live_now_ts, make_sli, make_slo

    end = live_now_ts()
    for service in service_list:
        sli = make_sli(service)
        make_slo(sli)
        fill(sli, start_ts=end - hours * 3600, end_ts=end, good=good, total=total)
        slo_status_refresh(actor=permissions.SYSTEM, sli_ids=[sli.pk])


@pytest.fixture
def scored(cast):
    """Today's snapshots for every team of the cast's org (and the other org), each with SLO evidence
    (a team without any evidence is "not yet measured" and not ranked)."""
    give_slo_evidence(cast.service, cast.other_service)
    services.score_teams(
        actor=permissions.SYSTEM, teams=Team.objects.select_related("organization"), as_of=timezone.localdate()
    )
    return cast


@pytest.fixture
def scorecard(cast):
    return services.scorecard_ensure(actor=permissions.SYSTEM, organization=cast.org)


@pytest.fixture
def requested(cast, scorecard):
    """An exemption of the level-2 "first SLO" check, asked by the team's lead."""
    check = scorecard.checks.get(key="first-slo")
    return services.exemption_request(team=cast.team, level_check=check, actor=cast.lead, reason="Service is retiring.")
