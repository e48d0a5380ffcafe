"""Hand-checked data: 4 teams, 2 metric checks, three days of snapshots (docs/initiatives.md's example).

Checks: "slo.coverage >= 0.5" and "score.overall >= 50" (a team with no snapshot fails both).

| team     | 1 Nov             | 2 Nov              | 3 Nov              |
|----------|-------------------|--------------------|--------------------|
| Checkout | cov 1.0, 60: pass | (same)             | (same)             |
| Search   | cov 0.0, 70: fail | cov 1.0, 70: pass  | (same)             |
| Payments | cov 0.5, 40: fail | (same)             | cov 0.5, 55: pass  |
| Ledger   | no snapshot: fail | (same)             | (same)             |

Passing: 1/4 (25%), 2/4 (50%), 3/4 (75%).
"""

import datetime as dt

import pytest

from apps.initiatives import services
from apps.scoring.models import Snapshot
from tests.factories import TeamFactory
from tests.scoring.factories import inputs, reliability

D1, D2, D3 = dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)
TARGET = dt.date(2026, 11, 11)
CHECKS = [
    {"name": "Services have SLOs", "metric": "slo.coverage", "operator": "gte", "value": 0.5, "hint": "Add SLOs."},
    {"name": "Overall at least 50", "metric": "score.overall", "operator": "gte", "value": 50},
]


def snap(team, day, *, coverage, overall):
    services_n = 2
    return Snapshot.objects.create(
        organization=team.organization,
        team=team,
        date=day,
        overall=overall,
        level=1,
        inputs=inputs(as_of=day.isoformat(), r=reliability(services=services_n, with_slo=round(coverage * services_n))),
    )


@pytest.fixture
def four(cast):
    payments = TeamFactory(organization=cast.org, name="Payments", slug="payments")
    ledger = TeamFactory(organization=cast.org, name="Ledger", slug="ledger")
    teams = [cast.team, cast.other_team, payments, ledger]
    snap(cast.team, D1, coverage=1.0, overall=60)
    snap(cast.other_team, D1, coverage=0.0, overall=70)
    snap(cast.other_team, D2, coverage=1.0, overall=70)
    snap(payments, D1, coverage=0.5, overall=40)
    snap(payments, D3, coverage=0.5, overall=55)
    return teams


@pytest.fixture
def initiative(cast, four):
    from apps.core import permissions

    return services.initiative_create(
        actor=permissions.SYSTEM,
        organization=cast.org,
        name="Every team measured",
        reason="We cannot improve what we do not measure.",
        owner=cast.leader,
        start_date=D1,
        target_date=TARGET,
        status="active",
        teams=four,
        checks=CHECKS,
    )
