"""The error budget each affected SLO lost during the incident window (apps.slos wired in)."""

import datetime as dt

import pytest
from django.urls import reverse

from apps.postmortems.selectors import slo_impact
from tests.postmortems.factories import IncidentFactory
from tests.slos.factories import NOW, NOW_TS, fill, make_sli, make_slo

pytestmark = pytest.mark.django_db


def test_budget_spent_in_the_incident_window(cast, client_for):
    sli = make_sli(cast.service)
    slo = make_slo(sli, name="Checkout availability", target="0.99")  # rolling 30 days
    # 30 days of clean traffic, then an hour at 50% errors that ends when the incident is resolved.
    fill(sli, start_ts=NOW_TS - 30 * 86400, end_ts=NOW_TS, good=100, total=100)
    fill(sli, start_ts=NOW_TS - 3600, end_ts=NOW_TS, good=50, total=100)
    incident = IncidentFactory(
        team=cast.team,
        started_at=NOW - dt.timedelta(hours=1),
        detected_at=None,
        mitigated_at=None,
        resolved_at=NOW,
    )
    incident.services.add(cast.service)
    other = make_sli(cast.other_service)  # not impacted: not listed
    make_slo(other, name="Search latency")

    rows = slo_impact(incident)
    assert [r["slo"].pk for r in rows] == [slo.pk]
    # Bad events: 12 buckets x 50 = 600. Budget: 1% of 30 d x 288 buckets x 100 = 8,640 events.
    assert rows[0]["spent"] == pytest.approx(600 / 8640)
    body = client_for("other_member").get(reverse("postmortems:incident_detail", args=[incident.pk])).content.decode()
    assert "Checkout availability" in body and "7%" in body


def test_no_slos_is_an_empty_impact(cast):
    incident = IncidentFactory(team=cast.team)
    incident.services.add(cast.service)
    assert slo_impact(incident) == []
