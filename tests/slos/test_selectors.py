"""Window SLIs, budgets and burn rates computed in SQL, on hand-checked numbers."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import permissions
from apps.slos import maths, selectors, services
from apps.slos.models import SLO
from tests.factories import ServiceFactory, TeamFactory

from .factories import NOW, NOW_TS, fill, make_sli, make_slo

DAY = 86400
pytestmark = pytest.mark.django_db


@pytest.fixture
def burning(cast):
    """30 days at 99% good, the last hour at 85%: a 99% SLO burning 15x over the last hour."""
    sli = make_sli(cast.service)
    fill(sli, start_ts=NOW_TS - 40 * DAY, end_ts=NOW_TS - 30 * DAY, good=0, total=1000)  # outside the window
    fill(sli, start_ts=NOW_TS - 30 * DAY, end_ts=NOW_TS - 3600, good=990, total=1000)
    fill(sli, start_ts=NOW_TS - 3600, end_ts=NOW_TS, good=850, total=1000)
    return make_slo(sli, name="Checkout availability", target="0.99", window_days=30)


def test_rolling_occurrences_window_and_burn_rates(burning):
    st = selectors.slo_status(burning, now=NOW)
    # 8,640 buckets in 30 days: 8,628 at 990/1000 and 12 at 850/1000.
    good = 8628 * 990 + 12 * 850
    assert st.total == 8640 * 1000
    assert st.good == good
    sli = good / 8_640_000
    assert st.sli == pytest.approx(sli)
    assert st.consumed == pytest.approx((1 - sli) / 0.01)
    assert st.remaining == pytest.approx(1 - (1 - sli) / 0.01)
    assert st.period_hours == 720
    # Burn rates: error ratio / 1%.
    assert st.burn_rates[300] == pytest.approx(15.0)
    assert st.burn_rates[3600] == pytest.approx(15.0)
    assert st.burn_rates[1800] == pytest.approx(15.0)
    assert st.burn_rates[6 * 3600] == pytest.approx((12 * 150 + 60 * 10) / 72_000 / 0.01)
    assert st.burn_rates[3 * DAY] == pytest.approx((12 * 150 + 852 * 10) / 864_000 / 0.01)


def test_no_data_is_no_data(cast):
    slo = make_slo(make_sli(cast.service))
    st = selectors.slo_status(slo, now=NOW)
    assert st.budget is None and st.sli is None and st.remaining is None
    assert st.state == selectors.STATUS_NO_DATA
    assert all(v is None for v in st.burn_rates.values())


def test_calendar_month_resets_at_the_boundary(cast):
    sli = make_sli(cast.service)
    fill(sli, start_ts=NOW_TS - 20 * DAY, end_ts=int(NOW.replace(day=1, hour=0).timestamp()), good=0, total=100)
    fill(sli, start_ts=int(NOW.replace(day=1, hour=0).timestamp()), end_ts=NOW_TS, good=100, total=100)
    monthly = make_slo(sli, name="Monthly", target="0.99", window_kind="calendar", calendar_unit="month")
    rolling = make_slo(sli, name="Rolling", target="0.99", window_days=30)
    statuses = selectors.slo_statuses([monthly, rolling], now=NOW)
    assert statuses[monthly.pk].sli == 1.0 and statuses[monthly.pk].remaining == 1.0
    assert statuses[monthly.pk].window_start == NOW.replace(day=1, hour=0)
    assert statuses[monthly.pk].period_hours == 30 * 24  # April
    # The rolling window still sees March's outage: 5.5 bad days (Mar 26 12:00 - Apr 1) of 20 -> 72.5%.
    assert statuses[rolling.pk].sli == pytest.approx(14.5 / 20)
    assert statuses[rolling.pk].remaining == pytest.approx(1 - 0.275 / 0.01)
    assert statuses[rolling.pk].state == selectors.STATUS_EXHAUSTED


def test_timeslices_with_boundary_and_empty_slices(cast):
    sli = make_sli(cast.service)
    slo = make_slo(
        sli,
        name="Slices",
        target="0.9",
        window_days=1,
        budgeting="timeslices",
        timeslice_seconds=900,
        timeslice_target="0.95",
    )
    start = NOW_TS - DAY  # 96 slices of 15 minutes, aligned
    rows = []
    for i in range(96):
        s0 = start + i * 900
        if i < 6:
            continue  # 6 slices without data: not counted
        good = 90 if i < 16 else 95 if i < 30 else 100  # 10 bad slices; 95/100 is exactly the slice target
        rows += [(sli.pk, s0 + k * 300, float(good), 100.0) for k in range(3)]
    services.samples_upsert(rows, actor=permissions.SYSTEM)
    st = selectors.slo_status(slo, now=NOW)
    assert (st.good, st.total) == (80, 90)
    assert st.sli == pytest.approx(80 / 90)
    assert st.consumed == pytest.approx((1 - 80 / 90) / 0.1)
    assert st.remaining < 0  # 10 bad slices of 90 exceed the 10% budget: negative, not clamped
    # The last 2 hours are 8 good slices: burn 0; the last 3 days include the 10 bad ones of 90.
    assert st.burn_rates[7200] == 0.0
    assert st.burn_rates[3 * DAY] == pytest.approx((10 / 90) / 0.1)


def test_timeslices_match_the_pure_maths(cast):
    """The SQL path and maths.timeslices_sli agree on random-ish data."""
    from apps.slos import maths

    sli = make_sli(cast.service)
    slo = make_slo(
        sli,
        name="Slices",
        target="0.95",
        window_days=2,
        budgeting="timeslices",
        timeslice_seconds=3600,
        timeslice_target="0.99",
    )
    rows, per_slice = [], {}
    for k in range(2 * 288):
        b = NOW_TS - 2 * DAY + k * 300
        good, total = float(1000 - (k * 37) % 23), 1000.0
        rows.append((sli.pk, b, good, total))
        acc = per_slice.setdefault(b - b % 3600, [0.0, 0.0])
        acc[0] += good
        acc[1] += total
    services.samples_upsert(rows, actor=permissions.SYSTEM)
    expected = maths.timeslices_sli(list(per_slice.values()), 0.99)
    assert selectors.slo_status(slo, now=NOW).sli == pytest.approx(expected)


def test_budget_spent_by_an_incident(cast):
    sli = make_sli(cast.service)
    slo = make_slo(sli, target="0.99", window_days=30)
    fill(sli, start_ts=NOW_TS - 30 * DAY, end_ts=NOW_TS, good=1000, total=1000)
    fill(sli, start_ts=NOW_TS - 7200, end_ts=NOW_TS - 3600, good=0, total=1000)  # 12 buckets all bad
    spent = selectors.slo_budget_spent(slo=slo, start=NOW - timedelta(hours=2), end=NOW - timedelta(hours=1))
    # 12,000 bad events / (1% of 8,640,000 events in the window ending at `end` minus the last hour)
    window_total = (8640 - 12) * 1000  # the window ending at NOW-1h starts 30 days before it
    assert spent == pytest.approx(12_000 / (0.01 * window_total))
    # A range without samples, or an SLO without data, is "no data".
    assert selectors.slo_budget_spent(slo=slo, start=NOW + timedelta(days=1), end=NOW + timedelta(days=2)) is None
    empty = make_slo(make_sli(cast.service, name="Latency"), target="0.99")
    assert selectors.slo_budget_spent(slo=empty, start=NOW - timedelta(hours=2), end=NOW) is None
    with pytest.raises(ValueError):
        selectors.slo_budget_spent(slo=slo, start=NOW, end=NOW)


def test_team_reliability(cast, burning):
    ServiceFactory(team=cast.team, name="cart", tier=2)
    summary = selectors.team_reliability(team_ids=[cast.team.pk, cast.other_team.pk], now=NOW)
    mine = summary[cast.team.pk]
    assert mine["services"] == 2 and mine["services_with_slo"] == 1
    assert mine["coverage_by_tier"] == {1: 1.0, 2: 0.0, 3: None}
    assert mine["slos"] == 1
    st = selectors.slo_status(burning, now=NOW)
    assert mine["slos_meeting_target"] == (1 if st.remaining >= 0 else 0)
    assert mine["attainment"] == mine["slos_meeting_target"] / 1
    assert mine["budget_remaining_avg"] == pytest.approx(st.remaining)
    other = summary[cast.other_team.pk]
    assert other["slos"] == 0 and other["attainment"] is None and other["budget_remaining_avg"] is None
    assert other["coverage_by_tier"] == {1: None, 2: 0.0, 3: None}


def test_team_reliability_query_count_does_not_grow(cast):
    def count(team_ids):
        with CaptureQueriesContext(connection) as ctx:
            selectors.team_reliability(team_ids=team_ids, now=NOW)
        return len(ctx.captured_queries)

    def teams(n):
        out = []
        for i in range(n):
            team = TeamFactory(organization=cast.org)
            service = ServiceFactory(team=team, tier=1 + i % 3)
            sli = make_sli(service, name=f"sli {team.pk}")
            sliced = i % 2 == 1
            make_slo(
                sli,
                name=f"slo {team.pk}",
                budgeting="timeslices" if sliced else "occurrences",
                timeslice_seconds=900 if sliced else None,
                timeslice_target="0.9" if sliced else None,
            )
            fill(sli, start_ts=NOW_TS - 3600, end_ts=NOW_TS, good=9, total=10)
            out.append(team.pk)
        return out

    few = teams(2)
    many = few + teams(8)
    assert count(few) == count(many)


def test_slos_for_services(cast, burning):
    other = make_slo(make_sli(cast.other_service, name="Search"), name="Search")
    assert list(selectors.slos_for_services(service_ids=[cast.service.pk])) == [burning]
    assert set(selectors.slos_for_services(service_ids=[cast.service.pk, cast.other_service.pk])) == {burning, other}


def test_status_states(cast):
    sli = make_sli(cast.service)
    fill(sli, start_ts=NOW_TS - DAY, end_ts=NOW_TS, good=999, total=1000)
    healthy = make_slo(sli, name="h", target="0.99")  # 10% consumed
    at_risk = make_slo(sli, name="r", target="0.9988")  # 1/1.2 = 83% consumed
    exhausted = make_slo(sli, name="e", target="0.9995")  # 200% consumed
    st = selectors.slo_statuses([healthy, at_risk, exhausted], now=NOW)
    assert st[healthy.pk].state == "healthy"
    assert st[at_risk.pk].state == "at_risk"
    assert st[exhausted.pk].state == "exhausted"
    assert st[exhausted.pk].remaining == pytest.approx(-1.0)
    assert SLO.objects.count() == 3


def test_rollups_follow_every_upsert(cast):
    from apps.slos.models import SLIRollup

    sli = make_sli(cast.service)
    fill(sli, start_ts=NOW_TS - 7200, end_ts=NOW_TS, good=9, total=10)
    assert sorted(SLIRollup.objects.filter(sli=sli).values_list("hour", "good", "total")) == [
        (NOW_TS - 7200, 108.0, 120.0),
        (NOW_TS - 3600, 108.0, 120.0),
    ]
    services.samples_upsert([(sli.pk, NOW_TS - 600, 0.0, 10.0)], actor=permissions.SYSTEM)  # one bucket rewritten
    assert SLIRollup.objects.get(sli=sli, hour=NOW_TS - 3600).good == 99.0
    services.samples_upsert(
        [(sli.pk, NOW_TS - 600, 0.0, 10.0)], actor=permissions.SYSTEM
    )  # the same again: nothing changes
    assert SLIRollup.objects.get(sli=sli, hour=NOW_TS - 3600).good == 99.0


def assert_rollup_path_agrees_with_the_samples(slos, now):
    """Statuses from rollups + edge samples equal those summed over every sample."""
    loaded = list(SLO.objects.filter(pk__in=[s.pk for s in slos]).select_related("sli"))
    fast = selectors.slo_statuses(loaded, now=now)
    slow = selectors.slo_statuses(loaded, now=now, raw=True)
    for slo in loaded:
        a, b = fast[slo.pk], slow[slo.pk]
        assert a.total > 0 and a.total == pytest.approx(b.total) and a.good == pytest.approx(b.good), slo.name
        assert a.burn_end == b.burn_end
        for w in a.burn_rates:
            assert a.burn_rates[w] == pytest.approx(b.burn_rates[w]), (slo.name, w)
    return loaded, fast


@pytest.mark.parametrize("offset", [0, 17 * 60 + 20, 3600 - 300, 41 * 60])
def test_rollup_path_agrees_with_the_samples(cast, offset):
    """Whole hours from the rollups plus 5-minute edges equal the sums over every sample."""
    import random
    from datetime import UTC, datetime

    rng = random.Random(offset)
    now = NOW + timedelta(seconds=offset)
    push = make_sli(cast.service, name="pushed")
    prom = make_sli(cast.service, name="prom", source="prometheus", good_query="a", total_query="b")
    rows = []
    for sli in (push, prom):
        for k in range(40 * 288):
            total = float(rng.randint(50, 150))
            rows.append((sli.pk, NOW_TS + 3600 - (k + 1) * 300, float(rng.randint(0, int(total))), total))
    services.samples_upsert(rows, actor=permissions.SYSTEM)
    # The Prometheus SLI has synced up to 25 minutes before now: its burn windows end there.
    from apps.slos.models import SLI

    SLI.objects.filter(pk=prom.pk).update(sync_cursor=datetime.fromtimestamp(NOW_TS + offset - 1500, UTC))
    slos = [
        make_slo(push, name="r30", target="0.9"),
        make_slo(push, name="r7", target="0.9", window_days=7),
        make_slo(push, name="month", target="0.9", window_kind="calendar", calendar_unit="month"),
        make_slo(prom, name="prom", target="0.9", window_days=28),
    ]
    loaded, fast = assert_rollup_path_agrees_with_the_samples(slos, now)
    by_name = {s.name: fast[s.pk] for s in loaded}
    assert by_name["prom"].burn_end == maths.floor_to(NOW_TS + offset - 1500, 300) < by_name["r30"].burn_end


@pytest.mark.parametrize("minutes_into_month", [35, 26 * 60 + 35, 3 * 24 * 60 + 10])
def test_rollup_path_agrees_when_burn_windows_reach_before_the_window(cast, minutes_into_month):
    """Early in a calendar month (and for a 1-day window) the 3-day burn window starts
    before the SLO window: the edge samples come from both index ranges without overlap."""
    import random
    from datetime import UTC, datetime

    now = datetime(2026, 5, 1, tzinfo=UTC) + timedelta(minutes=minutes_into_month)
    now_ts = int(now.timestamp())
    rng = random.Random(minutes_into_month)
    sli = make_sli(cast.service, name="early")
    rows = []
    for k in range(6 * 288):
        total = float(rng.randint(50, 150))
        rows.append((sli.pk, now_ts - now_ts % 300 - (k + 1) * 300, float(rng.randint(0, int(total))), total))
    services.samples_upsert(rows, actor=permissions.SYSTEM)
    slos = [
        make_slo(sli, name="month", target="0.9", window_kind="calendar", calendar_unit="month"),
        make_slo(sli, name="day", target="0.9", window_days=1),
    ]
    assert_rollup_path_agrees_with_the_samples(slos, now)


def test_timeslices_burn_windows_reaching_before_the_window_agree_on_both_paths(cast):
    """The per-SLO (LATERAL) grouping and the plain one agree, with bad slices only before
    the 1-day window: the window is clean, the 3-day burn window is not."""
    sli = make_sli(cast.service)
    slo = make_slo(
        sli,
        name="Slices",
        target="0.9",
        window_days=1,
        budgeting="timeslices",
        timeslice_seconds=900,
        timeslice_target="0.95",
    )
    rows = [(sli.pk, b, 50.0 if b < NOW_TS - DAY else 100.0, 100.0) for b in range(NOW_TS - 2 * DAY, NOW_TS, 300)]
    services.samples_upsert(rows, actor=permissions.SYSTEM)
    fast = selectors.slo_statuses([slo], now=NOW)[slo.pk]
    plain = selectors.slo_statuses([slo], now=NOW, raw=True)[slo.pk]
    assert (fast.good, fast.total) == (plain.good, plain.total) == (96, 96)
    assert fast.burn_rates == plain.burn_rates
    assert fast.burn_rates[DAY] == 0.0
    assert fast.burn_rates[3 * DAY] == pytest.approx((96 / 192) / 0.1)  # 96 bad slices of 192


def test_calendar_month_in_new_york_starts_at_local_midnight(cast):
    """April 2026 in New York (EDT, UTC-4) starts at 04:00 UTC on 1 April: the four bad hours
    before that are March's; a UTC calendar month counts them."""
    sli = make_sli(cast.service)
    april_utc = int(datetime(2026, 4, 1, tzinfo=UTC).timestamp())
    april_ny = april_utc + 4 * 3600
    fill(sli, start_ts=april_utc - 3600, end_ts=april_ny, good=0, total=100)
    fill(sli, start_ts=april_ny, end_ts=NOW_TS, good=100, total=100)
    ny = make_slo(
        sli,
        name="NY",
        target="0.99",
        window_kind="calendar",
        calendar_unit="month",
        calendar_timezone="America/New_York",
    )
    utc = make_slo(sli, name="UTC", target="0.99", window_kind="calendar", calendar_unit="month")
    statuses = selectors.slo_statuses([ny, utc], now=NOW)
    assert statuses[ny.pk].window_start == datetime(2026, 4, 1, 4, tzinfo=UTC)
    assert statuses[ny.pk].sli == 1.0 and statuses[ny.pk].period_hours == 720
    # UTC month: 4 h x 12 bad buckets of 14.5 days x 288 buckets.
    assert statuses[utc.pk].sli == pytest.approx(1 - 48 / (14.5 * 288))
    assert ny.window_label == "calendar month (America/New_York)"
