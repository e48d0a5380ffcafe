"""Progress, the target line, "behind" and the burn-up on hand-checked data (see conftest.py)."""

import datetime as dt

import pytest

from apps.core import permissions
from apps.initiatives import charts, progress, selectors, services
from apps.initiatives.models import InitiativeProgress

from .conftest import D1, D2, D3, TARGET

pytestmark = pytest.mark.django_db


def test_target_line_is_straight_from_the_baseline_to_full_on_the_target_date():
    assert progress.target_share(D1, start=D1, target=TARGET, base=0.25) == 0.25
    # 0.25 + 0.75 * 5/10
    assert progress.target_share(dt.date(2026, 11, 6), start=D1, target=TARGET, base=0.25) == pytest.approx(0.625)
    assert progress.target_share(TARGET, start=D1, target=TARGET, base=0.25) == 1.0
    assert progress.target_share(dt.date(2026, 12, 1), start=D1, target=TARGET) == 1.0
    assert progress.target_share(dt.date(2026, 10, 1), start=D1, target=TARGET) == 0.0


def test_behind_means_below_the_line_and_no_share_is_neither():
    # Day 3 line: 0.25 + 0.75 * 2/10 = 0.40
    assert progress.is_behind(0.75, D3, start=D1, target=TARGET, base=0.25) is False
    assert progress.is_behind(0.40, D3, start=D1, target=TARGET, base=0.25) is False  # on the line = on track
    assert progress.is_behind(0.39, D3, start=D1, target=TARGET, base=0.25) is True
    # 9 Nov line: 0.25 + 0.75 * 8/10 = 0.85
    assert progress.is_behind(0.75, dt.date(2026, 11, 9), start=D1, target=TARGET, base=0.25) is True
    assert progress.is_behind(None, D3, start=D1, target=TARGET) is None
    assert progress.status_word(None, None) == "no data"
    assert progress.status_word(False, 1.0) == "done"


def test_baseline_is_the_latest_point_on_or_before_the_start():
    assert progress.baseline([(D1, 0.25), (D2, 0.5)], D1) == 0.25
    assert progress.baseline([(D2, 0.5)], D1) == 0.0
    assert progress.baseline([(D1, None)], D1) == 0.0


def test_each_team_passing_or_failing_per_check_per_day(initiative, four):
    checkout, search, payments, ledger = four
    day1 = selectors.evaluate(initiative, as_of=D1)
    assert (day1.passing, day1.total, day1.share) == (1, 4, 0.25)
    by_team = {i.obj.pk: i for i in day1.items}
    assert by_team[checkout.pk].passed
    assert [o.status for o in by_team[search.pk].outcomes] == ["failed", "passed"]
    assert [o.status for o in by_team[payments.pk].outcomes] == ["passed", "failed"]
    ledger_item = by_team[ledger.pk]
    assert [o.status for o in ledger_item.outcomes] == ["failed", "failed"]
    assert ledger_item.outcomes[0].actual == "no data"
    assert by_team[search.pk].outcomes[0].actual == "0%"
    assert by_team[search.pk].outcomes[0].target == "≥ 50%"
    assert selectors.evaluate(initiative, as_of=D2).passing == 2
    assert selectors.evaluate(initiative, as_of=D3).passing == 3


def test_a_service_in_scope_is_judged_on_its_team_facts(initiative, cast):
    from apps.initiatives.models import Initiative

    services.initiative_update(actor=permissions.SYSTEM, initiative=initiative, teams=[], services=[cast.service])
    scope = selectors.evaluate(Initiative.objects.get(pk=initiative.pk), as_of=D1)
    assert [(i.kind, i.label, i.passed) for i in scope.items] == [("service", "checkout-api", True)]


def test_progress_points_are_one_per_day_and_the_burn_up_follows_them(initiative):
    for day in (D1, D2, D3):
        services.progress_record(actor=permissions.SYSTEM, initiative=initiative, day=day)
    services.progress_record(actor=permissions.SYSTEM, initiative=initiative, day=D3)  # a rerun replaces
    rows = list(InitiativeProgress.objects.filter(initiative=initiative).values_list("day", "passing", "total"))
    assert rows == [(D1, 1, 4), (D2, 2, 4), (D3, 3, 4)]

    standing = selectors.standings([initiative], today=D3)[initiative.pk]
    assert standing.base == 0.25
    assert standing.share == 0.75
    assert standing.target_today == pytest.approx(0.40)
    assert standing.behind is False
    assert selectors.standings([initiative], today=dt.date(2026, 11, 9))[initiative.pk].behind is True

    config = standing.chart()
    labels = config["data"]["labels"]
    actual, line = (ds["data"] for ds in config["data"]["datasets"])
    assert labels[0] == "2026-11-01" and labels[-1] == "2026-11-11" and len(labels) == 11
    assert actual[:4] == [25.0, 50.0, 75.0, None]
    assert line[0] == 25.0 and line[5] == 62.5 and line[-1] == 100.0


def test_no_points_is_no_chart_and_no_share(initiative):
    standing = selectors.standings([initiative], today=D3)[initiative.pk]
    assert standing.share is None and standing.behind is None and standing.status_word == "no data"
    assert standing.chart() is None
    assert charts.burnup([], start=D1, target=TARGET, base=0, today=D3) is None


def test_the_job_records_active_initiatives_only_and_is_idempotent(initiative, cast):
    draft = services.initiative_create(
        actor=permissions.SYSTEM,
        organization=cast.org,
        name="Draft",
        reason="x",
        start_date=D1,
        target_date=TARGET,
        checks=[{"metric": "score.overall", "operator": "gte", "value": 1}],
        teams=[cast.team],
    )
    from apps.initiatives.tasks import record_progress

    assert record_progress(D2.isoformat()) == 1
    assert record_progress(D2.isoformat()) == 1
    assert InitiativeProgress.objects.filter(initiative=initiative, day=D2).get().passing == 2
    assert not InitiativeProgress.objects.filter(initiative=draft).exists()


def test_a_scoring_run_records_the_day(initiative, cast, django_capture_on_commit_callbacks):
    from apps.scoring import services as scoring_services

    today = dt.date.today()
    with django_capture_on_commit_callbacks(execute=True):
        scoring_services.scoring_run(actor=permissions.SYSTEM, organization=cast.org, as_of=today)
    assert InitiativeProgress.objects.filter(initiative=initiative, day=today).exists()
