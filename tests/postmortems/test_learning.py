"""team_learning: the learning pillar's numbers, hand-checked, in a fixed number of queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.postmortems.models import ActionItem, Postmortem
from apps.postmortems.selectors import team_learning
from tests.factories import TeamFactory
from tests.postmortems.factories import IncidentFactory, make_postmortem

pytestmark = pytest.mark.django_db

SINCE = timezone.make_aware(dt.datetime(2026, 1, 1))
UNTIL = timezone.make_aware(dt.datetime(2026, 4, 1))


def incident(cast, day: int, severity: int = 2, team=None):
    start = timezone.make_aware(dt.datetime(2026, 1, day, 10))
    return IncidentFactory(
        team=team or cast.team,
        severity=severity,
        started_at=start,
        detected_at=None,
        mitigated_at=None,
        resolved_at=start + dt.timedelta(hours=2),
    )


def publish_after(cast, inc, days: float):
    pm = make_postmortem(cast, incident=inc, status="published", actor=cast.org_admin)
    Postmortem.objects.filter(pk=pm.pk).update(published_at=inc.resolved_at + dt.timedelta(days=days))
    return pm


def item(cast, pm, due: dt.date, status="open", closed: dt.date | None = None, team=None):
    return ActionItem.objects.create(
        organization=cast.org,
        postmortem=pm,
        team=team or cast.team,
        title=f"item {due} {status} {closed}",
        due_date=due,
        status=status,
        closed_at=timezone.make_aware(dt.datetime.combine(closed, dt.time(12))) if closed else None,
    )


def test_hand_checked_numbers(cast):
    # Four SEV1-2 incidents in the window: three published after 2, 4 and 9 days, one still a draft.
    a, b, c, d = (incident(cast, day) for day in (5, 10, 15, 20))
    pa = publish_after(cast, a, 2)
    publish_after(cast, b, 4)
    publish_after(cast, c, 9)
    make_postmortem(cast, incident=d)
    # Not counted: a SEV3, an incident before the window, another team's SEV1.
    incident(cast, 6, severity=3)
    IncidentFactory(team=cast.team, severity=1, started_at=SINCE - dt.timedelta(days=1))
    incident(cast, 7, severity=1, team=cast.other_team)
    # Action items of the team due in the window (and already due): 4 counted, 2 closed on time.
    item(cast, pa, dt.date(2026, 2, 1), "done", closed=dt.date(2026, 1, 30))  # on time
    item(cast, pa, dt.date(2026, 2, 1), "done", closed=dt.date(2026, 2, 1))  # on the day: on time
    item(cast, pa, dt.date(2026, 2, 1), "done", closed=dt.date(2026, 2, 5))  # late
    item(cast, pa, dt.date(2026, 2, 10), "open")  # overdue
    item(cast, pa, dt.date(2026, 2, 10), "wont_do", closed=dt.date(2026, 2, 2))  # decided against: not counted
    item(cast, pa, dt.date(2026, 5, 1), "open")  # due after the window
    item(cast, pa, dt.date(2026, 2, 1), "done", closed=dt.date(2026, 1, 20), team=cast.other_team)  # other team

    got = team_learning(team_ids=[cast.team.pk, cast.other_team.pk], since=SINCE, until=UNTIL)
    assert got[cast.team.pk] == {
        "sev12_incidents": 4,
        "sev12_with_published_pm": 3,
        "published_share": 0.75,
        "median_days_to_publish": 4.0,
        "action_items_due": 4,
        "action_items_closed_on_time": 2,
        "closed_on_time_share": 0.5,
    }
    other = got[cast.other_team.pk]
    assert other["sev12_incidents"] == 1 and other["published_share"] == 0.0
    assert other["median_days_to_publish"] is None
    assert other["action_items_due"] == 1 and other["closed_on_time_share"] == 1.0


def test_empty_team_has_none_not_zero(cast):
    assert team_learning(team_ids=[cast.team.pk], since=SINCE, until=UNTIL)[cast.team.pk] == {
        "sev12_incidents": 0,
        "sev12_with_published_pm": 0,
        "published_share": None,
        "median_days_to_publish": None,
        "action_items_due": 0,
        "action_items_closed_on_time": 0,
        "closed_on_time_share": None,
    }


def test_even_median_and_dates_accepted(cast):
    for day, days in ((3, 1), (4, 2)):
        publish_after(cast, incident(cast, day), days)
    got = team_learning(team_ids=[cast.team.pk], since=SINCE.date(), until=UNTIL.date())
    assert got[cast.team.pk]["median_days_to_publish"] == 1.5


def test_query_count_does_not_grow_with_teams(cast):
    teams = [TeamFactory(organization=cast.org) for _ in range(6)]
    for t in teams:
        publish_after(cast, incident(cast, 5, team=t), 3)
    with CaptureQueriesContext(connection) as one:
        team_learning(team_ids=[teams[0].pk], since=SINCE, until=UNTIL)
    with CaptureQueriesContext(connection) as many:
        result = team_learning(team_ids=[t.pk for t in teams], since=SINCE, until=UNTIL)
    assert len(one) == len(many) == 2
    assert all(r["sev12_incidents"] == 1 for r in result.values())
