"""Time the library search, the learning numbers and the board on a synthetic corpus.

    python manage.py benchmark_postmortems --postmortems 20000 --teams 50

The corpus goes into a throwaway organization, is vacuumed and analysed like a live
table, timed, and deleted at the end (run it against a scratch database). PostgreSQL
only (the SQLite fallback is not meant to scale)."""

import datetime as dt
import random
import statistics
import time

from django.contrib.postgres.search import SearchVector
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from apps.postmortems import search as pm_search
from apps.postmortems import selectors
from apps.postmortems.models import ActionItem, Incident, Postmortem
from apps.teams.models import Organization, OrgMembership, Team

_PROSE = (
    "database connection pool exhausted deploy rollback latency spike cache eviction certificate expired dns "
    "resolution kafka consumer lag queue backlog memory leak oom kill disk full replication slot feature flag "
    "session cookie retry storm circuit breaker provider outage timeout thread pool config drift terraform "
    "kubernetes node drain autoscaling load balancer health check rate limit schema migration index lock "
    "deadlock vacuum backup restore region failover paging alert runbook dashboard slo burn budget"
)
WORDS = _PROSE.split()


class Command(BaseCommand):
    help = "Benchmark postmortem search, team_learning and the action-item board (rolled back)."

    def add_arguments(self, parser):
        parser.add_argument("--postmortems", type=int, default=20000)
        parser.add_argument("--teams", type=int, default=50)
        parser.add_argument("--repeat", type=int, default=20)
        parser.add_argument("--explain", action="store_true", help="Print each query's time for one board run.")

    def handle(self, *args, **opts):
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark needs PostgreSQL (full-text search).")
        try:
            self._run(opts["postmortems"], opts["teams"], opts["repeat"], opts["explain"])
        finally:
            self._cleanup()

    def _cleanup(self):
        org = getattr(self, "org", None)
        if org is None:
            return
        with transaction.atomic():
            ActionItem.objects.filter(organization=org).delete()
            Postmortem.objects.filter(organization=org).delete()
            Incident.objects.filter(organization=org).delete()
            Team.objects.filter(organization=org).delete()
            self.user.delete()
            org.delete()

    def _text(self, rng, n, topics=None):
        """n words of filler from a large vocabulary, with a few words of the incident's topics."""
        words = [rng.choice(self.filler) for _ in range(n)]
        for topic in topics or []:
            words[rng.randrange(n)] = topic
        return " ".join(words)

    def _run(self, n_pm, n_teams, repeat, explain=False):
        rng = random.Random(7)
        syllables = ["ka", "lo", "mi", "ne", "tra", "vos", "pel", "dun", "ri", "sa", "gor", "bex", "ul", "fen"]
        self.filler = list({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(8000)})
        now = timezone.now()
        org = self.org = Organization.objects.create(name="Bench", slug=f"bench-{int(time.time())}")
        from django.contrib.auth import get_user_model

        user = self.user = get_user_model().objects.create(email=f"bench-{int(time.time())}@example.test")
        OrgMembership.objects.create(organization=org, user=user, role="leader")
        teams = Team.objects.bulk_create(
            [Team(organization=org, name=f"Team {i}", slug=f"team-{i}") for i in range(n_teams)]
        )
        t0 = time.perf_counter()
        # Each incident is about three topics (e.g. "dns", "failover", "cache"); the rest is filler.
        topics = [rng.sample(WORDS, 3) for _ in range(n_pm)]
        incidents = Incident.objects.bulk_create(
            [
                Incident(
                    organization=org,
                    team=teams[i % n_teams],
                    title=self._text(rng, 6, topics[i][:2]),
                    severity=rng.randint(1, 4),
                    status="resolved",
                    started_at=(s := now - dt.timedelta(days=rng.uniform(1, 365))),
                    resolved_at=s + dt.timedelta(hours=rng.uniform(0.2, 12)),
                    source="api",
                    external_id=f"bench-{i}",
                )
                for i in range(n_pm)
            ],
            batch_size=2000,
        )
        pms = Postmortem.objects.bulk_create(
            [
                Postmortem(
                    organization=org,
                    team=inc.team,
                    incident=inc,
                    title=inc.title,
                    status="published",
                    published_at=inc.resolved_at + dt.timedelta(days=rng.uniform(1, 20)),
                    summary=self._text(rng, 60, topics[i]),
                    root_causes=self._text(rng, 80, topics[i]),
                    impact=self._text(rng, 40),
                    resolution=self._text(rng, 40, topics[i][2:]),
                    went_wrong=self._text(rng, 30),
                )
                for i, inc in enumerate(incidents)
            ],
            batch_size=2000,
        )
        Postmortem.objects.filter(organization=org).update(
            search_vector=SearchVector("title", weight="A", config="english")
            + SearchVector("summary", "root_causes", weight="B", config="english")
            + SearchVector("impact", "resolution", "went_wrong", weight="C", config="english")
        )
        ActionItem.objects.bulk_create(
            [
                ActionItem(
                    organization=org,
                    postmortem=pm,
                    team=pm.team,
                    title=self._text(rng, 5),
                    status=rng.choice(["open", "in_progress", "done", "done", "wont_do"]),
                    due_date=(now - dt.timedelta(days=rng.randint(-60, 300))).date(),
                )
                for pm in pms
                for _ in range(2)
            ],
            batch_size=5000,
        )
        with connection.cursor() as cur:
            for table in ("postmortems_postmortem", "postmortems_actionitem", "postmortems_incident"):
                cur.execute(f"VACUUM ANALYZE {table}")
        self.stdout.write(
            f"corpus: {n_pm} published postmortems, {2 * n_pm} action items, {n_teams} teams "
            f"(built in {time.perf_counter() - t0:.1f} s)"
        )

        def timed(label, fn, baseline=None):
            """p50/p95 and the min–max range over `repeat` runs; with a baseline (the bare query the
            feature is built on, timed in the same run), the ratio of the two medians."""
            samples = []
            for _ in range(repeat):
                start = time.perf_counter()
                fn()
                samples.append((time.perf_counter() - start) * 1000)
            samples.sort()
            p50 = statistics.median(samples)
            p95 = samples[min(len(samples) - 1, int(round(0.95 * len(samples))) - 1)]
            line = f"{label:<62} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   range {samples[0]:.1f}–{samples[-1]:.1f} ms"
            if baseline is not None:
                line += f"   x{p50 / baseline:.1f} the bare match count"
            self.stdout.write(line)
            return p50

        self.stdout.write(
            f"reads: the full-text index over {n_pm} postmortems (GIN on search_vector), {repeat} runs each; "
            "baseline: a bare count of the rows matching the same query, in the same run"
        )
        for q in ("connection pool", "certificate expired", "kafka -deadlock", "failover region backup"):
            from django.contrib.postgres.search import SearchQuery

            match = SearchQuery(q, search_type="websearch", config="english")
            base = timed(
                f"  baseline: count of rows matching {q!r}",
                lambda m=match: Postmortem.objects.filter(organization=org, search_vector=m).count(),
            )
            filters = pm_search.LibraryFilters(q=q)
            timed(
                f"search {q!r} (top 20, ranked + highlighted)",
                lambda f=filters: list(pm_search.search(user=user, organization=org, filters=f, limit=20)),
                baseline=base,
            )
        team_ids = [t.pk for t in teams]
        timed(
            f"team_learning, {n_teams} teams, 365 days",
            lambda: selectors.team_learning(team_ids=team_ids, since=now - dt.timedelta(days=365), until=now),
        )

        def board():
            data = selectors.action_board(user=user, organization=org, filters=selectors.BoardFilters(state="overdue"))
            list(data["items"][:30])

        timed("action board, overdue (counts by team/owner + page)", board)
        matches = pm_search.search(user=user, organization=org, filters=pm_search.LibraryFilters(q="connection pool"))
        self.stdout.write(f"('connection pool' matches {matches.count()} of {n_pm})")
        if explain:
            from django.test.utils import CaptureQueriesContext

            for label, fn in (("board", board), ("search", lambda: matches[0:20])):
                with CaptureQueriesContext(connection) as ctx:
                    start = time.perf_counter()
                    fn()
                    total = time.perf_counter() - start
                self.stdout.write(f"{label}: {len(ctx)} queries, {total * 1000:.0f} ms")
                for q in ctx.captured_queries:
                    self.stdout.write(f"  {q['time']}s  {q['sql'][:300]}")
            self.stdout.write(matches.matching[:20].explain(analyze=True))
            data = selectors.action_board(user=user, organization=org, filters=selectors.BoardFilters(state="overdue"))
            self.stdout.write(data["items"][:30].explain(analyze=True))
