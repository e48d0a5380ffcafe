"""Faults, each against real processes: a Celery worker, Redis, PostgreSQL, Prometheus, gunicorn.

- a worker killed mid-task (SIGKILL of the pool process): the task runs again
  (acks_late + reject_on_worker_lost) and writes its rows once;
- Redis restarted with deliveries queued: the drain's messages are gone, the sweeper
  queues the pending raw events again, every one is normalized, none twice;
- Prometheus down for a while: the SLI sync records the outage, the cursor
  stays, and the next sync after Prometheus is back fills the gap;
- PostgreSQL unreachable during a webhook burst: the clients get 5xx, their
  retries succeed, and every delivery is stored and normalized exactly once.
"""

import concurrent.futures
import datetime as dt
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import psycopg
import pytest
from django.db import connection
from django.http.request import HttpHeaders
from django.utils import timezone

from apps.core import permissions
from apps.delivery import services as delivery_services
from apps.delivery.models import Deployment, RawEvent
from apps.slos import services as slo_services
from apps.slos.models import SLI, SLISample
from apps.slos.tasks import sync_sli
from tests.delivery import payloads as p
from tests.slos.factories import live_now_ts, make_sli
from tests.slos.test_prometheus_integration import GOOD, TOTAL, _binary, _write_series

from .conftest import Gunicorn, TcpProxy, database_url, free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SECRET = "faults-secret-0123456789abcdef"


def github(cast):
    integration, _ = delivery_services.integration_create(
        actor=permissions.SYSTEM, organization=cast.org, team=cast.team, name="GitHub", kind="github", secret=SECRET
    )
    return integration


def deployment_delivery(n: int) -> tuple[bytes, dict]:
    at = (dt.datetime(2026, 3, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = p.dumps(p.github_deployment_status(deployment_id=1000 + n, state="success", at=at))
    return body, p.github_headers(SECRET, body, "deployment_status", delivery=f"fault-{n}")


def receive(integration, n: int) -> RawEvent:
    body, headers = deployment_delivery(n)
    headers = {**headers, "CONTENT_TYPE": "application/json"}
    event, _ = delivery_services.raw_event_receive(
        actor=permissions.SYSTEM, token=integration.token, headers=HttpHeaders(headers), body=body
    )
    return event


def post(url: str, body: bytes, headers: dict) -> int:
    plain = {k.removeprefix("HTTP_").replace("_", "-").title(): v for k, v in headers.items()}
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **plain}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - local server
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 599  # connection reset: a client sees it as a failed request and retries


def statuses() -> list[str]:
    return sorted(RawEvent.objects.values_list("status", flat=True))


def test_worker_killed_mid_task_runs_it_again_without_duplicates(cast, broker, make_worker):
    integration = github(cast)
    worker = make_worker()
    # Hold the deployments table so the task blocks inside its transaction, after it took the event's row lock.
    locker = psycopg.connect(database_url().replace("postgres://", "postgresql://"), autocommit=False)
    try:
        locker.execute(f"LOCK TABLE {Deployment._meta.db_table} IN EXCLUSIVE MODE")  # noqa: S608
        event = receive(integration, 1)
        blocked = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        # (Activity statistics are a snapshot per transaction: clear it before each look.)
        assert wait_for(
            lambda: locker.execute("SELECT pg_stat_clear_snapshot()") and locker.execute(blocked).fetchone()[0] >= 1, 30
        ), worker.log()[-3000:]
        [child] = worker.children()
        os.kill(child, signal.SIGKILL)  # the OOM killer's way: no cleanup, no ack
        assert wait_for(lambda: "WorkerLostError" in worker.log() or "SIGKILL" in worker.log(), 20), worker.log()
    finally:
        locker.rollback()
        locker.close()

    assert wait_for(lambda: RawEvent.objects.get(pk=event.pk).status == "processed", 60), worker.log()[-4000:]
    assert Deployment.objects.filter(external_id="1001").count() == 1
    assert Deployment.objects.count() == 1
    # The killed attempt's transaction was rolled back whole: one attempt counted, by the run that finished.
    assert RawEvent.objects.get(pk=event.pk).attempts == 1


def test_redis_restart_loses_queued_deliveries_and_the_sweeper_recovers_them(cast, broker, make_worker):
    integration = github(cast)
    events = [receive(integration, n) for n in range(20)]  # stored; the drain queued, no worker running yet
    assert 1 <= broker.queued() < 20  # a drain per gate interval, not a task per delivery
    broker.restart()  # no persistence: the 20 messages are gone
    assert broker.queued() == 0

    worker = make_worker()
    time.sleep(2)
    assert statuses() == ["pending"] * 20  # nothing would ever process them without the sweeper

    # They were received more than the sweeper's two minutes ago.
    RawEvent.objects.update(received_at=timezone.now() - dt.timedelta(minutes=5))
    from apps.delivery.tasks import sweep_raw_events

    sweep_raw_events.delay()
    assert wait_for(lambda: statuses() == ["processed"] * 20, 90), (statuses(), worker.log()[-3000:])
    assert Deployment.objects.count() == 20
    assert sorted(Deployment.objects.values_list("external_id", flat=True)) == sorted(str(1000 + n) for n in range(20))
    # Sweeping again (an overlapping run) changes nothing.
    sweep_raw_events.delay()
    time.sleep(2)
    assert Deployment.objects.count() == 20 and len(events) == RawEvent.objects.count()


@pytest.fixture
def prometheus_data(tmp_path):
    """Six hours of counters ending an hour ago, written to a TSDB with promtool (no server yet)."""
    promtool = _binary("promtool")
    now = live_now_ts()
    start, end = now - 7 * 3600, now - 3600
    series = tmp_path / "series.om"
    _write_series(series, start, end)
    data = tmp_path / "data"
    subprocess.run(  # noqa: S603
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(series), str(data)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
    return {"start": start, "end": end, "data": data, "config": config, "port": free_port(), "dir": tmp_path}


def start_prometheus(d):
    log = open(d["dir"] / "prometheus.log", "a")  # noqa: SIM115
    process = subprocess.Popen(  # noqa: S603
        [
            _binary("prometheus"),
            f"--config.file={d['config']}",
            f"--storage.tsdb.path={d['data']}",
            f"--web.listen-address=127.0.0.1:{d['port']}",
            "--storage.tsdb.retention.time=30d",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def ready():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{d['port']}/-/ready", timeout=2) as r:  # noqa: S310
                return r.status == 200
        except OSError:
            return False

    assert wait_for(ready, 60), (d["dir"] / "prometheus.log").read_text()[-2000:]
    return process


def test_prometheus_down_then_the_sync_fills_the_gap(cast, broker, make_worker, prometheus_data):
    d = prometheus_data
    sli = make_sli(
        cast.service,
        name="Checkout availability",
        source=SLI.Source.PROMETHEUS,
        prometheus_url=f"http://127.0.0.1:{d['port']}",
        good_query=GOOD,
        total_query=TOTAL,
    )
    # Synced up to the first hour of data; then Prometheus goes away.
    cursor = d["start"] + 3600
    SLI.objects.filter(pk=sli.pk).update(sync_cursor=dt.datetime.fromtimestamp(cursor, dt.UTC))
    worker = make_worker()

    sync_sli.apply_async((sli.pk,), retry=False)
    assert wait_for(lambda: SLI.objects.get(pk=sli.pk).sync_state == SLI.SyncState.RETRYING, 60), worker.log()[-3000:]
    down = SLI.objects.get(pk=sli.pk)
    assert down.sync_cursor.timestamp() == cursor  # nothing skipped
    assert "127.0.0.1" in down.last_error or down.last_error
    assert not SLISample.objects.filter(sli=sli).exists()

    prometheus = start_prometheus(d)
    try:
        sync_sli.delay(sli.pk)
        assert wait_for(lambda: SLI.objects.get(pk=sli.pk).sync_state == SLI.SyncState.OK, 90), worker.log()[-3000:]
    finally:
        prometheus.terminate()
        prometheus.wait(20)
    up = SLI.objects.get(pk=sli.pk)
    assert up.last_error == ""
    # Every 5-minute bucket from the cursor to the end of the data (5 hours = 60 buckets) is there, once.
    buckets = sorted(SLISample.objects.filter(sli=sli).values_list("bucket", flat=True))
    assert buckets[0] == cursor
    assert buckets[-1] == d["end"] - 300
    assert len(buckets) == len(set(buckets)) == (d["end"] - cursor) // 300
    # A second sync counts nothing twice.
    before = SLISample.objects.filter(sli=sli).count()
    slo_services.sli_sync(actor=permissions.SYSTEM, sli_id=sli.pk)
    assert SLISample.objects.filter(sli=sli).count() == before


def test_database_unreachable_during_a_webhook_burst(cast, redis_server, tmp_path):
    integration = github(cast)
    db = connection.settings_dict
    proxy = TcpProxy(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))
    server = Gunicorn(redis_server.url, database_url(port=proxy.port), tmp_path)
    url = f"{server.url}/delivery/hooks/{integration.token}/"
    deliveries = [deployment_delivery(n) for n in range(60)]
    try:
        codes: dict[int, int] = {}

        def send(n):
            codes[n] = post(url, *deliveries[n])

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(send, range(20)))
            proxy.cut()  # PostgreSQL goes away mid-burst
            list(pool.map(send, range(20, 40)))
            proxy.restore()
            list(pool.map(send, range(40, 60)))
        failed = sorted(n for n, code in codes.items() if code >= 500)
        assert all(code in (200, 202) or code >= 500 for code in codes.values()), codes
        assert set(range(20, 40)) <= set(failed) or len(failed) >= 15, codes  # the cut was seen by the clients
        assert not [n for n in range(20) if codes[n] >= 500], codes

        # The clients retry what failed (as GitHub's redeliver does): every retry succeeds.
        for _attempt in range(3):
            for n in list(failed):
                if post(url, *deliveries[n]) in (200, 202):
                    failed.remove(n)
        assert failed == []
        server_log = server.log_path.read_text()
    finally:
        server.stop()
        proxy.close()

    # Nothing half-written: each delivery stored once and (eagerly, in test settings) normalized once.
    assert RawEvent.objects.count() == 60, server_log[-3000:]
    assert sorted(RawEvent.objects.values_list("delivery_id", flat=True)) == sorted(f"fault-{n}" for n in range(60))
    pending = RawEvent.objects.filter(status="pending").count()
    if pending:  # a request that stored its event but lost the database before queuing leaves it to the sweeper
        delivery_services.raw_events_requeue_stale(actor=permissions.SYSTEM, older_than=dt.timedelta(0))
    assert wait_for(lambda: statuses() == ["processed"] * 60, 30), statuses()
    assert Deployment.objects.count() == 60
