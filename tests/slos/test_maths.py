"""The numbers of DESIGN.md on hand-checked values."""

from datetime import UTC, datetime

import pytest

from apps.slos import maths


def test_occurrences_budget_hand_checked():
    # 999,000 good of 1,000,000 at a 99.9% target: the budget is exactly spent.
    b = maths.occurrences_budget(999_000, 1_000_000, 0.999)
    assert b.sli == pytest.approx(0.999)
    assert b.consumed == pytest.approx(1.0)
    assert b.remaining == pytest.approx(0.0, abs=1e-9)
    # 9,995 of 10,000 at 99.9%: error ratio 0.0005 = half the 0.001 budget.
    b = maths.occurrences_budget(9_995, 10_000, 0.999)
    assert b.consumed == pytest.approx(0.5)
    assert b.remaining == pytest.approx(0.5)


def test_remaining_budget_goes_negative():
    # 990 of 1,000 at 99.5%: error 1% = twice the 0.5% budget -> remaining -100%.
    b = maths.occurrences_budget(990, 1_000, 0.995)
    assert b.consumed == pytest.approx(2.0)
    assert b.remaining == pytest.approx(-1.0)


def test_no_data_is_none_never_100_percent():
    assert maths.ratio(0, 0) is None
    assert maths.occurrences_budget(0, 0, 0.99) is None
    assert maths.burn_rate_from_counts(0, 0, 0.99) is None
    assert maths.timeslices_sli([], 0.9) is None
    assert maths.timeslices_sli([(0, 0), (0, 0)], 0.9) is None


def test_perfect_data_is_100_percent():
    b = maths.occurrences_budget(500, 500, 0.99)
    assert b.sli == 1.0 and b.consumed == 0.0 and b.remaining == 1.0


def test_timeslices_slice_target_boundary_and_no_data_slices():
    # Slice target 95%: 95/100 is good (boundary counts), 94/100 bad, empty slices are ignored.
    slices = [(95, 100), (94, 100), (100, 100), (0, 0), (19, 20)]
    assert maths.slice_is_good(95, 100, 0.95) is True
    assert maths.slice_is_good(94, 100, 0.95) is False
    assert maths.slice_is_good(0, 0, 0.95) is None
    # good slices: 95/100, 100/100, 19/20 -> 3 of 4 slices with data
    assert maths.timeslices_sli(slices, 0.95) == pytest.approx(0.75)
    b = maths.budget(0.75, 0.9)
    assert b.consumed == pytest.approx(2.5)
    assert b.remaining == pytest.approx(-1.5)


def test_burn_rate():
    # error ratio 1.44% with a 99.9% target burns 14.4x
    assert maths.burn_rate_from_counts(9_856, 10_000, 0.999) == pytest.approx(14.4)
    assert maths.burn_rate(0.0, 0.999) == 0.0


def test_alert_table_for_30_days_is_the_workbooks():
    rules = maths.alert_rules(30 * 24)
    assert [(r.severity, r.long_window, r.short_window, r.factor) for r in rules] == [
        ("page", 3600, 300, 14.4),
        ("page", 21600, 1800, 6.0),
        ("ticket", 86400, 7200, 3.0),
        ("ticket", 259200, 21600, 1.0),
    ]


def test_alert_table_scales_to_the_period():
    # 28 days: 2% x 672h / 100 / 1h = 13.44 ; 5% x 672 / 100 / 6 = 5.6 ; 10% x 672/100/24 = 2.8 ; /72 = 0.9333
    assert [r.factor for r in maths.alert_rules(28 * 24)] == [13.44, 5.6, 2.8, 0.933333]
    # A calendar quarter of 91 days (Q2): 2% x 2184 / 100 = 43.68
    assert maths.alert_rules(91 * 24)[0].factor == pytest.approx(43.68)
    with pytest.raises(ValueError):
        maths.alert_rules(0)


def test_alert_fires_only_strictly_above_factor_in_both_windows():
    rule = maths.alert_rules(720)[0]  # 14.4
    assert maths.alert_fires(rule, 14.4, 20) is False  # exactly at the threshold: not faster than
    assert maths.alert_fires(rule, 14.400001, 14.400001) is True
    assert maths.alert_fires(rule, 20, 14.4) is False
    assert maths.alert_fires(rule, 20, None) is False
    assert maths.alert_fires(rule, None, 20) is False


def test_rolling_window_bounds():
    now = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
    start, end = maths.window_bounds(kind="rolling", days=28, now=now)
    assert start == datetime(2026, 3, 18, 12, 0, tzinfo=UTC) and end == now
    assert maths.period_hours(kind="rolling", days=28, now=now) == 672


def test_calendar_windows_reset_at_the_boundary():
    now = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
    assert maths.window_bounds(kind="calendar", unit="month", now=now)[0] == datetime(2026, 4, 1, tzinfo=UTC)
    assert maths.window_bounds(kind="calendar", unit="quarter", now=now)[0] == datetime(2026, 4, 1, tzinfo=UTC)
    # One second before the new month the window is the whole of March.
    eve = datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)
    assert maths.window_bounds(kind="calendar", unit="month", now=eve)[0] == datetime(2026, 3, 1, tzinfo=UTC)
    assert maths.window_bounds(kind="calendar", unit="quarter", now=eve)[0] == datetime(2026, 1, 1, tzinfo=UTC)
    assert maths.period_hours(kind="calendar", unit="month", now=eve) == 31 * 24
    assert maths.period_hours(kind="calendar", unit="month", now=datetime(2026, 2, 10, tzinfo=UTC)) == 28 * 24
    assert maths.period_hours(kind="calendar", unit="quarter", now=now) == 91 * 24
    assert maths.calendar_period_end(datetime(2026, 10, 1, tzinfo=UTC), "quarter") == datetime(2027, 1, 1, tzinfo=UTC)


def test_bucket_range_counts_buckets_starting_inside_the_window():
    start = datetime.fromtimestamp(1_000_100, UTC)  # not aligned: first bucket starts at 1,000,200
    end = datetime.fromtimestamp(1_003_000, UTC)
    assert maths.bucket_range(start, end, 300) == (1_000_200, 1_003_000)


def test_durations():
    assert maths.parse_duration("5m") == 300
    assert maths.parse_duration("28d") == 28 * 86400
    for bad in ("", "5", "m", "0m", "1M", "-5m", "1.5h"):
        with pytest.raises(ValueError):
            maths.parse_duration(bad)
    assert maths.duration_label(300) == "5m"
    assert maths.duration_label(3 * 86400) == "3d"
    assert maths.duration_label(21600) == "6h"


def test_policy_steps():
    steps = maths.validate_policy_steps(
        [{"consumed_percent": 50, "action": " a "}, {"consumed_percent": 100, "action": "b"}]
    )
    assert steps[0]["action"] == "a"
    assert maths.policy_steps_reached(steps, 0.5) == [steps[0]]  # 50% reached exactly
    assert maths.policy_steps_reached(steps, 0.4999) == []
    assert maths.policy_steps_reached(steps, None) == []
    for bad in (
        [],
        [{"consumed_percent": 0, "action": "x"}],
        [{"consumed_percent": 50}],
        [{"consumed_percent": 50, "action": "x"}, {"consumed_percent": 50, "action": "y"}],
    ):
        with pytest.raises(ValueError):
            maths.validate_policy_steps(bad)


def test_ratio_timeslices_is_the_mean_of_the_slice_ratios():
    # Slices 90/100, 1/1, no data, 3/4: (0.9 + 1 + 0.75) / 3 = 0.883333...; occurrences would give 94/105.
    slices = [(90, 100), (1, 1), (0, 0), (3, 4)]
    assert maths.ratio_timeslices_sli(slices) == pytest.approx(2.65 / 3)
    assert maths.ratio_timeslices_sli([(0, 0)]) is None
    assert maths.slice_value(3, 4, None) == 0.75
    assert maths.slice_value(3, 4, 0.75) == 1.0 and maths.slice_value(3, 4, 0.8) == 0.0
    assert maths.slice_value(0, 0, None) is None
