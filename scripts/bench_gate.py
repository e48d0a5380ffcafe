#!/usr/bin/env python
"""Benchmark of the error-budget release gate under gunicorn (a script, not a test). Prints the figures.

    .venv/bin/python scripts/bench_gate.py [--calls 2000] [--clients 50] [--workers 2] [--days 30]

Uses its own database (BENCH_GATE_DATABASE_URL, default .../dm_bench_gate), recreated and migrated
each run. One service with two SLOs holding D days of 5-minute samples (one with its budget spent,
so half the answers are denials), then `clients` concurrent CI calls with a personal API token
POST /api/v1/sre/gate/<service>/ against gunicorn (production settings, gthread). Each call is
answered by the gate's short path (apps/sre/fastpath.py) and records its decision.
Target: p99 < 50 ms at 50 concurrent calls.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchserver import production_env, wait_for_port
from pgdb import recreate_migrated

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_GATE_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/dm_bench_gate"
REDIS_URL = os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/13"
PORT = int(os.environ.get("BENCH_PORT", "8197"))
THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", "8"))
ENV = production_env(database_url=DB_URL, redis_url=REDIS_URL)
BUCKET = 300


def setup(days: int) -> tuple[int, str]:
    os.environ.update(ENV)
    import django

    django.setup()
    from decimal import Decimal

    from apps.accounts.models import User
    from apps.accounts.services import api_token_create
    from apps.core import permissions
    from apps.core.permissions import SYSTEM
    from apps.slos import services as slo_services
    from apps.slos.models import ErrorBudgetPolicy
    from apps.teams import services as team_services

    org = team_services.organization_upsert(actor=SYSTEM, name="Bench", slug="bench")
    team = team_services.team_upsert(actor=SYSTEM, organization=org, name="Gate", slug="gate")
    service = team_services.service_upsert(actor=SYSTEM, organization=org, team=team, name="checkout-api")
    ci = User.objects.create_user(email="ci@example.test", password="bench-password-2026")
    team_services.team_membership_set(actor=SYSTEM, team=team, user=ci, role="member")
    ErrorBudgetPolicy.objects.create(team=team)
    now = int(time.time()) // BUCKET * BUCKET
    start = now - days * 86400
    for name, good in (("Availability", 999.5), ("Latency", 980.0)):
        sli = slo_services.sli_create(actor=permissions.SYSTEM, service=service, name=name, source="push")
        slo_services.slo_create(actor=permissions.SYSTEM, sli=sli, name=f"{name} 99%", target=Decimal("0.99"))
        rows = [(sli.pk, b, good, 1000.0) for b in range(start, now, BUCKET)]
        slo_services.samples_upsert(rows, actor=permissions.SYSTEM)
    _, raw = api_token_create(actor=ci, user=ci, name="bench ci")
    return service.pk, raw


def _request(method: str, path: str, token: str | None = None, body: bytes | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _post(path: str, token: str, body: bytes) -> tuple[int, bytes]:
    return _request("POST", path, token, body)


def _load(call, *, calls: int, clients: int) -> tuple[list[float], dict[int, int], float]:
    """`calls` requests from `clients` concurrent threads: sorted latencies (s), status counts, wall time."""
    lock = threading.Lock()
    remaining = [calls]
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    def client():
        mine, codes = [], {}
        while True:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            t0 = time.perf_counter()
            code, _ = call()
            mine.append(time.perf_counter() - t0)
            codes[code] = codes.get(code, 0) + 1
        with lock:
            latencies.extend(mine)
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return latencies, statuses, time.perf_counter() - started


def _pct(latencies: list[float], q: float) -> float:
    return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()

    recreate_migrated(DB_URL, ENV)
    service_id, token = setup(args.days)
    path = f"/api/v1/sre/gate/{service_id}/"
    body = json.dumps({"kind": "feature", "ref": "bench"}).encode()
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{PORT}",
        "--workers",
        str(args.workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(THREADS),
        "--log-level",
        "warning",
    ]
    gunicorn = subprocess.Popen(cmd, cwd=ROOT, env=ENV)  # noqa: S603
    try:
        wait_for_port(PORT)
        for _ in range(args.workers * THREADS * 2):  # warm every worker and thread's connection
            status, payload = _post(path, token, body)
        assert status == 200, (status, payload[:300])
        answer = json.loads(payload)
        for _ in range(args.workers * THREADS * 2):
            _request("GET", "/healthz")
        # The same load on the cheapest route of the same server: the ratio is what the gate adds,
        # which holds when the machine is shared and absolute figures are not.
        latencies, statuses, elapsed = _load(lambda: _post(path, token, body), calls=args.calls, clients=args.clients)
        base, base_statuses, base_elapsed = _load(
            lambda: _request("GET", "/healthz"), calls=args.calls, clients=args.clients
        )
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)
    print(f"answer: {answer['decision']} ({answer['reason']})")
    print(
        f"gate: {args.calls} calls, {args.clients} concurrent clients, {args.workers} x {THREADS} gthread, "
        f"{args.days} days of samples on 2 SLOs"
    )
    print(f"statuses: {statuses}  throughput {args.calls / elapsed:,.0f} calls/s")
    for label, lat in (("gate", latencies), ("healthz", base)):
        print(
            f"{label:8} p50 {_pct(lat, 0.5):.1f} ms  p95 {_pct(lat, 0.95):.1f} ms  p99 {_pct(lat, 0.99):.1f} ms  "
            f"max {lat[-1] * 1000:.1f} ms"
        )
    print(f"healthz statuses: {base_statuses}  throughput {args.calls / base_elapsed:,.0f} calls/s")
    print(
        f"gate / healthz: p50 x{_pct(latencies, 0.5) / _pct(base, 0.5):.2f}  "
        f"p99 x{_pct(latencies, 0.99) / _pct(base, 0.99):.2f}"
    )


if __name__ == "__main__":
    main()
