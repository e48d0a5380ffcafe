"""Stored SLO status (`SLOStatusRecord`): after a push, a sync, a backfill and a window move it
equals the status computed afresh at its "as of" instant, on hand-checked numbers; and the
periodic tick recomputes exactly the SLOs that are due."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from apps.core import permissions
from apps.slos import prometheus, selectors, services
from apps.slos.models import SLI, SLO, BurnRateAlert, SLOStatusRecord

from .factories import NOW, NOW_TS, fill, live_now_ts, make_sli, make_slo

pytestmark = pytest.mark.django_db
HOUR, DAY = 3600, 86400


def assert_stored_is_fresh(slo) -> SLOStatusRecord:
    """The stored figures are those `selectors.slo_statuses` computes for the record's as-of instant."""
    record = SLOStatusRecord.objects.get(slo=slo)
    fresh = selectors.slo_statuses([SLO.objects.select_related("sli").get(pk=slo.pk)], now=record.as_of)[slo.pk]
    stored = selectors.SLOStatus.from_record(record)
    assert (stored.window_start, stored.window_end) == (fresh.window_start, fresh.window_end)
    assert (stored.good, stored.total) == (fresh.good, fresh.total)
    assert (stored.sli, stored.consumed, stored.remaining) == (fresh.sli, fresh.consumed, fresh.remaining)
    assert stored.burn_rates == fresh.burn_rates
    assert (stored.period_hours, stored.burn_end) == (fresh.period_hours, fresh.burn_end)
    assert record.open_alerts == BurnRateAlert.objects.filter(slo=slo, resolved_at__isnull=True).count()
    assert record.state == selectors.status_state(fresh.remaining, record.alert_severity)
    return record


def _written_at(sli, when: datetime) -> None:
    """Date the SLI's last data change (samples_upsert stamps the real time; the tests run on NOW)."""
    SLI.objects.filter(pk=sli.pk).update(data_changed_at=when)


def test_after_a_push_through_the_api(api_for, cast, django_capture_on_commit_callbacks):
    sli = make_sli(cast.service, name="Checkout availability")
    slo = make_slo(sli, target="0.999", window_days=30)
    end = live_now_ts() - HOUR  # an hour before the real now: the window figures do not depend on the minute
    samples = [
        {"sli": sli.pk, "timestamp": b, "good": 990 if b == end - 1800 else 1000, "total": 1000}
        for b in range(end - HOUR, end, 300)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for("lead").post(reverse("api:slo-samples-list"), {"samples": samples}, format="json")
    assert response.status_code == 201, response.content
    record = assert_stored_is_fresh(slo)
    # 12 buckets: 11 x 1000/1000 and one 990/1000.
    assert (record.good, record.total) == (11_990.0, 12_000.0)
    assert record.sli == pytest.approx(11_990 / 12_000)
    assert record.consumed == pytest.approx((10 / 12_000) / 0.001)  # 0.8333
    assert record.remaining == pytest.approx(1 - 0.8333333)
    assert record.state == "at_risk" and record.alert_severity == ""


class ConstantPrometheus:
    """query_range answering 995 good of 1000 per 5 minutes; `down` after `fail_after` calls."""

    def __init__(self):
        self.calls = 0
        self.fail_after = None

    def __call__(self, url, query, *, start, end, step, timeout=30.0):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise prometheus.PrometheusUnavailable("connection refused")
        return dict.fromkeys(range(start, end + 1, step), 1000.0 if query == "total" else 995.0)


@pytest.fixture
def prom(monkeypatch, cast):
    fake = ConstantPrometheus()
    monkeypatch.setattr(prometheus, "query_range", fake)
    monkeypatch.setattr(services.sync, "SYNC_BACKFILL_DAYS", 1)
    sli = make_sli(
        cast.service, source="prometheus", good_query="good", total_query="total", prometheus_url="http://p.invalid"
    )
    return fake, sli, make_slo(sli, target="0.99", window_days=30)


def test_after_a_sync(prom):
    _, sli, slo = prom
    assert services.sli_sync(actor=permissions.SYSTEM, sli_id=sli.pk, now=NOW) == 288
    record = assert_stored_is_fresh(slo)
    assert record.as_of == NOW
    # One day: 288 x 995 of 288 x 1000; SLI 0.995, half the 1% budget spent.
    assert (record.good, record.total) == (286_560.0, 288_000.0)
    assert record.sli == pytest.approx(0.995) and record.consumed == pytest.approx(0.5)
    assert record.state == "healthy"
    # The burn windows end at the sync cursor (the last complete bucket, 60 s lag): 12:00 - 5 min.
    assert record.burn_end == NOW_TS - 300
    assert record.burn_rates[str(DAY)] == pytest.approx(0.5) and record.burn_rates[str(300)] == pytest.approx(0.5)


def test_after_a_backfill_once_prometheus_is_back(prom, monkeypatch):
    fake, sli, slo = prom
    services.sli_sync(actor=permissions.SYSTEM, sli_id=sli.pk, now=NOW)
    monkeypatch.setattr(services.sync, "SYNC_STEPS_PER_QUERY", 24)  # 2 hours per request
    fake.calls, fake.fail_after = 0, 2  # the first 2 hours arrive, then Prometheus is unreachable
    later = NOW + timedelta(hours=6)
    with pytest.raises(prometheus.PrometheusUnavailable):
        services.sli_sync(actor=permissions.SYSTEM, sli_id=sli.pk, now=later)
    # The stored status is still the one of the last complete sync, and marked stale by the new rows.
    assert SLOStatusRecord.objects.get(slo=slo).as_of == NOW
    assert slo in selectors.slo_statuses_due(now=later)
    fake.fail_after = None
    services.sli_sync(actor=permissions.SYSTEM, sli_id=sli.pk, now=later)
    record = assert_stored_is_fresh(slo)
    assert record.as_of == later
    # 1 day + 6 hours of buckets, none twice: 360 x 995 of 360 x 1000.
    assert (record.good, record.total) == (358_200.0, 360_000.0)
    assert record.burn_end == NOW_TS + 6 * HOUR - 300


def test_after_the_window_moves_the_tick_recomputes(cast):
    sli = make_sli(cast.service)
    slo = make_slo(sli, target="0.99", window_days=1)
    # A bad first hour (0 of 100 per bucket), then 23 clean hours (100 of 100).
    fill(sli, start_ts=NOW_TS - DAY, end_ts=NOW_TS - 23 * HOUR, good=0, total=100)
    fill(sli, start_ts=NOW_TS - 23 * HOUR, end_ts=NOW_TS, good=100, total=100)
    _written_at(sli, NOW - timedelta(minutes=1))
    services.slo_status_refresh(actor=permissions.SYSTEM, slo_ids=[slo.pk], now=NOW)
    record = assert_stored_is_fresh(slo)
    assert (record.good, record.total) == (27_600.0, 28_800.0)
    assert record.consumed == pytest.approx((1200 / 28_800) / 0.01)  # 4.17: overspent
    assert record.state == "exhausted"
    # An hour later, no new data: the bad hour has left the 1-day window. The tick picks the SLO up.
    later = NOW + timedelta(hours=1)
    assert list(selectors.slo_statuses_due(now=later)) == [slo]
    services.alerts_evaluate_all(actor=permissions.SYSTEM, now=later)
    record = assert_stored_is_fresh(slo)
    assert record.as_of == later
    assert (record.good, record.total) == (27_600.0, 27_600.0)
    assert (record.sli, record.consumed, record.remaining) == (1.0, 0.0, 1.0)
    assert record.state == "healthy"
    # Nothing in the last hour: the short burn windows have no data (null, not 0).
    assert record.burn_rates[str(300)] is None and record.burn_rates[str(HOUR)] is None


def test_the_tick_recomputes_only_the_due_slos(cast):
    measured, idle, fresh_data = (make_sli(cast.service, name=n) for n in ("measured", "idle", "new data"))
    a = make_slo(measured, name="a")
    b = make_slo(idle, name="b")  # its SLI has no data
    c = make_slo(fresh_data, name="c")
    fill(measured, start_ts=NOW_TS - DAY, end_ts=NOW_TS, good=999, total=1000)
    fill(fresh_data, start_ts=NOW_TS - DAY, end_ts=NOW_TS, good=999, total=1000)
    for sli in (measured, idle, fresh_data):
        _written_at(sli, NOW - timedelta(minutes=1))
    services.slo_status_refresh(actor=permissions.SYSTEM, now=NOW)
    due = lambda at: set(selectors.slo_statuses_due(now=at))  # noqa: E731

    # Fed by pushes and syncs (which refresh their SLOs themselves), idle within the hour: nothing is due.
    assert due(NOW + timedelta(minutes=5)) == set()
    assert due(NOW + timedelta(minutes=59)) == set()
    # An hour on, the windows with data have moved; the one without data has not.
    assert due(NOW + timedelta(hours=1)) == {a, c}
    # New data is due at once, whenever the status was computed.
    fill(fresh_data, start_ts=NOW_TS, end_ts=NOW_TS + 300, good=1000, total=1000)
    _written_at(fresh_data, NOW + timedelta(minutes=1))
    assert due(NOW + timedelta(minutes=2)) == {c}
    # So is data written in the same instant the status was computed for (not provably included).
    _written_at(idle, NOW)
    assert due(NOW + timedelta(minutes=2)) == {b, c}
    _written_at(idle, NOW - timedelta(minutes=1))
    # An open alert is due every tick (it must resolve when the data stops), even without data.
    SLOStatusRecord.objects.filter(slo=b).update(open_alerts=1)
    assert due(NOW + timedelta(minutes=4)) == {c}
    assert due(NOW + timedelta(minutes=5)) == {b, c}
    SLOStatusRecord.objects.filter(slo=b).update(open_alerts=0)
    # A status computed for a later instant than the tick's (a clock step back) is recomputed.
    assert due(NOW - timedelta(minutes=10)) == {a, b, c}
    # No stored status at all.
    SLOStatusRecord.objects.filter(slo=a).delete()
    assert due(NOW + timedelta(minutes=2)) == {a, c}

    # The tick writes exactly the due ones.
    tick = NOW + timedelta(minutes=5)
    services.alerts_evaluate_all(actor=permissions.SYSTEM, now=tick)
    as_of = dict(SLOStatusRecord.objects.values_list("slo_id", "as_of"))
    assert as_of == {a.pk: tick, b.pk: NOW, c.pk: tick}
    assert due(tick) == set()
    for slo in (a, b, c):
        assert_stored_is_fresh(slo)


def test_the_tick_follows_a_prometheus_sli_whose_cursor_stands_still(prom):
    """Synced at NOW, then Prometheus answers nothing new: the burn windows stay at the cursor,
    the 30-day window still moves, so the tick recomputes and matches a fresh computation."""
    _, sli, slo = prom
    services.sli_sync(actor=permissions.SYSTEM, sli_id=sli.pk, now=NOW)
    _written_at(sli, NOW - timedelta(minutes=1))
    later = NOW + timedelta(hours=2)
    assert list(selectors.slo_statuses_due(now=later)) == [slo]
    services.alerts_evaluate_all(actor=permissions.SYSTEM, now=later)
    record = assert_stored_is_fresh(slo)
    assert record.as_of == later and record.burn_end == NOW_TS - 300
    assert record.total == 288_000.0


def test_a_full_recompute_stores_every_slo(cast):
    slis = [make_sli(cast.service, name=f"sli {i}") for i in range(3)]
    slos = [make_slo(sli, name=f"slo {i}") for i, sli in enumerate(slis)]
    for sli in slis[:2]:
        fill(sli, start_ts=NOW_TS - HOUR, end_ts=NOW_TS, good=1000, total=1000)
    assert services.slo_status_refresh_all(actor=permissions.SYSTEM, now=NOW, chunk=2) == 3
    for slo in slos:
        assert assert_stored_is_fresh(slo).as_of == NOW
    assert SLOStatusRecord.objects.get(slo=slos[2]).state == "no_data"


def test_as_of_is_the_instant_the_figures_were_computed_for(cast):
    sli = make_sli(cast.service)
    slo = make_slo(sli)
    at = datetime(2026, 4, 1, 8, 30, tzinfo=UTC)
    services.slo_status_refresh(actor=permissions.SYSTEM, slo_ids=[slo.pk], now=at)
    assert SLOStatusRecord.objects.get(slo=slo).as_of == at


def test_the_command_recomputes_all_or_the_due(cast):
    from io import StringIO

    from django.core.management import CommandError, call_command

    sli = make_sli(cast.service)
    slo = make_slo(sli)
    SLOStatusRecord.objects.filter(slo=slo).delete()
    out = StringIO()
    call_command("slo_status", "--due", stdout=out)
    assert out.getvalue().startswith("1 due SLO status(es) recomputed, 0 alert event(s)")
    assert SLOStatusRecord.objects.get(slo=slo).state == "no_data"
    call_command("slo_status", "--all", stdout=out)
    assert "1 SLO status(es) recomputed" in out.getvalue()
    with pytest.raises(CommandError, match="--all"):
        call_command("slo_status")


def test_a_changed_target_or_window_is_stored_at_once(cast):
    """Editing an SLO refreshes its stored status in the same call (no wait for the tick)."""
    now_ts = live_now_ts()
    sli = make_sli(cast.service)
    slo = make_slo(sli, target="0.99", window_days=1)
    fill(sli, start_ts=now_ts - HOUR, end_ts=now_ts, good=990, total=1000)  # 12 buckets: 11,880 of 12,000
    services.slo_update(actor=permissions.SYSTEM, slo=slo, target="0.99")
    record = assert_stored_is_fresh(slo)
    assert (record.good, record.total) == (11_880.0, 12_000.0)
    assert record.consumed == pytest.approx(1.0)  # 1% bad of a 1% budget
    assert record.state == "exhausted"
    services.slo_update(actor=cast.lead, slo=SLO.objects.get(pk=slo.pk), target="0.98")
    record = assert_stored_is_fresh(slo)
    assert (record.consumed, record.remaining) == (pytest.approx(0.5), pytest.approx(0.5))
    # A 7-day window over the same hour: the same counts, the same half of the budget.
    services.slo_update(actor=cast.lead, slo=SLO.objects.get(pk=slo.pk), window_days=7)
    record = assert_stored_is_fresh(slo)
    assert (record.good, record.total, record.remaining) == (11_880.0, 12_000.0, pytest.approx(0.5))


def test_a_timeslice_slo_is_stored_as_computed(cast):
    sli = make_sli(cast.service)
    slo = make_slo(
        sli, target="0.9", window_days=1, budgeting="timeslices", timeslice_seconds=300, timeslice_target="0.99"
    )
    # 24 hours of buckets: 2 of every 12 below the slice target (980/1000), the rest clean.
    for hour in range(24):
        start = NOW_TS - DAY + hour * HOUR
        fill(sli, start_ts=start, end_ts=start + 2 * 300, good=980, total=1000)
        fill(sli, start_ts=start + 2 * 300, end_ts=start + HOUR, good=1000, total=1000)
    services.slo_status_refresh(actor=permissions.SYSTEM, slo_ids=[slo.pk], now=NOW)
    record = assert_stored_is_fresh(slo)
    assert (record.good, record.total) == (240.0, 288.0)  # good slices of all slices
    assert record.consumed == pytest.approx((48 / 288) / 0.1)
