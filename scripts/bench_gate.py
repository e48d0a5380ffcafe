#!/usr/bin/env python
"""Benchmark of the error-budget release gate under gunicorn (a script, not a test). Prints the figures.

    .venv/bin/python scripts/bench_gate.py [--duration 10] [--runs 3] [--clients 50] [--workers 3]
                                           [--client wrk|python] [--days 30]

Uses its own database (BENCH_GATE_DATABASE_URL, default .../dm_bench_gate), recreated and migrated
each run. One service with two SLOs holding D days of 5-minute samples (one with its budget spent:
every feature call is a denial, which also reads the override), then:

1. In-process: the gate call through the WSGI application (production settings, no HTTP), CPU time
   per call (time.process_time) and queries per warm call, beside GET /healthz the same way.
2. Under gunicorn (production settings, gunicorn.conf.py's workers: 3 sync), CI calls with a personal
   API token POST /api/v1/sre/gate/<service>/, answered by the gate's short path (apps/sre/fastpath.py),
   each recording its decision, under three loads: sustained (wrk), paced (`clients` pipelines at
   `rate` calls/s in all) and bursts (waves of `clients` calls at once); each beside GET /healthz
   under the same load in the same run. `runs` runs: the median and the run-to-run range of each
   figure, the gate's ratio to /healthz per run, and the server's CPU per call.

The client is wrk (C, epoll, keep-alive; one thread pinned to BENCH_CLIENT_CPUS, default CPU 1 on
a machine with 2 or more) when installed, else Python threads (a new connection per call). gunicorn
runs on BENCH_SERVER_CPUS (default: not pinned). Target: p99 < 50 ms at 50 concurrent calls.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import io
import json
import os
import re
import runpy
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchserver import (
    CLIENT_CPUS,
    WRK_REPORT,
    burst,
    latency_figures,
    paced,
    pinned,
    production_env,
    raw_request,
    wait_for_port,
)
from pgdb import recreate_migrated

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_GATE_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/dm_bench_gate"
REDIS_URL = os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/13"
PORT = int(os.environ.get("BENCH_PORT", "8197"))
THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", "8"))
SERVER_CPUS = os.environ.get("BENCH_SERVER_CPUS", "")
WRK_THREADS = int(os.environ.get("BENCH_WRK_THREADS", "1"))
ENV = production_env(database_url=DB_URL, redis_url=REDIS_URL)
BUCKET = 300


def service_slos(service):
    from apps.slos.models import SLO

    return list(SLO.objects.filter(sli__service=service))


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
    # The stored statuses the jobs keep fresh after every push (no worker runs here): the gate reads them.
    slo_services.slo_status_refresh(actor=permissions.SYSTEM, slo_ids=[s.pk for s in service_slos(service)])
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


# --- 1. in-process -----------------------------------------------------------------


def _wsgi_call(application, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> int:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(PORT),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **(headers or {}),
    }
    if body:
        environ["CONTENT_TYPE"] = "application/json"
    status = []
    result = application(environ, lambda s, h, exc_info=None: status.append(int(s.split()[0])))
    b"".join(result)
    if hasattr(result, "close"):
        result.close()
    return status[0]


def in_process(path: str, token: str, body: bytes, calls: int = 1000) -> dict:
    """CPU per call and queries per warm call through the WSGI application itself (what gunicorn calls)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from config.wsgi import application

    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def gate():
        return _wsgi_call(application, "POST", path, body, headers)

    def healthz():
        return _wsgi_call(application, "GET", "/healthz")

    for _ in range(50):
        assert gate() == 200 and healthz() == 200
    with CaptureQueriesContext(connection) as queries:
        gate()
    out = {"queries_per_call": len(queries.captured_queries)}
    for label, call in (("gate", gate), ("healthz", healthz)):
        best = []
        for _ in range(3):  # the least of three rounds: other processes only ever add time
            started = time.process_time()
            for _ in range(calls):
                call()
            best.append((time.process_time() - started) * 1000 / calls)
        out[f"{label}_cpu_ms"] = round(min(best), 3)
    return out


# --- 2. under gunicorn -----------------------------------------------------------------

WRK_SCRIPT = (
    r"""
-- args: method, body file (may be empty), then header name/value pairs
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  wrk.method = args[1]
  if args[2] ~= "" then
    local f = io.open(args[2], "rb"); wrk.body = f:read("*a"); f:close()
  end
  for i = 3, #args, 2 do wrk.headers[args[i]] = args[i + 1] end
  codes = {}
end
"""
    + WRK_REPORT
)


def _wrk(path: str, *, method: str, body: bytes, headers: dict, clients: int, duration: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        script, data = Path(tmp) / "call.lua", Path(tmp) / "body"
        script.write_text(WRK_SCRIPT)
        data.write_bytes(body)
        pairs = [x for kv in headers.items() for x in kv]
        command = ["wrk", "-t", str(WRK_THREADS), "-c", str(clients), "-d", f"{duration}s", "--timeout", "10s"]
        command += ["-s", str(script), f"http://127.0.0.1:{PORT}{path}", "--", method, str(data) if body else ""]
        command += pairs
        if CLIENT_CPUS:
            command = ["taskset", "-c", CLIENT_CPUS, *command]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    summary = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", out.split("WRK-SUMMARY", 1)[1])}
    statuses = {int(c): int(n) for c, n in re.findall(r"(\d+)=(\d+)", out.split("WRK-STATUSES", 1)[1].split("\n")[0])}
    return {
        "per_second": summary["requests"] / (summary["duration_us"] / 1e6),
        "p50_ms": summary["p50"] / 1000,
        "p99_ms": summary["p99"] / 1000,
        "max_ms": summary["max"] / 1000,
        "statuses": statuses,
        "errors": summary["errors"],
    }


def _python_load(call, *, clients: int, duration: int) -> dict:
    """`clients` threads calling for `duration` seconds, a new connection per call."""
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + duration

    def client():
        mine, codes = [], {}
        while time.perf_counter() < deadline:
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
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "per_second": len(latencies) / elapsed,
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1] * 1000,
        "statuses": statuses,
        "errors": 0,
    }


def _paced(path: str, *, method: str, body: bytes, headers: dict, clients: int, rate: float, duration: int) -> dict:
    """`clients` CI pipelines calling concurrently, `rate` calls per second in all (benchserver.paced)."""
    request = raw_request(path, port=PORT, method=method, body=body, headers=headers)
    return paced([request], port=PORT, clients=clients, rate=rate, duration=duration)


def _bursts(path: str, *, method: str, body: bytes, headers: dict, clients: int, bursts: int) -> dict:
    """`bursts` waves of `clients` calls sent at the same moment, each on its own connection (the
    worst case: every pipeline reaching its deploy step in the same millisecond); the next wave
    starts once the server is idle again. The client is benchserver.burst (one epoll loop)."""
    request = raw_request(path, port=PORT, method=method, body=body, headers=headers)

    def waves():
        out, spans = [], []
        for _ in range(bursts):
            started = time.perf_counter()
            out += burst(request, PORT, clients)
            spans.append(time.perf_counter() - started)
            time.sleep(0.1)
        return out, spans

    cpu = time.process_time()
    results, spans = pinned(waves)
    client_ms = (time.process_time() - cpu) * 1000 / len(results)
    return {**latency_figures(results), "wave_ms": statistics.median(spans) * 1000, "client_cpu_ms": client_ms}


def _tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds used so far by a server process and every child it ever had (Linux
    /proc): its own time, its live children's, and its exited children's, which the kernel adds to the
    parent's cutime/cstime when it reaps them. So a PostgreSQL backend that closed mid-run (Django
    reconnects after CONN_MAX_AGE) or a restarted worker still counts."""

    def fields(pid):
        try:
            return [int(f) for f in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:15]]
        except (OSError, ValueError):
            return [0, 0, 0, 0]

    total = sum(fields(root))  # utime, stime, cutime, cstime
    for child in Path(f"/proc/{root}/task/{root}/children").read_text().split():
        total += sum(fields(child)[:2])  # a live child's own children are reaped into its cutime later
    return total / os.sysconf("SC_CLK_TCK")


def _server_roots(master: int) -> tuple[int, int]:
    """gunicorn's master, and the PostgreSQL server's postmaster (the parent of any backend)."""
    import psycopg

    with psycopg.connect(DB_URL, autocommit=True) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    status = Path(f"/proc/{backend}/status").read_text()
    return master, int(re.search(r"^PPid:\s+(\d+)", status, re.M)[1])


def _measured(load, roots) -> dict:
    """Run `load` and add the server's CPU per call to its figures: gunicorn's processes, and the whole
    PostgreSQL server's (backends, WAL writer, checkpointer: whatever else it serves meanwhile too)."""
    web, db = roots
    before = _tree_cpu_seconds(web), _tree_cpu_seconds(db)
    out = load()
    calls = sum(out["statuses"].values()) or 1
    out["web_cpu_ms"] = (_tree_cpu_seconds(web) - before[0]) * 1000 / calls
    out["db_cpu_ms"] = (_tree_cpu_seconds(db) - before[1]) * 1000 / calls
    return out


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.1f} (range {min(values):,.1f}-{max(values):,.1f})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per route and run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=100, help="calls/s of the --clients paced pipelines")
    parser.add_argument("--bursts", type=int, default=40, help="waves of --clients simultaneous calls per run")
    parser.add_argument("--clients", type=int, default=50)
    production = runpy.run_path(str(ROOT / "gunicorn.conf.py"))  # the image's workers, unless asked otherwise
    parser.add_argument("--workers", type=int, default=production["workers"])
    parser.add_argument("--worker-class", choices=["gthread", "sync"], default=production["worker_class"])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python")
    args = parser.parse_args()

    recreate_migrated(DB_URL, ENV)
    service_id, token = setup(args.days)
    path = f"/api/v1/sre/gate/{service_id}/"
    body = json.dumps({"kind": "feature", "ref": "bench"}).encode()
    local = in_process(path, token, body)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    pin = ["taskset", "-c", SERVER_CPUS] if SERVER_CPUS else []
    cmd = [*pin, sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{PORT}"]
    cmd += ["--workers", str(args.workers), "--worker-class", args.worker_class]
    if args.worker_class == "gthread":
        cmd += ["--threads", str(THREADS)]
    cmd += ["--log-level", "warning"]
    gunicorn = subprocess.Popen(cmd, cwd=ROOT, env=ENV)  # noqa: S603
    runs, waves, paced = [], [], []
    try:
        wait_for_port(PORT)
        for _ in range(args.workers * THREADS * 2):  # warm every worker and thread's connection
            status, payload = _post(path, token, body)
        assert status == 200, (status, payload[:300])
        answer = json.loads(payload)
        for _ in range(args.workers * THREADS * 2):
            _request("GET", "/healthz")
        roots = _server_roots(gunicorn.pid)
        load = {"clients": args.clients, "duration": args.duration}
        for _ in range(args.runs):
            # The same load on the cheapest route of the same server right after: the ratio is what the
            # gate adds, which holds when the machine is shared and absolute figures do not.
            if args.client == "wrk":
                gate_load = lambda: _wrk(path, method="POST", body=body, headers=headers, **load)  # noqa: E731
                base_load = lambda: _wrk("/healthz", method="GET", body=b"", headers={}, **load)  # noqa: E731
            else:
                gate_load = lambda: _python_load(lambda: _post(path, token, body), **load)  # noqa: E731
                base_load = lambda: _python_load(lambda: _request("GET", "/healthz"), **load)  # noqa: E731
            gate, base = _measured(gate_load, roots), _measured(base_load, roots)
            runs.append((gate, base))
            pace = {"clients": args.clients, "rate": args.rate, "duration": args.duration}
            paced.append(
                (
                    _paced(path, method="POST", body=body, headers=headers, **pace),
                    _paced("/healthz", method="GET", body=b"", headers={}, **pace),
                )
            )
            wave = {"clients": args.clients, "bursts": args.bursts}
            gate_waves = functools.partial(_bursts, path, method="POST", body=body, headers=headers, **wave)
            base_waves = functools.partial(_bursts, "/healthz", method="GET", body=b"", headers={}, **wave)
            waves.append((_measured(gate_waves, roots), _measured(base_waves, roots)))
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)

    client = (
        f"wrk {WRK_THREADS} thread{'s' if WRK_THREADS > 1 else ''} on CPU {CLIENT_CPUS or 'any'}, "
        f"{args.clients} keep-alive connections"
        if args.client == "wrk"
        else f"Python http.client, {args.clients} threads, a new connection per call"
    )
    print(f"answer: {answer['decision']} ({answer['reason']})")
    print(
        f"conditions: {os.cpu_count()} CPUs; gunicorn {args.workers} {args.worker_class} workers"
        f"{f' x {THREADS} threads' if args.worker_class == 'gthread' else ''} on CPU "
        f"{SERVER_CPUS or 'any'} (production settings, PostgreSQL and Redis on this machine, not pinned); "
        f"{client}; {args.runs} runs of {args.duration} s per route; {args.days} days of samples on 2 SLOs"
    )
    print(
        f"in-process (WSGI application, no HTTP): gate {local['gate_cpu_ms']:.2f} ms CPU per call, "
        f"{local['queries_per_call']} queries per warm call; GET /healthz {local['healthz_cpu_ms']:.2f} ms CPU"
    )
    for n, (gate, base) in enumerate(runs, 1):
        print(
            f"run {n}: gate {gate['per_second']:,.0f}/s p50 {gate['p50_ms']:.1f} p99 {gate['p99_ms']:.1f} "
            f"max {gate['max_ms']:.1f} ms {gate['statuses']}, server CPU {gate['web_cpu_ms']:.2f} ms gunicorn "
            f"+ {gate['db_cpu_ms']:.2f} ms PostgreSQL per call | healthz {base['per_second']:,.0f}/s "
            f"p50 {base['p50_ms']:.1f} p99 {base['p99_ms']:.1f} ms {base['statuses']}, server CPU "
            f"{base['web_cpu_ms']:.2f} + {base['db_cpu_ms']:.2f} ms | "
            f"gate/healthz p99 x{gate['p99_ms'] / base['p99_ms']:.2f}, "
            f"calls/s x{gate['per_second'] / base['per_second']:.2f}"
        )
    for label, k in (("gate", 0), ("healthz", 1)):
        print(
            f"{label:8} calls/s {_spread([r[k]['per_second'] for r in runs])}  "
            f"p50 {_spread([r[k]['p50_ms'] for r in runs])} ms  p99 {_spread([r[k]['p99_ms'] for r in runs])} ms"
        )
    for label, k in (("gate", 0), ("healthz", 1)):
        print(
            f"{label:8} server CPU per call: gunicorn {_spread([r[k]['web_cpu_ms'] for r in runs])} ms, "
            f"PostgreSQL {_spread([r[k]['db_cpu_ms'] for r in runs])} ms"
        )
    print(
        f"paced: {args.clients} concurrent CI pipelines, each calling on a new connection every "
        f"{args.clients / args.rate * 1000:.0f} ms ({args.rate:.0f} calls/s in all), "
        f"{args.duration} s per route and run"
    )
    for n, (gate, base) in enumerate(paced, 1):
        print(
            f"run {n}: gate {gate['per_second']:,.0f}/s p50 {gate['p50_ms']:.1f} p99 {gate['p99_ms']:.1f} max "
            f"{gate['max_ms']:.1f} ms {gate['statuses']} | healthz {base['per_second']:,.0f}/s p50 "
            f"{base['p50_ms']:.1f} p99 {base['p99_ms']:.1f} ms {base['statuses']} | "
            f"gate/healthz p99 x{gate['p99_ms'] / base['p99_ms']:.2f}"
        )
    for label, k in (("gate", 0), ("healthz", 1)):
        print(
            f"{label:8} paced {args.clients} pipelines: p50 {_spread([w[k]['p50_ms'] for w in paced])} ms  "
            f"p99 {_spread([w[k]['p99_ms'] for w in paced])} ms"
        )
    print(
        f"bursts: {args.bursts} waves per run of {args.clients} calls sent at the same moment, each on a new "
        f"connection (one epoll loop, benchserver.burst, on CPU {CLIENT_CPUS or 'any'})"
    )
    for n, (gate, base) in enumerate(waves, 1):
        print(
            f"run {n}: gate p50 {gate['p50_ms']:.1f} p99 {gate['p99_ms']:.1f} max {gate['max_ms']:.1f} ms, a wave "
            f"{gate['wave_ms']:.1f} ms {gate['statuses']}, CPU per call {gate['web_cpu_ms']:.2f} ms gunicorn + "
            f"{gate['db_cpu_ms']:.2f} ms PostgreSQL + {gate['client_cpu_ms']:.2f} ms client | "
            f"healthz p50 {base['p50_ms']:.1f} p99 "
            f"{base['p99_ms']:.1f} ms, a wave {base['wave_ms']:.1f} ms {base['statuses']} | "
            f"gate/healthz p99 x{gate['p99_ms'] / base['p99_ms']:.2f}"
        )
    for label, k in (("gate", 0), ("healthz", 1)):
        print(
            f"{label:8} bursts of {args.clients}: p50 {_spread([w[k]['p50_ms'] for w in waves])} ms  "
            f"p99 {_spread([w[k]['p99_ms'] for w in waves])} ms  a wave {_spread([w[k]['wave_ms'] for w in waves])} ms"
        )
    paced_p99 = statistics.median(w[0]["p99_ms"] for w in paced)
    burst_p99 = statistics.median(w[0]["p99_ms"] for w in waves)
    print(
        f"target p99 < 50 ms at {args.clients} concurrent CI pipelines ({args.rate:.0f} calls/s): "
        f"{'met' if paced_p99 < 50 else 'NOT met'} ({paced_p99:.1f} ms); {args.clients} calls in the same "
        f"instant: {'met' if burst_p99 < 50 else 'NOT met'} ({burst_p99:.1f} ms)"
    )
    ratios = [r[0]["p99_ms"] / r[1]["p99_ms"] for r in runs]
    print(f"gate / healthz p99: x{statistics.median(ratios):.2f} (range x{min(ratios):.2f}-x{max(ratios):.2f})")
    errors = sum(r[0]["errors"] + r[1]["errors"] for r in runs)
    if (
        errors
        or any(set(r[0]["statuses"]) != {200} for r in runs)
        or any(set(w[0]["statuses"]) != {200} for w in waves + paced)
    ):
        print(f"WARNING: socket errors {errors} or statuses other than 200 (see the runs)")


if __name__ == "__main__":
    main()
