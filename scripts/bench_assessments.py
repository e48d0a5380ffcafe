#!/usr/bin/env python
"""Self-assessment benchmark (a script, not a test): prints the figures of docs/assessments.md.

    .venv/bin/python scripts/bench_assessments.py [--teams 500] [--runs 15]

Own PostgreSQL database (dropped, created and migrated): BENCH_ASSESSMENTS_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/dm_bench_assessments; Redis: BENCH_REDIS_URL, default db 11.

Two organizations of the same shape, one with --teams teams and one with a tenth of them, each with
a campaign over both built-in frameworks (CALMS v1 and SRE practices) and a submitted previous cycle.
Measured in process with Django's test client and the selectors (median and range of --runs runs,
Python CPU and database time beside wall time, because wall time on a busy machine includes waiting
for a CPU):

1. opening the campaign (one assessment per framework per team);
2. the answers write through the API: all 32 CALMS answers in one request, beside one answer in one
   request (the baseline: the fixed cost of a request);
3. `latest_submitted_scores` and `campaign_overview` (heatmap + averages) at both sizes, with their
   queries (which must not grow with teams).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from pgdb import recreate_migrated

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_ASSESSMENTS_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/dm_bench_assessments"
REDIS_URL = os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/11"
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "config.settings.test",
    "DATABASE_URL": DB_URL,
    "REDIS_URL": REDIS_URL,
    "CACHE_KEY_PREFIX": "bench-assessments",
}


def setup_django():
    os.environ.update(ENV)
    import django

    django.setup()
    from django.core.cache import cache

    cache.clear()


def measure(fn, runs: int) -> dict:
    """Median and range of wall time, median CPU and database time, and the queries of the last run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fn()  # warm up (templates, caches, prepared plans)
    wall, cpu, db, queries = [], [], [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        db.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
        queries = len(ctx.captured_queries)
    return {
        "median": statistics.median(wall),
        "low": min(wall),
        "high": max(wall),
        "cpu": statistics.median(cpu),
        "db": statistics.median(db),
        "queries": queries,
    }


def line(label: str, m: dict, baseline: dict | None = None, baseline_name: str = "") -> str:
    ratio = f" | x{m['median'] / baseline['median']:.2f} {baseline_name}" if baseline else ""
    return (
        f"   {label:<56} {m['median']:>7.1f} ms ({m['low']:.1f}–{m['high']:.1f}; cpu {m['cpu']:.0f} + db "
        f"{m['db']:.0f}), {m['queries']:>2} queries{ratio}"
    )


def build_org(slug: str, n_teams: int):
    """An organization with n teams, a lead per team, and a submitted previous cycle of both frameworks."""
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.assessments import services as assessment_services
    from apps.assessments.models import Framework
    from apps.core.permissions import SYSTEM
    from apps.teams import services as team_services
    from apps.teams.models import Team, TeamMembership

    org = team_services.organization_upsert(actor=SYSTEM, name=slug.title(), slug=slug)
    Team.objects.bulk_create(
        [Team(organization=org, name=f"Team {i:04d}", slug=f"team-{i:04d}") for i in range(n_teams)]
    )
    teams = list(Team.objects.filter(organization=org).order_by("pk"))
    leads = User.objects.bulk_create([User(email=f"lead{i}@{slug}.example", is_active=True) for i in range(n_teams)])
    TeamMembership.objects.bulk_create(
        [TeamMembership(team=t, user=u, role="lead") for t, u in zip(teams, leads, strict=True)]
    )
    frameworks = list(Framework.objects.filter(organization=None).order_by("key", "-version").distinct("key"))
    today = timezone.localdate()
    previous = assessment_services.campaign_open(
        actor=SYSTEM,
        organization=org,
        frameworks=frameworks,
        name="Previous cycle",
        opens_on=today - timedelta(days=120),
        closes_on=today - timedelta(days=90),
        teams=teams,
        today=today - timedelta(days=120),
    )
    for assessment in previous.assessments.select_related("team").order_by("pk"):
        lead = leads[teams.index(assessment.team)]
        items = [
            assessment_services.AnswerInput(question=q.pk, level=(q.pk + assessment.team_id) % 5)
            for q in questions_of(assessment.framework_id)
        ]
        assessment_services.answers_upsert(
            assessment=assessment, items=items, actor=lead, today=today - timedelta(days=100)
        )
        assessment_services.assessment_submit(
            assessment=assessment, actor=lead, today=today - timedelta(days=100), at=None
        )
    return org, teams, leads, frameworks


_QUESTIONS: dict[int, list] = {}


def questions_of(framework_id: int) -> list:
    from apps.assessments.models import Question

    if framework_id not in _QUESTIONS:
        _QUESTIONS[framework_id] = list(
            Question.objects.filter(dimension__framework_id=framework_id).order_by("dimension__order", "order")
        )
    return _QUESTIONS[framework_id]


def measure_org(n: int, runs: int) -> dict:
    """Build an organization of n teams and take every figure of it."""
    from django.test import Client
    from django.utils import timezone

    from apps.assessments import selectors
    from apps.assessments import services as assessment_services
    from apps.assessments.models import Campaign
    from apps.core.permissions import SYSTEM

    t0 = time.perf_counter()
    org, teams, leads, frameworks = build_org(f"assess-{n}", n)
    r = {"built_s": time.perf_counter() - t0, "frameworks": len(frameworks)}
    today = timezone.localdate()
    opened = []

    def open_campaign():
        opened.append(
            assessment_services.campaign_open(
                actor=SYSTEM,
                organization=org,
                frameworks=frameworks,
                name=f"Cycle {len(opened)}",
                opens_on=today,
                closes_on=today + timedelta(days=30),
                teams=teams,
                today=today,
            )
        )

    r["open"] = measure(open_campaign, 3)
    calms = next(f for f in frameworks if f.key == "calms")
    assessment = opened[-1].assessments.get(team=teams[0], framework=calms)
    questions = questions_of(calms.pk)
    client = Client()
    client.force_login(leads[0])
    url = f"/api/v1/assessments/{assessment.pk}/answers/"
    writes = iter(range(1, 10_000))

    def write(k: int):
        def post():
            shift = next(writes)  # every request changes the levels: a real write each time
            body = {"answers": [{"question": q.pk, "level": (q.pk + shift) % 5} for q in questions[:k]]}
            response = client.post(url, body, content_type="application/json")
            assert response.status_code == 200, response.content[:300]

        return post

    r["one"] = measure(write(1), runs)
    r["all"] = measure(write(len(questions)), runs)
    r["n_questions"] = len(questions)
    team_ids = [t.pk for t in teams]
    r["latest"] = measure(lambda: selectors.latest_submitted_scores(team_ids=team_ids), runs)
    previous = Campaign.objects.get(organization=org, name="Previous cycle")
    r["overview"] = measure(lambda: selectors.campaign_overview(campaign=previous, framework=calms), runs)
    return r


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=500)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"Database {DB_URL}: recreating and migrating…", flush=True)
    recreate_migrated(DB_URL, ENV)
    setup_django()

    sizes = (max(args.teams // 10, 1), args.teams)
    results = {n: measure_org(n, args.runs) for n in sizes}
    small, large = sizes
    print(
        f"\nSelf-assessments (CALMS v1 + SRE practices in one campaign; in process, median and range of "
        f"{args.runs} runs; load average {os.getloadavg()[0]:.1f})"
    )
    for n in sizes:
        r = results[n]
        print(f"\n{n} teams (built in {r['built_s']:.1f} s: teams, leads, a submitted previous cycle)")
        print(line(f"open a campaign ({n} teams x {r['frameworks']} frameworks)", r["open"]))
        print(line("write 1 answer in one API request", r["one"]))
        print(line(f"write {r['n_questions']} answers in one API request", r["all"], r["one"], "one answer"))
        print(line(f"latest_submitted_scores, {n} teams", r["latest"]))
        print(line(f"campaign_overview (CALMS heatmap + averages), {n} teams", r["overview"]))
    print(f"\nRatios {large} / {small} teams:")
    for key, label in (("latest", "latest_submitted_scores"), ("overview", "campaign_overview"), ("all", "answers")):
        a, b = results[small][key], results[large][key]
        print(f"   {label:<26} x{b['median'] / a['median']:.2f} time, queries {a['queries']} → {b['queries']}")
    same = all(results[small][k]["queries"] == results[large][k]["queries"] for k in ("latest", "overview", "all"))
    print(f"\nQueries independent of teams: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
