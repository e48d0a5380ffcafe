"""The DORA metrics on hand-checked datasets (time rule and shipped commits), the tier boundaries,
order-independence (shuffled, replayed, rebuilt) and bounded queries."""

from datetime import date, datetime, timedelta

import pytest

from apps.core import permissions
from apps.core.permissions import SYSTEM
from apps.delivery import metrics, rollups, selectors, services
from apps.delivery.models import DailyRollup
from apps.postmortems.services import incident_upsert_from_source


def at(text):
    return datetime.fromisoformat(text + "+00:00")


# --- tiers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "tier"),
    [(0, "elite"), (23.99, "elite"), (24, "high"), (168, "high"), (168.01, "medium"), (720, "medium"), (720.01, "low")],
)
def test_lead_time_tiers(hours, tier):
    assert metrics.lead_time_tier(hours) == tier


@pytest.mark.parametrize(
    ("hours", "tier"),
    [(0.5, "elite"), (0.999, "elite"), (1, "high"), (23.99, "high"), (24, "medium"), (168, "medium"), (168.5, "low")],
)
def test_recovery_tiers(hours, tier):
    assert metrics.recovery_tier(hours) == tier


@pytest.mark.parametrize(
    ("failed", "total", "tier"),
    [
        (0, 10, "elite"),
        (1, 20, "elite"),
        (1, 19, "high"),
        (2, 20, "high"),
        (3, 20, "medium"),
        (4, 20, "low"),
        (1, 1, "low"),
    ],
)
def test_failure_rate_tiers_at_exact_boundaries(failed, total, tier):
    assert metrics.failure_rate_tier(failed, total) == tier


def test_no_data_has_no_tier():
    assert metrics.lead_time_tier(None) is None
    assert metrics.recovery_tier(None) is None
    assert metrics.failure_rate_tier(0, 0) is None


def _days(*offsets, end=date(2026, 3, 28)):
    return {end - timedelta(days=o) for o in offsets}


def test_frequency_tiers_from_median_deploy_days_per_week():
    end = date(2026, 3, 28)  # a 28-day window: four weeks [..-21], [..-14], [..-7], [..0]
    # 4 deploy days in every week: most days, elite.
    elite = _days(*(w * 7 + d for w in range(4) for d in range(4)))
    assert metrics.frequency_tier(elite, end, 28)[:2] == ("elite", 4.0)
    # 3 days in each week: high (daily to weekly), not "most days".
    high = _days(*(w * 7 + d for w in range(4) for d in range(3)))
    assert metrics.frequency_tier(high, end, 28)[:2] == ("high", 3.0)
    # One day in two of four weeks: median 0.5 days/week, but a deploy in the month: medium.
    medium = _days(0, 14)
    assert metrics.frequency_tier(medium, end, 28)[:2] == ("medium", 0.5)
    # Exactly one day in every week: high.
    assert metrics.frequency_tier(_days(0, 7, 14, 21), end, 28)[0] == "high"
    # 90 days, one deploy day: three 30-day months with 1, 0, 0 -> median 0: low.
    assert metrics.frequency_tier(_days(3), end, 90) == ("low", 0.0, 0.0)
    # 90 days, a deploy every month -> medium.
    assert metrics.frequency_tier(_days(3, 33, 63), end, 90)[0] == "medium"


# --- the hand-checked dataset ----------------------------------------------------------


@pytest.fixture
def dataset(cast):
    """One service over the 14 days 2026-03-01..03-14 (see the expected numbers in the test)."""
    org = cast.org
    resolver = services.Resolver(org)
    repo = "acme/checkout-api"
    services.changes_upsert(
        actor=permissions.SYSTEM,
        organization=org,
        integration=None,
        source="import",
        resolver=resolver,
        records=[
            {"repository": repo, "sha": sha, "committed_at": at(when)}
            for sha, when in [
                ("c1", "2026-02-25T12:00:00"),  # shipped by D1: 120 h
                ("c2", "2026-03-02T06:00:00"),  # D1: 6 h
                ("c3", "2026-03-03T10:00:00"),  # D2: 2 h
                ("c4", "2026-03-04T11:00:00"),  # D3 failed, so D4 ships it: 145 h
                ("c5", "2026-03-10T11:00:00"),  # D4: 1 h
            ]
        ],
    )
    deploys = [
        ("D0", "success", "2026-02-20T12:00:00", "production"),  # before the window: the previous deployment
        ("D1", "success", "2026-03-02T12:00:00", "production"),
        ("D2", "success", "2026-03-03T12:00:00", "production"),
        ("D3", "failure", "2026-03-04T12:00:00", "production"),
        ("D4", "success", "2026-03-10T12:00:00", "production"),
        ("D5", "success", "2026-03-11T12:00:00", "staging"),  # not production: not counted
    ]
    for external_id, status, when, env in deploys:
        services.deployment_apply(
            actor=permissions.SYSTEM,
            organization=org,
            integration=None,
            source="import",
            resolver=resolver,
            record={
                "external_id": external_id,
                "repository": repo,
                "service_key": cast.service.slug,
                "environment": env,
                "is_production": env == "production",
                "status": status,
                "status_at": at(when),
                "started_at": at(when) - timedelta(minutes=5),
            },
        )
    # I1 links automatically to D4 (the last successful production deployment before it): 0.5 h to restore.
    incident_upsert_from_source(
        actor=SYSTEM,
        organization=org,
        team=cast.team,
        source="api",
        external_id="I1",
        services=[cast.service],
        started_at=at("2026-03-10T15:00:00"),
        resolved_at=at("2026-03-10T15:30:00"),
    )
    # I2 would link to D2, but a person said no deployment caused it: 24 h to restore.
    i2, _ = incident_upsert_from_source(
        actor=SYSTEM,
        organization=org,
        team=cast.team,
        source="api",
        external_id="I2",
        services=[cast.service],
        started_at=at("2026-03-03T13:00:00"),
        resolved_at=at("2026-03-04T13:00:00"),
    )
    services.incident_link_refresh(actor=permissions.SYSTEM, incident=i2)
    services.incident_link_set(actor=cast.lead, incident=i2, deployment=None, note="Hardware failure")
    from apps.postmortems.models import Incident

    for incident in Incident.objects.all():
        if incident.external_id == "I1":
            services.incident_link_refresh(actor=permissions.SYSTEM, incident=incident)
    rollups.refresh_dirty()
    return cast


EXPECTED = {
    "deployment_frequency": {"per_day": 3 / 14, "tier": "high"},  # D1, D2, D4; deploy days 2 and 1 -> median 1.5/week
    # Median of 1, 2, 6, 120, 145; no deployment names its commit, so all five come from the time rule.
    "lead_time_hours": {"median": 6.0, "tier": "elite", "estimated": 5},
    # D3 failed 03-04 12:00, D4 recovered it 03-10 12:00 (144 h); D4 caused I1, resolved in 0.5 h.
    "recovery_time_hours": {"median": 72.25, "tier": "medium"},
    "change_failure_rate": {"value": 0.5, "tier": "low"},  # D3 failed, D4 caused I1: 2 of 4
    "deployment_rework_rate": {"value": 0.0, "tier": None},  # no deployment finished while an incident was open
}


@pytest.mark.django_db
def test_four_keys_on_the_hand_checked_dataset(dataset):
    cast = dataset
    result = selectors.team_dora(team_ids=[cast.team.pk], window_days=14, until=date(2026, 3, 14))
    assert result == {cast.team.pk: EXPECTED}
    by_service = selectors.service_dora(service_ids=[cast.service.pk], window_days=14, until=date(2026, 3, 14))
    assert by_service[cast.service.pk] == EXPECTED
    full = selectors.team_dora(team_ids=[cast.team.pk], window_days=14, until=date(2026, 3, 14), full=True)[
        cast.team.pk
    ]
    assert full["deployment_frequency"]["days_per_week"] == 1.5
    assert full["lead_time_hours"]["changes"] == 5
    assert full["recovery_time_hours"]["recoveries"] == 2
    assert (full["deployment_rework_rate"]["rework"], full["deployment_rework_rate"]["deployments"]) == (0, 4)
    assert (full["change_failure_rate"]["failed"], full["change_failure_rate"]["deployments"]) == (2, 4)


@pytest.mark.django_db
def test_teams_without_data_have_no_tiers(dataset):
    cast = dataset
    result = selectors.team_dora(team_ids=[cast.other_team.pk], window_days=14, until=date(2026, 3, 14))
    assert result[cast.other_team.pk] == {
        "deployment_frequency": {"per_day": None, "tier": None},
        "lead_time_hours": {"median": None, "tier": None, "estimated": 0},
        "recovery_time_hours": {"median": None, "tier": None},
        "change_failure_rate": {"value": None, "tier": None},
        "deployment_rework_rate": {"value": None, "tier": None},
    }


@pytest.mark.django_db
def test_window_moves_the_numbers(dataset):
    cast = dataset
    # The week 03-08..03-14 only: D4 (caused I1) shipping c4 (145 h) and c5 (1 h), I1 recovered in 0.5 h
    # (D3's recovery belongs to D3's day, outside the week).
    week = selectors.team_dora(team_ids=[cast.team.pk], window_days=7, until=date(2026, 3, 14))[cast.team.pk]
    assert week["deployment_frequency"] == {"per_day": 1 / 7, "tier": "high"}
    assert week["lead_time_hours"] == {"median": 73.0, "tier": "high", "estimated": 2}
    assert week["change_failure_rate"] == {"value": 1.0, "tier": "low"}
    assert week["recovery_time_hours"] == {"median": 0.5, "tier": "elite"}


@pytest.mark.django_db
def test_a_full_rebuild_gives_the_same_rollups(dataset):
    cast = dataset

    def snapshot():
        return sorted(
            DailyRollup.objects.values_list(
                "team_id", "service_id", "day", "deployments", "successful", "failed", "lead_times", "restore_times"
            ),
            key=lambda r: (r[0], r[1] or 0, r[2]),
        )

    before = snapshot()
    rollups.refresh(team_ids=[cast.team.pk, cast.other_team.pk], since=date(2026, 2, 1), until=date(2026, 3, 31))
    assert snapshot() == before


@pytest.mark.django_db
def test_team_dora_query_count_does_not_grow_with_teams(dataset, django_assert_num_queries):
    from tests.factories import TeamFactory

    cast = dataset
    many = [TeamFactory(organization=cast.org).pk for _ in range(20)]
    with django_assert_num_queries(1):
        selectors.team_dora(team_ids=[cast.team.pk], window_days=14, until=date(2026, 3, 14))
    with django_assert_num_queries(1):
        result = selectors.team_dora(team_ids=[cast.team.pk, *many], window_days=14, until=date(2026, 3, 14))
    assert len(result) == 21


@pytest.mark.django_db
def test_trend_points_per_week(dataset):
    cast = dataset
    points = selectors.team_trend(team_id=cast.team.pk, weeks=2, until=date(2026, 3, 14))
    assert [p["deployments"] for p in points] == [2, 1]
    assert [p["change_failure_rate"] for p in points] == [33.3, 100.0]
    assert [p["recovery_time_hours"] for p in points] == [144.0, 0.5]
    assert [p["deployment_rework_rate"] for p in points] == [0.0, 0.0]
