"""Exemptions (issue 18): an expiry is required to grant and to renew, renewals are recorded, and
leadership sees each team's exemption rate (share of its applicable checks passed only by
exemption) next to its level, with its trend, on the dashboard, the CSV and the API."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from apps.core import permissions
from apps.scoring import pillars, services
from apps.scoring.models import Exemption, Snapshot
from apps.teams.models import Team
from tests.roles import assert_matrix

from .conftest import give_slo_evidence
from .test_api import ADMIN_ONLY

pytestmark = pytest.mark.django_db


def _in(days):
    return timezone.localdate() + timedelta(days=days)


@pytest.fixture
def granted(cast, requested):
    return services.exemption_grant(actor=cast.org_admin, exemption=requested, justification="Ok.", expires_on=_in(10))


# --- renewals ------------------------------------------------------------------------------------


def test_renewal_moves_the_expiry_and_is_recorded(cast, granted):
    renewed = services.exemption_renew(
        actor=cast.org_admin, exemption=granted, justification="Retirement slipped a month.", expires_on=_in(40)
    )
    assert renewed.status == Exemption.Status.GRANTED and renewed.expires_on == _in(40)
    events = list(renewed.events.values_list("action", "expires_on", "note"))
    assert events[-1] == ("renewed", _in(40), "Retirement slipped a month.")
    assert [e[0] for e in events] == ["requested", "granted", "renewed"]
    # Renewing again to the same date (a retried request) records nothing more.
    services.exemption_renew(actor=cast.org_admin, exemption=granted, justification="Again.", expires_on=_in(40))
    assert renewed.events.count() == 3


def test_a_lapsed_grant_can_be_renewed(cast, granted):
    Exemption.objects.filter(pk=granted.pk).update(expires_on=_in(-2))
    renewed = services.exemption_renew(actor=cast.org_admin, exemption=granted, justification="Ok.", expires_on=_in(5))
    assert renewed.expires_on == _in(5)


@pytest.mark.parametrize(
    ("expires_on", "justification"),
    [(None, "Ok."), (_in(0), "Ok."), (_in(400), "Ok."), (_in(30), "  ")],
    ids=["no expiry", "not in the future", "over a year", "no justification"],
)
def test_bad_renewals_write_nothing(cast, granted, expires_on, justification):
    with pytest.raises(ValidationError):
        services.exemption_renew(
            actor=cast.org_admin, exemption=granted, justification=justification, expires_on=expires_on
        )
    granted.refresh_from_db()
    assert granted.expires_on == _in(10) and granted.events.count() == 2


def test_only_org_admins_renew_and_only_grants(cast, requested, granted):
    for role in ("leader", "lead", "member", "outsider"):
        with pytest.raises(PermissionDenied):
            services.exemption_renew(actor=cast.user(role), exemption=granted, justification="x", expires_on=_in(20))
    services.exemption_revoke(actor=cast.org_admin, exemption=granted, justification="Done.")
    with pytest.raises(ValidationError):
        services.exemption_renew(actor=cast.org_admin, exemption=granted, justification="x", expires_on=_in(20))


def test_grant_needs_an_expiry_and_does_not_renew(cast, requested):
    with pytest.raises(ValidationError):
        services.exemption_grant(actor=cast.org_admin, exemption=requested, justification="Ok.", expires_on=None)
    services.exemption_grant(actor=cast.org_admin, exemption=requested, justification="Ok.", expires_on=_in(10))
    with pytest.raises(ValidationError, match="renew"):
        services.exemption_grant(actor=cast.org_admin, exemption=requested, justification="Ok.", expires_on=_in(20))


def test_renew_page_action(client_for, cast, granted):
    url = reverse("scoring:exemption_decide", args=[granted.pk, "renew"])
    page = client_for("org_admin").get(reverse("scoring:team", args=[cast.team.pk])).content.decode()
    assert url in page  # the Renew button of the granted exemption
    response = client_for("lead").post(url, {"justification": "x", "expires_on": _in(30).isoformat()})
    assert response.status_code == 403
    response = client_for("org_admin").post(url, {"justification": "Slipped.", "expires_on": ""})
    granted.refresh_from_db()
    assert granted.expires_on == _in(10)  # no expiry: refused, with a message
    response = client_for("org_admin").post(url, {"justification": "Slipped.", "expires_on": _in(30).isoformat()})
    assert response.status_code == 302
    granted.refresh_from_db()
    assert granted.expires_on == _in(30) and granted.events.last().action == "renewed"
    page = client_for("member").get(reverse("scoring:team", args=[cast.team.pk])).content.decode()
    assert "Renewed by" in page


def test_renew_api_matrix(api_for, cast, granted):
    url = reverse("api:exemption-renew", args=[granted.pk])
    body = {"justification": "Slipped.", "expires_on": _in(30).isoformat()}
    assert_matrix(api_for, url, ADMIN_ONLY, method="post", data=body)
    data = api_for("member").get(reverse("api:exemption-detail", args=[granted.pk])).json()
    assert data["expires_on"] == _in(30).isoformat()
    assert [e["action"] for e in data["events"]] == ["requested", "granted", "renewed"]
    assert api_for("org_admin").post(url, {"justification": "x"}, format="json").status_code == 400


# --- the exemption rate ------------------------------------------------------------------------


def test_the_rate_counts_applicable_checks_only():
    results = [
        {"key": "a", "status": "passed", "pending_until": None},
        {"key": "b", "status": "exempt", "pending_until": None},
        {"key": "c", "status": "failed", "pending_until": None},
        {"key": "d", "status": "exempt", "pending_until": None},
        {"key": "e", "status": "failed", "pending_until": "2027-01-01"},  # in its grace period: not applicable
    ]
    assert pillars.exemption_rate(results) == 2 / 4
    assert pillars.exemption_rate([]) is None  # no applicable check: no data, never 0
    assert pillars.exemption_rate(results[4:]) is None


@pytest.fixture
def rated(cast):
    """Acme's rubric: three checks, each team with one SLO (slo.count = 1).
    one-slo (L2, passes) · five-slos (L3, fails) · cap (L4, fails).
    A month ago no exemption; today Checkout's five-slos is exempted: 1 of 3 applicable checks = 33%.
    Search has none: 0 of 3 = 0%."""
    give_slo_evidence(cast.service, cast.other_service)
    card = services.scorecard_ensure(actor=permissions.SYSTEM, organization=cast.org)
    card.checks.all().delete()
    common = {"actor": cast.org_admin, "scorecard": card, "hint": "Add SLOs.", "metric": "slo.count"}
    services.check_create(key="one-slo", level=2, name="An SLO", value=1, **common)
    five = services.check_create(key="five-slos", level=3, name="Five SLOs", value=5, **common)
    services.check_create(key="cap", level=4, name="A hundred SLOs", value=100, **common)
    teams = Team.objects.filter(organization=cast.org).select_related("organization")
    today = timezone.localdate()
    services.score_teams(actor=permissions.SYSTEM, teams=teams, as_of=today - timedelta(days=30))
    # A month ago the SLO samples did not exist yet; give that day a score so it is each team's baseline.
    Snapshot.objects.filter(date=today - timedelta(days=30)).update(overall=40.0)
    asked = services.exemption_request(actor=cast.lead, team=cast.team, level_check=five, reason="Migrating.")
    services.exemption_grant(actor=cast.org_admin, exemption=asked, justification="Ok.", expires_on=_in(60))
    services.score_teams(actor=permissions.SYSTEM, teams=teams, as_of=today)
    return cast


def test_rate_and_trend_on_the_dashboard(client_for, rated):
    today = timezone.localdate()
    snap = Snapshot.objects.get(team=rated.team, date=today)
    assert snap.level == 3  # the exemption lets level 3 pass; cap fails at 4
    assert snap.exemption_rate == pytest.approx(1 / 3)
    assert Snapshot.objects.get(team=rated.other_team, date=today).exemption_rate == 0.0
    response = client_for("leader").get(reverse("scoring:index"))
    rows = {r.team.pk: r for r in response.context["board"].rows}
    checkout, search = rows[rated.team.pk], rows[rated.other_team.pk]
    assert (checkout.previous.exemption_rate, checkout.exemption_rate) == (0.0, pytest.approx(1 / 3))
    assert checkout.exemption_rate_rising and not search.exemption_rate_rising
    assert search.exemption_rate_change == 0.0
    assert [r.team.pk for r in response.context["board"].exemptions_rising] == [rated.team.pk]
    html = response.content.decode()
    assert '<td class="cell" data-figure="exemption-rate">33%<div class="small movement-down"' in html
    assert '<td class="cell" data-figure="exemption-rate">0%</td>' in html
    assert 'id="exemptions-rising"' in html and "0% → <strong>33%</strong>" in html
    team_page = client_for("member").get(reverse("scoring:team", args=[rated.team.pk])).content.decode()
    assert '<strong class="text-body" data-figure="exemption-rate">33%</strong>' in team_page


def test_rate_in_the_csv_and_the_api(client_for, api_for, rated):
    body = client_for("leader").get(reverse("scoring:export")).content.decode()
    rows = {r["team"]: r for r in csv.DictReader(io.StringIO(body))}
    assert (rows["Checkout"]["exemption_rate"], rows["Checkout"]["exemption_rate_previous"]) == ("0.333", "0.0")
    assert rows["Search"]["exemption_rate"] == "0.0"
    assert rows["Checkout"]["level"] == "3" and rows["Checkout"]["level_when_pending_checks_apply"] == "3"
    snap = Snapshot.objects.get(team=rated.team, date=timezone.localdate())
    data = api_for("leader").get(reverse("api:snapshot-detail", args=[snap.pk])).json()
    assert data["exemption_rate"] == pytest.approx(1 / 3) and data["level_when_applied"] == 3


def test_no_applicable_check_is_no_data(client_for, cast):
    give_slo_evidence(cast.service, cast.other_service)
    card = services.scorecard_ensure(actor=permissions.SYSTEM, organization=cast.org)
    card.checks.all().delete()
    services.score_teams(
        actor=permissions.SYSTEM,
        teams=Team.objects.filter(organization=cast.org).select_related("organization"),
        as_of=timezone.localdate(),
    )
    html = client_for("leader").get(reverse("scoring:index")).content.decode()
    assert '<td class="cell" data-figure="exemption-rate">no data</td>' in html
    assert 'data-figure="exemption-rate">0%' not in html
