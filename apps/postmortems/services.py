"""Writes to incidents, postmortems and action items: transactional, validated, idempotent."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core import permissions
from apps.core.validation import error_text, foreign_message, require_same_organization

from .models import (
    MARKDOWN_FIELDS,
    TIME_ORDER,
    ActionItem,
    ContributingFactor,
    ContributingFactorCategory,
    Incident,
    Postmortem,
    PostmortemEvent,
    PostmortemReview,
    SupportingLink,
    Tag,
    TimelineEntry,
    clean_tag_names,
)
from .policy import add_business_days, template_for
from .search import search_document

INCIDENT_FIELDS = {"title", "description", "severity", "status", *TIME_ORDER}


# --- incidents ----------------------------------------------------------------


def _check_services(organization, services: Iterable) -> list:
    services = list(services or [])
    foreign = [s for s in services if s.organization_id != organization.pk]
    if foreign:
        raise ValidationError({"services": foreign_message(", ".join(s.name for s in foreign))})
    return services


def _unknown(fields: dict, allowed: set) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"Unknown incident fields: {', '.join(sorted(unknown))}")


@transaction.atomic
def incident_create(
    *,
    actor,
    team,
    title: str,
    started_at,
    severity: int = Incident.Severity.SEV3,
    status: str = Incident.Status.OPEN,
    services: Iterable = (),
    organization=None,
    source: str = Incident.Source.MANUAL,
    **fields,
) -> Incident:
    """An incident reported by a person (web form or API)."""
    _unknown(fields, INCIDENT_FIELDS)
    organization = organization or team.organization
    permissions.require_create(actor, Incident, team=team, message="You may not report incidents for this team.")
    require_same_organization(organization, field="team", obj=team)
    if source not in (Incident.Source.MANUAL, Incident.Source.API):
        raise ValidationError({"source": "People report manual or API incidents; alert sources use their webhooks."})
    incident = Incident(
        organization=organization,
        team=team,
        title=title,
        started_at=started_at,
        severity=severity,
        status=status,
        source=source,
        created_by=permissions.person(actor),
        **fields,
    )
    incident.full_clean()
    incident.save()
    incident.services.set(_check_services(organization, services))
    _after_incident_change(incident)
    return incident


@transaction.atomic
def incident_update(*, actor, incident: Incident, services: Iterable | None = None, **fields) -> Incident:
    """Change an incident's details (a person's edit; times must stay in order). Handing it to
    another team needs the right to report incidents for that team too."""
    _unknown(fields, INCIDENT_FIELDS | {"team"})
    permissions.require_change(actor, incident, "You may not change this incident.")
    new_team = fields.get("team")
    if new_team is not None and new_team.pk != incident.team_id:
        require_same_organization(incident.organization, field="team", obj=new_team)
        permissions.require_move(actor, incident, team=new_team, message="You may not hand this incident to that team.")
    for name, value in fields.items():
        setattr(incident, name, value)
    incident.full_clean()
    incident.save()
    if services is not None:
        incident.services.set(_check_services(incident.organization, services))
    _after_incident_change(incident)
    return incident


def _merge_source_fields(incident: Incident, fields: dict) -> None:
    """Fold one source event into an incident so that the order events arrive in does not matter:
    the start and detection keep the earliest time seen, mitigation and resolution the latest,
    the status never moves backwards; text and severity take the newest event's values."""
    for name in ("started_at", "detected_at"):
        new = fields.get(name)
        current = getattr(incident, name)
        if new is not None and (current is None or new < current):
            setattr(incident, name, new)
    for name in ("mitigated_at", "resolved_at"):
        new = fields.get(name)
        current = getattr(incident, name)
        if new is not None and (current is None or new > current):
            setattr(incident, name, new)
    new_status = fields.get("status")
    if new_status and Incident.STATUS_RANK[new_status] > Incident.STATUS_RANK[incident.status]:
        incident.status = new_status
    for name in ("title", "description"):
        if fields.get(name):
            setattr(incident, name, fields[name])
    if fields.get("severity"):
        incident.severity = fields["severity"]


@transaction.atomic
def incident_upsert_from_source(
    *,
    actor,
    organization,
    team,
    source: str,
    external_id: str,
    services: Iterable | None = None,
    start_unknown: bool = False,
    **fields,
) -> tuple[Incident, bool]:
    """Create or update the incident a source (PagerDuty, Opsgenie, Alertmanager, API) knows as `external_id`.

    Idempotent: the same event twice changes nothing; events may arrive in any order
    (see `_merge_source_fields`). `services` are added to the impacted services.
    `start_unknown=True`: the event does not tell when the incident started (a PagerDuty resolve
    that came before its trigger): a new incident is stored without a start, which a later event
    fills in; never a zero-length incident.
    Returns (incident, created). Raises ValidationError when times are out of order.
    Webhook intake and imports pass `actor=permissions.SYSTEM`; a person needs the right to report
    incidents for the team."""
    _unknown(fields, INCIDENT_FIELDS)
    external_id = (external_id or "").strip()
    if not external_id:
        raise ValidationError({"external_id": "A source incident needs its external id."})
    if source == Incident.Source.MANUAL or source not in Incident.Source.values:
        raise ValidationError({"source": f"Unknown incident source {source!r}."})
    require_same_organization(organization, field="team", obj=team)
    permissions.require_create(actor, Incident, team=team, message="You may not report incidents for this team.")
    services = _check_services(organization, services or [])
    if fields.get("status") and fields["status"] not in Incident.Status.values:
        raise ValidationError({"status": f"Unknown status {fields['status']!r}."})

    key = {"organization": organization, "source": source, "external_id": external_id}
    incident = Incident.objects.select_for_update().filter(**key).first()
    created = incident is None
    if created:
        if fields.get("started_at") is None and not start_unknown:
            raise ValidationError({"started_at": "When did the incident start? This time is required."})
        incident = Incident(team=team, status=Incident.Status.OPEN, title=fields.get("title") or external_id, **key)
    else:
        incident.team = team
    _merge_source_fields(incident, fields)
    # Times imply a status: a source that sends a resolution time has resolved the incident.
    if incident.resolved_at:
        incident.status = Incident.Status.RESOLVED
    elif incident.status == Incident.Status.RESOLVED:
        incident.resolved_at = max(
            timezone.now(), *(t for t in (incident.started_at, incident.detected_at, incident.mitigated_at) if t)
        )
    if incident.mitigated_at and incident.status == Incident.Status.OPEN:
        incident.status = Incident.Status.MITIGATED
    incident.full_clean()
    if created:
        try:
            with transaction.atomic():
                incident.save()
        except IntegrityError:
            # Another worker created it between our read and write: fold this event into theirs.
            incident = Incident.objects.select_for_update().get(**key)
            _merge_source_fields(incident, fields)
            incident.full_clean()
            incident.save()
            created = False
    else:
        incident.save()
    if services:
        incident.services.add(*services)
    _after_incident_change(incident)
    return incident, created


def _after_incident_change(incident: Incident) -> None:
    """What depends on an incident's times and severity: its postmortem's publish-by date."""
    postmortem = Postmortem.objects.filter(incident=incident).first()
    if postmortem is not None:
        if postmortem.team_id != incident.team_id:  # the incident was handed to another team
            Postmortem.objects.filter(pk=postmortem.pk).update(team=incident.team)
            ActionItem.objects.filter(postmortem=postmortem, team_id=postmortem.team_id).update(team=incident.team)
            postmortem.team = incident.team
        _refresh_due(postmortem, incident=incident)


# --- publish-by policy (the rules themselves are in policy.py) --------------------------


def _refresh_due(postmortem: Postmortem, *, incident: Incident | None = None) -> Postmortem:
    """Recompute the publish-by date: resolution day + the policy's business days."""
    incident = incident or postmortem.incident
    template = template_for(organization=postmortem.organization, severity=incident.severity)
    days = template.publish_within_business_days if template else None
    due = None
    if days is not None and incident.resolved_at is not None:
        due = add_business_days(timezone.localdate(incident.resolved_at), days)
    if due != postmortem.publish_due_on:
        postmortem.publish_due_on = due
        Postmortem.objects.filter(pk=postmortem.pk).update(publish_due_on=due)
    return postmortem


# --- postmortems ------------------------------------------------------------------


def _event(postmortem, actor, kind, comment: str = "") -> PostmortemEvent:
    return PostmortemEvent.objects.create(
        postmortem=postmortem, actor=permissions.person(actor), kind=kind, comment=comment
    )


@transaction.atomic
def postmortem_create(*, actor, incident: Incident, title: str = "") -> tuple[Postmortem, bool]:
    """Start the postmortem of an incident from the template for its severity.
    One per incident: asking again returns the existing one (created False)."""
    permissions.require_create(
        actor, Postmortem, team=incident.team, message="Only the incident's team writes its postmortem."
    )
    Incident.objects.select_for_update().filter(pk=incident.pk).first()
    existing = Postmortem.objects.filter(incident=incident).first()
    if existing is not None:
        return existing, False
    # The template's prompts guide the authors (shown beside each field); the text starts empty.
    template = template_for(organization=incident.organization, severity=incident.severity)
    postmortem = Postmortem.objects.create(
        organization=incident.organization,
        team=incident.team,
        incident=incident,
        template=template,
        title=(title or incident.title)[:300],
    )
    if permissions.person(actor) is not None:
        postmortem.authors.add(actor)
    _event(postmortem, actor, PostmortemEvent.Kind.CREATED)
    _refresh_due(postmortem, incident=incident)
    _reindex(postmortem)
    return postmortem, True


@transaction.atomic
def postmortem_open(*, actor, incident: Incident, title: str = "", **edit) -> Postmortem:
    """Start an incident's postmortem and write its first draft in one step (the API's create).
    Unlike `postmortem_create` a second one for the same incident is an error, not the same row."""
    if Postmortem.objects.filter(incident=incident).exists():
        raise ValidationError({"incident": "This incident already has a postmortem."})
    postmortem, _created = postmortem_create(actor=actor, incident=incident, title=title)
    fields = {**edit, "title": title} if title else edit
    if fields:
        postmortem = postmortem_update(actor=actor, postmortem=postmortem, **fields)
    return postmortem


def _check_tags(names: Iterable[str]) -> list[str]:
    try:
        return clean_tag_names(names)
    except ValidationError as exc:
        raise ValidationError({"tags": exc.messages}) from exc


def _tags_get_or_create(organization, names: list[str]) -> list[Tag]:
    return [Tag.objects.get_or_create(organization=organization, name=name)[0] for name in names]


def _check_people(organization, users: Iterable, field: str) -> list:
    users = list(users)
    outside = [u for u in users if permissions.org_role(u, organization) is None or not u.is_active]
    if outside:
        raise ValidationError({field: f"{', '.join(u.email for u in outside)} is not in this organization."})
    return users


def _categories_for(organization):
    return ContributingFactorCategory.objects.filter(Q(organization=organization) | Q(organization__isnull=True))


@transaction.atomic
def postmortem_update(
    *,
    actor,
    postmortem: Postmortem,
    tags: Iterable[str] | None = None,
    reviewers: Iterable | None = None,
    authors: Iterable | None = None,
    timeline: Iterable[dict] | None = None,
    factors: Iterable[dict] | None = None,
    links: Iterable[dict] | None = None,
    **fields,
) -> Postmortem:
    """Edit a draft. Lists given (timeline, factors, links, tags, reviewers, authors) replace
    the current ones, so sending the same edit twice leaves the same postmortem."""
    permissions.require_change(actor, postmortem, "You may not edit this postmortem.")
    postmortem = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    if postmortem.status != Postmortem.Status.DRAFT:
        raise ValidationError(
            {"status": f"Only drafts can be edited; this postmortem is {postmortem.get_status_display().lower()}."}
        )
    allowed = {"title", "users_affected", *MARKDOWN_FIELDS}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"Unknown postmortem fields: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(postmortem, name, value)
    postmortem.full_clean(exclude=["search_vector"])
    org = postmortem.organization

    # Validate every list before writing any of them: nothing half-written.
    new_timeline = new_factors = new_links = None
    if timeline is not None:
        new_timeline = []
        for i, entry in enumerate(timeline):
            item = TimelineEntry(postmortem=postmortem, at=entry.get("at"), description=entry.get("description", ""))
            _full_clean(item, f"timeline[{i}]", exclude=["postmortem"])
            new_timeline.append(item)
    if factors is not None:
        categories = {c.pk: c for c in _categories_for(org)}
        new_factors = []
        for i, entry in enumerate(factors):
            category = entry.get("category")
            category_id = getattr(category, "pk", category)
            if category_id not in categories:
                raise ValidationError({f"factors[{i}]": "Choose a category from the catalogue."})
            item = ContributingFactor(
                postmortem=postmortem,
                category=categories[category_id],
                description=entry.get("description", ""),
                is_root_cause=bool(entry.get("is_root_cause")),
            )
            _full_clean(item, f"factors[{i}]", exclude=["postmortem", "category"])
            new_factors.append(item)
    if links is not None:
        new_links = []
        for i, entry in enumerate(links):
            item = SupportingLink(postmortem=postmortem, title=entry.get("title", ""), url=entry.get("url", ""))
            _full_clean(item, f"links[{i}]", exclude=["postmortem"])
            if not item.url.lower().startswith(("http://", "https://")):
                raise ValidationError({f"links[{i}]": "Links must be http(s) addresses."})
            new_links.append(item)
    reviewers = _check_people(org, reviewers, "reviewers") if reviewers is not None else None
    authors = _check_people(org, authors, "authors") if authors is not None else None
    tags = _check_tags(tags) if tags is not None else None

    postmortem.save()
    if new_timeline is not None:
        postmortem.timeline.all().delete()
        TimelineEntry.objects.bulk_create(new_timeline)
    if new_factors is not None:
        postmortem.factors.all().delete()
        ContributingFactor.objects.bulk_create(new_factors)
    if new_links is not None:
        postmortem.links.all().delete()
        SupportingLink.objects.bulk_create(new_links)
    if tags is not None:
        postmortem.tags.set(_tags_get_or_create(org, tags))
    if authors is not None:
        postmortem.authors.set(authors)
    if reviewers is not None:
        _set_reviewers(postmortem, reviewers)
    _reindex(postmortem)
    return postmortem


def _full_clean(obj, label: str, exclude: list[str]) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise ValidationError({label: error_text(exc)}) from exc


def _set_reviewers(postmortem: Postmortem, reviewers: list) -> None:
    wanted = {u.pk: u for u in reviewers}
    postmortem.reviews.exclude(reviewer_id__in=wanted).delete()
    have = set(postmortem.reviews.values_list("reviewer_id", flat=True))
    PostmortemReview.objects.bulk_create(
        [PostmortemReview(postmortem=postmortem, reviewer=u) for pk, u in wanted.items() if pk not in have]
    )


REQUIRED_TO_SUBMIT = ("summary", "impact", "root_causes", "resolution")


@transaction.atomic
def postmortem_submit(*, actor, postmortem: Postmortem) -> Postmortem:
    """Draft -> in review. Every named reviewer starts again from "pending"."""
    permissions.require_change(actor, postmortem, "You may not submit this postmortem.")
    postmortem = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    if postmortem.status == Postmortem.Status.IN_REVIEW:
        return postmortem  # a retried submit
    if postmortem.status != Postmortem.Status.DRAFT:
        raise ValidationError({"status": "Only a draft can be submitted for review."})
    errors = {}
    template = postmortem.template
    for name in REQUIRED_TO_SUBMIT:
        value = getattr(postmortem, name).strip()
        if not value or (template and value == getattr(template, name).strip()):  # an untouched prompt
            errors[name] = "Fill this in before asking for review."
    if not postmortem.reviews.exists():
        errors["reviewers"] = "Name at least one reviewer."
    if errors:
        raise ValidationError(errors)
    postmortem.reviews.update(decision=PostmortemReview.Decision.PENDING, decided_at=None)
    postmortem.status = Postmortem.Status.IN_REVIEW
    postmortem.submitted_at = timezone.now()
    postmortem.save(update_fields=["status", "submitted_at", "updated_at"])
    _event(postmortem, actor, PostmortemEvent.Kind.SUBMITTED)
    return postmortem


@transaction.atomic
def postmortem_withdraw(*, actor, postmortem: Postmortem) -> Postmortem:
    """In review -> draft, by the authors' team (to keep editing)."""
    permissions.require_change(actor, postmortem, "You may not withdraw this postmortem.")
    postmortem = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    if postmortem.status == Postmortem.Status.DRAFT:
        return postmortem
    if postmortem.status != Postmortem.Status.IN_REVIEW:
        raise ValidationError({"status": "A published postmortem cannot go back to draft."})
    postmortem.status = Postmortem.Status.DRAFT
    postmortem.save(update_fields=["status", "updated_at"])
    _event(postmortem, actor, PostmortemEvent.Kind.WITHDRAWN)
    return postmortem


@transaction.atomic
def postmortem_review(*, actor, postmortem: Postmortem, decision: str, comment: str = "") -> PostmortemReview:
    """A named reviewer approves or asks for changes (which sends the postmortem back to draft)."""
    postmortem = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    reviewer = permissions.person(actor)
    review = postmortem.reviews.filter(reviewer=reviewer).first() if reviewer is not None else None
    if review is None:
        raise PermissionDenied("Only the named reviewers review this postmortem.")
    if decision not in (PostmortemReview.Decision.APPROVED, PostmortemReview.Decision.CHANGES_REQUESTED):
        raise ValidationError({"decision": "Approve, or ask for changes."})
    comment = (comment or "").strip()
    if decision == review.decision and comment == review.comment:
        return review  # a retried review
    if postmortem.status != Postmortem.Status.IN_REVIEW:
        raise ValidationError({"status": "This postmortem is not in review."})
    if decision == PostmortemReview.Decision.CHANGES_REQUESTED and not comment:
        raise ValidationError({"comment": "Say what should change."})
    review.decision, review.comment, review.decided_at = decision, comment, timezone.now()
    review.save()
    kind = (
        PostmortemEvent.Kind.APPROVED
        if decision == PostmortemReview.Decision.APPROVED
        else PostmortemEvent.Kind.CHANGES_REQUESTED
    )
    _event(postmortem, actor, kind, comment)
    if decision == PostmortemReview.Decision.CHANGES_REQUESTED:
        postmortem.status = Postmortem.Status.DRAFT
        postmortem.save(update_fields=["status", "updated_at"])
    return review


@transaction.atomic
def postmortem_publish(*, actor, postmortem: Postmortem) -> Postmortem:
    """In review -> published, once every named reviewer approved. Then the whole org reads it."""
    permissions.require_change(actor, postmortem, "You may not publish this postmortem.")
    postmortem = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    if postmortem.status == Postmortem.Status.PUBLISHED:
        return postmortem
    if postmortem.status != Postmortem.Status.IN_REVIEW:
        raise ValidationError({"status": "Submit the postmortem for review first."})
    waiting = [r.reviewer.email for r in postmortem.reviews.select_related("reviewer") if r.decision != "approved"]
    if waiting:
        raise ValidationError({"reviewers": f"Waiting for approval from {', '.join(waiting)}."})
    postmortem.status = Postmortem.Status.PUBLISHED
    postmortem.published_at = timezone.now()
    postmortem.save(update_fields=["status", "published_at", "updated_at"])
    _event(postmortem, actor, PostmortemEvent.Kind.PUBLISHED)
    return postmortem


def postmortem_reindex(*, actor, postmortem: Postmortem) -> None:
    """Store the postmortem's weighted full-text document again (every write here does it; this is
    for rebuilds and benchmarks). Whoever may see the postmortem may refresh its index."""
    permissions.require_view(actor, postmortem)
    _reindex(postmortem)


def _reindex(postmortem: Postmortem) -> None:
    """Store the weighted full-text document (PostgreSQL only; SQLite searches with icontains)."""
    if connection.vendor != "postgresql":
        return
    from django.contrib.postgres.search import SearchVector
    from django.db.models import Value

    a, b, c = search_document(postmortem)
    Postmortem.objects.filter(pk=postmortem.pk).update(
        search_vector=SearchVector(Value(a), weight="A", config="english")
        + SearchVector(Value(b), weight="B", config="english")
        + SearchVector(Value(c), weight="C", config="english")
    )


# --- action items -------------------------------------------------------------------

ACTION_FIELDS = {"title", "kind", "priority", "owner", "team", "due_date", "status", "tracker_url"}


def _check_action(item: ActionItem) -> None:
    require_same_organization(item.organization_id, field="team", obj=item.team, label="The owning team")
    if item.owner is not None:
        _check_people(item.organization, [item.owner], "owner")
    item.full_clean()


def _closing(item: ActionItem, previous_status: str | None) -> None:
    was_closed = previous_status in ActionItem.CLOSED
    if item.status in ActionItem.CLOSED and (not was_closed or item.closed_at is None):
        item.closed_at = timezone.now()
    elif item.status not in ActionItem.CLOSED:
        item.closed_at = None


@transaction.atomic
def action_item_create(*, actor, postmortem: Postmortem, title: str, team=None, **fields) -> tuple[ActionItem, bool]:
    """Add an action item to a postmortem (at any stage). The same title on the same
    postmortem is the same item: a retried create returns it (created False)."""
    unknown = set(fields) - ACTION_FIELDS
    if unknown:
        raise TypeError(f"Unknown action item fields: {', '.join(sorted(unknown))}")
    # The owning team first: naming another organization's team is bad input whoever asks.
    require_same_organization(postmortem.organization_id, field="team", obj=team, label="The owning team")
    permissions.require_change(actor, postmortem, "You may not add action items to this postmortem.")
    title = (title or "").strip()
    existing = ActionItem.objects.filter(postmortem=postmortem, title__iexact=title).first() if title else None
    if existing is not None:
        return existing, False
    item = ActionItem(
        organization=postmortem.organization, postmortem=postmortem, team=team or postmortem.team, title=title, **fields
    )
    _closing(item, None)
    _check_action(item)
    item.save()
    return item, True


@transaction.atomic
def action_item_update(*, actor, item: ActionItem, **fields) -> ActionItem:
    unknown = set(fields) - ACTION_FIELDS
    if unknown:
        raise TypeError(f"Unknown action item fields: {', '.join(sorted(unknown))}")
    permissions.require_change(actor, item, "You may not change this action item.")
    item = ActionItem.objects.select_for_update().get(pk=item.pk)
    previous, previous_team_id = item.status, item.team_id
    for name, value in fields.items():
        setattr(item, name, value)
    team_moves = "team" in fields and getattr(fields["team"], "pk", None) != previous_team_id
    if (
        team_moves
        and not permissions.can_create(actor, ActionItem, team=item.team)
        and not permissions.can_change(actor, item.postmortem)
    ):
        raise PermissionDenied("You may not hand this action item to that team.")
    _closing(item, previous)
    _check_action(item)
    item.save()
    return item
