"""Proof against a real Prometheus (Debian's package, installed by scripts/install-system-deps.sh).

Known counters are loaded with `promtool tsdb create-blocks-from openmetrics`, a
Prometheus is started on a free port with its own storage, the platform syncs the
SLI from it, and the SLI and budget are compared with PromQL for the same range.
"""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime

import pytest

from apps.core import permissions
from apps.slos import maths, selectors, services
from apps.slos.models import SLI, SLISample

from .factories import live_now_ts, make_sli, make_slo

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

GOOD = 'sum(increase(demo_requests_total{code!~"5.."}[5m]))'
TOTAL = "sum(increase(demo_requests_total[5m]))"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}") else None)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/install-system-deps.sh (Debian package prometheus).")
    return path


def _write_series(path, start: int, end: int):
    """Two counters sampled every minute: 200s rising by 100-139 a minute, 500s by 0-3 (more in a burst)."""
    ok, err, lines_ok, lines_err = 0, 0, [], []
    for i, t in enumerate(range(start, end + 1, 60)):
        lines_ok.append(f'demo_requests_total{{code="200",job="checkout"}} {ok} {t}')
        lines_err.append(f'demo_requests_total{{code="500",job="checkout"}} {err} {t}')
        ok += 100 + (i * 7) % 40
        err += (i % 4) + (25 if 120 <= i < 150 else 0)  # a 30-minute burst of errors
    path.write_text("# TYPE demo_requests counter\n" + "\n".join(lines_ok + lines_err) + "\n# EOF\n")


def _instant(url: str, query: str, at: int) -> float:
    qs = urllib.parse.urlencode({"query": query, "time": at})
    with urllib.request.urlopen(f"{url}/api/v1/query?{qs}", timeout=10) as response:  # noqa: S310
        payload = json.loads(response.read())
    return float(payload["data"]["result"][0]["value"][1])


@pytest.fixture(scope="module")
def real_prometheus(tmp_path_factory):
    prometheus_bin, promtool = _binary("prometheus"), _binary("promtool")
    root = tmp_path_factory.mktemp("prometheus")
    now = live_now_ts()
    # Six hours of data ending an hour ago, on 5-minute boundaries.
    start, end = now - 7 * 3600, now - 3600
    series = root / "series.om"
    _write_series(series, start, end)
    data = root / "data"
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(series), str(data)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    config = root / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
    port = _free_port()
    log = open(root / "prometheus.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            prometheus_bin,
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=30d",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.time() > deadline:
                pytest.fail("Prometheus did not start: " + (root / "prometheus.log").read_text()[-2000:])
            time.sleep(0.3)
        yield {"url": url, "start": start, "end": end, "process": process}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_synced_sli_and_budget_match_promql(cast, real_prometheus):
    url, start, end = real_prometheus["url"], real_prometheus["start"], real_prometheus["end"]
    sli = make_sli(
        cast.service,
        name="Checkout availability",
        source="prometheus",
        prometheus_url=url,
        good_query=GOOD,
        total_query=TOTAL,
    )
    slo = make_slo(sli, target="0.99", window_days=1)
    stored = services.sli_sync(actor=permissions.SYSTEM, sli_id=sli.pk)
    sli.refresh_from_db()
    assert sli.sync_state == "ok", sli.last_error
    assert stored == (end - start) // 300  # one bucket per 5 minutes of data

    # Prometheus' own numbers for the same range: the counters' growth between its ends.
    good = _instant(url, 'sum(demo_requests_total{code!~"5.."})', end) - _instant(
        url, 'sum(demo_requests_total{code!~"5.."})', start
    )
    total = _instant(url, "sum(demo_requests_total)", end) - _instant(url, "sum(demo_requests_total)", start)
    # ... and the sum of its 5-minute increases over the range, as a subquery.
    window = f"{(end - start) // 60}m"
    sub_good = _instant(url, f"sum_over_time(({GOOD})[{window}:5m])", end)
    assert sub_good == pytest.approx(good, rel=1e-9)

    status = selectors.slo_status(slo)
    assert status.good == pytest.approx(good, rel=1e-9)
    assert status.total == pytest.approx(total, rel=1e-9)
    ratio = good / total
    assert status.sli == pytest.approx(ratio, rel=1e-12)
    assert status.consumed == pytest.approx((1 - ratio) / 0.01, rel=1e-9)
    assert status.remaining == pytest.approx(1 - (1 - ratio) / 0.01, rel=1e-9)
    # The budget spent by the burst agrees with Prometheus' counts over the burst.
    burst_start, burst_end = start + 120 * 60, start + 150 * 60
    bad_burst = _instant(url, 'sum(demo_requests_total{code="500"})', burst_end) - _instant(
        url, 'sum(demo_requests_total{code="500"})', burst_start
    )
    spent = selectors.slo_budget_spent(
        slo=slo, start=datetime.fromtimestamp(burst_start, UTC), end=datetime.fromtimestamp(burst_end, UTC)
    )
    # The budget is that of the 1-day window ending at the burst's end: the events from `start` to then.
    window_total = _instant(url, "sum(demo_requests_total)", burst_end) - _instant(
        url, "sum(demo_requests_total)", start
    )
    assert spent == pytest.approx(bad_burst / (0.01 * window_total), rel=1e-9)

    # Syncing again fetches nothing new and changes nothing.
    snapshot = sorted(SLISample.objects.filter(sli=sli).values_list("bucket", "good", "total"))
    services.sli_sync(actor=permissions.SYSTEM, sli_id=sli.pk)
    assert sorted(SLISample.objects.filter(sli=sli).values_list("bucket", "good", "total")) == snapshot


def test_backfill_after_prometheus_was_unreachable(cast, real_prometheus):
    url, start, end = real_prometheus["url"], real_prometheus["start"], real_prometheus["end"]
    sli = make_sli(
        cast.service,
        name="Backfilled",
        source="prometheus",
        prometheus_url=f"http://127.0.0.1:{_free_port()}",
        good_query=GOOD,
        total_query=TOTAL,
    )
    with pytest.raises(ConnectionError):
        services.sli_sync(actor=permissions.SYSTEM, sli_id=sli.pk)
    sli.refresh_from_db()
    assert sli.sync_state == "retrying" and SLISample.objects.filter(sli=sli).count() == 0
    services.sli_update(actor=permissions.SYSTEM, sli=sli, prometheus_url=url)
    assert services.sli_sync(actor=permissions.SYSTEM, sli_id=sli.pk) == (end - start) // 300


def test_bad_promql_is_recorded_with_prometheus_error(cast, real_prometheus, client_for):
    sli = make_sli(
        cast.service,
        name="Broken",
        source="prometheus",
        prometheus_url=real_prometheus["url"],
        good_query="sum(rate(demo_requests_total[5m]",
        total_query=TOTAL,
    )
    assert services.sli_sync(actor=permissions.SYSTEM, sli_id=sli.pk) == 0
    sli.refresh_from_db()
    assert sli.sync_state == SLI.SyncState.ERROR
    assert sli.last_error.startswith("bad_data:") and "parse error" in sli.last_error
    assert sli not in selectors.prometheus_slis_due()
    from django.urls import reverse

    body = client_for("member").get(reverse("slos:sli_detail", args=[sli.pk])).content.decode()
    assert "parse error" in body


def test_alert_factor_table_matches_the_design():
    # Sanity for the proof: the 1-day SLO above alerts with factors scaled to 24 hours.
    assert [r.factor for r in maths.alert_rules(24)] == [0.48, 0.2, 0.1, 0.033333]
