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


# Hand-checked: in 2026 New York goes EST (UTC-5) -> EDT (UTC-4) on Sun 8 March at 02:00 and
# back on Sun 1 November at 02:00; Paris CET (UTC+1) -> CEST (UTC+2) on 29 March, back 25 October.
NY = "America/New_York"


def test_calendar_month_in_a_time_zone_across_dst():
    mid_march = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    start, end = maths.calendar_period(mid_march, "month", NY)
    assert start == datetime(2026, 3, 1, 5, 0, tzinfo=UTC)  # 1 March 00:00 EST
    assert end == datetime(2026, 4, 1, 4, 0, tzinfo=UTC)  # 1 April 00:00 EDT
    assert maths.period_hours(kind="calendar", unit="month", tz=NY, now=mid_march) == 31 * 24 - 1
    november = datetime(2026, 11, 10, tzinfo=UTC)
    assert maths.calendar_period(november, "month", NY) == (
        datetime(2026, 11, 1, 4, 0, tzinfo=UTC),
        datetime(2026, 12, 1, 5, 0, tzinfo=UTC),
    )
    assert maths.period_hours(kind="calendar", unit="month", tz=NY, now=november) == 30 * 24 + 1
    # 03:59 UTC on 1 April is still 31 March 23:59 in New York: March's window; 04:00 is April's.
    late = datetime(2026, 4, 1, 3, 59, tzinfo=UTC)
    assert maths.window_bounds(kind="calendar", unit="month", tz=NY, now=late) == (start, late)
    assert maths.calendar_period_start(datetime(2026, 4, 1, 4, 0, tzinfo=UTC), "month", NY) == end


def test_calendar_week_from_a_start_time_across_dst():
    # Periods from Sat 2022-01-01 12:00 New York: Saturdays at noon, local time.
    anchor = datetime(2022, 1, 1, 12, 0)
    tuesday = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    start, end = maths.calendar_period(tuesday, "week", NY, anchor)
    assert start == datetime(2026, 3, 7, 17, 0, tzinfo=UTC)  # Sat 7 March 12:00 EST
    assert end == datetime(2026, 3, 14, 16, 0, tzinfo=UTC)  # Sat 14 March 12:00 EDT
    assert maths.period_hours(kind="calendar", unit="week", tz=NY, anchor=anchor, now=tuesday) == 167
    # Without a start, weeks are Monday 00:00 (here UTC): Wed 11 March -> Mon 9 March.
    assert maths.calendar_period(datetime(2026, 3, 11, 8, tzinfo=UTC), "week") == (
        datetime(2026, 3, 9, tzinfo=UTC),
        datetime(2026, 3, 16, tzinfo=UTC),
    )
    # A start inside the spring gap (02:30 on 8 March does not exist) begins when the gap ends.
    gap = datetime(2026, 3, 1, 2, 30)
    assert maths.calendar_period_start(datetime(2026, 3, 8, 8, tzinfo=UTC), "week", NY, gap) == datetime(
        2026, 3, 8, 7, 30, tzinfo=UTC
    )
    # An ambiguous start (01:30 on 1 November happens twice) is its first occurrence, in EDT.
    twice = datetime(2026, 10, 25, 1, 30)
    assert maths.calendar_period_start(datetime(2026, 11, 1, 7, tzinfo=UTC), "week", NY, twice) == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )


def test_calendar_quarter_and_year_in_a_time_zone():
    q1 = maths.calendar_period(datetime(2026, 2, 1, tzinfo=UTC), "quarter", NY)
    assert q1 == (datetime(2026, 1, 1, 5, tzinfo=UTC), datetime(2026, 4, 1, 4, tzinfo=UTC))
    assert (q1[1] - q1[0]).total_seconds() / 3600 == 90 * 24 - 1
    year = maths.calendar_period(datetime(2026, 6, 15, tzinfo=UTC), "year", "Europe/Paris")
    assert year == (datetime(2025, 12, 31, 23, tzinfo=UTC), datetime(2026, 12, 31, 23, tzinfo=UTC))
    assert maths.period_hours(kind="calendar", unit="year", tz="Europe/Paris", now=year[0]) == 365 * 24
    # The first hour of 2026 in Paris (before midnight UTC) is already 2026's period.
    assert maths.calendar_period_start(datetime(2025, 12, 31, 23, 30, tzinfo=UTC), "year", "Europe/Paris") == year[0]
    # A month anchored on the 15th at 06:00 Paris: 15 March 06:00 CET -> 15 April 06:00 CEST.
    mid = maths.calendar_period(datetime(2026, 4, 1, tzinfo=UTC), "month", "Europe/Paris", datetime(2020, 1, 15, 6))
    assert mid == (datetime(2026, 3, 15, 5, tzinfo=UTC), datetime(2026, 4, 15, 4, tzinfo=UTC))
    with pytest.raises(ValueError, match="time zone"):
        maths.calendar_period(datetime(2026, 1, 1, tzinfo=UTC), "month", "Mars/Olympus")


def test_default_anchor_recognised():
    assert maths.is_default_anchor(datetime(2022, 4, 1), "quarter")
    assert not maths.is_default_anchor(datetime(2022, 5, 1), "quarter")
    assert not maths.is_default_anchor(datetime(2022, 1, 1, 12), "month")
    assert maths.is_default_anchor(datetime(2026, 3, 9), "week")  # a Monday
    assert not maths.is_default_anchor(datetime(2022, 1, 1), "week")  # a Saturday
    assert maths.is_default_anchor(datetime(2024, 1, 1), "year") and not maths.is_default_anchor(
        datetime(2024, 2, 1), "year"
    )


@pytest.mark.parametrize(
    ("asked", "evaluated"),
    [(30, 300), (60, 300), (300, 300), (420, 300), (449, 300), (450, 600), (480, 600), (3600, 3600), (86400, 86400)],
)
def test_supported_slice_is_the_nearest_multiple_of_five_minutes(asked, evaluated):
    assert maths.supported_slice(asked) == evaluated
