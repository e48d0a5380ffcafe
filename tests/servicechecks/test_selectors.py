"""Team aggregation on hand-checked data, and query counts that do not grow with services."""

from datetime import date, timedelta

import pytest

from apps.servicechecks import registry, selectors
from apps.teams.models import Service
from tests.factories import ServiceFactory, TeamFactory
from tests.servicechecks import factories as f

TODAY = date(2026, 12, 2)
pytestmark = pytest.mark.django_db


def _svc(team, **kw):
    return ServiceFactory(team=team, organization=team.organization, **kw)


def test_team_result_passes_only_when_every_applicable_service_passes():
    all_pass, one_fails, only_tier3, empty = TeamFactory(), TeamFactory(), TeamFactory(), TeamFactory()
    for _ in range(2):
        f.slo(_svc(all_pass, tier=1))
    _svc(all_pass, tier=3)  # not applicable: neither helps nor hurts
    f.slo(_svc(one_fails, tier=1))
    _svc(one_fails, tier=1)
    _svc(only_tier3, tier=3)
    ids = [all_pass.pk, one_fails.pk, only_tier3.pk, empty.pk]
    r = selectors.team_results("slo_defined", ids, today=TODAY)
    assert r[all_pass.pk] == selectors.TeamResult(passing=2, applicable=2, passed=True)
    assert r[one_fails.pk] == selectors.TeamResult(passing=1, applicable=2, passed=False)
    # No applicable service: no data, not 0 and not 100.
    assert r[only_tier3.pk] == selectors.TeamResult(passing=0, applicable=0, passed=None)
    assert r[empty.pk].passed is None and r[empty.pk].share is None
    assert r[one_fails.pk].share == 0.5


def test_team_results_take_the_checks_parameters():
    team = TeamFactory()
    s = _svc(team)
    f.deployment(s, f.at(TODAY - timedelta(days=45)))
    assert selectors.team_results("recent_deploy", [team.pk], today=TODAY)[team.pk].passed is False
    r = selectors.team_results("recent_deploy", [team.pk], today=TODAY, params={"recent_deploy": {"days": 60}})
    assert r[team.pk].passed is True


def test_team_facts_feed_scoring():
    team = TeamFactory()
    _svc(team, runbook_url="https://wiki.example/a")
    _svc(team)
    facts = selectors.team_facts(team_ids=[team.pk], today=TODAY)[team.pk]
    assert set(facts) == set(registry.KEYS)
    assert facts["runbook_link"] == {"applicable": 2, "passing": 1}
    assert facts["slo_defined"] == {"applicable": 0, "passing": 0}


def _populate(n):
    """n services over 5 teams with a bit of everything each check reads."""
    teams = [TeamFactory() for _ in range(5)]
    for i in range(n):
        s = _svc(teams[i % 5], tier=1 + i % 3, runbook_url="https://wiki.example/x" if i % 2 else "")
        if i % 3 == 0:
            f.slo(s)
            f.runbook(s, reviewed_on=TODAY - timedelta(days=10))
        if i % 4 == 0:
            f.mapping(s, "pagerduty")
            f.deployment(s, f.at(TODAY - timedelta(days=2)))
        if i % 5 == 0:
            f.postmortem(f.incident(s, resolved_at=f.at(TODAY - timedelta(days=20))))
    return teams


@pytest.mark.parametrize("n", [5, 50])
def test_query_count_is_the_same_for_5_and_50_services(n, assert_one_select):
    teams = _populate(n)
    ids = [t.pk for t in teams]
    with assert_one_select():
        results = selectors.evaluate(None, Service.objects.filter(team__in=teams), today=TODAY)
    assert len(results) == n * len(registry.KEYS)
    with assert_one_select():
        summary = selectors.team_summary(None, ids, today=TODAY)
    assert sum(summary[t]["runbook_link"].applicable for t in ids) == n
    with assert_one_select():
        selectors.team_results("postmortems_published", ids, today=TODAY)
    org = teams[0].organization
    # Teams of one organization for the matrix: the teams query and the evaluation.
    with assert_one_select(selects=2):
        selectors.org_matrix(organization=org, today=TODAY)
