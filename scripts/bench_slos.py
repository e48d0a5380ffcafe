#!/usr/bin/env python
"""Benchmark of the SLO catalog on PostgreSQL (a script, not a test). Prints the figures.

    .venv/bin/python scripts/bench_slos.py [--slos 10000] [--ingest 1000000] [--repeat 3]

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/dm_bench_slos),
created and migrated on first use; the generated catalog is reused by later runs. Every
figure is measured --repeat times; each line gives the median, the run-to-run range and
the ratio to its baseline measured in the same repetition.

1. Ingest (writes raw 5-minute rows and their hourly rollups), 100 SLIs: the upsert
   (`services.samples_upsert`), the push path (`services.samples_push`: validation and
   upsert) and the push API over HTTP in-process (JSON parsing, authentication, the view),
   each against a raw COPY of as many new rows into the same table (no lock, no rollups), their
   batches taking turns so that every ratio compares the same moments of a shared machine.
2. Stored status of N SLOs (reads hourly rollups for whole hours and raw samples at the
   window edges; timeslices SLOs read raw samples): the full recompute (a job), against a
   bare aggregate of the same rollup rows; the refresh a sync of 10 % of the SLIs runs,
   the periodic tick after it (how many SLOs it touched), and the tick an hour later.
3. The catalog's first page and the API's first page at N SLOs (read the stored status),
   against the same pages of a 100-SLO organization: server time and queries.

The status fixture: 30 days of hourly rollups for every SLI; 5-minute samples for all 30
days on the timeslices SLIs (they read every sample) and, on the others, only where the
window computation reads them (each window's first hours and the last 3 days, the longest
burn window), which keeps 10,000 SLOs at 17 M rows instead of 86 M. The rollups hold the
sums the full samples would have.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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
HOUR = 3600
DAY = 86400
BATCH = 10_000  # samples per push request / upsert transaction
EDGE = 2 * HOUR  # samples kept at each window start (the first partial hour and the next)


def spread(values, fmt="{:,.0f}") -> str:
    lo, hi = min(values), max(values)
    return fmt.format(lo) if len(values) == 1 else f"{fmt.format(lo)}-{fmt.format(hi)}"


def med(values):
    return statistics.median(values)


def vacuum(*tables):
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


# --- 1. ingest -----------------------------------------------------------------------------


def bench_ingest(n_rows: int, repeat: int) -> list[str]:
    from datetime import UTC, datetime

    from django.db import connection, transaction
    from rest_framework.test import APIClient

    from apps.accounts.models import User
    from apps.core import permissions
    from apps.core.permissions import SYSTEM
    from apps.slos import services
    from apps.slos.models import SLI, SLIRollup, SLISample
    from apps.teams import services as team_services
    from apps.teams.models import Service

    org = team_services.organization_upsert(actor=SYSTEM, name="Bench ingest", slug="bench-ingest")
    team = team_services.team_upsert(actor=SYSTEM, organization=org, name="Ingest", slug="ingest")
    service = Service.objects.filter(organization=org).first() or Service.objects.create(
        organization=org, team=team, name="ingest", slug="ingest", tier=1
    )
    # Each kind of write has SLIs of its own: the kinds take turns batch by batch, and a pass
    # on another kind's SLIs would turn this one's appends into merges.
    kinds = ("copy", "upsert", "push", "http")
    ids_of = {
        kind: [
            SLI.objects.get_or_create(
                organization=service.organization,
                slug=f"ingest-{kind}-{i:03d}",
                defaults={"service": service, "name": f"ingest {kind} {i}", "source": "push"},
            )[0].pk
            for i in range(100)
        ]
        for kind in kinds
    }
    ids = [pk for kind in kinds for pk in ids_of[kind]]
    per_sli = n_rows // 100
    total = per_sli * 100
    # Each pass writes keys newer than every earlier pass (a block of days of its own, from 3
    # years back towards today), so each upsert pass appends as pushes do, and deleted rows
    # cannot collide (no VACUUM between passes: one of the 17 M-row table took a minute).
    span = (per_sli * BUCKET // DAY + 1) * DAY
    base = (int(time.time()) // BUCKET) * BUCKET - 3 * 400 * DAY
    passes = iter(range(10_000))

    def fresh_rows(kind):
        shift = next(passes) * span
        assert base + shift + span < time.time(), "more passes than days to hold them: lower --repeat"
        return [
            (sli_id, base + shift + k * BUCKET, float(900 + (k * 7 + sli_id) % 100), 1000.0)
            for sli_id in ids_of[kind]
            for k in range(per_sli)
        ]

    def _iso(b):
        return datetime.fromtimestamp(b, UTC).isoformat()

    def as_items(rows):
        return [{"sli": s, "timestamp": _iso(b), "good": g, "total": t} for s, b, g, t in rows]

    def as_bodies(items):
        return [json.dumps({"samples": items[i : i + BATCH]}).encode() for i in range(0, total, BATCH)]

    user = User.objects.get(email="bench-admin@example.test")
    team_services.org_membership_set(actor=SYSTEM, organization=org, user=user, role="admin")
    api = APIClient()
    api.force_authenticate(user)
    tables = (SLISample._meta.db_table, SLIRollup._meta.db_table, "slos_sli")

    def clear():
        SLISample.objects.filter(sli_id__in=ids).delete()
        SLIRollup.objects.filter(sli_id__in=ids).delete()
        vacuum(*tables)

    def raw_copy(rows):
        # Into the samples table itself (as large as the upsert's), nothing else: no lock, no
        # rollups, no check of what is stored.
        def write(i):
            with (
                transaction.atomic(),
                connection.cursor() as cursor,
                cursor.cursor.copy(f"COPY {SLISample._meta.db_table} (sli_id, bucket, good, total) FROM STDIN") as copy,
            ):
                copy.write(services._copy_text(rows[i : i + BATCH]))

        return write

    def upsert(rows):
        return lambda i: services.samples_upsert(rows[i : i + BATCH], actor=permissions.SYSTEM)

    def push(items):
        return lambda i: services.samples_push(actor=user, items=items[i : i + BATCH])

    def validate(items):
        return lambda i: services.validate_push(actor=user, items=items[i : i + BATCH])

    def push_http(bodies):
        def post(i):
            response = api.post("/api/v1/slo-samples/", data=bodies[i // BATCH], content_type="application/json")
            assert response.status_code == 201, response.content[:300]

        return post

    def interleaved(writers: dict) -> dict:
        """Seconds per kind of write. The kinds take turns batch by batch (who goes first rotates),
        so a busy moment of the shared machine falls on each of them and on the COPY baseline alike."""
        seconds = dict.fromkeys(writers, 0.0)
        kinds = list(writers)
        for n, i in enumerate(range(0, total, BATCH)):
            turn = n % len(kinds)
            for kind in kinds[turn:] + kinds[:turn]:
                started = time.perf_counter()
                writers[kind](i)
                seconds[kind] += time.perf_counter() - started
        return seconds

    labels = {
        "upsert": "upsert, new rows (10,000 per transaction)",
        "noop": "upsert, the same rows again (no-op)",
        "push": "push path, new rows (validate + upsert, 10,000 per request)",
        "http": "push API over HTTP, new rows (JSON, auth, view; in-process)",
        "validate": "push validation alone (10,000 per request)",
        "copy": "raw COPY into the same table (10,000 per transaction)",
    }
    results = {k: [] for k in labels}
    ratios = {k: [] for k in labels if k != "copy"}
    original = services.ingest._queue_alert_evaluation
    services.ingest._queue_alert_evaluation = lambda ids: None  # a worker's job in production, left out here
    clear()
    try:
        for _ in range(repeat):
            upsert_rows, push_items = fresh_rows("upsert"), as_items(fresh_rows("push"))
            # Round 1: new rows by the upsert, the push path and validation, beside a COPY of new rows.
            first = interleaved(
                {
                    "copy": raw_copy(fresh_rows("copy")),
                    "upsert": upsert(upsert_rows),
                    "push": push(push_items),
                    "validate": validate(push_items),
                }
            )
            # Round 2: the upsert's rows again (nothing changes) and the push API, beside another COPY.
            second = interleaved(
                {
                    "copy": raw_copy(fresh_rows("copy")),
                    "noop": upsert(upsert_rows),
                    "http": push_http(as_bodies(as_items(fresh_rows("http")))),
                }
            )
            for rnd in (first, second):
                for key, seconds in rnd.items():
                    results[key].append(total / seconds)
                    if key != "copy":
                        ratios[key].append(rnd["copy"] / seconds)
    finally:
        services.ingest._queue_alert_evaluation = original
    clear()
    lines = [
        "   (each kind's batches take turns with a raw COPY's, so every ratio compares the same moments of the machine)"
    ]
    for key, label in labels.items():
        extra = "" if key == "copy" else f"  {spread(ratios[key], '{:.2f}')} x raw COPY (median {med(ratios[key]):.2f})"
        lines.append(f"   {label:<62} {med(results[key]):>9,.0f} rows/s (range {spread(results[key])}){extra}")
    summary = {
        "upsert": (med(results["upsert"]), spread(ratios["upsert"], "{:.2f}"), med(ratios["upsert"])),
        "push": (med(results["push"]), spread(ratios["push"], "{:.2f}"), med(ratios["push"])),
        "http": (med(results["http"]), spread(ratios["http"], "{:.2f}"), med(ratios["http"])),
    }
    return lines, summary, total


# --- 2. stored status ----------------------------------------------------------------------


def setup_catalog(slug: str, n_slos: int, admin):
    """An org with 100 services (a tenth on a second team), n SLIs and one SLO per SLI:
    30-day rolling, a tenth 28-day, a tenth calendar month, a tenth 15-minute timeslices."""
    from decimal import Decimal

    from apps.core.permissions import SYSTEM
    from apps.slos.models import SLI, SLO
    from apps.teams import services as team_services
    from apps.teams.models import Service

    org = team_services.organization_upsert(actor=SYSTEM, name=f"Bench {slug}", slug=slug)
    team = team_services.team_upsert(actor=SYSTEM, organization=org, name="Bench team", slug="bench-team")
    other_team = team_services.team_upsert(actor=SYSTEM, organization=org, name="Small team", slug="small-team")
    team_services.org_membership_set(actor=SYSTEM, organization=org, user=admin, role="admin")
    if SLO.objects.filter(organization=org).count() == n_slos:
        return org, other_team, False
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
        ],
        batch_size=2000,
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
    SLO.objects.bulk_create(slos, batch_size=2000)
    return org, other_team, True


# The fixture's counts for bucket b of SLI s (as SQL): about 700 events per 5 minutes, 1-5 bad.
TOTAL_SQL = "(400 + (b / 300 + s.id) %% 300)::float"
GOOD_SQL = f"{TOTAL_SQL} - (CASE WHEN (b / 300 + s.id) %% 97 = 0 THEN 5 ELSE (b / 300 + s.id) %% 2 END)"


def load_status_fixture(org, days: int) -> tuple[int, int, int]:
    """Rollups for every hour, samples where the window computation reads them (see the module
    docstring). Reused by later runs; returns (sample rows, rollup rows, the data's "now")."""
    from datetime import UTC, datetime

    from django.db import connection

    from apps.slos.models import SLI, SLO, SLIRollup, SLISample

    ids = list(SLI.objects.filter(organization=org).values_list("pk", flat=True))
    sliced = list(
        SLO.objects.filter(organization=org, budgeting="timeslices").values_list("sli_id", flat=True).distinct()
    )
    table, rollups = SLISample._meta.db_table, SLIRollup._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), max(hour) FROM {rollups} WHERE sli_id = ANY(%s)", [ids])  # noqa: S608
        count, last = cursor.fetchone()
        if count == len(ids) * days * 24:
            cursor.execute(f"SELECT count(*) FROM {table} WHERE sli_id = ANY(%s)", [ids])  # noqa: S608
            return cursor.fetchone()[0], count, last + HOUR
        now = (int(time.time()) // HOUR) * HOUR
        start = now - days * DAY
        month = datetime.fromtimestamp(now, UTC).replace(day=1, hour=0)
        edges = [now - 30 * DAY, now - 28 * DAY, int(month.timestamp())]
        cursor.execute(f"DELETE FROM {rollups} WHERE sli_id = ANY(%s)", [ids])  # noqa: S608
        cursor.execute(f"DELETE FROM {table} WHERE sli_id = ANY(%s)", [ids])  # noqa: S608
        # One range at a time, so that only the kept rows are generated (no filter over every
        # bucket of every SLI); the timeslices SLIs get every bucket.
        others = sorted(set(ids) - set(sliced))
        ranges = [(sliced, start, now)] + [(others, e, min(e + EDGE, now)) for e in sorted(set(edges))]
        ranges.append((others, now - 3 * DAY - EDGE, now))
        for sli_ids, lo, hi in ranges:
            cursor.execute(
                f"INSERT INTO {table} (sli_id, bucket, good, total) "  # noqa: S608
                f"SELECT s.id, b, {GOOD_SQL}, {TOTAL_SQL} FROM unnest(%s::bigint[]) s(id), "
                "generate_series(%s::bigint, %s::bigint, 300) b "
                "ON CONFLICT DO NOTHING",  # the month's first hours may fall in the last 3 days
                [sli_ids, lo, hi - BUCKET],
            )
        # The rollups hold what the full samples would sum to: 12 buckets per hour, one small
        # subquery per (SLI, hour) instead of one aggregate over every generated bucket.
        cursor.execute(
            f"INSERT INTO {rollups} (sli_id, hour, good, total) "  # noqa: S608
            "SELECT s.id, h, x.good, x.total FROM unnest(%s::bigint[]) s(id), "
            "generate_series(%s::bigint, %s::bigint, 3600) h, "
            f"LATERAL (SELECT SUM({GOOD_SQL}) AS good, SUM({TOTAL_SQL}) AS total "
            "FROM generate_series(h, h + 3300, 300) b) x",
            [sorted(ids), start, now - HOUR],
        )
        cursor.execute(f"SELECT count(*) FROM {table} WHERE sli_id = ANY(%s)", [ids])  # noqa: S608
        samples = cursor.fetchone()[0]
    vacuum(table, rollups)
    return samples, len(ids) * days * 24, now


def bench_status(org, small_org, small_team, admin, now_ts: int, repeat: int):
    from datetime import UTC, datetime, timedelta

    from django.db import connection, transaction
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from apps.core import permissions
    from apps.slos import selectors, services
    from apps.slos.models import SLI, SLO, SLIRollup, SLOStatusRecord

    t0 = datetime.fromtimestamp(now_ts, UTC)
    slo_ids = list(SLO.objects.filter(organization=org).order_by("pk").values_list("pk", flat=True))
    sli_ids = list(SLI.objects.filter(organization=org).order_by("pk").values_list("pk", flat=True))
    n = len(slo_ids)
    # The fixture's data was written a minute before the data's "now" (the real clock is later).
    SLI.objects.filter(organization=org).update(data_changed_at=t0 - timedelta(minutes=1))
    lines = []

    # a. Full recompute, against a bare aggregate of the same SLIs' 30 days of rollups.
    full, bare = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT sli_id, SUM(good), SUM(total) FROM {SLIRollup._meta.db_table} "  # noqa: S608
                "WHERE sli_id = ANY(%s) AND hour >= %s GROUP BY sli_id",
                [sli_ids, now_ts - 30 * DAY],
            )
            cursor.fetchall()
        bare.append(time.perf_counter() - started)
        started = time.perf_counter()
        services.slo_status_refresh(actor=permissions.SYSTEM, slo_ids=slo_ids, now=t0)
        full.append(time.perf_counter() - started)
    per_slo = [s / n * 1000 for s in full]
    states = dict(
        SLOStatusRecord.objects.filter(slo__organization=org)
        .values("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    lines.append(
        f"   full recompute of {n:,} SLOs (a job; 1,000 per transaction): median {med(full):.2f} s "
        f"= {med(per_slo):.2f} ms/SLO (range {spread(per_slo, '{:.2f}')}); "
        f"{spread([f / b for f, b in zip(full, bare, strict=True)], '{:.1f}')} x a bare SUM over the same rollups "
        f"({med(bare):.2f} s)"
    )
    lines.append(f"      statuses stored: {', '.join(f'{k} {v:,}' for k, v in sorted(states.items()))}")

    # b. A sync round: a tenth of the SLIs get their next bucket; the sync's own refresh, then
    # the tick 5 minutes after the full recompute, then one an hour after it. Rolled back.
    t1 = t0 + timedelta(minutes=5)
    synced = sli_ids[3::10]
    sync_s, tick_s, tick_n, hour_s, hour_n, refreshed = [], [], [], [], [], 0

    class Rollback(Exception):
        pass

    for _ in range(repeat):
        try:
            with transaction.atomic():
                rows = [(s, now_ts, 700.0, 700.0) for s in synced]
                started = time.perf_counter()
                services.samples_upsert(rows, actor=permissions.SYSTEM)
                SLI.objects.filter(pk__in=synced).update(data_changed_at=t1 - timedelta(seconds=1))  # pinned clock
                refreshed = services.slo_status_refresh(actor=permissions.SYSTEM, sli_ids=synced, now=t1)
                sync_s.append(time.perf_counter() - started)
                tick_n.append(selectors.slo_statuses_due(now=t1).filter(organization=org).count())
                started = time.perf_counter()
                services.alerts_evaluate_all(actor=permissions.SYSTEM, now=t1)
                tick_s.append(time.perf_counter() - started)
                later = t0 + timedelta(hours=1)
                hour_n.append(selectors.slo_statuses_due(now=later).filter(organization=org).count())
                started = time.perf_counter()
                services.alerts_evaluate_all(actor=permissions.SYSTEM, now=later)
                hour_s.append(time.perf_counter() - started)
                raise Rollback
        except Rollback:
            pass
    lines.append(
        f"   a sync round: {len(synced):,} SLIs get a new bucket, upsert + their {refreshed:,} SLOs refreshed: "
        f"{med(sync_s):.2f} s (range {spread(sync_s, '{:.2f}')}) = {med(sync_s) / refreshed * 1000:.2f} ms/SLO"
    )
    lines.append(
        f"   the tick after it touches {spread(tick_n)} of {n:,} SLOs (those with an open alert): "
        f"{med(tick_s):.2f} s (range {spread(tick_s, '{:.2f}')})"
    )
    lines.append(
        f"   the tick an hour later touches {spread(hour_n)} SLOs (every window with data moved; "
        f"the hourly worst case): {med(hour_s):.2f} s = {med(hour_s) / max(1, med(hour_n)) * 1000:.2f} ms/SLO"
    )

    # c. Pages: the catalog's and the API's first page, the big org against a 100-SLO one.
    client = Client()
    client.force_login(admin)
    api = APIClient()
    api.force_authenticate(admin)
    pages = {}
    for label, get, params in (
        (f"catalog /slos/, {n:,} SLOs", client.get, {"organization": org.slug}),
        ("catalog /slos/, one team's SLOs", client.get, {"organization": org.slug, "team": small_team.pk}),
        ("catalog /slos/, 100 SLOs (baseline)", client.get, {"organization": small_org.slug}),
        (f"API /api/v1/slos/, {n:,} SLOs", api.get, {"organization": org.pk}),
        ("API /api/v1/slos/, 100 SLOs (baseline)", api.get, {"organization": small_org.pk}),
    ):
        url = "/api/v1/slos/" if label.startswith("API") else "/slos/"
        if url == "/slos/":
            session = client.session
            session["current_org_id"] = (org if org.slug == params["organization"] else small_org).pk
            session.save()
            params = {k: v for k, v in params.items() if k != "organization"}
        get(url, params)  # warm
        times, queries, status = [], 0, 0
        for _ in range(max(5, repeat)):
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as ctx:
                response = get(url, params)
            times.append((time.perf_counter() - started) * 1000)
            queries, status = len(ctx.captured_queries), response.status_code
        pages[label] = (med(times), spread(times, "{:.0f}"), queries, status)
    base_page = pages["catalog /slos/, 100 SLOs (baseline)"][0]
    base_api = pages["API /api/v1/slos/, 100 SLOs (baseline)"][0]
    for label, (ms, rng, queries, status) in pages.items():
        base = base_api if label.startswith("API") else base_page
        lines.append(
            f"   {label:<40} HTTP {status}, {ms:6.0f} ms median (range {rng} ms), {queries} queries, "
            f"{ms / base:.2f} x the 100-SLO page"
        )
    return lines, {
        "per_slo": med(per_slo),
        "catalog": pages[f"catalog /slos/, {n:,} SLOs"],
        "catalog_base": pages["catalog /slos/, 100 SLOs (baseline)"],
        "tick": (spread(tick_n), len(synced)),
        "n": n,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slos", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--ingest", type=int, default=1_000_000, help="rows for the ingest benchmark (0: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-status", action="store_true", help="ingest only")
    args = parser.parse_args()

    from pgdb import ensure_database

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    import logging

    from django.core.management import call_command
    from django.db import connection

    logging.disable(logging.WARNING)  # eager Celery tasks would log every notification
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from apps.accounts.models import User

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('shared_buffers'), current_setting('work_mem')")
        shared_buffers, work_mem = cursor.fetchone()
    print(
        f"PostgreSQL {connection.cursor().connection.info.server_version}, shared_buffers {shared_buffers}, "
        f"work_mem {work_mem}; {os.cpu_count()} CPUs shared with other users, load average at start "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; {args.repeat} repetitions per figure",
        flush=True,
    )
    admin = User.objects.filter(email="bench-admin@example.test").first() or User.objects.create_user(
        email="bench-admin@example.test", password="bench-password-2026"
    )
    small_org, _, _ = setup_catalog("bench-small", 100, admin)
    org, small_team, _ = setup_catalog("bench", args.slos, admin)
    started = time.perf_counter()
    samples, rollups, now_ts = load_status_fixture(org, args.days)
    small_samples, small_rollups, _ = load_status_fixture(small_org, args.days)
    print(
        f"Catalog: {args.slos:,} SLOs, {rollups:,} hourly rollups, {samples:,} samples "
        f"(+ 100 SLOs, {small_rollups:,} rollups, {small_samples:,} samples); "
        f"{time.perf_counter() - started:.0f} s to load/check",
        flush=True,
    )

    summary = []
    if args.ingest:
        print(f"\n1. Ingest into PostgreSQL (writes raw rows + rollups), {args.ingest:,} rows x {args.repeat}")
        lines, ingest, total = bench_ingest(args.ingest, args.repeat)
        print("\n".join(lines), flush=True)
        summary += [
            f"   push path (validate + upsert): {ingest['push'][0]:,.0f} rows/s, median {ingest['push'][2]:.2f} x "
            f"raw COPY ({ingest['push'][1]}) (target >= 100,000 rows/s and 0.5 x)",
            f"   upsert: {ingest['upsert'][0]:,.0f} rows/s, median {ingest['upsert'][2]:.2f} x raw COPY "
            f"({ingest['upsert'][1]}) (target 0.8 x); push API over HTTP {ingest['http'][0]:,.0f} rows/s, "
            f"median {ingest['http'][2]:.2f} x ({ingest['http'][1]})",
        ]
    if args.skip_status:
        print("\nSummary")
        print("\n".join(summary))
        return
    from datetime import UTC, datetime

    from apps.core import permissions
    from apps.slos import services
    from apps.slos.models import SLO

    services.slo_status_refresh(
        actor=permissions.SYSTEM,
        slo_ids=SLO.objects.filter(organization=small_org).values_list("pk", flat=True),
        now=datetime.fromtimestamp(now_ts, UTC),
    )
    print(f"\n2. Stored status of {args.slos:,} SLOs (reads rollups + edge samples) and 3. pages (read stored status)")
    lines, status = bench_status(org, small_org, small_team, admin, now_ts, args.repeat)
    print("\n".join(lines), flush=True)
    ms, rng, queries, _ = status["catalog"]
    base_ms, _, base_queries, _ = status["catalog_base"]
    summary += [
        f"   catalog first page at {status['n']:,} SLOs: {ms:.0f} ms (range {rng}), {queries} queries; "
        f"100 SLOs: {base_ms:.0f} ms, {base_queries} queries (target <= 200 ms, same queries)",
        f"   full recompute: {status['per_slo']:.2f} ms/SLO (target <= 1 ms); tick after a sync of "
        f"{status['tick'][1]:,} SLIs touched {status['tick'][0]} other SLOs",
    ]
    print(f"\nload average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("\nSummary")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
