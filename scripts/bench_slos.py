#!/usr/bin/env python
"""Benchmark of the SLO catalog on PostgreSQL (a script, not a test). Prints the figures.

    .venv/bin/python scripts/bench_slos.py [--slos 1000] [--days 30] [--ingest 1000000]

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/dm_bench_slos),
created and migrated on first use. Measures:

1. Ingest through the sync/push path (`services.samples_upsert`: new buckets COPYed
   straight in under per-SLI advisory locks, rewritten ones merged with INSERT ... ON
   CONFLICT, rollups recomputed) and through the push API's validation, against a raw
   COPY of the same rows into a table with the same indexes, in the same run.
2. Window SLIs and every burn rate for N SLOs with D days of 5-minute samples
   (1,000 x 30 days = 8.64 million rows), computed in SQL by `selectors.slo_statuses`.
3. The number of queries of the catalog page for those SLOs (and for a tenth of them).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dm_bench_slos")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("CACHE_KEY_PREFIX", "dmbench")

BUCKET = 300
DAY = 86400


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f} rows/s"


def setup_catalog(n_slos: int):
    """An org with 100 services, n SLIs and one SLO per SLI (a realistic mix of windows and methods)."""
    from decimal import Decimal

    from apps.accounts.models import User
    from apps.slos.models import SLI, SLO
    from apps.teams import services as team_services
    from apps.teams.models import Service

    org = team_services.organization_upsert(name="Bench", slug="bench")
    team = team_services.team_upsert(organization=org, name="Bench team", slug="bench-team")
    other_team = team_services.team_upsert(organization=org, name="Small team", slug="small-team")
    admin = User.objects.filter(email="bench-admin@example.test").first() or User.objects.create_user(
        email="bench-admin@example.test", password="bench-password-2026"
    )
    team_services.org_membership_set(organization=org, user=admin, role="admin")
    existing = SLO.objects.filter(organization=org).count()
    if existing == n_slos:
        return org, admin, other_team
    SLO.objects.filter(organization=org).delete()
    SLI.objects.filter(organization=org).delete()
    Service.objects.filter(organization=org).delete()
    services = Service.objects.bulk_create(
        [
            Service(
                organization=org,
                team=other_team if i % 10 == 0 else team,
                name=f"svc-{i:03d}",
                slug=f"svc-{i:03d}",
                tier=1 + i % 3,
            )
            for i in range(100)
        ]
    )
    slis = SLI.objects.bulk_create(
        [
            SLI(organization=org, service=services[i % 100], name=f"sli {i}", slug=f"sli-{i:05d}", source="push")
            for i in range(n_slos)
        ]
    )
    slos = []
    for i, sli in enumerate(slis):
        kind = i % 10
        fields = {"window_kind": "rolling", "window_days": 30, "calendar_unit": "", "budgeting": "occurrences"}
        if kind == 7:
            fields["window_days"] = 28
        elif kind == 8:
            fields.update(window_kind="calendar", calendar_unit="month")
        elif kind == 9:
            fields.update(budgeting="timeslices", timeslice_seconds=900, timeslice_target=Decimal("0.95"))
        slos.append(
            SLO(organization=org, sli=sli, name=f"slo {i}", slug=f"slo-{i:05d}", target=Decimal("0.999"), **fields)
        )
    SLO.objects.bulk_create(slos)
    return org, admin, other_team


def load_samples(org, days: int, now_bucket: int) -> tuple[int, int]:
    """days x 288 samples per SLI and their hourly rollups, generated in SQL (fixture data,
    not the path being measured). Reused by the next run; returns (rows, the data's "now")."""
    from django.db import connection

    from apps.slos.models import SLI, SLIRollup, SLISample

    ids = list(SLI.objects.filter(organization=org).values_list("pk", flat=True))
    expected = len(ids) * days * 288
    table, rollups = SLISample._meta.db_table, SLIRollup._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), max(bucket) FROM {table} WHERE sli_id = ANY(%s)", [ids])  # noqa: S608
        count, last = cursor.fetchone()
        cursor.execute(f"SELECT count(*) FROM {rollups} WHERE sli_id = ANY(%s)", [ids])  # noqa: S608
        if count == expected and cursor.fetchone()[0] == len(ids) * days * 24:
            return count, last + BUCKET
        cursor.execute(f"DELETE FROM {rollups} WHERE sli_id = ANY(%s)", [ids])  # noqa: S608
        cursor.execute(f"DELETE FROM {table} WHERE sli_id = ANY(%s)", [ids])  # noqa: S608
        cursor.execute(
            f"INSERT INTO {table} (sli_id, bucket, good, total) "  # noqa: S608
            "SELECT s.id, b, t - (CASE WHEN (b / 300 + s.id) %% 97 = 0 THEN 5 ELSE (b / 300 + s.id) %% 2 END), t "
            "FROM (SELECT id FROM slos_sli WHERE id = ANY(%s)) s, "
            "generate_series(%s::bigint, %s::bigint, 300) b, "
            "LATERAL (SELECT (400 + (b / 300 + s.id) %% 300)::float AS t) tt",
            [ids, now_bucket - days * DAY, now_bucket - BUCKET],
        )
        cursor.execute(
            f"INSERT INTO {rollups} (sli_id, hour, good, total) SELECT sli_id, bucket - bucket %% 3600, "  # noqa: S608
            f"SUM(good), SUM(total) FROM {table} WHERE sli_id = ANY(%s) GROUP BY 1, 2",
            [ids],
        )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute(f"VACUUM ANALYZE {rollups}")
    return expected, now_bucket


def bench_ingest(n_rows: int):
    from django.db import connection, transaction

    from apps.slos import services
    from apps.slos.models import SLI, SLIRollup, SLISample
    from apps.teams.models import Service

    org_service = Service.objects.filter(organization__slug="bench").first()
    n_slis = 100
    slis = []
    for i in range(n_slis):
        sli = SLI.objects.filter(organization=org_service.organization, slug=f"ingest-{i:03d}").first()
        slis.append(
            sli
            or SLI.objects.create(
                organization=org_service.organization, service=org_service, name=f"ingest {i}", slug=f"ingest-{i:03d}"
            )
        )
    ids = [s.pk for s in slis]
    per_sli = n_rows // n_slis
    base = (int(time.time()) // BUCKET) * BUCKET - 400 * DAY
    rows = [
        (sli_id, base + k * BUCKET, float(900 + (k * 7 + sli_id) % 100), 1000.0)
        for sli_id in ids
        for k in range(per_sli)
    ]
    total = len(rows)
    results = {}

    def timed(label, batch, fn):
        started = time.perf_counter()
        for i in range(0, total, batch):
            with transaction.atomic():
                fn(rows[i : i + batch])
        results[label] = time.perf_counter() - started

    def forget():
        SLISample.objects.filter(sli_id__in=ids).delete()
        SLIRollup.objects.filter(sli_id__in=ids).delete()

    forget()
    timed("upsert, new rows (10,000 per transaction)", 10_000, services.samples_upsert)
    timed("upsert, same rows again (no-op)", 10_000, services.samples_upsert)
    forget()
    timed("upsert, new rows (100,000 per transaction)", 100_000, services.samples_upsert)
    forget()

    # The push API path: validation of 10,000-item requests plus the upsert (alert evaluation
    # after the commit is queued to a worker in production and left out here).
    from datetime import UTC, datetime

    from apps.accounts.models import User

    user = User.objects.get(email="bench-admin@example.test")
    items = [
        {"sli": s, "timestamp": datetime.fromtimestamp(b, UTC).isoformat(), "good": g, "total": t}
        for s, b, g, t in rows
    ]
    original = services._queue_alert_evaluation
    services._queue_alert_evaluation = lambda ids: None
    try:
        started = time.perf_counter()
        for i in range(0, total, 10_000):
            services.samples_push(user=user, items=items[i : i + 10_000])
        results["push API path, new rows (validate + upsert, 10,000 per request)"] = time.perf_counter() - started
    finally:
        services._queue_alert_evaluation = original

    # Raw COPY of the same rows into a table with the same columns, unique index and check.
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_copy")
        cursor.execute("CREATE TABLE bench_raw_copy (LIKE slos_slisample INCLUDING ALL)")

    def raw_copy(batch):
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy("COPY bench_raw_copy (sli_id, bucket, good, total) FROM STDIN") as copy,
        ):
            copy.write(services._copy_text(batch))

    timed("raw COPY (10,000 per transaction)", 10_000, raw_copy)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE bench_raw_copy")
    timed("raw COPY (100,000 per transaction)", 100_000, raw_copy)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_raw_copy")
    forget()
    SLI.objects.filter(pk__in=ids).delete()
    # Autovacuum's job in production: the window queries below read index-only, and the
    # deleted rows would otherwise cost them heap visits.
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {SLISample._meta.db_table}")
        cursor.execute(f"VACUUM ANALYZE {SLIRollup._meta.db_table}")
    return total, results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--ingest", type=int, default=1_000_000, help="rows for the ingest benchmark (0: skip)")
    args = parser.parse_args()

    from pgdb import ensure_database

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    import logging

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    logging.disable(logging.WARNING)  # eager Celery tasks would log every notification
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('shared_buffers'), current_setting('work_mem')")
        shared_buffers, work_mem = cursor.fetchone()
    from datetime import UTC, datetime

    from apps.slos import selectors, services
    from apps.slos.models import SLO

    load = os.getloadavg()[0]
    print(
        f"PostgreSQL {connection.cursor().connection.info.server_version}, shared_buffers {shared_buffers}, "
        f"work_mem {work_mem}; {os.cpu_count()} CPUs, load average {load:.1f}"
    )
    org, admin, small_team = setup_catalog(args.slos)
    now_bucket = (int(time.time()) // 3600) * 3600
    started = time.perf_counter()
    rows, now_bucket = load_samples(org, args.days, now_bucket)
    print(f"\nCatalog: {args.slos} SLOs, {rows:,} samples ({time.perf_counter() - started:.1f} s to load/check)")
    now = datetime.fromtimestamp(now_bucket, UTC)

    print("\n1. Ingest into PostgreSQL")
    n, results = bench_ingest(args.ingest) if args.ingest else (0, {})
    copy10 = results.get("raw COPY (10,000 per transaction)")
    copy100 = results.get("raw COPY (100,000 per transaction)")
    for label, seconds in results.items():
        ref = copy100 if "100,000" in label else copy10
        extra = "" if label.startswith("raw") else f"  ({ref / seconds:.2f} x raw COPY)"
        print(f"   {label:<66} {n:,} rows in {seconds:6.2f} s = {rate(n, seconds):>16}{extra}")

    print("\n2. Window SLIs and burn rates")
    slos = list(SLO.objects.filter(organization=org).select_related("sli"))
    for attempt in ("cold", "warm"):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            statuses = selectors.slo_statuses(slos, now=now)
        seconds = window_seconds = time.perf_counter() - started
        with_data = sum(1 for s in statuses.values() if s.budget is not None)
        print(
            f"   {attempt}: {len(slos)} SLOs ({with_data} with data), window SLI + budget + 7 burn-rate windows each: "
            f"{seconds:.2f} s in {len(ctx.captured_queries)} queries"
        )
    started = time.perf_counter()
    services.alerts_evaluate(slos=slos, now=now)
    print(
        f"   alert evaluation of all {len(slos)} SLOs (statuses + open/resolve): {time.perf_counter() - started:.2f} s"
    )

    print("\n3. Catalog page (the data's clock is pinned to the loaded samples; the page uses the real time)")
    client = Client()
    client.force_login(admin)
    for label, params in ((f"all {len(slos)} SLOs", {}), ("one team's SLOs", {"team": small_team.pk})):
        client.get("/slos/", params)
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/slos/", params)
        seconds = time.perf_counter() - started
        shown = response.content.decode().count('class="fw-semibold text-decoration-none" href="/slos/')
        queries = len(ctx.captured_queries)
        print(f"   {label}: HTTP {response.status_code}, {shown} rows, {queries} queries, {seconds:.2f} s")

    # The headline, last, for `make bench`'s table.
    print("\nSummary")
    headline = (
        "upsert, new rows (10,000 per transaction)",
        "push API path, new rows (validate + upsert, 10,000 per request)",
    )
    for label in (label for label in headline if label in results):
        figure = f"{rate(n, results[label])} ({copy10 / results[label]:.2f} x raw COPY)"
        print(f"   {label.split(' (')[0]}: {figure}; target >= 100,000 rows/s")
    print(f"   window SLIs + burn rates, {len(slos)} SLOs: {window_seconds:.2f} s (target <= 5 s)")


if __name__ == "__main__":
    main()
