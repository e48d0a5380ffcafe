"""Grace periods (issue 18): a new or changed level check can be informational until a date. Until
then it is shown but blocks no level; pages show it and the level each team will hold when it applies.
Levels are hand-checked: the level is 1 + the consecutive levels from 2 whose counted checks pass."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from apps.core import permissions
from apps.scoring import pillars, selectors, services
from apps.scoring.models import Check, Snapshot
from apps.teams.models import Team

from .conftest import give_slo_evidence
from .factories import inputs, reliability, spec

pytestmark = pytest.mark.django_db


# --- the pure rule -------------------------------------------------------------------------------


def _facts():
    # One service with one SLO: slo.count = 1.
    return {**inputs(r=reliability(1, 1, {"1": 1.0}, slos=1, meeting=1, attainment=1.0)), "pillars": {}, "overall": 50}


def _rubric(until):
    return (
        [
            spec("one-slo", 2, "slo.count", "gte", 1),  # passes (1 >= 1)
            spec("five-slos", 3, "slo.count", "gte", 5),  # fails (1 < 5): the new check
            spec("cap", 4, "slo.count", "gte", 100),  # fails: keeps the team below level 4
        ]
        if until is None
        else [
            spec("one-slo", 2, "slo.count", "gte", 1),
            pillars.CheckSpec(**{**spec("five-slos", 3, "slo.count", "gte", 5).__dict__, "informational_until": until}),
            spec("cap", 4, "slo.count", "gte", 100),
        ]
    )


def test_a_pending_check_blocks_no_level_and_the_will_hold_level_counts_it():
    before = pillars.evaluate_checks(_rubric(None), _facts(), as_of="2026-12-01")
    # Without a grace period: level 2 passes, level 3 fails -> level 2.
    assert pillars.level_from_checks(before) == 2
    during = pillars.evaluate_checks(_rubric("2026-12-15"), _facts(), as_of="2026-12-01")
    # The new level-3 check is pending: levels 2 and 3 have no counted failure, level 4 fails -> 3.
    assert pillars.level_from_checks(during) == 3
    assert pillars.level_from_checks(during, with_pending=True) == 2
    assert [c["key"] for c in pillars.pending_checks(during)] == ["five-slos"]
    assert next(c for c in during if c["key"] == "five-slos")["status"] == "failed"  # shown as it is
    # On the date itself it applies: back to level 2, nothing pending.
    on_the_day = pillars.evaluate_checks(_rubric("2026-12-15"), _facts(), as_of="2026-12-15")
    assert pillars.level_from_checks(on_the_day) == 2
    assert pillars.pending_checks(on_the_day) == []


def test_score_team_reports_the_level_when_applied():
    result = pillars.score_team(
        _facts(), weights={"reliability": 1}, checks=_rubric("2026-12-15"), gap_threshold=25, as_of="2026-12-01"
    )
    assert (result.level, result.level_when_applied) == (3, 2)
    assert [r["check"] for r in result.recommendations] == ["cap"]  # pending checks are not recommended as blocking


# --- the rubric change, end to end ------------------------------------------------------------


@pytest.fixture
def small_rubric(cast):
    """Acme's rubric replaced by two checks; each team of the cast has one SLO (slo.count = 1)."""
    give_slo_evidence(cast.service, cast.other_service)
    card = services.scorecard_ensure(actor=permissions.SYSTEM, organization=cast.org)
    card.checks.all().delete()
    common = {"actor": cast.org_admin, "scorecard": card, "hint": "Add SLOs.", "metric": "slo.count"}
    services.check_create(key="one-slo", level=2, name="An SLO", value=1, **common)
    services.check_create(key="cap", level=4, name="A hundred SLOs", value=100, **common)
    return card


def _teams(cast):
    return Team.objects.filter(organization=cast.org).select_related("organization")


def test_a_rubric_change_with_a_grace_period_demotes_no_one_today_and_does_after_the_date(cast, small_rubric):
    today = timezone.localdate()
    services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast), as_of=today)
    assert set(Snapshot.objects.filter(organization=cast.org).values_list("level", flat=True)) == {3}
    until = today + timedelta(days=14)
    services.check_create(
        actor=cast.org_admin,
        scorecard=small_rubric,
        key="five-slos",
        level=3,
        name="Five SLOs",
        metric="slo.count",
        value=5,
        hint="Cover every user journey.",
        informational_until=until,
    )
    services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast), as_of=today)
    snap = Snapshot.objects.get(team=cast.team, date=today)
    assert snap.level == 3  # not demoted today
    assert snap.level_when_applied == 2  # 1 SLO < 5: level 3 fails once it counts
    assert [c["key"] for c in snap.pending_checks] == ["five-slos"]
    assert snap.pending_checks[0]["pending_until"] == until.isoformat()
    # The same numbers as the rubric preview (admin) computes from the stored inputs.
    preview = selectors.grace_preview(scorecard=small_rubric, as_of=today)
    assert [c.key for c in preview.pending] == ["five-slos"]
    assert {(r.team.pk, r.level_now, r.level_when_applied) for r in preview.rows} == {
        (cast.team.pk, 3, 2),
        (cast.other_team.pk, 3, 2),
    }
    assert preview.rows[0].drops
    # The date arrives: the check counts and the next run gives level 2.
    Check.objects.filter(key="five-slos").update(informational_until=today)
    services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast), as_of=today)
    snap = Snapshot.objects.get(team=cast.team, date=today)
    assert (snap.level, snap.level_when_applied, snap.pending_checks) == (2, 2, [])


def test_pages_show_pending_checks_and_the_level_each_team_will_hold(client_for, cast, small_rubric):
    today = timezone.localdate()
    services.check_create(
        actor=cast.org_admin,
        scorecard=small_rubric,
        key="five-slos",
        level=3,
        name="Five SLOs",
        metric="slo.count",
        value=5,
        hint="Cover every user journey.",
        informational_until=today + timedelta(days=14),
    )
    services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast), as_of=today)
    page = client_for("member").get(reverse("scoring:team", args=[cast.team.pk])).content.decode()
    assert 'id="pending-checks"' in page and 'data-pending="five-slos"' in page
    assert "informational until" in page
    assert 'Once 1 pending check counts: level <strong class="text-body">2 · Managed</strong>' in page
    board = client_for("leader").get(reverse("scoring:index"))
    assert [c["key"] for c in board.context["board"].pending_checks] == ["five-slos"]
    assert {r.team.pk for r in board.context["board"].grace_drops} == {cast.team.pk, cast.other_team.pk}
    html = board.content.decode()
    assert 'id="grace-drops"' in html and "level 3 → <strong>2</strong>" in html
    assert 'data-figure="level-when-applied"' in html
    admin_page = client_for("org_admin").get(reverse("admin:scoring_scorecard_change", args=[small_rubric.pk]))
    assert admin_page.status_code == 200
    text = admin_page.content.decode()
    assert 'id="grace-preview"' in text and "2 of 2 scored teams will hold a lower level" in text


def test_check_create_rules(cast, small_rubric):
    base = {
        "scorecard": small_rubric,
        "key": "runbooks",
        "level": 3,
        "name": "Runbooks",
        "metric": "slo.count",
        "value": 2,
        "hint": "Write them.",
    }
    for role in ("leader", "lead", "member", "outsider"):
        with pytest.raises(PermissionDenied):
            services.check_create(actor=cast.user(role), **base)
    with pytest.raises(ValidationError):
        services.check_create(actor=cast.org_admin, **base, informational_until=timezone.localdate())
    with pytest.raises(ValidationError):
        services.check_create(actor=cast.org_admin, **{**base, "metric": "no.such.metric"})
    first = services.check_create(actor=cast.org_admin, **base)
    assert services.check_create(actor=cast.org_admin, **base) == first  # idempotent
    with pytest.raises(ValidationError):
        services.check_create(actor=cast.org_admin, **{**base, "value": 3})  # same key, other terms
    assert first.order == 0 and small_rubric.checks.count() == 3


def test_check_update_starts_a_grace_period(cast, small_rubric):
    check = small_rubric.checks.get(key="one-slo")
    until = timezone.localdate() + timedelta(days=7)
    services.check_update(actor=cast.org_admin, check=check, value=2, informational_until=until)
    check.refresh_from_db()
    assert (check.value, check.informational_until) == (2, until)
    with pytest.raises(PermissionDenied):
        services.check_update(actor=cast.leader, check=check, value=3)
    with pytest.raises(ValidationError):
        services.check_update(actor=cast.org_admin, check=check, colour="red")
