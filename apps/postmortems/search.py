"""The postmortem library's search: filters, PostgreSQL full-text ranking and highlighting (icontains
with a simple score elsewhere), and the weighted document each postmortem is indexed with. Reads only;
services store the document (`services.postmortem_reindex`)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F, Q, QuerySet, TextField, Value
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .markdown import plain
from .models import MARKDOWN_FIELDS, Incident, Postmortem
from .selectors import visible_in_org


def _started_ts(incident: Incident) -> float:
    """For sorting: an incident whose start is not known yet sorts as the oldest."""
    return incident.started_at.timestamp() if incident.started_at else float("-inf")


@dataclass
class LibraryFilters:
    q: str = ""
    team: int | None = None
    service: int | None = None
    severity: int | None = None
    tag: str = ""
    category: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    status: str = Postmortem.Status.PUBLISHED  # "" means every status the user may read

    def active(self) -> bool:
        return any([self.q, self.team, self.service, self.severity, self.tag, self.category, self.since, self.until])


@dataclass
class SearchResult:
    postmortem: Postmortem
    rank: float = 0.0
    title_html: SafeString = field(default_factory=lambda: mark_safe(""))  # a constant string # nosec B308
    snippet_html: SafeString = field(default_factory=lambda: mark_safe(""))  # a constant string # nosec B308


START, STOP = "\u27e6", "\u27e7"  # ⟦ ⟧: markers no author types, turned into <mark> after escaping


def _marks_to_html(text: str) -> SafeString:
    return mark_safe(escape(text).replace(START, "<mark>").replace(STOP, "</mark>"))  # noqa: S308 - escaped first # nosec B308, B703


def library(*, user, organization, filters: LibraryFilters) -> QuerySet:
    """Postmortems matching the filters (not the text query), readable by the user.

    Scoping and the many-valued filters are subqueries on the primary key, so the result
    needs no DISTINCT (which would make PostgreSQL compute ranks and headlines for every row)."""
    qs = visible_in_org(user, organization, Postmortem.objects.filter(organization=organization))
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.team:
        qs = qs.filter(team_id=filters.team)
    if filters.severity:
        qs = qs.filter(incident__severity=filters.severity)
    if filters.since:
        qs = qs.filter(incident__started_at__date__gte=filters.since)
    if filters.until:
        qs = qs.filter(incident__started_at__date__lte=filters.until)
    many = {
        "incident__services": filters.service,
        "tags__name": filters.tag,
        "factors__category_id": filters.category,
    }
    for lookup, value in many.items():
        if value:
            qs = qs.filter(pk__in=Postmortem.objects.filter(**{lookup: value}).values("pk"))
    return qs.select_related("team", "incident").prefetch_related("tags", "incident__services")


class SearchResults:
    """The ranked results of a search, sliced lazily: Paginator counts them, and only the
    page asked for is fetched and highlighted (SearchHeadline is the expensive part)."""

    def __init__(self, qs, q: str):
        self.q = q.strip()
        self.terms = [t for t in re.split(r"\s+", self.q) if t][:8]
        self.postgres = connection.vendor == "postgresql"
        self._fallback: list[SearchResult] | None = None
        if not self.q:
            self.matching = qs.order_by(F("incident__started_at").desc(nulls_last=True), "-pk")
        elif self.postgres:
            from django.contrib.postgres.search import SearchQuery, SearchRank

            self.query = SearchQuery(self.q, search_type="websearch", config="english")
            self.matching = (
                qs.filter(search_vector=self.query)
                .annotate(rank=SearchRank(F("search_vector"), self.query))
                .order_by("-rank", F("incident__started_at").desc(nulls_last=True), "-pk")
            )
        else:
            self.matching = qs

    def count(self) -> int:
        if self.q and not self.postgres:
            return len(self._fallback_results())
        return self.matching.count()

    def __len__(self) -> int:
        return self.count()

    def __iter__(self):
        return iter(self[0 : self.count()])

    def __getitem__(self, item):
        if not isinstance(item, slice):
            return self[item : item + 1][0]
        if self.q and not self.postgres:
            return self._fallback_results()[item]
        rows = list(self.matching[item])
        if not self.q:
            return [SearchResult(postmortem=p, title_html=escape(p.title), snippet_html=_snippet(p, [])) for p in rows]
        return self._highlight(rows)

    def _highlight(self, rows: list[Postmortem]) -> list[SearchResult]:
        from django.contrib.postgres.search import SearchHeadline
        from django.db.models.functions import Concat

        body = Concat(
            "summary",
            Value("\n"),
            "root_causes",
            Value("\n"),
            "impact",
            Value("\n"),
            "resolution",
            Value("\n"),
            "trigger",
            output_field=TextField(),
        )
        headlines = {
            row["pk"]: row
            for row in Postmortem.objects.filter(pk__in=[p.pk for p in rows])
            .annotate(
                title_hl=SearchHeadline(
                    "title", self.query, config="english", start_sel=START, stop_sel=STOP, highlight_all=True
                ),
                body_hl=SearchHeadline(
                    body,
                    self.query,
                    config="english",
                    start_sel=START,
                    stop_sel=STOP,
                    max_words=30,
                    min_words=12,
                    max_fragments=2,
                    fragment_delimiter=" … ",
                ),
            )
            .values("pk", "title_hl", "body_hl")
        }
        return [
            SearchResult(
                postmortem=p,
                rank=round(float(p.rank), 4),
                title_html=_marks_to_html(headlines[p.pk]["title_hl"]),
                snippet_html=_marks_to_html(_strip_markdown(headlines[p.pk]["body_hl"])),
            )
            for p in rows
        ]

    def _fallback_results(self) -> list[SearchResult]:
        if self._fallback is None:
            self._fallback = _search_fallback(self.matching, self.q, None)
        return self._fallback


def search(*, user, organization, filters: LibraryFilters, limit: int | None = None):
    """Full-text search: PostgreSQL ranks with SearchRank over the stored weighted vector and
    highlights the page shown with SearchHeadline; SQLite falls back to icontains with a simple
    score. Returns a lazily sliced `SearchResults` (or a list of the first `limit`)."""
    results = SearchResults(library(user=user, organization=organization, filters=filters), filters.q)
    return results[:limit] if limit else results


def _strip_markdown(text: str) -> str:
    return re.sub(r"[*_`#>\[\]]+", "", text or "")


def _search_fallback(qs, q: str, limit):
    terms = [t for t in re.split(r"\s+", q) if t][:8]
    weights = {**dict.fromkeys(MARKDOWN_FIELDS, 1), "title": 3, "summary": 2, "root_causes": 2}
    cond = Q()
    for term in terms:
        cond &= Q(*(Q(**{f"{name}__icontains": term}) for name in weights), _connector=Q.OR)
    results = []
    for p in qs.filter(cond):
        score = sum(w * getattr(p, n).lower().count(t.lower()) for t in terms for n, w in weights.items())
        results.append(
            SearchResult(
                postmortem=p, rank=float(score), title_html=_highlight(p.title, terms), snippet_html=_snippet(p, terms)
            )
        )
    results.sort(key=lambda r: (-r.rank, -_started_ts(r.postmortem.incident), -r.postmortem.pk))
    return results[:limit] if limit else results


def _highlight(text: str, terms: list[str]) -> SafeString:
    marked = text
    for term in terms:
        marked = re.sub(re.escape(term), lambda m: f"{START}{m.group(0)}{STOP}", marked, flags=re.IGNORECASE)
    return _marks_to_html(marked)


def _snippet(p: Postmortem, terms: list[str], width: int = 220) -> SafeString:
    text = " ".join(plain(getattr(p, n)) for n in ("summary", "root_causes", "impact", "resolution")).strip()
    text = re.sub(r"\s+", " ", text)
    if not terms:
        return escape(text[:width] + ("…" if len(text) > width else ""))
    lower = text.lower()
    hits = [lower.find(t.lower()) for t in terms if lower.find(t.lower()) >= 0]
    start = max(0, min(hits) - 60) if hits else 0
    if start:  # begin at a word
        start = text.find(" ", start) + 1 or start
    piece = ("…" if start else "") + text[start : start + width] + ("…" if start + width < len(text) else "")
    return _highlight(piece, terms)


def search_document(postmortem: Postmortem) -> tuple[str, str, str]:
    """(A, B, C)-weighted text of a postmortem: title; summary, tags, causes; the rest."""
    tags = " ".join(postmortem.tags.values_list("name", flat=True))
    factors = " ".join(
        f"{f.category.name} {plain(f.description)}" for f in postmortem.factors.select_related("category")
    )
    services = " ".join(postmortem.incident.services.values_list("name", flat=True))
    a = postmortem.title
    b = " ".join([plain(postmortem.summary), plain(postmortem.root_causes), tags, factors, services])
    c = " ".join(
        [plain(getattr(postmortem, n)) for n in MARKDOWN_FIELDS if n not in ("summary", "root_causes")]
        + [plain(e.description) for e in postmortem.timeline.all()]
    )
    return a, b, c
