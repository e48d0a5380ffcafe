#!/usr/bin/env python
"""Home page benchmark (not a timed test): server time and queries of `/` for each role
at 30 and 300 teams, with the evidence and 8 weekly snapshots of scripts/bench_scoring.py.

The number of queries must be the same at 30 and 300 teams for every role. Server time is
measured in process with Django's test client (median of the runs), with Python CPU and
database time beside it, because wall time on a busy machine includes waiting for a CPU.

Own PostgreSQL database (dropped and created): BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/dm_bench_home; Redis: BENCH_REDIS_URL, default db 12.

    python scripts/bench_home.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import random
import sys

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dm_bench_home")

import bench_scoring as bench  # noqa: E402 - reads BENCH_DATABASE_URL at import
from pgdb import recreate_migrated  # noqa: E402


def people(org):
    """A leader, an org admin and a member of the first team."""
    from apps.accounts.models import User
    from apps.core.permissions import SYSTEM
    from apps.teams import services as team_services
    from apps.teams.models import Team

    leader = bench.leader_of(org)
    admin = User.objects.create_user(email=f"admin@{org.slug}.example", password="bench-password-2026")
    team_services.org_membership_set(actor=SYSTEM, organization=org, user=admin, role="admin")
    member = User.objects.create_user(email=f"member@{org.slug}.example", password="bench-password-2026")
    team_services.team_membership_set(
        actor=SYSTEM, team=Team.objects.filter(organization=org).order_by("pk").first(), user=member, role="member"
    )
    return {"leader": leader, "org admin": admin, "member": member}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="Requests per measurement.")
    args = parser.parse_args()
    print(f"Database {bench.DB_URL}: recreating and migrating…", flush=True)
    recreate_migrated(bench.DB_URL, bench.ENV)
    bench.setup_django()
    rng = random.Random(20261202)
    results = {}
    for n in (30, 300):
        org = bench.build_org(f"home-{n}", n, rng)
        bench.history(org)
        results[n] = {role: bench.bench_page(user, "/", args.runs) for role, user in people(org).items()}
    print(
        f"\nHome page / (reads each role's panels: snapshots, stored SLO statuses, open work; server time, "
        f"median and range of {args.runs} runs; load average {os.getloadavg()[0]:.1f})"
    )
    for role in results[30]:
        a, b = results[30][role], results[300][role]
        print(
            f"   {role:<10} 30 teams: {a['median_ms']:>6.1f} ms ({a['range_ms'][0]}–{a['range_ms'][1]}; cpu "
            f"{a['cpu_ms']:.0f} + db {a['db_ms']:.0f}), {a['queries']:>2} queries | 300 teams: {b['median_ms']:>6.1f}"
            f" ms ({b['range_ms'][0]}–{b['range_ms'][1]}; cpu {b['cpu_ms']:.0f} + db {b['db_ms']:.0f}), "
            f"{b['queries']:>2} queries | x{b['median_ms'] / a['median_ms']:.2f} the 30-team page"
        )
    same = all(results[30][r]["queries"] == results[300][r]["queries"] for r in results[30])
    print(f"\nQueries independent of teams: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
