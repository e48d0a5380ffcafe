#!/usr/bin/env python
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
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/dm_bench_delivery"
REDIS_URL = os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/13"
PORT = int(os.environ.get("BENCH_PORT", "8199"))
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DATABASE_URL": DB_URL,
    "REDIS_URL": REDIS_URL,
    "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "CONN_MAX_AGE": "60",
    "LOG_LEVEL": "WARNING",
}


def recreate_database():
    import psycopg

    parsed = urlparse(DB_URL)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=ENV, check=True)


def setup_django():
    os.environ.update(ENV)
    import django

    django.setup()


# --- 1. intake ---------------------------------------------------------------------


def bench_intake(deliveries: int, clients: int, workers: int) -> dict:
    from apps.delivery import services
    from apps.delivery.models import RawEvent
    from apps.teams import services as team_services

    org = team_services.organization_upsert(name="Bench", slug="bench")
    team = team_services.team_upsert(organization=org, name="Intake", slug="intake")
    team_services.service_upsert(organization=org, team=team, name="checkout-api")
    secret = "bench-secret-" + secrets.token_hex(16)
    integration, _ = services.integration_create(
        actor=None, organization=org, team=team, name="GitHub bench", kind="github", secret=secret
    )
    path = f"/delivery/hooks/{integration.token}/"
    requests = []
    base = datetime(2026, 3, 1, tzinfo=UTC)
    for i in range(deliveries):
        sha = hashlib.sha1(str(i).encode()).hexdigest()  # noqa: S324 - a fake commit id
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
            "X-GitHub-Delivery": f"bench-{i}",
            "X-Hub-Signature-256": signature,
        }
        requests.append((body, headers))

    gunicorn = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=ENV,
    )
    try:
        _wait_for_port(PORT)
        # Warm up every worker (imports, first connection) outside the measurement.
        for _ in range(workers * 4):
            _post(path, b"{}", {"Content-Type": "application/json"})
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        cursor = iter(range(deliveries))

        def client():
            mine, codes = [], {}
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    break
                body, headers = requests[index]
                started = time.perf_counter()
                status = _post(path, body, headers)
                mine.append(time.perf_counter() - started)
                codes[status] = codes.get(status, 0) + 1
            with lock:
                latencies.extend(mine)
                for code, count in codes.items():
                    statuses[code] = statuses.get(code, 0) + count

        threads = [threading.Thread(target=client) for _ in range(clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        # A redelivery of each of the first 200 is answered 200 and not stored again.
        redelivered = {_post(path, *requests[i]) for i in range(min(200, deliveries))}
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)
    stored = RawEvent.objects.filter(integration=integration).count()
    latencies.sort()

    def pct(q):
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "deliveries": deliveries,
        "clients": clients,
        "gunicorn_workers": workers,
        "seconds": round(elapsed, 2),
        "per_second": round(deliveries / elapsed, 1),
        "p50_ms": round(pct(0.50), 1),
        "p95_ms": round(pct(0.95), 1),
        "p99_ms": round(pct(0.99), 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "statuses": statuses,
        "redelivery_statuses": sorted(redelivered),
        "stored": stored,
    }


def _post(path: str, body: bytes, headers: dict) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _wait_for_port(port: int, timeout: float = 30.0):
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not start on port {port}")


# --- 2. DORA -----------------------------------------------------------------------


def bench_dora(team_count: int, days: int = 90, per_day: int = 20) -> dict:
    from django.db import connection

    from apps.delivery import rollups, selectors
    from apps.delivery.models import Change, Deployment, IncidentDeploymentLink
    from apps.postmortems.models import Incident
    from apps.teams.models import Organization, Service, Team

    rng = random.Random(2026)
    org = Organization.objects.create(name="Bench DORA", slug="bench-dora")
    teams = Team.objects.bulk_create(
        [Team(organization=org, name=f"Team {i:03d}", slug=f"team-{i:03d}") for i in range(team_count)]
    )
    services = Service.objects.bulk_create(
        [
            Service(organization=org, team=t, name=f"svc-{t.slug}-{k}", slug=f"svc-{t.slug}-{k}")
            for t in teams
            for k in range(2)
        ]
    )
    by_team = {}
    for service in services:
        by_team.setdefault(service.team_id, []).append(service)
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    t0 = time.perf_counter()
    deployments, changes, incidents = 0, 0, 0
    for team in teams:
        deploy_rows, change_rows, incident_rows = [], [], []
        for day in range(days):
            day_start = start + timedelta(days=day)
            for n in range(per_day):
                service = by_team[team.pk][n % 2]
                finished = day_start + timedelta(minutes=30 + n * 70 + rng.randint(0, 20))
                ok = rng.random() > 0.08
                deploy_rows.append(
                    Deployment(
                        organization=org,
                        team=team,
                        service=service,
                        source="bench",
                        external_id=f"{team.pk}-{day}-{n}",
                        repository=service.slug,
                        environment="production",
                        is_production=True,
                        status="success" if ok else "failure",
                        status_at=finished,
                        started_at=finished - timedelta(minutes=5),
                        finished_at=finished,
                    )
                )
                for c in range(2):
                    change_rows.append(
                        Change(
                            organization=org,
                            team=team,
                            service=service,
                            repository=service.slug,
                            sha=f"{team.pk}-{day}-{n}-{c}",
                            committed_at=finished - timedelta(minutes=rng.randint(10, 3000)),
                            source="bench",
                        )
                    )
            if rng.random() < 0.3:
                started = day_start + timedelta(hours=rng.uniform(1, 22))
                incident_rows.append(
                    Incident(
                        organization=org,
                        team=team,
                        title="bench incident",
                        started_at=started,
                        status="resolved",
                        resolved_at=started + timedelta(minutes=rng.randint(10, 600)),
                        source="api",
                        external_id=f"bench-{team.pk}-{day}",
                    )
                )
        Deployment.objects.bulk_create(deploy_rows, batch_size=5000)
        Change.objects.bulk_create(change_rows, batch_size=5000)
        created = Incident.objects.bulk_create(incident_rows, batch_size=1000)
        # Link each incident to a deployment of its team (the auto rule's result, written directly).
        links = []
        linked_deploys = list(
            Deployment.objects.filter(team=team, status="success")
            .order_by("?")
            .values_list("pk", flat=True)[: len(created)]
        )
        for incident, deploy_id in zip(created, linked_deploys, strict=False):
            links.append(IncidentDeploymentLink(incident=incident, deployment_id=deploy_id, method="auto"))
        IncidentDeploymentLink.objects.bulk_create(links)
        deployments += len(deploy_rows)
        changes += len(change_rows)
        incidents += len(incident_rows)
    load_seconds = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    team_ids = [t.pk for t in teams]
    t1 = time.perf_counter()
    rows = rollups.refresh(team_ids=team_ids, since=(end - timedelta(days=days)).date(), until=end.date())
    rollup_seconds = time.perf_counter() - t1
    t2 = time.perf_counter()
    result = selectors.team_dora(team_ids=team_ids, window_days=days, until=end.date())
    read_seconds = time.perf_counter() - t2
    tiers = {}
    for keys in result.values():
        tier = keys["deployment_frequency"]["tier"]
        tiers[tier] = tiers.get(tier, 0) + 1
    sample = result[team_ids[0]]
    return {
        "teams": team_count,
        "days": days,
        "deployments": deployments,
        "changes": changes,
        "incidents": incidents,
        "load_seconds": round(load_seconds, 1),
        "rollup_rebuild_seconds": round(rollup_seconds, 2),
        "rollup_rows": rows,
        "team_dora_seconds": round(read_seconds, 3),
        "total_compute_seconds": round(rollup_seconds + read_seconds, 2),
        "frequency_tiers": tiers,
        "sample_team": sample,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=6000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) * 2 + 1)
    parser.add_argument("--teams", type=int, default=300)
    parser.add_argument("--skip-intake", action="store_true")
    parser.add_argument("--skip-dora", action="store_true")
    args = parser.parse_args()

    print(f"Database {DB_URL} (recreated), Redis {REDIS_URL}, {os.cpu_count()} CPUs", flush=True)
    recreate_database()
    setup_django()
    if not args.skip_intake:
        intake = bench_intake(args.deliveries, args.clients, args.workers)
        ok = intake["statuses"] == {202: args.deliveries} and intake["stored"] == args.deliveries
        print("\n== Verified webhook intake (gunicorn) ==")
        print(json.dumps(intake, indent=2))
        print(
            f"{intake['per_second']} deliveries/s, p50 {intake['p50_ms']} ms, p95 {intake['p95_ms']} ms, "
            f"p99 {intake['p99_ms']} ms; {'all 202 and stored once' if ok else 'NOT ALL ACCEPTED'}; "
            f"redeliveries answered {intake['redelivery_statuses']}"
        )
    if not args.skip_dora:
        dora = bench_dora(args.teams)
        print("\n== DORA for 300 teams x 90 days x 20 deploys/day ==")
        print(json.dumps(dora, indent=2, default=str))
        print(
            f"rollup rebuild {dora['rollup_rebuild_seconds']} s + team_dora {dora['team_dora_seconds']} s "
            f"= {dora['total_compute_seconds']} s for {dora['deployments']} deployments, {dora['changes']} commits"
        )


if __name__ == "__main__":
    main()
