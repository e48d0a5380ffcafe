#!/usr/bin/env python
"""Notifications benchmark (not a timed test): prints the figures docs/notifications.md keeps.

The weekly digest job (`tasks.send_weekly_digests`) for one organization of 300 teams and 1,000
people (3-4 members per team, 10 org admins and leaders), each team with two weekly snapshots, one
postmortem with open action items due this week, and a quarter of the teams with a Slack target:
wall time and queries of the first run (plan and send everything), and of three re-runs (a retried
job: nothing is sent again; their range), beside the baseline of handing the same emails to Django's
mail backend alone in the same run. Mail goes to Django's in-memory backend and webhooks to a local receiver on
loopback, so the figures are ours, not a mail server's.

Uses its own PostgreSQL database (dropped and created): BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/dm_bench_notifications; Redis: BENCH_REDIS_URL, default
redis://127.0.0.1:6379/13.

    python scripts/bench_notifications.py [--teams 300] [--people 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from pgdb import recreate_migrated

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/dm_bench_notifications"
REDIS_URL = os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/13"
ENV = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": DB_URL, "REDIS_URL": REDIS_URL}


class Sink(BaseHTTPRequestHandler):
    posts = 0

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        Sink.posts += 1
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def build(n_teams: int, n_people: int, port: int, as_of):
    from apps.accounts.models import User
    from apps.notifications.models import Target
    from apps.postmortems.models import ActionItem, Incident, Postmortem
    from apps.scoring.models import Snapshot
    from apps.teams.models import Organization, OrgMembership, Team, TeamMembership

    now = datetime.now(UTC)
    org = Organization.objects.create(name="Bench", slug="bench")
    teams = Team.objects.bulk_create(
        Team(organization=org, name=f"Team {i:04d}", slug=f"team-{i}") for i in range(n_teams)
    )
    users = User.objects.bulk_create(User(email=f"person{i}@bench.test", name=f"Person {i}") for i in range(n_people))
    leaders, members = users[:10], users[10:]
    OrgMembership.objects.bulk_create(
        OrgMembership(organization=org, user=u, role="admin" if i < 2 else "leader") for i, u in enumerate(leaders)
    )
    OrgMembership.objects.bulk_create(OrgMembership(organization=org, user=u, role="member") for u in members)
    TeamMembership.objects.bulk_create(
        TeamMembership(team=teams[i % n_teams], user=u, role="lead" if i < n_teams else "member")
        for i, u in enumerate(members)
    )
    snaps = []
    for i, t in enumerate(teams):
        if i % 20 == 0:
            continue  # unmeasured
        for days, shift in ((7, 0), (0, i % 7 - 3)):
            overall = 40 + i % 50 + shift
            snaps.append(
                Snapshot(
                    organization=org,
                    team=t,
                    date=as_of - timedelta(days=days),
                    overall=overall,
                    level=1 + overall // 20,
                )
            )
    Snapshot.objects.bulk_create(snaps)
    incidents = Incident.objects.bulk_create(
        Incident(
            organization=org, team=t, title=f"Outage of {t.name}", severity=2, status="resolved",
            started_at=now - timedelta(days=5), resolved_at=now - timedelta(days=4),
        )
        for t in teams
    )  # fmt: skip
    pms = Postmortem.objects.bulk_create(
        Postmortem(
            organization=org, team_id=inc.team_id, incident=inc, title=f"Postmortem: {inc.title}", status="draft",
            publish_due_on=as_of - timedelta(days=1 if inc.team_id % 4 == 0 else -5),
        )
        for inc in incidents
    )  # fmt: skip
    ActionItem.objects.bulk_create(
        ActionItem(
            organization=org, postmortem=pm, team_id=pm.team_id, title=f"Fix {k} of {pm.title}",
            due_date=as_of + timedelta(days=k * 3 - 2),
        )
        for pm in pms
        for k in range(3)
    )  # fmt: skip
    Target.objects.bulk_create(
        Target(
            organization=org, team=t, name=f"#{t.slug}", channel="slack",
            address=f"https://127.0.0.1:{port}/hook/{t.pk}", kinds=["team_digest", "level_change"],
        )
        for t in teams[::4]
    )  # fmt: skip
    return org


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--teams", type=int, default=300)
    parser.add_argument("--people", type=int, default=1000)
    args = parser.parse_args()
    recreate_migrated(DB_URL, ENV)
    os.environ.update(ENV)
    import django

    django.setup()
    from django.core import mail
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from apps.notifications import services, tasks
    from apps.notifications.models import Delivery

    setup_test_environment()  # mail to the in-memory outbox
    server = HTTPServer(("127.0.0.1", 0), Sink)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # Targets are https (checked when saved); the local sink speaks plain http on loopback.
    real = services.urllib.request.Request
    services.urllib.request.Request = lambda url, *a, **k: real(url.replace("https://", "http://"), *a, **k)

    from django.utils import timezone

    as_of = timezone.localdate()
    t0 = time.perf_counter()
    build(args.teams, args.people, port, as_of)
    print(f"data: {args.teams} teams, {args.people} people built in {time.perf_counter() - t0:.1f} s")

    print(
        "reads: the week's snapshots, postmortems and action items of every team, the people and their "
        "preferences; writes one delivery row per email and webhook post"
    )
    sent_messages = []
    reruns = []
    for label in ["first run"] + ["re-run (retried job)"] * 3:
        mail.outbox = []
        posts_before = Sink.posts
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            counts = tasks.send_weekly_digests(as_of.isoformat())
            wall = time.perf_counter() - t0
        if label == "first run":
            first_wall, sent_messages = wall, list(mail.outbox)
        else:
            reruns.append(wall)
        print(
            f"digest job, {label}: {wall * 1000:.0f} ms, {len(ctx.captured_queries)} queries, "
            f"{len(mail.outbox)} emails, {Sink.posts - posts_before} webhook posts, statuses {json.dumps(counts)}"
        )
    print(f"re-runs: range {min(reruns) * 1000:.0f}–{max(reruns) * 1000:.0f} ms over {len(reruns)} runs")
    # The baseline, in the same run: handing the very same messages to Django's mail backend,
    # with nothing planned, rendered or recorded: what the job costs beyond sending them.
    mail.outbox = []
    t0 = time.perf_counter()
    mail.get_connection().send_messages(sent_messages)
    base_wall = time.perf_counter() - t0
    ratio = first_wall / max(base_wall, 1e-6)
    per_email = first_wall / max(1, len(sent_messages)) * 1000
    print(
        f"baseline: sending the same {len(sent_messages)} emails alone {base_wall * 1000:.0f} ms; "
        f"the job x{ratio:.1f} that ({per_email:.2f} ms an email, webhooks included)"
    )
    planned = Delivery.objects.count()
    sent = Delivery.objects.filter(status="sent").count()
    print(f"deliveries: {planned} planned, {sent} sent")
    server.shutdown()


if __name__ == "__main__":
    main()
