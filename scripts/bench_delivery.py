#!/usr/bin/env python
# ruff: noqa: S608 - table names come from the models, values are parameters
"""Delivery benchmarks (not a timed test): prints the figures docs/delivery.md keeps.

1. Verified webhook intake under gunicorn: signed GitHub push deliveries POSTed by
   concurrent clients to a gunicorn started here (production settings, PostgreSQL,
   Redis broker); throughput and latency percentiles. Every delivery must be
   answered 202 and stored once.
2. DORA for 300 teams x 90 days x 20 production deployments a day (540,000
   deployments, about 1.1 M commits, incidents and links): the rollup rebuild
   from raw rows, then `selectors.team_dora` for all 300 teams from the rollups.

Uses its own PostgreSQL database (dropped and created): DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/dm_bench_delivery; Redis: REDIS_URL, default
redis://127.0.0.1:6379/13.

    python scripts/bench_delivery.py [--deliveries 6000] [--clients 16] [--workers 4] [--teams 300]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchserver import WRK_REPORT, paced, production_env, raw_request, wait_for_port
from pgdb import recreate_migrated

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/dm_bench_delivery"
REDIS_URL = os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/13"
PORT = int(os.environ.get("BENCH_PORT", "8199"))
THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", "8"))
# Where the load generator and the server run: on this 2-CPU machine the client (wrk, one
# thread) takes CPU 1 and gunicorn is left on both (PostgreSQL and Redis are not pinned).
CLIENT_CPUS = os.environ.get("BENCH_CLIENT_CPUS", "1" if (os.cpu_count() or 1) >= 2 else "")
SERVER_CPUS = os.environ.get("BENCH_SERVER_CPUS", "")
WRK_THREADS = int(os.environ.get("BENCH_WRK_THREADS", "1"))
ENV = production_env(database_url=DB_URL, redis_url=REDIS_URL)


def setup_django():
    os.environ.update(ENV)
    import django

    django.setup()


# --- 1. intake ---------------------------------------------------------------------


def _bench_integration():
    """A GitHub integration of a bench organization (a new one each call): (integration, secret)."""
    from apps.core import permissions
    from apps.core.permissions import SYSTEM
    from apps.delivery import services
    from apps.teams import services as team_services

    org = team_services.organization_upsert(actor=SYSTEM, name="Bench", slug="bench")
    team = team_services.team_upsert(actor=SYSTEM, organization=org, name="Intake", slug="intake")
    team_services.service_upsert(actor=SYSTEM, organization=org, team=team, name="checkout-api")
    secret = "bench-secret-" + secrets.token_hex(16)
    integration, _ = services.integration_create(
        actor=permissions.SYSTEM,
        organization=org,
        team=team,
        name=f"GitHub bench {secrets.token_hex(3)}",
        kind="github",
        secret=secret,
    )
    return integration, secret


def _signed_pushes(secret: str, deliveries: int, prefix: str = "bench") -> list[tuple[bytes, dict]]:
    """`deliveries` distinct signed GitHub push deliveries: (body, headers)."""
    requests = []
    base = datetime(2026, 3, 1, tzinfo=UTC)
    for i in range(deliveries):
        # A distinct body per run too: the intake dedupes identical bodies under another id.
        sha = hashlib.sha1(f"{prefix}-{i}".encode()).hexdigest()  # noqa: S324 - a fake commit id
        body = json.dumps(
            {
                "ref": "refs/heads/main",
                "before": "0" * 40,
                "after": sha,
                "repository": {"full_name": "bench/checkout-api", "name": "checkout-api", "default_branch": "main"},
                "pusher": {"name": "octocat"},
                "commits": [
                    {
                        "id": sha,
                        "message": f"Change {i}",
                        "timestamp": (base + timedelta(seconds=i)).isoformat(),
                        "url": f"https://github.com/bench/checkout-api/commit/{sha}",
                        "author": {"name": "Octo Cat", "email": "octocat@github.com", "username": "octocat"},
                    }
                ],
            }
        ).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": f"{prefix}-{i}",
            "X-Hub-Signature-256": signature,
        }
        requests.append((body, headers))
    return requests


def cpu_per_delivery(deliveries: int = 2000, profile: int = 0) -> dict:
    """CPU time per verified delivery inside one Django process (production settings, the test
    client through the whole middleware stack and the intake short path, real PostgreSQL and
    Redis): time.process_time around each POST, the median and mean; GET /healthz the same way.
    `profile` > 0 prints that many lines of cProfile's cumulative listing of the intake POSTs."""
    import cProfile
    import pstats
    import statistics

    from django.test import Client

    integration, secret = _bench_integration()
    path = f"/delivery/hooks/{integration.token}/"
    requests = _signed_pushes(secret, deliveries + 50, prefix=f"cpu-{secrets.token_hex(3)}")
    client = Client(HTTP_HOST="127.0.0.1")

    def post(body, headers):
        meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if k != "Content-Type"}
        return client.generic("POST", path, body, content_type="application/json", **meta)

    for body, headers in requests[:50]:  # warm up: imports, connections, the source cache
        assert post(body, headers).status_code == 202
    samples, profiler = [], cProfile.Profile(time.process_time) if profile else None
    for body, headers in requests[50:]:
        started = time.process_time()
        if profiler:
            profiler.enable()
        status = post(body, headers).status_code
        if profiler:
            profiler.disable()
        samples.append(time.process_time() - started)
        assert status == 202, status
    health = []
    for _ in range(min(deliveries, 1000)):
        started = time.process_time()
        client.get("/healthz")
        health.append(time.process_time() - started)
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(profile)
    return {
        "deliveries": deliveries,
        "intake_cpu_ms_median": round(statistics.median(samples) * 1000, 3),
        "intake_cpu_ms_mean": round(statistics.fmean(samples) * 1000, 3),
        "healthz_cpu_ms_median": round(statistics.median(health) * 1000, 3),
        "conditions": "one process, django.test.Client, production settings, PostgreSQL and Redis on loopback",
    }


def bench_intake(
    deliveries: int,
    clients: int,
    workers: int,
    client: str = "wrk",
    duration: int = 20,
    runs: int = 3,
    worker_class: str = "gthread",
    threads: int = THREADS,
    rate: float = 300,
) -> dict:
    """`runs` loads on one gunicorn, each with its own distinct deliveries and, with wrk, the
    same server's GET /healthz under the same load just before it (the same-run baseline)."""
    from apps.delivery.models import RawEvent

    integration, secret = _bench_integration()
    path = f"/delivery/hooks/{integration.token}/"
    conditions = (
        f"wrk 1 thread on CPU {CLIENT_CPUS or 'any'}, {clients} keep-alive connections, each delivery sent once"
        if client == "wrk"
        else f"Python http.client, {clients} threads in {max(1, min(4, clients // 8))} processes, "
        "a new connection per delivery"
    )
    server = (
        f"{workers} x {threads} threads ({worker_class})"
        if worker_class == "gthread"
        else f"{workers} ({worker_class})"
    )
    pin = ["taskset", "-c", SERVER_CPUS] if SERVER_CPUS else []
    command = [*pin, sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{PORT}"]
    command += ["--workers", str(workers), "--worker-class", worker_class, "--log-level", "warning"]
    if worker_class == "gthread":
        command += ["--threads", str(threads)]
    gunicorn = subprocess.Popen(command, cwd=ROOT, env=ENV)  # noqa: S603
    results, all_requests = [], []
    try:
        wait_for_port(PORT)
        # Warm up every worker (imports, first connection) outside the measurement.
        for _ in range(workers * 4):
            _post(path, b"{}", {"Content-Type": "application/json"})
        for number in range(runs):
            requests = _signed_pushes(secret, deliveries, prefix=f"bench{number}")
            all_requests += requests
            results.append(_intake_run(path, requests, clients, duration, client))
            # The same senders at a steady `rate` (an open load, as webhook senders deliver: each
            # on a new connection, whatever the answers' latency): the latency at that rate.
            steady = _signed_pushes(secret, int(rate * duration * 1.2) + clients, prefix=f"steady{number}")
            all_requests += steady
            wire = [raw_request(path, port=PORT, method="POST", body=b, headers=h) for b, h in steady]
            results[-1]["paced"] = paced(wire, port=PORT, clients=clients, rate=rate, duration=duration)
        # A redelivery of 200 stored deliveries is answered 200 and not stored again (after the
        # requests still in flight when wrk stopped have been answered).
        count = -1
        while count != (count := RawEvent.objects.filter(integration=integration).count()):
            time.sleep(2)
        stored_ids = set(RawEvent.objects.filter(integration=integration).values_list("delivery_id", flat=True))
        again = [r for r in all_requests if r[1]["X-GitHub-Delivery"] in stored_ids][:200]
        before = len(stored_ids)
        redelivered = {_post(path, *r) for r in again}
        assert RawEvent.objects.filter(integration=integration).count() == before, "a redelivery was stored again"
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)
    stored = RawEvent.objects.filter(integration=integration).count()
    sent = sum(r["deliveries"] for r in results)
    statuses: dict[int, int] = {}
    for r in results:
        for code, n in r["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    rates = [r["per_second"] for r in results]
    p99s = [r["p99_ms"] for r in results]
    best = sorted(results, key=lambda r: r["per_second"])[len(results) // 2]  # the median run
    return {
        "client": client,
        "client_conditions": conditions,
        "deliveries": sent,
        "clients": clients,
        "gunicorn_workers": server,
        "server_cpus": SERVER_CPUS or "any",
        "runs": results,
        "per_second": best["per_second"],
        "p50_ms": best["p50_ms"],
        "p95_ms": best["p95_ms"],
        "p99_ms": best["p99_ms"],
        "per_second_range": [min(rates), max(rates)],
        "p99_ms_range": [min(p99s), max(p99s)],
        "statuses": statuses,
        "redelivery_statuses": sorted(redelivered),
        "stored": stored,
        "healthz_baseline": best["healthz_baseline"],
        "paced_rate": rate,
        "paced_calls": sum(r["paced"]["calls"] for r in results),
        "paced_statuses": sorted({code for r in results for code in r["paced"]["statuses"]}),
        "paced_p99_ms": statistics.median(r["paced"]["p99_ms"] for r in results),
        "paced_p99_ms_range": [min(r["paced"]["p99_ms"] for r in results), max(r["paced"]["p99_ms"] for r in results)],
        "paced_p50_ms": statistics.median(r["paced"]["p50_ms"] for r in results),
    }


def _intake_run(path: str, requests: list, clients: int, duration: int, client: str) -> dict:
    baseline = None
    if client == "wrk":
        # The same server's answer to /healthz under the same load: what this machine
        # serves at this moment, the baseline the intake figure is compared with.
        baseline = _run_wrk_plain("/healthz", clients, min(duration, 10))
        run = _run_wrk(path, requests, clients, duration)
        elapsed, statuses, percentiles = run["seconds"], run["statuses"], run["percentiles_ms"]
        sent = run["requests"]
        if sent >= len(requests):
            # wrk's threads stopped when the deliveries ran out, but its clock ran on to the end.
            print(f"WARNING: all {len(requests)} deliveries sent before {duration} s: the rate is a lower bound")
    else:
        # Clients in several processes (one Python process cannot saturate the server alone).
        processes = max(1, min(4, clients // 8))
        slices = [requests[i::processes] for i in range(processes)]
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=processes) as pool:
            results = list(pool.map(_client_process, [(path, part, clients // processes) for part in slices]))
        elapsed = time.perf_counter() - started
        latencies = sorted(lat for part, _ in results for lat in part)
        statuses: dict[int, int] = {}
        for _, codes in results:
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count

        def pct(q):
            return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

        percentiles = {"p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99), "max": latencies[-1] * 1000}
        sent = len(requests)
    rate = round(sent / elapsed, 1)
    return {
        "deliveries": sent,
        "seconds": round(elapsed, 2),
        "per_second": rate,
        "p50_ms": round(percentiles["p50"], 1),
        "p95_ms": round(percentiles["p95"], 1),
        "p99_ms": round(percentiles["p99"], 1),
        "max_ms": round(percentiles["max"], 1),
        "statuses": statuses,
        "healthz_baseline": baseline,
        "ratio_to_healthz": round(rate / baseline["per_second"], 2) if baseline else None,
    }


WRK_SCRIPT = (
    r"""
-- Each wrk thread sends its own share of the pre-signed deliveries, each once, then stops.
local threads, counter = {}, 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  deliveries = dofile(args[1])
  step, index, codes, sent = tonumber(args[2]), tid + 1, {}, 0
end
function request()
  local d = deliveries[index]
  if d == nil then
    wrk.thread:stop()
    d = deliveries[tid + 1]
  end
  index = index + step
  sent = sent + 1
  return wrk.format("POST", d[1], d[2], d[3])
end
"""
    + WRK_REPORT
)


def _run_wrk_plain(path: str, connections: int, duration: int) -> dict:
    """GET `path` with wrk under the same conditions; requests/s and latency percentiles."""
    import re

    command = ["wrk", "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{duration}s", "--latency"]
    command += ["--timeout", "10s", f"http://127.0.0.1:{PORT}{path}"]
    if CLIENT_CPUS:
        command = ["taskset", "-c", CLIENT_CPUS, *command]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603

    def ms(label):
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 1)

    return {
        "per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
    }


def _lua_string(data: bytes) -> str:
    return "'" + "".join(f"\\{b:03d}" if b < 32 or b > 126 or b in (39, 92) else chr(b) for b in data) + "'"


def _run_wrk(path: str, requests: list, connections: int, duration: int) -> dict:
    """wrk (C, epoll; one thread pinned to CLIENT_CPUS when set), each pre-signed delivery sent once."""
    import re
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "deliveries.lua"
        with data.open("w") as f:
            f.write("return {\n")
            for body, headers in requests:
                lua_headers = ", ".join(
                    f"[{_lua_string(k.encode())}] = {_lua_string(v.encode())}" for k, v in headers.items()
                )
                f.write(f"{{{_lua_string(path.encode())}, {{{lua_headers}}}, {_lua_string(body)}}},\n")
            f.write("}\n")
        script = Path(tmp) / "intake.lua"
        script.write_text(WRK_SCRIPT)
        command = ["wrk", "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s"]
        command += ["-s", str(script), f"http://127.0.0.1:{PORT}", "--", str(data), str(WRK_THREADS)]
        if CLIENT_CPUS:
            command = ["taskset", "-c", CLIENT_CPUS, *command]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    summary = dict(re.findall(r"(\w+)=(\d+)", out.split("WRK-SUMMARY", 1)[1]))
    statuses = {int(c): int(n) for c, n in re.findall(r"(\d+)=(\d+)", out.split("WRK-STATUSES", 1)[1].split("\n")[0])}
    return {
        "requests": int(summary["requests"]),
        "seconds": int(summary["duration_us"]) / 1e6,
        "statuses": statuses,
        "errors": int(summary["errors"]),
        "percentiles_ms": {k: int(summary[k]) / 1000 for k in ("p50", "p95", "p99", "max")},
    }


def _client_process(args) -> tuple[list[float], dict[int, int]]:
    """POST this slice of deliveries from `threads` threads; (latencies, status counts)."""
    path, requests, threads = args
    lock = threading.Lock()
    cursor = iter(requests)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    def client():
        mine, codes = [], {}
        while True:
            with lock:
                item = next(cursor, None)
            if item is None:
                break
            started = time.perf_counter()
            status = _post(path, *item)
            mine.append(time.perf_counter() - started)
            codes[status] = codes.get(status, 0) + 1
        with lock:
            latencies.extend(mine)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count

    pool = [threading.Thread(target=client) for _ in range(max(1, threads))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return latencies, statuses


def _post(path: str, body: bytes, headers: dict) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


# --- 2. DORA -----------------------------------------------------------------------


def bench_dora(team_count: int, days: int = 90, per_day: int = 20, reuse: bool = False) -> dict:
    from django.db import connection

    from apps.delivery.models import Change, Deployment, IncidentDeploymentLink
    from apps.postmortems.models import Incident
    from apps.teams.models import Organization, Service, Team

    existing = Organization.objects.filter(slug="bench-dora").first() if reuse else None
    if existing is not None:
        return _compute_dora(existing, days)
    org = Organization.objects.create(name="Bench DORA", slug="bench-dora")
    teams = Team.objects.bulk_create(
        [Team(organization=org, name=f"Team {i:03d}", slug=f"team-{i:03d}") for i in range(team_count)]
    )
    Service.objects.bulk_create(
        [
            Service(organization=org, team=t, name=f"svc-{t.slug}-{k}", slug=f"svc-{t.slug}-{k}")
            for t in teams
            for k in range(2)
        ]
    )
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    t0 = time.perf_counter()
    per_service = per_day // 2
    tables = {
        "deployment": Deployment._meta.db_table,
        "change": Change._meta.db_table,
        "incident": Incident._meta.db_table,
        "link": IncidentDeploymentLink._meta.db_table,
        "service": Service._meta.db_table,
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.2026)")
        # Two services per team, each deploying per_day/2 times a day, about 8 % failing.
        cursor.execute(
            f"""
            INSERT INTO {tables["deployment"]} (created_at, updated_at, organization_id, team_id, service_id, source,
                external_id, repository, environment, is_production, status, status_at, sha, ref, url,
                started_at, finished_at)
            SELECT now(), now(), s.organization_id, s.team_id, s.id, 'bench', s.id || '-' || d || '-' || n, s.slug,
                'production', true, CASE WHEN random() < 0.08 THEN 'failure' ELSE 'success' END, t, '', '', '',
                t - interval '5 minutes', t
            FROM {tables["service"]} s
            CROSS JOIN generate_series(0, %s - 1) d
            CROSS JOIN generate_series(0, %s - 1) n
            CROSS JOIN LATERAL (SELECT %s::timestamptz + d * interval '1 day'
                + (30 + n * 140 + floor(random() * 20)) * interval '1 minute' AS t) x
            WHERE s.organization_id = %s
            """,
            [days, per_service, start, org.pk],
        )
        # Two commits per deployment, 10 minutes to 50 hours before it.
        cursor.execute(
            f"""
            INSERT INTO {tables["change"]} (created_at, updated_at, organization_id, team_id, service_id, repository,
                sha, message, author, url, committed_at, source, parent_sha, shipped_estimated, paths)
            SELECT now(), now(), dep.organization_id, dep.team_id, dep.service_id, dep.repository,
                dep.external_id || '-' || c, '', '', '',
                dep.finished_at - (10 + floor(random() * 2990)) * interval '1 minute', 'bench', '', false, '[]'::jsonb
            FROM {tables["deployment"]} dep CROSS JOIN generate_series(0, 1) c
            WHERE dep.organization_id = %s
            """,
            [org.pk],
        )
        # Each service's commits form one pushed chain (each commit's parent is the one before it).
        cursor.execute(
            f"""
            UPDATE {tables["change"]} c SET parent_sha = x.parent
            FROM (SELECT id, COALESCE(lag(sha) OVER (PARTITION BY service_id ORDER BY committed_at, id), '') AS parent
                  FROM {tables["change"]} WHERE organization_id = %s) x
            WHERE c.id = x.id AND x.parent <> ''
            """,
            [org.pk],
        )
        # A deployment deploys the service's latest commit when it started (commits pushed while it
        # runs go with a later one); about 3 % report no sha (the time rule, marked estimated).
        cursor.execute(
            f"""
            UPDATE {tables["deployment"]} d SET sha = COALESCE((
                SELECT c.sha FROM {tables["change"]} c WHERE c.service_id = d.service_id
                  AND c.committed_at <= d.started_at ORDER BY c.committed_at DESC, c.id DESC LIMIT 1), '')
            WHERE d.organization_id = %s AND random() >= 0.03
            """,
            [org.pk],
        )
        # About two incidents a week per team, 10 minutes to 10 hours to restore.
        cursor.execute(
            f"""
            INSERT INTO {tables["incident"]} (created_at, updated_at, organization_id, team_id, title, description,
                severity, status, started_at, resolved_at, source, external_id)
            SELECT now(), now(), t.organization_id, t.id, 'bench incident', '', 3, 'resolved', st,
                st + (10 + floor(random() * 590)) * interval '1 minute', 'api', 'bench-' || t.id || '-' || d
            FROM teams_team t CROSS JOIN generate_series(0, %s - 1) d
            CROSS JOIN LATERAL (SELECT %s::timestamptz + d * interval '1 day'
                + floor(random() * 1380) * interval '1 minute' AS st) x
            WHERE t.organization_id = %s AND random() < 0.3
            """,
            [days, start, org.pk],
        )
        # Each incident linked (as the auto rule would) to its team's last deployment before it.
        cursor.execute(
            f"""
            INSERT INTO {tables["link"]} (created_at, updated_at, incident_id, deployment_id, method, note)
            SELECT now(), now(), i.id,
                (SELECT dep.id FROM {tables["deployment"]} dep WHERE dep.team_id = i.team_id
                   AND dep.status = 'success' AND dep.finished_at < i.started_at
                 ORDER BY dep.finished_at DESC LIMIT 1), 'auto', ''
            FROM {tables["incident"]} i WHERE i.organization_id = %s
            """,
            [org.pk],
        )
        cursor.execute(f"SELECT count(*) FROM {tables['deployment']} WHERE organization_id = %s", [org.pk])
        deployments = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM {tables['change']} WHERE organization_id = %s", [org.pk])
        changes = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM {tables['incident']} WHERE organization_id = %s", [org.pk])
        incidents = cursor.fetchone()[0]
    load_seconds = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    result = _compute_dora(org, days)
    result.update(
        {"deployments": deployments, "changes": changes, "incidents": incidents, "load_seconds": round(load_seconds, 1)}
    )
    return result


def _compute_dora(org, days: int) -> dict:
    from django.db import connection

    from apps.delivery import rollups, selectors
    from apps.delivery.models import Change, Deployment
    from apps.postmortems.models import Incident

    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    team_ids = list(org.teams.values_list("pk", flat=True))
    since = (end - timedelta(days=days)).date()
    # The first rebuild after loading also writes what shipped every commit (Change.shipped_by,
    # lead_time_seconds): the one-off backfill after the migration. The nightly rebuild is the
    # second one (same rows, nothing to write back on the commits), after the vacuum autovacuum
    # would run on the rows the backfill rewrote.
    t0 = time.perf_counter()
    rows = rollups.refresh(team_ids=team_ids, since=since, until=end.date())
    first_seconds = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE delivery_change")
    t1 = time.perf_counter()
    rows = rollups.refresh(team_ids=team_ids, since=since, until=end.date())
    rollup_seconds = time.perf_counter() - t1
    # The periodic job's usual work: every team's last two days went stale (new events arrived).
    t3 = time.perf_counter()
    rollups.refresh(team_ids=team_ids, since=(end - timedelta(days=2)).date(), until=end.date())
    incremental_seconds = time.perf_counter() - t3
    t2 = time.perf_counter()
    result = selectors.team_dora(team_ids=team_ids, window_days=days, until=end.date())
    read_seconds = time.perf_counter() - t2
    tiers = {}
    for keys in result.values():
        tier = keys["deployment_frequency"]["tier"]
        tiers[tier] = tiers.get(tier, 0) + 1
    sample = result[team_ids[0]]
    estimated = Change.objects.filter(organization=org, shipped_estimated=True).count()
    shipped = Change.objects.filter(organization=org, shipped_by__isnull=False).count()
    return {
        "teams": len(team_ids),
        "days": days,
        "deployments": Deployment.objects.filter(organization=org).count(),
        "changes": Change.objects.filter(organization=org).count(),
        "incidents": Incident.objects.filter(organization=org).count(),
        "first_rebuild_with_shipped_backfill_seconds": round(first_seconds, 2),
        "rollup_rebuild_seconds": round(rollup_seconds, 2),
        "rollup_rows": rows,
        "incremental_refresh_2_days_seconds": round(incremental_seconds, 2),
        "team_dora_seconds": round(read_seconds, 3),
        "total_compute_seconds": round(rollup_seconds + read_seconds, 2),
        "frequency_tiers": tiers,
        "commits_shipped": shipped,
        "commits_shipped_by_time_rule": estimated,
        "sample_team": sample,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--deliveries",
        type=int,
        default=9000,
        help="pre-signed deliveries per run: more than the server answers in --duration (wrk runs it all)",
    )
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--rate", type=float, default=320, help="deliveries/s offered by the steady (paced) load")
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk load")
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) * 2 + 1)
    parser.add_argument("--runs", type=int, default=3, help="intake loads on the same server (their range is printed)")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--threads", type=int, default=THREADS, help="gthread threads per worker")
    parser.add_argument("--teams", type=int, default=300)
    parser.add_argument("--skip-intake", action="store_true")
    parser.add_argument("--skip-dora", action="store_true")
    parser.add_argument(
        "--cpu-deliveries", type=int, default=2000, help="deliveries timed in-process for CPU per call (0: skip)"
    )
    parser.add_argument("--profile", type=int, default=0, help="print this many lines of the in-process cProfile")
    parser.add_argument("--reuse-dora-data", action="store_true", help="Keep the database and its DORA data.")
    args = parser.parse_args()

    with open("/proc/loadavg") if Path("/proc/loadavg").exists() else open(os.devnull) as f:
        load = f.read().split()[:3]
    state = "reused" if args.reuse_dora_data else "recreated"
    print(f"Database {DB_URL} ({state}), Redis {REDIS_URL}, {os.cpu_count()} CPUs, load average {load}", flush=True)
    if not args.reuse_dora_data:
        recreate_migrated(DB_URL, ENV)
    setup_django()
    if args.cpu_deliveries:
        cpu = cpu_per_delivery(args.cpu_deliveries, args.profile)
        print("\n== CPU per verified delivery, in-process ==")
        print(json.dumps(cpu, indent=2))
    if not args.skip_intake:
        intake = bench_intake(
            args.deliveries,
            args.clients,
            args.workers,
            args.client,
            args.duration,
            runs=args.runs,
            worker_class=args.worker_class,
            threads=args.threads,
            rate=args.rate,
        )
        n = intake["deliveries"]
        # wrk stops at its deadline with requests in flight: the server stores those too (at most
        # one per connection and run) without wrk counting them.
        in_flight = args.clients * args.runs if intake["client"] == "wrk" else 0
        n_paced = intake["paced_calls"]
        ok = (
            intake["statuses"] == {202: n}
            and intake["paced_statuses"] == [202]
            and n + n_paced <= intake["stored"] <= n + n_paced + in_flight
        )
        print("\n== Verified webhook intake (gunicorn) ==")
        print(json.dumps(intake, indent=2))
        print(
            f"intake: {intake['per_second']} verified deliveries/s, p50 {intake['p50_ms']} ms, "
            f"p95 {intake['p95_ms']} ms, "
            f"p99 {intake['p99_ms']} ms; {'all 202 and stored once' if ok else 'NOT ALL ACCEPTED'}; "
            f"redeliveries answered {intake['redelivery_statuses']}; {intake['client_conditions']}"
        )
        print(
            f"median of {args.runs} runs on {intake['gunicorn_workers']}; run-to-run range "
            f"{intake['per_second_range'][0]}-{intake['per_second_range'][1]}/s, "
            f"p99 {intake['p99_ms_range'][0]}-{intake['p99_ms_range'][1]} ms; no Celery worker running "
            "(the drain's wake-ups wait in Redis)"
        )
        print(
            f"steady load: {intake['paced_rate']:.0f} deliveries/s from {args.clients} senders, each delivery on a new "
            f"connection, {args.duration} s per run: p50 {intake['paced_p50_ms']:.1f} ms, p99 "
            f"{intake['paced_p99_ms']:.1f} ms (range {intake['paced_p99_ms_range'][0]:.1f}-"
            f"{intake['paced_p99_ms_range'][1]:.1f}), target p99 < 250 ms at >= 300/s: "
            f"{'met' if intake['paced_p99_ms'] < 250 and intake['paced_rate'] >= 300 else 'NOT met'}"
        )
        for number, run in enumerate(intake["runs"], 1):
            steady = run["paced"]
            print(
                f"  steady run {number}: {steady['per_second']:.0f}/s, p50 {steady['p50_ms']:.1f} ms, "
                f"p99 {steady['p99_ms']:.1f} ms, max {steady['max_ms']:.1f} ms {steady['statuses']}"
            )
        for number, run in enumerate(intake["runs"], 1):
            base = run["healthz_baseline"]
            line = f"  run {number}: {run['per_second']}/s, p50 {run['p50_ms']} ms, p99 {run['p99_ms']} ms"
            if base:
                line += (
                    f"; GET /healthz same server and load {base['per_second']:.0f}/s (p99 {base['p99_ms']} ms), "
                    f"intake = {run['ratio_to_healthz']:.2f} x that rate"
                )
            print(line)
    if not args.skip_dora:
        dora = bench_dora(args.teams, reuse=args.reuse_dora_data)
        print("\n== DORA for 300 teams x 90 days x 20 deploys/day ==")
        print(json.dumps(dora, indent=2, default=str))
        print(
            f"first rebuild (backfills shipped commits) {dora['first_rebuild_with_shipped_backfill_seconds']} s; "
            f"full rollup rebuild {dora['rollup_rebuild_seconds']} s; incremental refresh (2 days, all teams) "
            f"{dora['incremental_refresh_2_days_seconds']} s; team_dora for {dora['teams']} teams "
            f"{dora['team_dora_seconds']} s; {dora['deployments']} deployments, {dora['changes']} commits"
        )


if __name__ == "__main__":
    main()
