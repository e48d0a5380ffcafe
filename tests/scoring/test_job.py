"""The scoring job against the real evidence selectors: snapshots, upserts, query counts, runs."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core import permissions
from apps.scoring import pillars, services, tasks
from apps.scoring.models import ScoringRun, Snapshot
from apps.teams.models import Team
from tests.factories import OrganizationFactory, ServiceFactory, TeamFactory

pytestmark = pytest.mark.django_db


def _teams(org):
    return Team.objects.filter(organization=org).select_related("organization").order_by("pk")


def test_one_snapshot_per_team_with_its_inputs(cast):
    today = timezone.localdate()
    assert services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast.org), as_of=today) == 2
    snap = Snapshot.objects.get(team=cast.team, date=today)
    assert snap.organization_id == cast.org.pk
    # One tier-1 service without an SLO: coverage is 0, but no SLO has data, so reliability is
    # "no data" like everything else: the team is not yet measured (no overall), not scored 0.
    assert snap.inputs["reliability"]["services"] == 1
    assert snap.inputs["reliability"]["coverage_by_tier"]["1"] == 0.0
    assert snap.reliability is None
    assert snap.self_assessment is None and snap.delivery is None and snap.learning is None
    assert snap.overall is None
    assert snap.level == 1
    failed = {c["key"]: c for c in snap.checks if c["status"] == "failed"}
    assert {"calms-submitted", "deploys-recorded", "first-slo", "score-25"} <= set(failed)
    assert failed["first-slo"]["hint"].startswith("Define an SLI and an SLO")
    # Level 2 first, closest to passing first: one deployment passes "> 0"; "no data" comes last
    # (the overall and the assessment both have none, so by key).
    assert [r["check"] for r in snap.recommendations] == ["deploys-recorded", "first-slo", "calms-submitted"]
    assert snap.inputs["windows"]["dora_days"] == 90
    assert snap.weights == {"self_assessment": 20, "delivery": 30, "reliability": 30, "learning": 20}


def test_stored_inputs_reproduce_the_stored_numbers(cast, scorecard):
    services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast.org), as_of=timezone.localdate())
    specs = services._specs(scorecard.checks.all())
    for snap in Snapshot.objects.filter(organization=cast.org):
        again = pillars.score_team(snap.inputs, weights=snap.weights, checks=specs, gap_threshold=25)
        assert (again.overall, again.level, again.pillars) == (snap.overall, snap.level, snap.pillars)
        assert again.stored_checks == snap.checks


def test_rerunning_the_same_day_replaces(cast, scorecard):
    today = timezone.localdate()
    services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast.org), as_of=today)
    first = dict(Snapshot.objects.filter(date=today).values_list("team_id", "pk"))
    scorecard.weight_reliability = 0
    scorecard.save()
    services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast.org), as_of=today)
    assert Snapshot.objects.filter(organization=cast.org).count() == 2
    assert dict(Snapshot.objects.filter(date=today).values_list("team_id", "pk")) == first
    snap = Snapshot.objects.get(team=cast.team, date=today)
    assert snap.weights["reliability"] == 0
    assert snap.overall is None  # the only pillar with data now weighs nothing


def test_each_day_keeps_its_own_snapshot(cast):
    today = timezone.localdate()
    for days_ago in (14, 7, 0):
        services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast.org), as_of=today - timedelta(days=days_ago))
    assert list(Snapshot.objects.filter(team=cast.team).order_by("date").values_list("date", flat=True)) == [
        today - timedelta(days=14),
        today - timedelta(days=7),
        today,
    ]


def _queries_to_score(n_teams):
    org = OrganizationFactory()
    for _ in range(n_teams):
        team = TeamFactory(organization=org)
        ServiceFactory(team=team, tier=1)
        ServiceFactory(team=team, tier=2)
    services.scorecard_ensure(actor=permissions.SYSTEM, organization=org)
    teams = list(_teams(org))
    with CaptureQueriesContext(connection) as ctx:
        assert services.score_teams(actor=permissions.SYSTEM, teams=teams, as_of=timezone.localdate()) == n_teams
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_teams(db):
    small, large = _queries_to_score(2), _queries_to_score(15)
    assert small == large, f"2 teams: {small} queries, 15 teams: {large}"
    # 23 measured: the pillars, toil, runbooks and the gate, then 4 for the service checks (apps.servicechecks:
    # one SELECT with JIT off, i.e. SAVEPOINT, SET LOCAL jit = off, the SELECT, RELEASE), and 1 after the
    # snapshots are written: apps.initiatives asks which organizations' initiatives to record progress for.
    assert small <= 24


def test_granted_exemption_counts_until_it_expires(cast, requested):
    today = timezone.localdate()
    services.exemption_grant(
        exemption=requested, actor=cast.org_admin, justification="Agreed.", expires_on=today + timedelta(days=10)
    )
    services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast.org), as_of=today)
    check = next(c for c in Snapshot.objects.get(team=cast.team, date=today).checks if c["key"] == "first-slo")
    assert check["status"] == "exempt"
    assert check["exempt_until"] == (today + timedelta(days=10)).isoformat()
    # The other team has no exemption.
    other = next(c for c in Snapshot.objects.get(team=cast.other_team, date=today).checks if c["key"] == "first-slo")
    assert other["status"] == "failed"
    # After the expiry date it fails again.
    later = today + timedelta(days=11)
    services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast.org), as_of=later)
    check = next(c for c in Snapshot.objects.get(team=cast.team, date=later).checks if c["key"] == "first-slo")
    assert check["status"] == "failed"


def test_revoked_exemption_no_longer_counts(cast, requested):
    today = timezone.localdate()
    services.exemption_grant(
        exemption=requested, actor=cast.org_admin, justification="Ok.", expires_on=today + timedelta(days=30)
    )
    services.exemption_revoke(exemption=requested, actor=cast.org_admin, justification="Service not retired after all.")
    services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast.org), as_of=today)
    check = next(c for c in Snapshot.objects.get(team=cast.team, date=today).checks if c["key"] == "first-slo")
    assert check["status"] == "failed"


def test_scoring_run_records_what_it_did(cast):
    run = services.scoring_run(actor=permissions.SYSTEM, organization=cast.org, trigger="command")
    assert run.status == ScoringRun.Status.DONE
    assert run.teams_scored == 2
    assert run.started_at and run.finished_at and run.error == ""


def test_failed_run_is_recorded_and_writes_nothing(cast):
    with (
        mock.patch("apps.scoring.inputs.gather", side_effect=RuntimeError("selector down")),
        pytest.raises(RuntimeError),
    ):
        services.scoring_run(actor=permissions.SYSTEM, organization=cast.org)
    run = ScoringRun.objects.get()
    assert run.status == ScoringRun.Status.FAILED and "selector down" in run.error
    assert not Snapshot.objects.exists()


def test_requesting_a_run_twice_queues_it_once(cast, django_capture_on_commit_callbacks):
    with mock.patch.object(tasks.run_scoring, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            first = services.scoring_request(organization=cast.org, actor=cast.org_admin)
        with django_capture_on_commit_callbacks(execute=True):
            second = services.scoring_request(organization=cast.org, actor=cast.org_admin)
    assert first.pk == second.pk
    delay.assert_called_once_with(first.pk)
    # The task then runs it.
    assert tasks.run_scoring(first.pk) == 2
    first.refresh_from_db()
    assert first.status == ScoringRun.Status.DONE
    # A finished run is not run twice when the broker redelivers it.
    assert tasks.run_scoring(first.pk) is None


def test_only_org_admins_request_runs(cast):
    from django.core.exceptions import PermissionDenied

    for who in (cast.leader, cast.lead, cast.outsider):
        with pytest.raises(PermissionDenied):
            services.scoring_request(organization=cast.org, actor=who)
    assert not ScoringRun.objects.exists()


def test_daily_task_scores_every_organization(cast):
    result = tasks.score_all()
    assert result == {"runs": 2, "teams": 3}
    assert Snapshot.objects.filter(date=timezone.localdate()).count() == 3


def test_daily_schedule_is_declared():
    from apps.core import schedules

    assert schedules.declared()["scoring: daily scores"]["task"] == "apps.scoring.tasks.score_all"


def test_management_command_scores_with_history(cast, capsys):
    call_command("score_teams", "--org", "acme", "--weeks", "2", "--no-progress")
    assert Snapshot.objects.filter(team=cast.team).count() == 3
    assert not Snapshot.objects.filter(organization=cast.other_org).exists()
    # Running it again replaces, it does not duplicate.
    call_command("score_teams", "--org", "acme", "--weeks", "2", "--no-progress")
    assert Snapshot.objects.filter(team=cast.team).count() == 3
    assert "Scored 2 teams on 3 day(s)." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2026-13-01"], "--date"),
        (["--date", "2999-01-01"], "future"),
        (["--org", "nope"], "No organization"),
        (["--weeks", "-1"], "--weeks"),
    ],
)
def test_management_command_rejects_bad_input(cast, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("score_teams", "--no-progress", *args)
    assert not Snapshot.objects.exists()


def test_a_past_day_is_scored_with_the_self_assessment_submitted_by_then(cast):
    from datetime import UTC, datetime, time

    from apps.assessments import services as assessments
    from apps.assessments.models import Framework
    from apps.core.permissions import SYSTEM
    from tests.assessments.conftest import answer_all

    assessments.framework_load_builtin(actor=SYSTEM)
    calms = Framework.objects.get(organization=None, key="calms", version=1)
    today = timezone.localdate()
    for days_ago, level in ((60, 1), (10, 3)):
        start = today - timedelta(days=days_ago)
        campaign = assessments.campaign_open(
            organization=cast.org,
            frameworks=[calms],
            name=f"Cycle {days_ago}",
            opens_on=start,
            closes_on=start + timedelta(days=30),
            teams=[cast.team],
            actor=SYSTEM,
            today=start,
        )
        assessment = campaign.assessments.get(team=cast.team)
        answer_all(assessment, level=level, today=start)
        assessments.assessment_submit(
            assessment=assessment, actor=SYSTEM, today=start, at=datetime.combine(start, time(12), tzinfo=UTC)
        )
    days = {"before any": today - timedelta(days=70), "after the first": today - timedelta(days=30), "now": today}
    for day in days.values():
        services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast.org), as_of=day)
    scored = {name: Snapshot.objects.get(team=cast.team, date=day) for name, day in days.items()}
    assert scored["before any"].inputs["assessment"] is None
    assert scored["before any"].self_assessment is None
    assert scored["after the first"].inputs["assessment"]["overall"] == 25.0
    assert scored["now"].inputs["assessment"]["overall"] == 75.0


def test_todays_scores_read_the_stored_slo_status_past_days_compute(cast):
    from apps.slos.models import SLOStatusRecord
    from tests.slos.factories import fill, live_now_ts, make_sli, make_slo

    sli = make_sli(cast.service)
    slo = make_slo(sli, target="0.999", window_days=30)
    now = live_now_ts()
    fill(sli, start_ts=now - 2 * 86400, end_ts=now, good=1000, total=1000, refresh=True)
    # The stored status is what today's score reads: make it differ from the samples.
    SLOStatusRecord.objects.filter(slo=slo).update(sli=0.9985, consumed=1.5, remaining=-0.5, state="exhausted")
    today = timezone.localdate()
    services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast.org), as_of=today)
    services.score_teams(actor=permissions.SYSTEM, teams=_teams(cast.org), as_of=today - timedelta(days=1))
    current = Snapshot.objects.get(team=cast.team, date=today).inputs
    assert current["reliability"]["attainment"] == 0.0
    assert current["reliability"]["budget_remaining_avg"] == -0.5
    assert current["windows"]["slo_as_of"] == "stored"
    # Yesterday's snapshot is computed from the samples up to the end of that day: every bucket good.
    past = Snapshot.objects.get(team=cast.team, date=today - timedelta(days=1)).inputs
    assert past["reliability"]["attainment"] == 1.0
    assert past["reliability"]["budget_remaining_avg"] == 1.0
