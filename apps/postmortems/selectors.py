"""Reads: incidents, postmortem pages and queues, the action-item board, the learning numbers
used for scoring, and what the notification digests need. Lists are scoped by
apps.core.permissions and their query counts do not grow with rows (or with teams).
The library's full-text search is in search.py, chart configs in charts.py, the team page
panel in panels.py, the Markdown export in exports.py."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, F, Prefetch, Q, QuerySet, Value
from django.utils import timezone

from apps.core import permissions

from .models import (
    ActionItem,
    ContributingFactor,
    ContributingFactorCategory,
    Incident,
    Postmortem,
    PostmortemReview,
    Tag,
)

# The one window of the learning figures (SEV1-2 with a published postmortem, days to publish,
# action items closed on time): the team page panel and the scores use the same days.
LEARNING_WINDOW_DAYS = 90


def learning_window(as_of: dt.date | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[since, until) of the learning figures as of the end of a day (today by default, UTC)."""
    as_of = as_of or timezone.localdate()
    until = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    return until - dt.timedelta(days=LEARNING_WINDOW_DAYS), until


def visible_in_org(user, organization, qs: QuerySet) -> QuerySet:
    """`qs` (rows of `organization`) narrowed to what the user may read, without DISTINCT:
    admins and leaders read every row of their org; others go through a primary-key subquery."""
    if permissions.sees_whole_org(user, organization):
        return qs
    return qs.model.objects.filter(pk__in=permissions.viewable(user, qs).values("pk"))


# --- incidents ------------------------------------------------------------------------


def incident_list(*, user, organization, team=None, severity=None, status=None, service=None) -> QuerySet:
    qs = (
        permissions.viewable(user, Incident.objects.filter(organization=organization))
        .select_related("team", "postmortem")
        .prefetch_related("services")
    )
    if team:
        qs = qs.filter(team=team)
    if severity:
        qs = qs.filter(severity=severity)
    if status:
        qs = qs.filter(status=status)
    if service:
        qs = qs.filter(services=service)
    return qs.order_by(F("started_at").desc(nulls_last=True), "-pk")


def incident_detail(*, user, pk: int, change: bool = False) -> Incident:
    qs = Incident.objects.select_related("team", "organization", "created_by").prefetch_related("services")
    return permissions.get_for_user(user, qs, change=change, pk=pk)


def postmortem_of(*, user, incident: Incident) -> Postmortem | None:
    """The incident's postmortem if this user may read it."""
    return permissions.viewable(user, Postmortem.objects.filter(incident=incident)).first()


def incidents_by_month(*, user, organization, months: int = 6) -> dict:
    """Incidents the user may read per calendar month (local time) of the last `months` months,
    by severity: {"labels": ["Jan 2026", ...], "counts": {severity: [count per month]}}."""
    today = timezone.localdate()
    first = (today.replace(day=1) - dt.timedelta(days=31 * (months - 1))).replace(day=1)
    labels, keys = [], []
    cursor = first
    while cursor <= today:
        labels.append(cursor.strftime("%b %Y"))
        keys.append((cursor.year, cursor.month))
        cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
    counts = defaultdict(int)
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    rows = permissions.viewable(user, Incident.objects.filter(organization=organization, started_at__gte=start))
    for started_at, severity in rows.values_list("started_at", "severity"):
        local = timezone.localtime(started_at)
        counts[(local.year, local.month, severity)] += 1
    return {
        "labels": labels,
        "counts": {sev: [counts[(y, m, sev)] for (y, m) in keys] for sev in Incident.Severity.values},
    }


# --- postmortems ------------------------------------------------------------------------


def postmortem_detail(*, user, pk: int, change: bool = False) -> Postmortem:
    qs = Postmortem.objects.select_related("team", "organization", "incident__team", "template").prefetch_related(
        "incident__services",
        "tags",
        "authors",
        "timeline",
        "links",
        Prefetch("factors", queryset=ContributingFactor.objects.select_related("category")),
        Prefetch("reviews", queryset=PostmortemReview.objects.select_related("reviewer")),
        Prefetch("action_items", queryset=ActionItem.objects.select_related("owner", "team")),
        "events__actor",
    )
    return permissions.get_for_user(user, qs, change=change, pk=pk)


# The incident's own times open the timeline, read from the incident (never copied, so
# they stay right when the incident is corrected).
INCIDENT_MILESTONES = (
    ("started_at", "Incident started: users affected"),
    ("detected_at", "Detected"),
    ("mitigated_at", "Mitigated"),
    ("resolved_at", "Resolved"),
)


@dataclass(frozen=True)
class TimelineRow:
    at: dt.datetime
    description: str
    from_incident: bool


def timeline(postmortem: Postmortem) -> list[TimelineRow]:
    """The incident's times (started, detected, mitigated, resolved) and the written entries,
    in time order; at the same time the incident's comes first."""
    incident = postmortem.incident
    rows = [
        TimelineRow(at=getattr(incident, name), description=label, from_incident=True)
        for name, label in INCIDENT_MILESTONES
        if getattr(incident, name)
    ]
    rows += [TimelineRow(at=e.at, description=e.description, from_incident=False) for e in postmortem.timeline.all()]
    return sorted(rows, key=lambda row: (row.at, not row.from_incident))


def review_of(postmortem: Postmortem, user) -> PostmortemReview | None:
    return next((r for r in postmortem.reviews.all() if r.reviewer_id == getattr(user, "pk", None)), None)


def categories_for(organization) -> QuerySet:
    return ContributingFactorCategory.objects.filter(Q(organization=organization) | Q(organization__isnull=True))


def tags_for(organization) -> QuerySet:
    return Tag.objects.filter(organization=organization).order_by("name")


def slo_impact(incident: Incident) -> list[dict]:
    """The error budget each SLO of the impacted services lost in the incident window.

    [{"slo", "service", "spent" (fraction of the budget, None without data), "window": (start, end)}].
    Empty when the SLO app is not there or the services have no SLOs."""
    try:
        from apps.slos import selectors as slo_selectors
    except ImportError:
        return []
    if not hasattr(slo_selectors, "slo_budget_spent") or not hasattr(slo_selectors, "slos_for_services"):
        return []
    start = incident.started_at
    if start is None:  # no window until the source tells when it started
        return []
    end = incident.window_end or timezone.now()
    if end <= start:
        return []
    service_ids = [s.pk for s in incident.services.all()]
    if not service_ids:
        return []
    rows = []
    for slo in slo_selectors.slos_for_services(service_ids=service_ids):
        spent = slo_selectors.slo_budget_spent(slo=slo, start=start, end=end)
        rows.append({"slo": slo, "service": slo.sli.service, "spent": spent, "window": (start, end)})
    return rows


def related_postmortems(*, user, postmortem: Postmortem, limit: int = 5) -> list[Postmortem]:
    """Published postmortems sharing services, tags or factor categories, most in common first."""
    service_ids = [s.pk for s in postmortem.incident.services.all()]
    tag_ids = [t.pk for t in postmortem.tags.all()]
    category_ids = list({f.category_id for f in postmortem.factors.all()})
    if not (service_ids or tag_ids or category_ids):
        return []
    # An empty `__in` inside an aggregate filter empties the whole query, so only count what is there.
    shared = {
        "shared_services": (service_ids, "incident__services", 3),
        "shared_tags": (tag_ids, "tags", 2),
        "shared_categories": (category_ids, "factors__category", 1),
    }
    annotations = {
        name: Count(path, filter=Q(**{f"{path}__in": ids}), distinct=True)
        for name, (ids, path, _w) in shared.items()
        if ids
    }
    score = sum((F(name) * shared[name][2] for name in annotations), Value(0))
    qs = (
        visible_in_org(
            user,
            postmortem.organization_id,
            Postmortem.objects.filter(organization_id=postmortem.organization_id, status="published"),
        )
        .exclude(pk=postmortem.pk)
        .annotate(**annotations)
        .annotate(score=score)
        .filter(score__gt=0)
        .select_related("team", "incident")
        .order_by("-score", F("incident__started_at").desc(nulls_last=True))
    )
    return list(qs[:limit])


def facet_choices(*, user, organization) -> dict:
    """Choices for the library's filters."""
    from apps.teams.models import Service, Team

    return {
        "teams": permissions.viewable(user, Team.objects.filter(organization=organization)).order_by("name"),
        "services": permissions.viewable(user, Service.objects.filter(organization=organization)).order_by("name"),
        "tags": tags_for(organization),
        "categories": categories_for(organization),
        "severities": Incident.Severity.choices,
    }


def overdue_postmortems(*, user, organization) -> QuerySet:
    """Unpublished postmortems past their publish-by date."""
    return (
        permissions.viewable(user, Postmortem.objects.filter(organization=organization))
        .exclude(status=Postmortem.Status.PUBLISHED)
        .filter(publish_due_on__lt=timezone.localdate())
        .select_related("team", "incident")
        .order_by("publish_due_on")
    )


def incidents_needing_postmortem(*, user, organization) -> QuerySet:
    """Resolved SEV1-2 incidents without a postmortem yet."""
    return (
        permissions.viewable(user, Incident.objects.filter(organization=organization))
        .filter(severity__lte=2, postmortem__isnull=True)
        .select_related("team")
        .order_by(F("started_at").desc(nulls_last=True))
    )


def my_queue(*, user, organization) -> dict:
    """What waits for this user: reviews requested of them, their team's drafts."""
    reviews = (
        Postmortem.objects.filter(
            organization=organization,
            status=Postmortem.Status.IN_REVIEW,
            reviews__reviewer=user,
            reviews__decision=PostmortemReview.Decision.PENDING,
        )
        .select_related("team", "incident")
        .order_by("submitted_at")
    )
    drafts = (
        Postmortem.objects.filter(organization=organization, team__in=permissions.team_ids(user))
        .exclude(status=Postmortem.Status.PUBLISHED)
        .select_related("team", "incident")
        .order_by("publish_due_on", "-pk")
    )
    return {"reviews": list(reviews), "drafts": list(drafts)}


# --- action items ------------------------------------------------------------------------


@dataclass
class BoardFilters:
    team: int | None = None
    owner: int | None = None
    state: str = "open"  # open | overdue | closed | all
    kind: str = ""
    priority: int | None = None


def action_board(*, user, organization, filters: BoardFilters) -> dict:
    """The org's action items with counts of open and overdue ones by team and by owner."""
    today = timezone.localdate()
    # A subquery, not the scoped queryset itself: its reviewer/member joins would multiply the counts.
    base = visible_in_org(user, organization, ActionItem.objects.filter(organization=organization))
    if filters.team:
        base = base.filter(team_id=filters.team)
    if filters.owner:
        base = base.filter(owner_id=filters.owner)
    if filters.kind:
        base = base.filter(kind=filters.kind)
    if filters.priority:
        base = base.filter(priority=filters.priority)
    open_q = ~Q(status__in=ActionItem.CLOSED)
    overdue_q = open_q & Q(due_date__lt=today)
    items = base
    if filters.state == "open":
        items = items.filter(open_q)
    elif filters.state == "overdue":
        items = items.filter(overdue_q)
    elif filters.state == "closed":
        items = items.filter(status__in=ActionItem.CLOSED)
    items = items.select_related("team", "owner", "postmortem__incident").order_by(
        F("due_date").asc(nulls_last=True), "priority", "pk"
    )
    by_team = list(
        base.values("team_id", "team__name")
        .annotate(open=Count("pk", filter=open_q), overdue=Count("pk", filter=overdue_q))
        .filter(open__gt=0)
        .order_by("-overdue", "-open", "team__name")
    )
    by_owner = list(
        base.values("owner_id", "owner__name", "owner__email")
        .annotate(open=Count("pk", filter=open_q), overdue=Count("pk", filter=overdue_q))
        .filter(open__gt=0)
        .order_by("-overdue", "-open", "owner__name")
    )
    totals = base.aggregate(open=Count("pk", filter=open_q), overdue=Count("pk", filter=overdue_q))
    return {"items": items, "by_team": by_team, "by_owner": by_owner, "totals": totals}


# --- learning numbers for scoring --------------------------------------------------------


def _as_datetime(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    return timezone.make_aware(dt.datetime.combine(value, dt.time.min))


def team_learning(*, team_ids, since, until) -> dict[int, dict]:
    """The learning pillar's inputs per team over [since, until) (datetimes or dates).

    - sev12_incidents: SEV1-2 incidents of the team that started in the window.
    - sev12_with_published_pm: those whose postmortem is published.
    - published_share: the second over the first (None without SEV1-2 incidents).
    - median_days_to_publish: median of (published - resolved) in days over those published
      postmortems (from the start when the incident has no resolution time; never below 0).
    - action_items_due: the team's action items due in the window that are due by now
      (due date passed, or done), "won't do" left out.
    - action_items_closed_on_time: those done on or before their due date.
    - closed_on_time_share: the second over the first (None when nothing was due).

    Two queries, whatever the number of teams.
    """
    team_ids = list(team_ids)
    since, until = _as_datetime(since), _as_datetime(until)
    out = {
        tid: {
            "sev12_incidents": 0,
            "sev12_with_published_pm": 0,
            "published_share": None,
            "median_days_to_publish": None,
            "action_items_due": 0,
            "action_items_closed_on_time": 0,
            "closed_on_time_share": None,
        }
        for tid in team_ids
    }
    if not team_ids:
        return out
    days: dict[int, list[float]] = defaultdict(list)
    incidents = Incident.objects.filter(
        team_id__in=team_ids, severity__lte=2, started_at__gte=since, started_at__lt=until
    ).values_list("team_id", "started_at", "resolved_at", "postmortem__status", "postmortem__published_at")
    for team_id, started_at, resolved_at, pm_status, published_at in incidents:
        row = out[team_id]
        row["sev12_incidents"] += 1
        if pm_status == Postmortem.Status.PUBLISHED and published_at is not None:
            row["sev12_with_published_pm"] += 1
            days[team_id].append(max(0.0, (published_at - (resolved_at or started_at)).total_seconds() / 86400))
    today = timezone.localdate()
    done = ActionItem.Status.DONE
    items = (
        ActionItem.objects.filter(
            team_id__in=team_ids,
            due_date__gte=timezone.localdate(since),
            due_date__lt=timezone.localdate(until),
        )
        .exclude(status=ActionItem.Status.WONT_DO)
        .filter(Q(due_date__lt=today) | Q(status=done))
        .values("team_id")
        .annotate(
            due=Count("pk"),
            on_time=Count("pk", filter=Q(status=done, closed_at__isnull=False, closed_at__date__lte=F("due_date"))),
        )
    )
    for row in items:
        out[row["team_id"]]["action_items_due"] = row["due"]
        out[row["team_id"]]["action_items_closed_on_time"] = row["on_time"]
    for tid, row in out.items():
        if row["sev12_incidents"]:
            row["published_share"] = row["sev12_with_published_pm"] / row["sev12_incidents"]
        if days[tid]:
            row["median_days_to_publish"] = round(statistics.median(days[tid]), 2)
        if row["action_items_due"]:
            row["closed_on_time_share"] = row["action_items_closed_on_time"] / row["action_items_due"]
    return out


# --- for notifications (whole teams and organizations, no user: the digest job) -----------


def action_items_due(*, team_ids, until: dt.date) -> dict[int, list[ActionItem]]:
    """{team id: its open action items due on or before `until`, overdue ones included}, one query."""
    items = (
        ActionItem.objects.filter(team_id__in=list(team_ids), due_date__lte=until)
        .exclude(status__in=ActionItem.CLOSED)
        .order_by("due_date", "priority", "pk")
        .only("pk", "team_id", "title", "due_date", "status", "priority")
    )
    by_team: dict[int, list[ActionItem]] = defaultdict(list)
    for item in items:
        by_team[item.team_id].append(item)
    return dict(by_team)


def overdue_postmortems_in(*, organization_ids, on: dt.date) -> QuerySet:
    """Unpublished postmortems of these organizations whose publish-by date is before `on`."""
    return (
        Postmortem.objects.filter(organization_id__in=list(organization_ids), publish_due_on__lt=on)
        .exclude(status=Postmortem.Status.PUBLISHED)
        .select_related("team", "incident")
        .order_by("publish_due_on", "pk")
    )
