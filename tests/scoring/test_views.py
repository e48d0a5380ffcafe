"""HTML pages: the role matrix on every route, what each page shows, bad input, CSV."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core import permissions
from apps.core.permissions import SYSTEM
from apps.scoring import services
from apps.scoring.models import Exemption, ScoringRun, Snapshot
from apps.teams.models import Team
from tests.roles import HTML_SHARED_READ, assert_matrix

from .conftest import give_slo_evidence

pytestmark = pytest.mark.django_db

# Leadership pages: org admins and leaders of the current org; team roles are refused.
# The outsider's current org is their own, so pages without an object show them their own org.
LEADERSHIP_OWN_ORG = {
    "org_admin": 200,
    "leader": 200,
    "lead": 403,
    "member": 403,
    "other_member": 403,
    "outsider": 200,
    "anonymous": 302,
}


def test_index_matrix(client_for, scored):
    assert_matrix(client_for, reverse("scoring:index"), {**HTML_SHARED_READ, "outsider": 200})


def test_leadership_pages_matrix(client_for, scored):
    for name in ("scoring:report", "scoring:export"):
        assert_matrix(client_for, reverse(name), LEADERSHIP_OWN_ORG)


def test_compare_matrix(client_for, scored):
    url = reverse("scoring:compare") + f"?teams={scored.team.pk},{scored.other_team.pk}"
    # The outsider cannot name this org's teams: they do not exist for them.
    assert_matrix(client_for, url, {**LEADERSHIP_OWN_ORG, "outsider": 404})


def test_team_scorecard_matrix(client_for, scored):
    assert_matrix(client_for, reverse("scoring:team", args=[scored.team.pk]), HTML_SHARED_READ)


def test_run_now_matrix(client_for, scored):
    expected = {
        "org_admin": 302,
        "leader": 403,
        "lead": 403,
        "member": 403,
        "other_member": 403,
        "outsider": 302,
        "anonymous": 302,
    }
    assert_matrix(client_for, reverse("scoring:run"), expected, method="post")
    assert set(ScoringRun.objects.values_list("organization__slug", flat=True)) == {"acme", "initech"}
    assert client_for("org_admin").get(reverse("scoring:run")).status_code == 405


def test_exemption_request_matrix(client_for, scored):
    check = services.scorecard_ensure(actor=permissions.SYSTEM, organization=scored.org).checks.get(key="first-slo")
    expected = {
        "org_admin": 302,
        "leader": 403,
        "lead": 302,
        "member": 403,
        "other_member": 403,
        "outsider": 404,
        "anonymous": 302,
    }
    assert_matrix(
        client_for,
        reverse("scoring:exemption_request", args=[scored.team.pk]),
        expected,
        method="post",
        data={"level_check": check.pk, "reason": "Retiring the service."},
    )
    # The admin asked first; the lead's identical request returned it.
    assert Exemption.objects.count() == 1


def test_exemption_decision_matrix(client_for, scored, requested):
    expected = {
        "org_admin": 302,
        "leader": 403,
        "lead": 403,
        "member": 403,
        "other_member": 403,
        "outsider": 404,
        "anonymous": 302,
    }
    soon = (timezone.localdate() + timedelta(days=30)).isoformat()
    for action in ("grant", "revoke"):
        assert_matrix(
            client_for,
            reverse("scoring:exemption_decide", args=[requested.pk, action]),
            expected,
            method="post",
            data={"justification": "Agreed.", "expires_on": soon},
        )
    assert list(requested.events.values_list("action", flat=True)) == ["requested", "granted", "revoked"]


def test_exemption_reject_matrix(client_for, requested):
    expected = {
        "org_admin": 302,
        "leader": 403,
        "lead": 403,
        "member": 403,
        "other_member": 403,
        "outsider": 404,
        "anonymous": 302,
    }
    url = reverse("scoring:exemption_decide", args=[requested.pk, "reject"])
    assert_matrix(client_for, url, expected, method="post", data={"justification": "Not now."})
    requested.refresh_from_db()
    assert requested.status == Exemption.Status.REJECTED


def test_department_filter_includes_nested_departments(client_for, scored):
    from apps.teams import services as team_services

    child = team_services.department_upsert(actor=SYSTEM, organization=scored.org, name="Payments", slug="payments")
    child.parent = scored.department
    child.save()
    Team.objects.filter(pk=scored.other_team.pk).update(department=child)
    response = client_for("leader").get(reverse("scoring:index"), {"department": scored.department.pk})
    assert {r.team.name for r in response.context["board"].rows} == {"Checkout", "Search"}
    response = client_for("leader").get(reverse("scoring:index"), {"department": child.pk})
    assert {r.team.name for r in response.context["board"].rows} == {"Search"}


def test_unknown_decision_is_404(client_for, requested):
    url = reverse("scoring:exemption_decide", args=[requested.pk, "approve"])
    assert client_for("org_admin").post(url, {"justification": "x"}).status_code == 404


def test_bad_exemption_request_shows_errors_and_writes_nothing(client_for, scored):
    url = reverse("scoring:exemption_request", args=[scored.team.pk])
    response = client_for("lead").post(url, {"level_check": "", "reason": ""})
    assert response.status_code == 400
    assert b"This field is required" in response.content
    check = services.scorecard_ensure(actor=permissions.SYSTEM, organization=scored.org).checks.first()
    past = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = client_for("lead").post(url, {"level_check": check.pk, "reason": "x", "expires_on": past})
    assert response.status_code == 400
    assert b"The expiry must be in the future" in response.content
    assert not Exemption.objects.exists()


def test_grant_without_justification_is_refused(client_for, requested):
    url = reverse("scoring:exemption_decide", args=[requested.pk, "grant"])
    response = client_for("org_admin").post(url, {"justification": "", "expires_on": "2099-01-01"}, follow=True)
    assert b"A decision needs a justification" in response.content
    requested.refresh_from_db()
    assert requested.status == Exemption.Status.REQUESTED


@pytest.fixture
def requested_deploys(scored):
    """An exemption of the level-2 "deployments recorded" check (still failing: the cast has SLOs, no deploys)."""
    check = services.scorecard_ensure(actor=permissions.SYSTEM, organization=scored.org).checks.get(
        key="deploys-recorded"
    )
    return services.exemption_request(
        team=scored.team, level_check=check, actor=scored.lead, reason="Service is retiring."
    )


def test_scorecard_page_shows_level_checks_hints_and_exemption(client_for, scored, requested_deploys):
    requested = requested_deploys
    services.exemption_grant(
        exemption=requested,
        actor=scored.org_admin,
        justification="Agreed.",
        expires_on=timezone.localdate() + timedelta(days=20),
    )
    services.score_teams(
        actor=permissions.SYSTEM, teams=Team.objects.filter(organization=scored.org), as_of=timezone.localdate()
    )
    page = client_for("member").get(reverse("scoring:team", args=[scored.team.pk])).content.decode()
    assert "level-badge level-1" in page
    assert "Production deployments are recorded" in page
    assert "At least one SLO" in page  # passed: the cast's SLO
    assert "Connect your CI/CD" in page  # the hint of the exempted check
    assert "counts as passed" in page  # the exempted check says so
    assert "To reach the next level" in page
    # Members see no request form; the lead does.
    assert "Ask for an exemption" not in page
    assert (
        "Ask for an exemption"
        in client_for("lead").get(reverse("scoring:team", args=[scored.team.pk])).content.decode()
    )


def test_scorecard_page_marks_a_pending_request(client_for, scored, requested_deploys):
    page = client_for("member").get(reverse("scoring:team", args=[scored.team.pk])).content.decode()
    assert "exemption requested" in page
    assert "Service is retiring." in page


def test_scorecard_page_before_any_run(client_for, cast):
    page = client_for("member").get(reverse("scoring:team", args=[cast.team.pk])).content.decode()
    assert "Not scored yet" in page


def test_dashboard_lists_ranking_rollups_and_heatmap(client_for, scored):
    page = client_for("leader").get(reverse("scoring:index")).content.decode()
    assert "Department roll-up" in page and "Engineering" in page
    assert "Checkout" in page and "Search" in page
    assert "Billing" not in page  # another org's team
    assert "Run scoring now" not in page  # leaders read, they do not run
    assert "Run scoring now" in client_for("org_admin").get(reverse("scoring:index")).content.decode()


def test_dashboard_empty_state_and_filters(client_for, cast):
    page = client_for("leader").get(reverse("scoring:index")).content.decode()
    assert "No scores yet" in page
    services.score_teams(
        actor=permissions.SYSTEM, teams=Team.objects.filter(organization=cast.org), as_of=timezone.localdate()
    )
    # Scored, but no team has evidence yet: not yet measured, listed apart, nothing ranked.
    page = client_for("leader").get(reverse("scoring:index")).content.decode()
    assert "Not yet measured" in page and 'id="ranking"' not in page
    give_slo_evidence(cast.service, cast.other_service)
    services.score_teams(
        actor=permissions.SYSTEM, teams=Team.objects.filter(organization=cast.org), as_of=timezone.localdate()
    )
    # Tier 1 filter: only Checkout owns a tier-1 service.
    page = client_for("leader").get(reverse("scoring:index") + "?tier=1").content.decode()
    assert ">Checkout<" in page and ">Search<" not in page
    # A bad filter value is ignored, not a crash.
    assert client_for("leader").get(reverse("scoring:index") + "?tier=9&department=x").status_code == 200


def test_movement_since_last_period(client_for, cast):
    today = timezone.localdate()
    teams = Team.objects.filter(organization=cast.org)
    services.score_teams(actor=permissions.SYSTEM, teams=teams, as_of=today - timedelta(days=30))
    Snapshot.objects.filter(team=cast.team).update(overall=90.0)
    Snapshot.objects.filter(team=cast.other_team).update(overall=10.0)
    services.score_teams(actor=permissions.SYSTEM, teams=teams, as_of=today)
    Snapshot.objects.filter(team=cast.team, date=today).update(overall=20.0)
    Snapshot.objects.filter(team=cast.other_team, date=today).update(overall=80.0)
    response = client_for("leader").get(reverse("scoring:index"))
    rows = {r.team.name: r for r in response.context["board"].rows}
    assert (rows["Search"].rank, rows["Search"].movement, rows["Search"].score_change) == (1, 1, 70.0)
    assert (rows["Checkout"].rank, rows["Checkout"].movement) == (2, -1)


def test_member_index_shows_their_teams(client_for, scored):
    page = client_for("member").get(reverse("scoring:index")).content.decode()
    assert "Checkout" in page and "Search" not in page
    assert "Department roll-up" not in page
    # The org-wide picture without naming teams: both teams are at level 1.
    summary = client_for("member").get(reverse("scoring:index")).context["summary"]
    assert summary.teams == 2 and summary.level_shares[0] == (1, "Initial", 2, 100)
    assert "Across Acme" in page


def test_csv_export(client_for, scored):
    response = client_for("leader").get(reverse("scoring:export"))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["rank", "movement", "team", "department", "level"]
    assert {r[2] for r in rows[1:]} == {"Checkout", "Search"}


def test_csv_neutralises_formulas(client_for, scored):
    Team.objects.filter(pk=scored.team.pk).update(name="=HYPERLINK(1)")
    rows = list(csv.reader(io.StringIO(client_for("leader").get(reverse("scoring:export")).content.decode())))
    assert "'=HYPERLINK(1)" in {r[2] for r in rows[1:]}


def test_report_is_printable(client_for, scored):
    page = client_for("leader").get(reverse("scoring:report")).content.decode()
    assert "data-print" in page and "scoring/scoring.css" in page
    assert "Checkout" in page


def test_compare_shows_the_chosen_teams(client_for, scored):
    url = reverse("scoring:compare") + f"?teams={scored.other_team.pk}&teams={scored.team.pk}"
    response = client_for("leader").get(url)
    names = [c.team.name for c in response.context["comparison"].columns]
    assert names == ["Search", "Checkout"]
    assert 'id="compare-radar"' in response.content.decode()


@pytest.mark.parametrize("teams", ["1,2,3,4,5,6,7", "abc", "1;2"])
def test_compare_bad_input(client_for, scored, teams):
    response = client_for("leader").get(reverse("scoring:compare") + f"?teams={teams}")
    assert response.status_code == 400
    assert response.context["error"]


def test_compare_without_teams_shows_the_picker(client_for, scored):
    page = client_for("leader").get(reverse("scoring:compare")).content.decode()
    assert "Pick teams to compare" in page


def test_team_page_panel(client_for, scored):
    page = client_for("member").get(reverse("teams:detail", args=[scored.team.pk])).content.decode()
    assert "Maturity score" in page and "level-badge" in page


def test_ranking_rows_escape_names_and_gaps(client_for, scored):
    Team.objects.filter(pk=scored.team.pk).update(name='<script>alert("x")</script>')
    Snapshot.objects.filter(team=scored.team).update(
        gaps=[{"dimension": "sharing", "label": "<b>Sharing</b>", "why": '"><img src=x>', "gap": 50.0}]
    )
    for name in ("scoring:index", "scoring:report"):
        page = client_for("leader").get(reverse(name)).content.decode()
        assert "<script>alert" not in page and "<b>Sharing</b>" not in page and "<img src=x>" not in page
        assert "&lt;script&gt;alert" in page
