"""Prometheus sync: cursor, backfill after an outage, idempotency, bad queries, retries."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from apps.core import permissions
from apps.slos import prometheus, selectors, services, tasks
from apps.slos.models import SLI, SLISample

from .factories import NOW, NOW_TS, make_sli, make_slo

pytestmark = pytest.mark.django_db


class FakePrometheus:
    """Answers query_range like Prometheus: value at t counts the events of (t - 5m, t]."""

    def __init__(self):
        self.calls = []
        self.down = False
        self.fail_after = None
        self.bad = None

    def good(self, t):
        return 990.0 + (t // 300) % 7

    def __call__(self, url, query, *, start, end, step, timeout=30.0):
        self.calls.append((query, start, end))
        if self.fail_after is not None and len(self.calls) > self.fail_after:
            raise prometheus.PrometheusUnavailable("connection refused")
        if self.down:
            raise prometheus.PrometheusUnavailable("connection refused")
        if self.bad and self.bad in query:
            raise prometheus.PromQLError('bad_data: 1:14: parse error: unexpected "}" in label matching')
        out = {}
        for t in range(start, end + 1, step):
            out[t] = 1000.0 if query == "total" else self.good(t)
        return out


@pytest.fixture
def fake(monkeypatch):
    fp = FakePrometheus()
    monkeypatch.setattr(prometheus, "query_range", fp)
    monkeypatch.setattr(services.sync, "SYNC_BACKFILL_DAYS", 1)
    return fp


@pytest.fixture
def prom_sli(cast):
    sli = make_sli(
        cast.service,
        source="prometheus",
        good_query="good",
        total_query="total",
        prometheus_url="http://prometheus.invalid:9090",
    )
    make_slo(sli, target="0.99")
    return sli


def _expected_end(now):
    ts = int(now.timestamp()) - services.SYNC_LAG_SECONDS
    return ts - ts % 300


def test_first_sync_backfills_and_second_is_a_no_op(fake, prom_sli):
    stored = services.sli_sync(actor=permissions.SYSTEM, sli_id=prom_sli.pk, now=NOW)
    end = _expected_end(NOW)
    assert stored == 288  # one day of 5-minute buckets
    prom_sli.refresh_from_db()
    assert int(prom_sli.sync_cursor.timestamp()) == end and prom_sli.sync_state == "ok"
    # The value at t is the bucket starting at t - 5m: buckets [end - 1 day, end).
    buckets = sorted(SLISample.objects.filter(sli=prom_sli).values_list("bucket", flat=True))
    assert buckets[0] == end - 86400 and buckets[-1] == end - 300
    sample = SLISample.objects.get(sli=prom_sli, bucket=end - 300)
    assert (sample.good, sample.total) == (fake.good(end), 1000.0)
    calls = len(fake.calls)
    assert services.sli_sync(actor=permissions.SYSTEM, sli_id=prom_sli.pk, now=NOW) == 0
    assert len(fake.calls) == calls  # nothing to ask: the cursor is at the last complete bucket


def test_gap_after_an_outage_is_filled_once(fake, prom_sli, monkeypatch):
    services.sli_sync(actor=permissions.SYSTEM, sli_id=prom_sli.pk, now=NOW)
    monkeypatch.setattr(services.sync, "SYNC_STEPS_PER_QUERY", 24)  # 2 hours per request
    fake.calls.clear()
    fake.fail_after = 2  # the first chunk (good + total) succeeds, then Prometheus goes away
    later = NOW + timedelta(hours=6)
    with pytest.raises(prometheus.PrometheusUnavailable):
        services.sli_sync(actor=permissions.SYSTEM, sli_id=prom_sli.pk, now=later)
    prom_sli.refresh_from_db()
    assert prom_sli.sync_state == "retrying" and "connection refused" in prom_sli.last_error
    assert int(prom_sli.sync_cursor.timestamp()) == _expected_end(NOW) + 24 * 300  # progress kept
    fake.fail_after = None
    services.sli_sync(actor=permissions.SYSTEM, sli_id=prom_sli.pk, now=later)
    prom_sli.refresh_from_db()
    assert prom_sli.sync_state == "ok" and prom_sli.last_error == ""
    end = _expected_end(later)
    buckets = list(SLISample.objects.filter(sli=prom_sli).values_list("bucket", flat=True))
    assert len(buckets) == len(set(buckets)) == (end - (_expected_end(NOW) - 86400)) // 300  # no gap, no double


def test_resync_from_an_old_cursor_counts_nothing_twice(fake, prom_sli):
    services.sli_sync(actor=permissions.SYSTEM, sli_id=prom_sli.pk, now=NOW)
    before = sorted(SLISample.objects.filter(sli=prom_sli).values_list("bucket", "good", "total"))
    SLI.objects.filter(pk=prom_sli.pk).update(sync_cursor=prom_sli.sync_cursor or NOW - timedelta(hours=12))
    SLI.objects.filter(pk=prom_sli.pk).update(sync_cursor=NOW - timedelta(hours=12))
    services.sli_sync(actor=permissions.SYSTEM, sli_id=prom_sli.pk, now=NOW)
    assert sorted(SLISample.objects.filter(sli=prom_sli).values_list("bucket", "good", "total")) == before


def test_bad_query_is_recorded_and_not_retried_forever(fake, prom_sli):
    fake.bad = "good"
    assert services.sli_sync(actor=permissions.SYSTEM, sli_id=prom_sli.pk, now=NOW) == 0
    prom_sli.refresh_from_db()
    assert prom_sli.sync_state == "error" and "parse error" in prom_sli.last_error
    assert prom_sli not in selectors.prometheus_slis_due()
    calls = len(fake.calls)
    tasks.sync_all_prometheus.delay()  # the periodic job skips it
    assert services.sli_sync(actor=permissions.SYSTEM, sli_id=prom_sli.pk, now=NOW) == 0
    assert len(fake.calls) == calls
    # Fixing the query clears the error; the next run syncs.
    services.sli_update(actor=permissions.SYSTEM, sli=prom_sli, good_query="good2")
    fake.bad = None
    assert services.sli_sync(actor=permissions.SYSTEM, sli_id=prom_sli.pk, now=NOW) == 288


def test_forced_sync_retries_after_an_error(fake, prom_sli):
    fake.bad = "good"
    services.sli_sync(actor=permissions.SYSTEM, sli_id=prom_sli.pk, now=NOW)
    fake.bad = None
    assert services.sli_sync(actor=permissions.SYSTEM, sli_id=prom_sli.pk, now=NOW, force=True) == 288


def test_good_above_total_is_clamped(fake, prom_sli, monkeypatch):
    monkeypatch.setattr(fake, "good", lambda t: 1000.0001)  # counter extrapolation noise
    services.sli_sync(actor=permissions.SYSTEM, sli_id=prom_sli.pk, now=NOW)
    assert not SLISample.objects.filter(sli=prom_sli, good__gt=1000.0).exists()


def test_sync_evaluates_alerts(fake, prom_sli, monkeypatch):
    from apps.slos.models import BurnRateAlert

    monkeypatch.setattr(fake, "good", lambda t: 100.0)  # 90% errors: every window burns
    services.sli_sync(actor=permissions.SYSTEM, sli_id=prom_sli.pk, now=NOW)
    assert BurnRateAlert.objects.filter(slo__sli=prom_sli, resolved_at__isnull=True).count() == 4


def test_prometheus_outage_is_one_warning_line_and_retrying(cast, caplog):
    """The demo's Prometheus is not running: the worker logs one warning per attempt (no
    traceback, nothing at ERROR), the SLI says "retrying", the periodic job asks again."""
    import logging
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sli = make_sli(
        cast.service, source="prometheus", good_query="a", total_query="b", prometheus_url=f"http://127.0.0.1:{port}"
    )
    with caplog.at_level(logging.INFO):
        assert tasks.sync_sli.delay(sli.pk).get() == 0
    sli.refresh_from_db()
    assert sli.sync_state == "retrying" and "unreachable" in sli.last_error
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert warnings[0].exc_info is None and "\n" not in warnings[0].getMessage()
    assert f"SLI {sli.pk} not synced: Prometheus at http://127.0.0.1:{port} is unreachable" in warnings[0].getMessage()
    assert sli in selectors.prometheus_slis_due()  # the next periodic run tries again
    # Database hiccups are still retried with backoff; a bad query is not retried at all.
    assert tasks.sync_sli.retry_backoff and tasks.sync_sli.max_retries >= 5
    assert not issubclass(prometheus.PromQLError, tasks.sync_sli.autoretry_for)


def test_periodic_job_is_declared():
    from apps.core import schedules

    spec = schedules.declared()["slos: sync Prometheus SLIs"]
    assert spec["task"] == "apps.slos.tasks.sync_all_prometheus" and spec["every"] == 300


def test_no_url_is_an_error(cast, settings, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    settings.PROMETHEUS_URL = ""
    sli = make_sli(cast.service, source="prometheus", good_query="a", total_query="b")
    services.sli_sync(actor=permissions.SYSTEM, sli_id=sli.pk, now=NOW)
    sli.refresh_from_db()
    assert sli.sync_state == "error" and "PROMETHEUS_URL" in sli.last_error


# --- the HTTP client against a stand-in server ----------------------------------------


@pytest.fixture
def http_server():
    state = {"status": 200, "body": {}}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            state["path"] = self.path
            body = json.dumps(state["body"]).encode()
            self.send_response(state["status"])
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_port}"
    yield state
    server.shutdown()


def test_client_parses_a_matrix(http_server):
    http_server["body"] = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [{"metric": {}, "values": [[NOW_TS, "12.5"], [NOW_TS + 300, "NaN"], [NOW_TS + 600, "3"]]}],
        },
    }
    points = prometheus.query_range(http_server["url"], "sum(x)", start=NOW_TS, end=NOW_TS + 600, step=300)
    assert points == {NOW_TS: 12.5, NOW_TS + 600: 3.0}
    assert "query=sum%28x%29" in http_server["path"] and f"start={NOW_TS}" in http_server["path"]


def test_client_errors(http_server):
    http_server.update(status=400, body={"status": "error", "errorType": "bad_data", "error": "parse error: x"})
    with pytest.raises(prometheus.PromQLError, match="bad_data: parse error: x"):
        prometheus.query_range(http_server["url"], "x", start=0, end=300, step=300)
    http_server.update(status=503, body={})
    with pytest.raises(prometheus.PrometheusUnavailable):
        prometheus.query_range(http_server["url"], "x", start=0, end=300, step=300)
    http_server.update(
        status=200,
        body={
            "status": "success",
            "data": {
                "resultType": "matrix",
                "result": [{"metric": {"a": "1"}, "values": []}, {"metric": {"a": "2"}, "values": []}],
            },
        },
    )
    with pytest.raises(prometheus.PromQLError, match="2 series"):
        prometheus.query_range(http_server["url"], "x", start=0, end=300, step=300)
    with pytest.raises(prometheus.PrometheusUnavailable):
        prometheus.query_range("http://127.0.0.1:1", "x", start=0, end=300, step=300, timeout=2)
