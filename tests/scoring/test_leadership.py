"""Fair comparison and evidence coverage on the leadership pages: each team against its own
baseline first, rankings within the cohort the leader picks, unmeasured teams apart, trends
from the first evidence, throughput and instability together."""

import csv
import html
import io
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core import permissions
from apps.core.permissions import SYSTEM
from apps.scoring import services
from apps.scoring.models import Snapshot
from apps.teams.models import Team

from .conftest import give_slo_evidence

pytestmark = pytest.mark.django_db


def _teams(cast):
    return Team.objects.filter(organization=cast.org).select_related("organization")


def test_movement_against_each_teams_own_baseline(client_for, cast):
    today = timezone.localdate()
    give_slo_evidence(cast.service, cast.other_service)
    services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast), as_of=today - timedelta(days=30))
    Snapshot.objects.filter(team=cast.team).update(overall=40.0, level=1)
    Snapshot.objects.filter(team=cast.other_team).update(overall=70.0, level=2)
    services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast), as_of=today)
    Snapshot.objects.filter(team=cast.team, date=today).update(overall=52.5, level=2)
    Snapshot.objects.filter(team=cast.other_team, date=today).update(overall=60.4, level=2)
    response = client_for("leader").get(reverse("scoring:index"))
    board = response.context["board"]
    # Checkout: 53 shown now (52.5 rounds half up) - 40 = +13; Search: 60 - 70 = -10. Largest move first.
    assert [(r.team.name, r.score_change) for r in board.movers] == [("Checkout", 13), ("Search", -10)]
    page = response.content.decode()
    assert page.index('id="movement"') < page.index('id="ranking"')  # the first view is movement
    assert "How each team moved against its own baseline" in page
    assert f"baseline: its score on or before {today - timedelta(days=30)}" in page


def test_ranking_is_within_the_cohort_the_leader_picks(client_for, scored):
    page = client_for("leader").get(reverse("scoring:index")).content.decode()
    assert "Ranking and heatmap within <span data-cohort>all of Acme</span>" in page
    response = client_for("leader").get(reverse("scoring:index") + "?tier=1")
    assert response.context["board"].cohort == "teams owning a tier-1 service"
    assert [r.team.name for r in response.context["board"].rows] == ["Checkout"]
    assert [r.rank for r in response.context["board"].rows] == [1]
    dept = scored.team.department
    response = client_for("leader").get(reverse("scoring:index") + f"?department={dept.pk}")
    assert response.context["board"].cohort == f"{dept.name} (with its sub-departments)"
    report = client_for("leader").get(reverse("scoring:report") + "?tier=1").content.decode()
    assert "ranked within teams owning a tier-1 service" in report


def test_team_without_evidence_is_not_yet_measured_and_not_ranked(client_for, cast):
    give_slo_evidence(cast.service)  # Checkout has an SLO with data; Search has nothing
    services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast), as_of=timezone.localdate())
    search = Snapshot.objects.get(team=cast.other_team)
    assert search.overall is None and search.coverage_label == "not yet measured"
    checkout = Snapshot.objects.get(team=cast.team)
    # Reliability only: 1 of 4 pillars. Coverage 1.0 (its one tier-1 service), attainment 1.0 (99.9 % good
    # against a 99.9 % target), budget left 0.0: (0.4 + 0.4 + 0) / 1.0 = 80.
    assert checkout.coverage_label == "1 of 4 pillars measured"
    assert checkout.reliability == 80.0 and checkout.overall == 80.0
    response = client_for("leader").get(reverse("scoring:index"))
    board = response.context["board"]
    assert [r.team.name for r in board.rows] == ["Checkout"]
    assert [t.name for t, _snap in board.unmeasured] == ["Search"]
    page = response.content.decode()
    assert 'id="unmeasured"' in page and "not yet measured" in page
    assert "1 of 4 pillars" in page
    rows = list(csv.DictReader(io.StringIO(client_for("leader").get(reverse("scoring:export")).content.decode())))
    assert [(r["team"], r["rank"], r["overall"], r["level_name"], r["pillars_measured"]) for r in rows] == [
        ("Checkout", "1", "80.0", "Initial", "1"),
        ("Search", "", "", "not yet measured", "0"),
    ]
    card = client_for("member").get(reverse("scoring:team", args=[cast.other_team.pk])).content.decode()
    assert "not yet measured" in card and "overall <strong" not in card


def test_trend_starts_where_evidence_starts(client_for, cast):
    today = timezone.localdate()
    # SLO samples from 16 days ago: the snapshots of 4 and 3 weeks ago have no evidence.
    give_slo_evidence(cast.service, hours=16 * 24)
    for weeks in (4, 3, 2, 1, 0):
        services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast), as_of=today - timedelta(weeks=weeks))
    # Weeks 4 and 3 had no evidence: the trend has the three measured weeks only, no leading zeros.
    assert Snapshot.objects.filter(team=cast.team, overall__isnull=True).count() == 2
    card = client_for("member").get(reverse("scoring:team", args=[cast.team.pk])).context["card"]
    chart = json.loads(html.unescape(card.trend_chart))
    assert chart["data"]["labels"][0] == (today - timedelta(weeks=2)).isoformat()
    assert len(chart["data"]["labels"]) == 3
    assert None not in chart["data"]["datasets"][0]["data"]


def test_comparison_shows_throughput_and_instability_together(client_for, scored):
    url = reverse("scoring:compare") + f"?teams={scored.team.pk},{scored.other_team.pk}"
    page = client_for("leader").get(url).content.decode()
    assert page.index(">Throughput<") < page.index(">Deployment frequency<") < page.index(">Instability<")
    assert page.index(">Instability<") < page.index(">Change failure rate<")
    assert "no deployments" in page  # no production deployment is said in words, not 0.0/month
    assert "overall tier" not in page.lower()


def test_comparison_picks_within_a_cohort_and_warns_across_departments(client_for, scored):
    response = client_for("leader").get(reverse("scoring:compare") + "?tier=1")
    assert [t.name for t in response.context["teams"]] == ["Checkout"]
    assert "Choose teams within <span data-cohort>teams owning a tier-1 service</span>" in response.content.decode()
    same = reverse("scoring:compare") + f"?teams={scored.team.pk},{scored.other_team.pk}"
    assert 'id="mixed-cohort"' not in client_for("leader").get(same).content.decode()  # both in Engineering
    from apps.teams import services as team_services
    from tests.factories import TeamFactory

    sales = team_services.department_upsert(actor=SYSTEM, organization=scored.org, name="Sales", slug="sales")
    crm = TeamFactory(organization=scored.org, name="CRM", slug="crm", department=sales)
    mixed = client_for("leader").get(reverse("scoring:compare") + f"?teams={scored.team.pk},{crm.pk}")
    assert "These teams come from 2 departments" in mixed.content.decode()
