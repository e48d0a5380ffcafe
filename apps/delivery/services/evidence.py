"""Evidence no service claimed: the keys it came under, and its re-attribution once a key is mapped
(or a service's repository URL starts to match it)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core import permissions
from apps.core.validation import require_same_organization
from apps.teams.models import Service

from ..models import Change, Deployment, Integration, RawEvent, ServiceMapping, UnattributedKey
from ..resolver import PATH_KINDS, Resolver, repo_matches, split_key
from ..rollups import utc_day
from ._jobs import _enqueue
from .bookkeeping import _mark_dirty as mark_dirty
from .links import _relink_incidents_after


class UnattributedError(ValidationError):
    """An event's records name no service and no team can be told: kept, not failed."""

    def __init__(self, key: str, reason: str):
        self.key, self.reason = key, reason
        super().__init__(
            {"team": f"Cannot tell which team owns this incident: map {key} to a service (no service: {reason})."}
        )


def _key_rows(integration: Integration, key: str):
    """(commits, deployments, raw events) received under `key`, whatever their service."""
    repository, prefix = split_key(key) if integration.kind in PATH_KINDS else (key, "")
    commits = Change.objects.filter(integration=integration, repository__iexact=repository)
    deployments = Deployment.objects.filter(integration=integration, repository__iexact=repository)
    events = RawEvent.objects.filter(integration=integration, unattributed_key__iexact=repository)
    return commits, deployments, events, prefix


def _recount(row: UnattributedKey) -> UnattributedKey:
    """Count what is still without a service under the key (the integration page shows it)."""
    # The key is spelled as the source sent it, like its rows: exact matches use the partial
    # indexes on unattributed rows (this runs for every delivery that brings more).
    repository = split_key(row.key)[0] if row.integration.kind in PATH_KINDS else row.key
    unattributed = {"integration_id": row.integration_id, "repository": repository, "service__isnull": True}
    row.commits = Change.objects.filter(**unattributed).count()
    row.deployments = Deployment.objects.filter(**unattributed).count()
    events = RawEvent.objects.filter(integration_id=row.integration_id, unattributed_key=row.key)
    row.incidents = events.filter(subject__startswith="incident:").values("subject").distinct().count()
    row.save(update_fields=["commits", "deployments", "incidents", "updated_at"])
    return row


def _seen(integration: Integration, key: str, reason: str) -> UnattributedKey:
    """Record that `integration` sent `key` and no service matched it (why: `reason`)."""
    now = timezone.now()
    key = key.strip()[:300]
    row = UnattributedKey.objects.filter(integration=integration, key__iexact=key).first()
    if row is None:
        try:
            with transaction.atomic():
                row = UnattributedKey.objects.create(
                    organization_id=integration.organization_id,
                    integration=integration,
                    key=key,
                    reason=reason[:300],
                    first_seen_at=now,
                    last_seen_at=now,
                )
        except IntegrityError:  # a parallel worker recorded it first
            row = UnattributedKey.objects.get(integration=integration, key__iexact=key)
    row.reason = reason[:300]
    row.last_seen_at = now
    row.mapped_service = None
    row.save(update_fields=["reason", "last_seen_at", "mapped_service", "updated_at"])
    return _recount(row)


def evidence_reattribute(*, actor, integration: Integration, key: str, service: Service, move: bool = False) -> dict:
    """Give the records received under `key` the service it now names: commits and deployments
    (their teams' rollups marked for recompute, incidents after those deployments relinked), and
    the raw events held for it processed again (their incidents gain the service, and so their
    links). `move=True` also takes rows another service had (a mapping replaced)."""
    permissions.require_change(actor, integration, "You may not change this integration.")
    commits, deployments, events, prefix = _key_rows(integration, key)
    counts = {"commits": 0, "deployments": 0, "events": 0}
    resolver = Resolver(integration.organization, integration)
    dirty: dict[int, date] = {}

    def dirty_from(team_id, moment):
        if team_id and moment:
            day = utc_day(moment)
            dirty[team_id] = min(dirty.get(team_id, day), day)

    candidates = commits if move else commits.filter(service__isnull=True)
    if prefix or resolver.has_path_mappings():
        # A monorepo: each commit goes where its files say (rows without paths only by the repository).
        if not move:
            candidates = commits.filter(Q(service__isnull=True) | ~Q(paths=[]))
        moves: dict[Service, list[int]] = defaultdict(list)
        for change in candidates.only("pk", "repository", "paths", "service_id", "team_id", "committed_at"):
            target = resolver.service_for_commit(change.repository, change.paths)
            if target is not None and target.pk != change.service_id:
                moves[target].append(change.pk)
                dirty_from(change.team_id, change.committed_at)
                dirty_from(target.team_id, change.committed_at)
        for target, pks in moves.items():  # one UPDATE per service, not per commit
            counts["commits"] += Change.objects.filter(pk__in=pks).update(service=target, team_id=target.team_id)
    else:
        rows = candidates.exclude(service=service)
        days = [d for d in rows.values_list("committed_at", flat=True) if d]
        old_teams = set(rows.values_list("team_id", flat=True))
        counts["commits"] = rows.update(service=service, team_id=service.team_id)
        if counts["commits"]:
            for team_id in old_teams | {service.team_id}:
                dirty_from(team_id, min(days))
    if not prefix:
        moved = list((deployments if move else deployments.filter(service__isnull=True)).exclude(service=service))
        Deployment.objects.filter(pk__in=[d.pk for d in moved]).update(service=service, team_id=service.team_id)
        counts["deployments"] = len(moved)
        for deployment in moved:
            dirty_from(deployment.team_id, deployment.finished_at)
            dirty_from(service.team_id, deployment.finished_at)
            deployment.service_id, deployment.team_id = service.pk, service.team_id
            _relink_incidents_after(deployment)
        held = list(events.exclude(status=RawEvent.Status.PENDING).values_list("pk", flat=True))
        RawEvent.objects.filter(pk__in=held).update(status=RawEvent.Status.PENDING, error="")
        for pk in held:
            transaction.on_commit(lambda pk=pk: _enqueue(pk))
        counts["events"] = len(held)
    for team_id, day in dirty.items():
        mark_dirty(team_id, day)
    for row in UnattributedKey.objects.filter(integration=integration, key__iexact=split_key(key)[0]):
        _recount(row)
    return counts


@transaction.atomic
def unattributed_map(*, actor, unattributed: UnattributedKey, service: Service) -> dict:
    """One step: map the key to `service` (a mapping of its integration) and re-attribute its
    whole history. Returns what moved ({"commits", "deployments", "events"})."""
    integration = unattributed.integration
    permissions.require_change(actor, integration, "Only who may change the integration maps its keys.")
    require_same_organization(integration.organization_id, field="service", obj=service, label="The service")
    if integration.team_id and service.team_id != integration.team_id:
        raise ValidationError({"service": f"{service.name} is not a service of {integration.team}."})
    existing = integration.mappings.filter(key__iexact=unattributed.key).first()
    if existing is not None and existing.service_id != service.pk:
        existing.service = service
        existing.save(update_fields=["service", "updated_at"])
    elif existing is None:
        ServiceMapping.objects.create(integration=integration, key=unattributed.key, service=service)
    counts = evidence_reattribute(actor=actor, integration=integration, key=unattributed.key, service=service)
    unattributed.mapped_service = service
    unattributed.mapped_by = permissions.person(actor)
    unattributed.mapped_at = timezone.now()
    unattributed.save(update_fields=["mapped_service", "mapped_by", "mapped_at", "updated_at"])
    return counts


@transaction.atomic
def service_evidence_reattribute(*, actor, service: Service) -> int:
    """A service was added or its repository URL changed: the unattributed keys the fallback
    now matches to it (and to it alone) get their history. Returns how many keys moved."""
    permissions.require_change(actor, service, "You may not change this service.")
    if not service.repository_url:
        return 0
    moved = 0
    resolvers: dict[int, Resolver] = {}  # one per integration: each loads its mappings and services once
    rows = UnattributedKey.objects.filter(organization_id=service.organization_id, mapped_service__isnull=True)
    for row in rows.select_related("integration__organization"):
        integration = row.integration
        if integration.team_id and integration.team_id != service.team_id:
            continue
        if not repo_matches(service.repository_url, split_key(row.key)[0].lower()):
            continue
        resolver = resolvers.setdefault(integration.pk, Resolver(integration.organization, integration))
        if resolver.service(row.key) != service:
            continue
        evidence_reattribute(actor=actor, integration=integration, key=row.key, service=service)
        row.refresh_from_db()
        if row.total == 0:
            row.mapped_service = service
            row.mapped_at = timezone.now()
            row.save(update_fields=["mapped_service", "mapped_at", "updated_at"])
        moved += 1
    return moved
