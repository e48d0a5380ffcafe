"""REST API: scorecards, snapshots, comparisons, exemptions, runs; role matrix on every route."""

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core import permissions
from apps.scoring import services, tasks
from apps.scoring.models import Exemption, Scorecard, ScoringRun, Snapshot
from apps.teams.models import Team
from tests.roles import API_SHARED_READ, assert_matrix

pytestmark = pytest.mark.django_db

ADMIN_ONLY = {
    "org_admin": 200,
    "leader": 403,
    "lead": 403,
    "member": 403,
    "other_member": 403,
    "outsider": 404,
    "anonymous": 401,
}


def test_scorecards_list_and_detail(api_for, scored):
    card = Scorecard.objects.get(organization=scored.org)
    assert_matrix(api_for, reverse("api:scorecard-list"), {**API_SHARED_READ, "outsider": 200})
    assert_matrix(api_for, reverse("api:scorecard-detail", args=[card.pk]), API_SHARED_READ)
    data = api_for("member").get(reverse("api:scorecard-detail", args=[card.pk])).json()
    assert data["weight_delivery"] == 30 and len(data["checks"]) == 18
    # The outsider's list holds only their own org's scorecard.
    orgs = {row["organization"] for row in api_for("outsider").get(reverse("api:scorecard-list")).json()["results"]}
    assert orgs == {scored.other_org.pk}


def test_a_new_org_has_its_scorecard_and_reads_never_write(api_for, cast):
    # Creating an organization created its scorecard (the default rubric), in the same transaction.
    assert set(Scorecard.objects.values_list("organization_id", flat=True)) == {cast.org.pk, cast.other_org.pk}
    Scorecard.objects.filter(organization=cast.org).delete()
    # A GET lists what exists and writes nothing.
    assert api_for("member").get(reverse("api:scorecard-list")).json()["count"] == 0
    assert not Scorecard.objects.filter(organization=cast.org).exists()


def test_ensure_creates_the_default_scorecard_for_org_admins_only(api_for, cast):
    Scorecard.objects.filter(organization=cast.org).delete()
    url = reverse("api:scorecard-ensure")
    body = {"organization": cast.org.pk}
    expected = {**ADMIN_ONLY, "org_admin": 200, "outsider": 400}
    assert_matrix(
        api_for,
        url,
        expected,
        method="post",
        data=body,
        reset=lambda: Scorecard.objects.filter(organization=cast.org).delete(),
    )
    first = api_for("org_admin").post(url, body, format="json").json()
    again = api_for("org_admin").post(url, body, format="json").json()
    assert first["id"] == again["id"] and len(first["checks"]) == 18
    assert Scorecard.objects.filter(organization=cast.org).count() == 1
    # Scorecards are never created from a body.
    assert api_for("org_admin").post(reverse("api:scorecard-list"), body, format="json").status_code == 405


def test_scorecard_update_matrix_and_validation(api_for, scorecard):
    url = reverse("api:scorecard-detail", args=[scorecard.pk])
    assert_matrix(api_for, url, ADMIN_ONLY, method="patch", data={"weight_learning": 25})
    scorecard.refresh_from_db()
    assert scorecard.weight_learning == 25
    response = api_for("org_admin").patch(
        url,
        {"weight_self_assessment": 0, "weight_delivery": 0, "weight_reliability": 0, "weight_learning": 0},
        format="json",
    )
    assert response.status_code == 400
    assert api_for("org_admin").patch(url, {"gap_threshold": 0}, format="json").status_code == 400
    assert api_for("org_admin").delete(url).status_code == 405
    scorecard.refresh_from_db()
    assert (scorecard.weight_learning, scorecard.gap_threshold) == (25, 25)


def test_snapshot_detail_matrix(api_for, scored):
    snap = Snapshot.objects.get(team=scored.team)
    assert_matrix(api_for, reverse("api:snapshot-detail", args=[snap.pk]), API_SHARED_READ)
    data = api_for("leader").get(reverse("api:snapshot-detail", args=[snap.pk])).json()
    assert data["team"] == scored.team.pk and data["level"] == 1
    assert data["inputs"]["reliability"]["services"] == 1
    assert api_for("org_admin").delete(reverse("api:snapshot-detail", args=[snap.pk])).status_code == 405


def test_snapshots_filter_by_team_and_date_range(api_for, cast):
    today = timezone.localdate()
    teams = Team.objects.filter(organization=cast.org)
    for days in (60, 30, 0):
        services.score_teams(actor=permissions.SYSTEM, teams=teams, as_of=today - timedelta(days=days))
    url = reverse("api:snapshot-list")
    params = {
        "team": cast.team.pk,
        "date_after": (today - timedelta(days=45)).isoformat(),
        "date_before": (today - timedelta(days=1)).isoformat(),
    }
    rows = api_for("leader").get(url, params).json()["results"]
    assert [(r["team"], r["date"]) for r in rows] == [(cast.team.pk, (today - timedelta(days=30)).isoformat())]
    assert api_for("leader").get(url, {"team": cast.team.pk}).json()["count"] == 3
    assert api_for("outsider").get(url, {"team": cast.team.pk}).json()["count"] == 0  # another org's team
    assert api_for("leader").get(url, {"date_after": "yesterday"}).status_code == 400


def test_comparison_matrix_and_payload(api_for, scored):
    url = reverse("api:comparison-list") + f"?teams={scored.other_team.pk},{scored.team.pk}"
    assert_matrix(api_for, url, {**ADMIN_ONLY, "leader": 200})
    rows = api_for("leader").get(url).json()
    assert [r["team"]["name"] for r in rows] == ["Search", "Checkout"]
    assert set(rows[0]["pillars"]) == {"self_assessment", "delivery", "reliability", "learning"}
    assert rows[1]["reliability"]["services"] == 1


@pytest.mark.parametrize("teams", ["", "1,2,3,4,5,6,7", "x"])
def test_comparison_bad_input(api_for, scored, teams):
    response = api_for("leader").get(reverse("api:comparison-list"), {"teams": teams})
    assert response.status_code == 400 and "teams" in response.json()


def test_comparison_across_orgs_is_refused(api_for, scored):
    foreign = Team.objects.get(organization=scored.other_org)
    url = reverse("api:comparison-list") + f"?teams={scored.team.pk},{foreign.pk}"
    # The leader cannot see the other org's team: it does not exist for them.
    assert api_for("leader").get(url).status_code == 404


def test_exemption_create_matrix(api_for, scorecard, cast):
    check = scorecard.checks.get(key="first-slo")
    expected = {
        "org_admin": 201,
        "leader": 403,
        "lead": 201,
        "member": 403,
        "other_member": 403,
        "outsider": 400,  # the team is not theirs to name: "does not exist"
        "anonymous": 401,
    }
    assert_matrix(
        api_for,
        reverse("api:exemption-list"),
        expected,
        method="post",
        data={"team": cast.team.pk, "level_check": check.pk, "reason": "Retiring."},
    )
    assert Exemption.objects.count() == 1  # the second ask returned the open request


def test_exemption_create_bad_input(api_for, scorecard, cast):
    foreign = services.scorecard_ensure(actor=permissions.SYSTEM, organization=cast.other_org).checks.first()
    url = reverse("api:exemption-list")
    bad = [
        {"team": cast.team.pk, "level_check": scorecard.checks.first().pk, "reason": ""},
        {"team": cast.team.pk, "level_check": foreign.pk, "reason": "x"},
        {"team": cast.team.pk, "level_check": scorecard.checks.first().pk, "reason": "x", "expires_on": "2000-01-01"},
    ]
    for body in bad:
        assert api_for("lead").post(url, body, format="json").status_code == 400, body
    assert not Exemption.objects.exists()


def test_exemption_read_matrix(api_for, requested):
    assert_matrix(api_for, reverse("api:exemption-detail", args=[requested.pk]), API_SHARED_READ)
    data = api_for("member").get(reverse("api:exemption-detail", args=[requested.pk])).json()
    assert data["status"] == "requested" and data["events"][0]["action"] == "requested"


def test_exemption_grant_matrix_and_audit(api_for, requested):
    soon = (timezone.localdate() + timedelta(days=30)).isoformat()
    url = reverse("api:exemption-grant", args=[requested.pk])
    assert_matrix(api_for, url, ADMIN_ONLY, method="post", data={"justification": "Agreed.", "expires_on": soon})
    data = api_for("member").get(reverse("api:exemption-detail", args=[requested.pk])).json()
    assert data["status"] == "granted" and data["expires_on"] == soon
    assert [e["action"] for e in data["events"]] == ["requested", "granted"]
    revoke = reverse("api:exemption-revoke", args=[requested.pk])
    assert api_for("org_admin").post(revoke, {}, format="json").status_code == 400  # no justification
    assert api_for("org_admin").post(revoke, {"justification": "Cancelled."}, format="json").status_code == 200
    assert (
        api_for("org_admin")
        .post(reverse("api:exemption-reject", args=[requested.pk]), {"justification": "x"}, format="json")
        .status_code
        == 400
    )


def test_exemption_grant_needs_an_expiry(api_for, requested):
    url = reverse("api:exemption-grant", args=[requested.pk])
    assert api_for("org_admin").post(url, {"justification": "Ok."}, format="json").status_code == 400
    requested.refresh_from_db()
    assert requested.status == Exemption.Status.REQUESTED


def test_scoring_run_matrix(api_for, cast):
    expected = {
        "org_admin": 202,
        "leader": 403,
        "lead": 403,
        "member": 403,
        "other_member": 403,
        "outsider": 400,
        "anonymous": 401,
    }
    with mock.patch.object(tasks.run_scoring, "delay"):
        assert_matrix(
            api_for, reverse("api:scoring-run-list"), expected, method="post", data={"organization": cast.org.pk}
        )
    run = ScoringRun.objects.get()
    assert (run.trigger, run.status) == ("api", "queued")
    assert_matrix(api_for, reverse("api:scoring-run-detail", args=[run.pk]), API_SHARED_READ)


def test_list_routes_matrix(api_for, scored, requested):
    # Lists are scoped: the outsider gets 200 with their own org's rows only.
    for name in ("api:snapshot-list", "api:exemption-list", "api:scoring-run-list"):
        assert_matrix(api_for, reverse(name), {**API_SHARED_READ, "outsider": 200})
    teams = {row["team"] for row in api_for("outsider").get(reverse("api:snapshot-list")).json()["results"]}
    assert teams == {Team.objects.get(organization=scored.other_org).pk}
    assert api_for("outsider").get(reverse("api:exemption-list")).json()["count"] == 0


def test_reject_and_revoke_matrix(api_for, cast, scorecard):
    check = scorecard.checks.get(key="first-slo")

    def fresh(status):
        Exemption.objects.all().delete()
        exemption = services.exemption_request(team=cast.team, level_check=check, actor=cast.lead, reason="Retiring.")
        if status == "granted":
            services.exemption_grant(
                exemption=exemption,
                actor=cast.org_admin,
                justification="Ok.",
                expires_on=timezone.localdate() + timedelta(days=9),
            )
        return exemption

    for action, status in (("reject", "requested"), ("revoke", "granted")):
        exemption = fresh(status)
        # The same id is kept between roles: only the org admin (first) decides, the others are refused.
        assert_matrix(
            api_for,
            reverse(f"api:exemption-{action}", args=[exemption.pk]),
            ADMIN_ONLY,
            method="post",
            data={"justification": "Decided."},
        )
        exemption.refresh_from_db()
        assert exemption.status == {"reject": "rejected", "revoke": "revoked"}[action]
