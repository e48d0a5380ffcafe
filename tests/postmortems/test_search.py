"""Search ranking on a small corpus (PostgreSQL full-text), filters, related postmortems."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from apps.core.permissions import SYSTEM
from apps.postmortems import search as pm_search
from apps.postmortems import selectors, services
from apps.postmortems.models import ContributingFactorCategory, Postmortem
from tests.postmortems.factories import IncidentFactory, make_postmortem

pytestmark = pytest.mark.django_db


def search(user, org, **kw):
    return list(pm_search.search(user=user, organization=org, filters=pm_search.LibraryFilters(**kw)))


@pytest.fixture
def corpus(cast):
    def pm(title, summary, root_causes="", days_ago=10, severity=2, tags=(), status="published", team=None):
        incident = IncidentFactory(
            team=team or cast.team,
            severity=severity,
            started_at=timezone.now() - dt.timedelta(days=days_ago),
            title=title,
        )
        p = make_postmortem(
            cast,
            incident=incident,
            status=status,
            summary=summary,
            root_causes=root_causes or "Unknown yet.",
        )
        if tags:  # published postmortems are read-only in the workflow: tag them directly
            p.tags.set(services._tags_get_or_create(cast.org, tags))
            services.postmortem_reindex(actor=SYSTEM, postmortem=p)
        return p

    return {
        # "pool" in the title (weight A) and the summary.
        "title": pm("Connection pool exhausted", "The database connection pool ran dry.", days_ago=30),
        # "pool" only once, in the narrative (weight C? no: summary is B).
        "summary": pm("Checkout errors", "Errors after the pool of workers was resized.", days_ago=20),
        # "pool" only in a lesser field.
        "cause": pm(
            "Slow search", "Search was slow for an hour.", root_causes="A thread pool was too small.", days_ago=5
        ),
        # No match at all.
        "other": pm("Certificate expired", "TLS handshake failures.", tags=["tls"], days_ago=2),
        # A draft mentioning pool: never in the published library.
        "draft": pm("Pool draft", "pool pool pool", status="draft", days_ago=1),
    }


def test_ranking_puts_title_matches_first(cast, corpus):
    results = search(cast.other_member, cast.org, q="pool")
    titles = [r.postmortem.title for r in results]
    assert titles[0] == "Connection pool exhausted"
    assert set(titles) == {"Connection pool exhausted", "Checkout errors", "Slow search"}
    assert "Pool draft" not in titles
    ranks = [r.rank for r in results]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] > ranks[-1] > 0


def test_postgres_stems_and_highlights(cast, corpus):
    # The suite runs on PostgreSQL (tests/conftest.py insists); this is its full-text search.
    assert connection.vendor == "postgresql"
    results = search(cast.member, cast.org, q="exhausting pools")  # stems: exhaust, pool
    assert [r.postmortem.title for r in results][:1] == ["Connection pool exhausted"]
    top = results[0]
    assert "<mark>pool</mark>" in top.title_html.lower() and "<mark>exhausted</mark>" in top.title_html.lower()
    assert "<mark>" in top.snippet_html
    # websearch syntax: exclusion
    assert "Connection pool exhausted" not in [
        r.postmortem.title for r in search(cast.member, cast.org, q="pool -database")
    ]
    # The stored vector is GIN-indexed.
    with connection.cursor() as cur:
        cur.execute("select indexdef from pg_indexes where indexname = 'pm_search_vector_gin'")
        assert "gin" in cur.fetchone()[0].lower()


def test_results_are_sliced_lazily(cast, corpus):
    results = pm_search.search(user=cast.member, organization=cast.org, filters=pm_search.LibraryFilters(q="pool"))
    assert results.count() == 3 and len(results[1:3]) == 2
    assert results[0].postmortem.title == "Connection pool exhausted"


def test_fallback_search_ranks_by_weighted_hits(cast, corpus):
    qs = pm_search.library(user=cast.member, organization=cast.org, filters=pm_search.LibraryFilters())
    results = pm_search._search_fallback(qs, "pool", None)
    assert [r.postmortem.title for r in results][0] == "Connection pool exhausted"
    assert {r.postmortem.title for r in results} == {"Connection pool exhausted", "Checkout errors", "Slow search"}
    assert "<mark>pool</mark>" in results[0].title_html


def test_filters(cast, corpus):
    assert [r.postmortem.title for r in search(cast.member, cast.org, tag="tls")] == ["Certificate expired"]
    assert search(cast.member, cast.org, severity=1) == []
    since = timezone.localdate() - dt.timedelta(days=6)
    assert {r.postmortem.title for r in search(cast.member, cast.org, since=since)} == {
        "Slow search",
        "Certificate expired",
    }
    assert {r.postmortem.title for r in search(cast.member, cast.org, status="")} >= {"Pool draft"}
    # The draft is the team's: other teams do not find it even asking for every status.
    assert "Pool draft" not in {r.postmortem.title for r in search(cast.other_member, cast.org, status="")}
    assert search(cast.member, cast.org, team=cast.other_team.pk) == []
    assert len(search(cast.member, cast.org, service=cast.service.pk)) == 4


def test_category_filter_and_related(cast, corpus):
    cat = ContributingFactorCategory.objects.get(organization=None, slug="capacity")
    a = make_postmortem(cast, summary="A", status="draft")
    services.postmortem_update(actor=cast.member, postmortem=a, factors=[{"category": cat, "description": "x"}])
    a = Postmortem.objects.get(pk=a.pk)
    related = selectors.related_postmortems(user=cast.member, postmortem=a)
    # Every published one shares the service; none shares the factor category.
    assert {p.title for p in related} == {
        "Connection pool exhausted",
        "Checkout errors",
        "Slow search",
        "Certificate expired",
    }
    assert a not in related
    services.postmortem_update(actor=cast.member, postmortem=a, reviewers=[cast.lead])
    services.postmortem_submit(actor=cast.member, postmortem=a)
    services.postmortem_review(actor=cast.lead, postmortem=a, decision="approved")
    services.postmortem_publish(actor=cast.member, postmortem=a)
    assert [r.postmortem.pk for r in search(cast.member, cast.org, category=cat.pk)] == [a.pk]
    # The one sharing tags and the service ranks above those sharing only the service.
    other = corpus["other"]
    a.tags.set(other.tags.all())
    assert selectors.related_postmortems(user=cast.member, postmortem=a)[0].pk == other.pk
