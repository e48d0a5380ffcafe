"""Writes of the delivery app: integrations, intake, normalization, links and rollups.

Every function is transactional and idempotent: a retried webhook, task or
import changes nothing the first run did not.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Least
from django.utils import timezone

from apps.core import permissions
from apps.core.validation import error_text
from apps.teams.models import Service, Team

from . import intake, normalizers
from . import secrets as secret_store
from .models import (
    Change,
    Deployment,
    DirtyDay,
    IncidentDeploymentLink,
    Integration,
    RawEvent,
    ServiceMapping,
    UnattributedKey,
)
from .rollups import utc_day

logger = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=2)


# --- integrations ---------------------------------------------------------------


def _clean_environments(environments) -> list[str]:
    if isinstance(environments, str):
        environments = environments.split(",")
    cleaned = []
    for env in environments or []:
        env = str(env).strip()
        if env and env.lower() not in (e.lower() for e in cleaned):
            if len(env) > 100:
                raise ValidationError({"production_environments": "An environment name is at most 100 characters."})
            cleaned.append(env)
    if not cleaned:
        raise ValidationError({"production_environments": "Name at least one production environment."})
    return cleaned


PATTERN_FIELDS = ("deploy_workflow", "deploy_job", "deploy_branch")


def _clean_patterns(patterns: dict) -> dict[str, str]:
    """The deployment patterns given (only PATTERN_FIELDS), stripped and checked to compile."""
    unknown = set(patterns) - set(PATTERN_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown pattern fields: {', '.join(sorted(unknown))}.")
    cleaned, errors = {}, {}
    for name, value in patterns.items():
        value = "" if value is None else str(value).strip()
        if len(value) > 300:
            errors[name] = "A pattern is at most 300 characters."
        elif value and (why := normalizers.pattern_error(value)):
            errors[name] = why
        cleaned[name] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


PATTERN_KINDS = (Integration.Kind.GITHUB, Integration.Kind.GITLAB)


def _check_pattern_set(integration: Integration) -> None:
    """The patterns together: only Git sources run CI, and a branch alone selects nothing."""
    if integration.kind not in PATTERN_KINDS and any(getattr(integration, f) for f in PATTERN_FIELDS):
        raise ValidationError({"deploy_workflow": "Deployment patterns apply to GitHub and GitLab integrations only."})
    if integration.deploy_branch and not integration.has_deploy_patterns:
        raise ValidationError(
            {"deploy_branch": "A branch pattern needs a workflow or job pattern too: it only narrows them."}
        )


def _check_secret(secret: str | None) -> str:
    if secret is None or secret == "":
        return secret_store.generate_secret()
    secret = secret.strip()
    if len(secret) < 16 or len(secret) > 200:
        raise ValidationError({"secret": "A secret is 16 to 200 characters (leave it empty to generate one)."})
    return secret


@transaction.atomic
def integration_create(
    *,
    actor,
    organization,
    name: str,
    kind: str,
    team: Team | None = None,
    production_environments=None,
    secret: str | None = None,
    **patterns,
) -> tuple[Integration, str]:
    """Add an integration. Returns (integration, plaintext secret): the only time the secret is shown."""
    if team is not None and team.organization_id != organization.pk:
        raise ValidationError({"team": "The team belongs to another organization."})
    if actor is not None and not permissions.can_create(actor, Integration, organization=organization, team=team):
        raise PermissionDenied("Only an org admin adds org-wide integrations; a team lead adds their team's.")
    if kind not in Integration.Kind.values:
        raise ValidationError({"kind": f"Unknown kind {kind!r}."})
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the integration a name."})
    if Integration.objects.filter(organization=organization, name__iexact=name).exists():
        raise ValidationError({"name": "An integration with this name already exists in the organization."})
    secret = _check_secret(secret)
    patterns = _clean_patterns(patterns)
    integration = Integration(
        organization=organization,
        team=team,
        name=name,
        kind=kind,
        token=secret_store.generate_token(),
        secret_encrypted=secret_store.encrypt(secret),
        secret_rotated_at=timezone.now(),
        production_environments=_clean_environments(
            production_environments if production_environments is not None else ["production", "prod"]
        ),
        created_by=actor,
        **patterns,
    )
    _check_pattern_set(integration)
    integration.full_clean(exclude=["secret_encrypted", "token"])
    integration.save()
    return integration, secret


@transaction.atomic
def integration_update(
    *, actor, integration: Integration, name=None, production_environments=None, is_active=None, team=..., **patterns
):
    """Change what is given (None or left out: unchanged). `patterns`: PATTERN_FIELDS, "" clears one."""
    if actor is not None and not permissions.can_change(actor, integration):
        raise PermissionDenied("You may not change this integration.")
    for field, value in _clean_patterns({k: v for k, v in patterns.items() if v is not None}).items():
        setattr(integration, field, value)
    if name is not None:
        name = name.strip()
        if not name:
            raise ValidationError({"name": "Give the integration a name."})
        clash = Integration.objects.filter(organization=integration.organization_id, name__iexact=name)
        if clash.exclude(pk=integration.pk).exists():
            raise ValidationError({"name": "An integration with this name already exists in the organization."})
        integration.name = name
    if production_environments is not None:
        integration.production_environments = _clean_environments(production_environments)
    if is_active is not None:
        integration.is_active = is_active
    if team is not ...:
        if team is not None and team.organization_id != integration.organization_id:
            raise ValidationError({"team": "The team belongs to another organization."})
        if actor is not None and not permissions.can_create(
            actor, Integration, organization=integration.organization, team=team
        ):
            raise PermissionDenied("You may not move this integration there.")
        integration.team = team
    _check_pattern_set(integration)
    integration.save()
    return integration


@transaction.atomic
def integration_rotate_secret(*, actor, integration: Integration, secret: str | None = None) -> str:
    """Replace the secret (generated unless given). Returns the new plaintext, shown once."""
    if actor is not None and not permissions.can_change(actor, integration):
        raise PermissionDenied("You may not change this integration.")
    secret = _check_secret(secret)
    integration.secret_encrypted = secret_store.encrypt(secret)
    integration.secret_rotated_at = timezone.now()
    integration.save(update_fields=["secret_encrypted", "secret_rotated_at", "updated_at"])
    return secret


@transaction.atomic
def integration_mappings_set(*, actor, integration: Integration, mappings: dict[str, Service]) -> None:
    """Replace the key -> service mappings, and re-attribute the rows already received for those keys."""
    if actor is not None and not permissions.can_change(actor, integration):
        raise PermissionDenied("You may not change this integration.")
    cleaned: dict[str, Service] = {}
    for key, service in mappings.items():
        key = (key or "").strip()
        if not key:
            continue
        if len(key) > 300:
            raise ValidationError({"mappings": f"{key[:40]}…: a key is at most 300 characters."})
        if service.organization_id != integration.organization_id:
            raise ValidationError({"mappings": f"{service.name} belongs to another organization."})
        if integration.team_id and service.team_id != integration.team_id:
            raise ValidationError({"mappings": f"{service.name} is not a service of {integration.team}."})
        cleaned[key] = service
    lowered = [k.lower() for k in cleaned]
    if len(set(lowered)) != len(lowered):
        raise ValidationError({"mappings": "Each key may appear once."})
    integration.mappings.exclude(key__in=list(cleaned)).delete()
    for key, service in cleaned.items():
        ServiceMapping.objects.update_or_create(integration=integration, key=key, defaults={"service": service})
    for key, service in cleaned.items():
        evidence_reattribute(integration=integration, key=key, service=service, move=True)


def _time_field(model) -> str:
    return "committed_at" if model is Change else "finished_at"


# --- unattributed evidence ----------------------------------------------------------


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


def unattributed_recount(*, row: UnattributedKey) -> UnattributedKey:
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


def unattributed_seen(*, integration: Integration, key: str, reason: str) -> UnattributedKey:
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
    return unattributed_recount(row=row)


def evidence_reattribute(*, integration: Integration, key: str, service: Service, move: bool = False) -> dict:
    """Give the records received under `key` the service it now names: commits and deployments
    (their teams' rollups marked for recompute, incidents after those deployments relinked), and
    the raw events held for it processed again (their incidents gain the service, and so their
    links). `move=True` also takes rows another service had (a mapping replaced)."""
    commits, deployments, events, prefix = _key_rows(integration, key)
    counts = {"commits": 0, "deployments": 0, "events": 0}
    resolver = Resolver(integration.organization, integration)
    resolver._load()
    dirty: dict[int, date] = {}

    def dirty_from(team_id, moment):
        if team_id and moment:
            day = utc_day(moment)
            dirty[team_id] = min(dirty.get(team_id, day), day)

    candidates = commits if move else commits.filter(service__isnull=True)
    if prefix or resolver._prefixes:
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
        unattributed_recount(row=row)
    return counts


@transaction.atomic
def unattributed_map(*, actor, unattributed: UnattributedKey, service: Service) -> dict:
    """One step: map the key to `service` (a mapping of its integration) and re-attribute its
    whole history. Returns what moved ({"commits", "deployments", "events"})."""
    integration = unattributed.integration
    if actor is not None and not permissions.can_change(actor, integration):
        raise PermissionDenied("Only who may change the integration maps its keys.")
    if service.organization_id != integration.organization_id:
        raise ValidationError({"service": "The service belongs to another organization."})
    if integration.team_id and service.team_id != integration.team_id:
        raise ValidationError({"service": f"{service.name} is not a service of {integration.team}."})
    existing = integration.mappings.filter(key__iexact=unattributed.key).first()
    if existing is not None and existing.service_id != service.pk:
        existing.service = service
        existing.save(update_fields=["service", "updated_at"])
    elif existing is None:
        ServiceMapping.objects.create(integration=integration, key=unattributed.key, service=service)
    counts = evidence_reattribute(integration=integration, key=unattributed.key, service=service)
    unattributed.mapped_service = service
    unattributed.mapped_by = actor
    unattributed.mapped_at = timezone.now()
    unattributed.save(update_fields=["mapped_service", "mapped_by", "mapped_at", "updated_at"])
    return counts


@transaction.atomic
def service_evidence_reattribute(*, service: Service) -> int:
    """A service was added or its repository URL changed: the unattributed keys the fallback
    now matches to it (and to it alone) get their history. Returns how many keys moved."""
    if not service.repository_url:
        return 0
    moved = 0
    resolvers: dict[int, Resolver] = {}  # one per integration: each loads its mappings and services once
    rows = UnattributedKey.objects.filter(organization_id=service.organization_id, mapped_service__isnull=True)
    for row in rows.select_related("integration__organization"):
        integration = row.integration
        if integration.team_id and integration.team_id != service.team_id:
            continue
        if not _repo_matches(service.repository_url, split_key(row.key)[0].lower()):
            continue
        resolver = resolvers.setdefault(integration.pk, Resolver(integration.organization, integration))
        if resolver.service(row.key) != service:
            continue
        evidence_reattribute(integration=integration, key=row.key, service=service)
        row.refresh_from_db()
        if row.total == 0:
            row.mapped_service = service
            row.mapped_at = timezone.now()
            row.save(update_fields=["mapped_service", "mapped_at", "updated_at"])
        moved += 1
    return moved


# --- intake -----------------------------------------------------------------------


def raw_event_receive(*, token: str, headers, body: bytes, enqueue: bool = True) -> tuple[RawEvent, bool]:
    """Verify and store one delivery. Returns (raw event, created); raises intake.IntakeError.

    Nothing is written unless the proof checks out on the exact bytes received. The stored
    event is queued for a worker; `enqueue=False` leaves it to the caller to process (the
    demo loader, which runs with no worker)."""
    source = _source_for(token)
    if source is None:
        raise intake.IntakeError(404, "No such intake URL.")
    if len(body) > intake.MAX_BODY_BYTES:
        raise intake.IntakeError(413, "The body is larger than 1 MiB.")
    if not intake.verify(source.kind, source.secret, headers, body):
        # The secret may have been rotated since this process cached it: check once more, fresh.
        source = _source_for(token, fresh=True)
        if source is None or not intake.verify(source.kind, source.secret, headers, body):
            raise intake.IntakeError(401, "Bad or missing signature.")
    integration = source
    payload = intake.parse_body(integration.kind, headers, body)
    if not isinstance(payload, dict | list):
        raise intake.IntakeError(400, "The body is not a JSON object.")
    delivery = intake.identify(integration.kind, headers, body, payload)
    event = RawEvent(
        integration_id=integration.pk,
        organization_id=integration.organization_id,
        delivery_id=delivery.delivery_id,
        body_sha256=hashlib.sha256(body).hexdigest(),
        event_type=delivery.event_type,
        payload=payload,
        headers=intake.kept_headers(headers),
        received_at=timezone.now(),
    )
    event.pk = _insert_once(event)
    if event.pk is None:
        existing = (
            RawEvent.objects.filter(integration_id=integration.pk)
            .filter(Q(delivery_id=delivery.delivery_id) | Q(body_sha256=event.body_sha256))
            .order_by("pk")
            .first()
        )
        if existing is None:  # pragma: no cover - the conflicting row vanished (deleted integration)
            raise intake.IntakeError(409, "The delivery conflicts with one being deleted.")
        return existing, False
    now = timezone.now()
    if integration.last_delivery_at is None or now - integration.last_delivery_at > timedelta(minutes=1):
        integration.last_delivery_at = now
        Integration.objects.filter(pk=integration.pk).update(last_delivery_at=now)
    if enqueue:
        transaction.on_commit(lambda: _enqueue(event.pk))
    return event, True


@dataclass
class _Source:
    """What intake needs of an integration, cached per process for a few seconds."""

    pk: int
    kind: str
    organization_id: int
    secret: str
    last_delivery_at: datetime | None
    loaded: float


_SOURCES: dict[str, _Source] = {}
SOURCE_CACHE_SECONDS = 5.0


def _source_for(token: str, *, fresh: bool = False) -> _Source | None:
    """The active integration behind an intake token (None when unknown or paused).

    Cached for SOURCE_CACHE_SECONDS per process so a burst of deliveries does not read the row
    and decrypt the secret every time; saving an integration drops its entry in this process,
    and a failed signature check reloads once (a secret rotated in another process)."""
    if not token:
        return None
    cached = _SOURCES.get(token)
    if cached is not None and not fresh and time.monotonic() - cached.loaded < SOURCE_CACHE_SECONDS:
        return cached
    row = (
        Integration.objects.filter(token=token, is_active=True)
        .order_by()
        .values_list("pk", "kind", "organization_id", "secret_encrypted", "last_delivery_at")
        .first()
    )
    if row is None:
        _SOURCES.pop(token, None)
        return None
    pk, kind, organization_id, encrypted, last_delivery_at = row
    try:
        secret = secret_store.decrypt(encrypted)
    except ValueError:
        logger.error("delivery: secret of integration %s cannot be decrypted", pk)
        return None
    source = _Source(pk, kind, organization_id, secret, last_delivery_at, time.monotonic())
    _SOURCES[token] = source
    return source


def forget_source(token: str) -> None:
    _SOURCES.pop(token, None)


_INSERT_FIELDS = (
    "integration",
    "organization",
    "delivery_id",
    "body_sha256",
    "event_type",
    "payload",
    "headers",
    "received_at",
    "status",
    "subject",
    "attempts",
    "error",
    "note",
    "unattributed_key",
)


def _insert_once(event: RawEvent) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: one round trip, None for a redelivery
    (the same delivery id, or the same body under another id: no conflict target, so both
    unique constraints count).

    (PostgreSQL and SQLite >= 3.35 both speak this; no savepoint needed.)"""
    meta = RawEvent._meta
    fields = [meta.get_field(name) for name in _INSERT_FIELDS]
    qn = connection.ops.quote_name
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
    # Only quoted identifiers from the model's own metadata are interpolated; values are parameters.
    table, columns = qn(meta.db_table), ", ".join(qn(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING RETURNING {qn('id')}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    return row[0] if row else None


def _enqueue(raw_event_id: int) -> None:
    from .tasks import process_raw_event

    try:
        process_raw_event.delay(raw_event_id)
    except Exception:  # the broker is away: the event is stored, the sweeper will queue it
        logger.warning("delivery: could not queue raw event %s; the sweeper will retry", raw_event_id, exc_info=True)


def raw_events_requeue_stale(*, older_than: timedelta = STALE_AFTER, limit: int = 5000) -> int:
    """Queue again the raw events still pending after `older_than` (a lost task or broker)."""
    cutoff = timezone.now() - older_than
    ids = list(
        RawEvent.objects.filter(status=RawEvent.Status.PENDING, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        _enqueue(pk)
    return len(ids)


@transaction.atomic
def raw_events_retry(*, raw_event_ids) -> int:
    """Put failed (or ignored) events back to pending and queue them (admin action)."""
    ids = list(
        RawEvent.objects.filter(pk__in=list(raw_event_ids))
        .exclude(status=RawEvent.Status.PENDING)
        .values_list("pk", flat=True)
    )
    RawEvent.objects.filter(pk__in=ids).update(status=RawEvent.Status.PENDING, error="", note="")
    for pk in ids:
        transaction.on_commit(lambda pk=pk: _enqueue(pk))
    return len(ids)


def raw_event_process(*, raw_event_id: int) -> str | None:
    """Normalize one raw event. Returns its final status (None when it no longer exists).

    Bad payloads are recorded on the event (status failed, the error kept for the admin);
    transient database errors propagate so the task retries."""
    with transaction.atomic():
        event = (
            RawEvent.objects.select_for_update(of=("self",))
            .select_related("integration__organization", "integration__team")
            .filter(pk=raw_event_id)
            .first()
        )
        if event is None or event.status != RawEvent.Status.PENDING:
            return event.status if event else None
        event.attempts += 1
        held_for = event.unattributed_key
        unattributed: dict[str, str] = {}
        try:
            with transaction.atomic():
                parsed = normalizers.parse(event.integration.kind, event.event_type, event.payload, event.integration)
                event.subject = parsed.subject[:250]
                event.occurred_at = parsed.occurred_at
                if parsed.ignored:
                    event.status = RawEvent.Status.IGNORED
                    event.note = parsed.ignored[:300]
                else:
                    result = apply_parsed(integration=event.integration, parsed=parsed)
                    ignored = result.get("ignored") or []
                    if ignored and len(ignored) == len(parsed.incidents) and not (parsed.changes or parsed.deployments):
                        # Only updates of incidents not known here: nothing to change, say why.
                        event.status = RawEvent.Status.IGNORED
                        event.note = "; ".join(ignored)[:300]
                    else:
                        event.status = RawEvent.Status.PROCESSED
                        unmatched = "; ".join(f"{k}: {why}" for k, why in result["unattributed"].items())
                        event.note = (_summary(parsed) + (f" · no service for {unmatched}" if unmatched else ""))[:300]
                        unattributed = result["unattributed"]
                event.error = ""
        except UnattributedError as exc:
            # Nothing could be placed (no service, no team): keep the event until the key is mapped.
            event.status = RawEvent.Status.UNATTRIBUTED
            event.note = f"no service for {exc.key}: {exc.reason}; kept until it is mapped"[:300]
            event.error = ""
            unattributed = {exc.key: exc.reason}
        except (normalizers.PayloadError, ValidationError) as exc:
            event.status = RawEvent.Status.FAILED
            event.error = error_text(exc)
        except Exception as exc:
            from apps.core.tasks import TRANSIENT_ERRORS

            if isinstance(exc, TRANSIENT_ERRORS):
                raise
            logger.exception("delivery: raw event %s failed", raw_event_id)
            event.status = RawEvent.Status.FAILED
            event.error = f"{type(exc).__name__}: {exc}"[:4000]
        event.processed_at = timezone.now()
        event.unattributed_key = next(iter(unattributed), "")[:300]
        event.save(
            update_fields=[
                "status",
                "subject",
                "occurred_at",
                "attempts",
                "error",
                "note",
                "unattributed_key",
                "processed_at",
            ]
        )
        for key, reason in unattributed.items():
            unattributed_seen(integration=event.integration, key=key, reason=reason)
        if held_for and held_for.lower() not in {k.lower() for k in unattributed}:
            # Processed again after a mapping: the key's counts drop.
            for row in UnattributedKey.objects.filter(integration=event.integration, key__iexact=held_for):
                unattributed_recount(row=row)
        return event.status


def _summary(parsed) -> str:
    parts = []
    for name, label in (("changes", "commit"), ("deployments", "deployment"), ("incidents", "incident")):
        count = len(getattr(parsed, name))
        if count:
            parts.append(f"{count} {label}{'' if count == 1 else 's'}")
    return ", ".join(parts)[:300]


# --- normalized rows ------------------------------------------------------------


# Integrations whose keys are repositories, so a mapping may name a path prefix.
PATH_KINDS = (Integration.Kind.GITHUB, Integration.Kind.GITLAB, Integration.Kind.GENERIC)


def split_key(key: str) -> tuple[str, str]:
    """ "acme/shop:services/cart/" -> ("acme/shop", "services/cart/"); a plain key has no prefix.

    (Repository paths never hold a colon.)"""
    repository, _, prefix = (key or "").strip().partition(":")
    return repository.strip(), prefix.strip().lstrip("/")


class Resolver:
    """Finds the service (and so the team) a source's key names, inside one organization."""

    def __init__(self, organization, integration: Integration | None = None):
        self.organization = organization
        self.integration = integration
        self._mappings = None
        self._services = None
        # Keys that matched no service, with why (kept on the raw event's note).
        self.unmatched: dict[str, str] = {}

    def _load(self):
        if self._mappings is None:
            self._mappings = {}
            self._prefixes: dict[str, list[tuple[str, Service]]] = {}
            if self.integration is not None and self.integration.pk:
                git = self.integration.kind in PATH_KINDS
                for m in ServiceMapping.objects.filter(integration=self.integration).select_related("service"):
                    repository, prefix = split_key(m.key) if git else (m.key, "")
                    if prefix:
                        self._prefixes.setdefault(repository.lower(), []).append((prefix, m.service))
                    else:
                        self._mappings[m.key.lower()] = m.service
            self._services = list(Service.objects.filter(organization=self.organization).select_related("team"))

    def service(self, *keys) -> Service | None:
        return self.explain(*keys)[0]

    def explain(self, *keys) -> tuple[Service | None, str]:
        """(service, "") or (None, why not): "no mapping" or "ambiguous: a, b".

        A mapping wins; otherwise the fallback (repository URL, then slug or name equal to
        the key's last segment) must name exactly one service, or it does not guess."""
        self._load()
        keys = [str(k).strip() for k in keys if k and str(k).strip()]
        for key in keys:
            if key.lower() in self._mappings:
                return self._mappings[key.lower()], ""
        team_id = self.integration.team_id if self.integration else None
        candidates = [s for s in self._services if team_id is None or s.team_id == team_id]
        ambiguous: list[Service] = []
        for key in keys:
            low = key.lower().rstrip("/")
            tail = low.rsplit("/", 1)[-1]
            for matches in (
                [s for s in candidates if _repo_matches(s.repository_url, low)],
                [s for s in candidates if tail in (s.slug.lower(), s.name.lower())],
            ):
                if len(matches) == 1:
                    return matches[0], ""
                if len(matches) > 1 and not ambiguous:
                    ambiguous = matches
        reason = "ambiguous: " + ", ".join(sorted(s.slug for s in ambiguous)) if ambiguous else "no mapping"
        if keys:
            self.unmatched.setdefault(keys[0], reason)
        return None, reason

    def service_for_commit(self, repository: str, paths) -> Service | None:
        """A monorepo's path-prefix mappings attribute a commit by the files it touched: the
        service whose prefix holds most of them (the longest prefix matching a file counts it;
        a tie goes to the prefix sorted first). A commit touching none of the prefixes, or whose
        repository has none, is matched by the repository like any other key."""
        self._load()
        prefixes = self._prefixes.get((repository or "").lower())
        if prefixes and paths:
            tally: dict[str, list] = {}
            for path in paths:
                hits = [(prefix, service) for prefix, service in prefixes if str(path).startswith(prefix)]
                if hits:
                    prefix, service = max(hits, key=lambda hit: len(hit[0]))
                    entry = tally.setdefault(prefix, [0, service])
                    entry[0] += 1
            if tally:
                prefix = min(tally, key=lambda p: (-tally[p][0], p))
                return tally[prefix][1]
        return self.service(repository)

    def team_for(self, service: Service | None, team_slug: str = "") -> Team | None:
        if service is not None:
            return service.team
        if team_slug:
            team = Team.objects.filter(organization=self.organization, slug=team_slug).first()
            if team is None:
                raise ValidationError({"team": f"No team {team_slug!r} in {self.organization}."})
            return team
        return self.integration.team if self.integration else None


def _repo_matches(url: str, key: str) -> bool:
    repo = (url or "").lower().rstrip("/")
    return bool(repo) and (repo.endswith("/" + key) or repo == key)


def apply_parsed(*, integration: Integration | None, parsed, organization=None, source: str | None = None) -> dict:
    """Write what one parsed event (or import batch) states. Returns counts of rows created."""
    organization = organization or integration.organization
    source = source or integration.kind
    resolver = Resolver(organization, integration)
    created = {"changes": 0, "deployments": 0, "incidents": 0}
    if parsed.changes:
        created["changes"] = changes_upsert(
            organization=organization, integration=integration, source=source, records=parsed.changes, resolver=resolver
        )
    for record in parsed.deployments:
        _, was_created = deployment_apply(
            organization=organization, integration=integration, source=source, record=record, resolver=resolver
        )
        created["deployments"] += was_created
    for record in parsed.incidents:
        incident, was_created = incident_apply(
            organization=organization, integration=integration, source=source, record=record, resolver=resolver
        )
        if incident is None:
            created.setdefault("ignored", []).append(record["update_only"])
        created["incidents"] += was_created
    created["unattributed"] = dict(resolver.unmatched)
    return created


@transaction.atomic
def changes_upsert(*, organization, integration, source: str, records: list[dict], resolver: Resolver) -> int:
    """Insert commits not seen before (same repository and sha = same change). Returns how many were new."""
    rows = {}
    for record in records:
        paths = record.get("paths") or []
        service = resolver.service_for_commit(record["repository"], paths)
        team = resolver.team_for(service)
        key = (record["repository"], record["sha"])
        rows[key] = Change(
            organization=organization,
            team=team,
            service=service,
            integration=integration,
            repository=record["repository"],
            sha=record["sha"],
            message=record.get("message", ""),
            author=record.get("author", ""),
            url=record.get("url", ""),
            committed_at=record["committed_at"],
            source=source,
            parent_sha=record.get("parent_sha", ""),
            paths=paths,
        )
    existing = {
        (repository, sha): (pk, parent)
        for pk, repository, sha, parent in Change.objects.filter(organization=organization)
        .filter(Q(repository__in={r for r, _ in rows}) & Q(sha__in={s for _, s in rows}))
        .values_list("pk", "repository", "sha", "parent_sha")
    }
    new = [row for key, row in rows.items() if key not in existing]
    Change.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    # A later push may tell the parent of a commit first seen without one (the first known parent stays).
    learned = [(existing[key][0], row) for key, row in rows.items() if key in existing and row.parent_sha]
    learned = [(pk, row) for pk, row in learned if not existing[(row.repository, row.sha)][1]]
    for pk, row in learned:
        Change.objects.filter(pk=pk, parent_sha="").update(parent_sha=row.parent_sha)
    touched = new + [row for _, row in learned]
    for team_id, day in {(c.team_id, utc_day(c.committed_at)) for c in touched if c.team_id}:
        mark_dirty(team_id, day)
    return len(new)


def _rank(status: str, status_at: datetime | None) -> tuple:
    """The total order deployment states are folded by: terminal beats pending, then later beats earlier."""
    return (status in Deployment.TERMINAL, status_at or _FLOOR, status)


_FLOOR = datetime.min.replace(tzinfo=UTC)


@transaction.atomic
def deployment_apply(
    *, organization, integration, source: str, record: dict, resolver: Resolver
) -> tuple[Deployment, bool]:
    """Create or fold one state of a deployment (keyed by the source's id)."""
    key = {"organization": organization, "source": source, "external_id": record["external_id"]}
    service = resolver.service(record.get("service_key"), record.get("repository"))
    team = resolver.team_for(service, record.get("team_slug", ""))
    deployment = Deployment.objects.select_for_update().filter(**key).first()
    created = deployment is None
    if created:
        deployment = Deployment(**key, integration=integration)
        old_day = None
        old_service_id = None
    else:
        old_day = utc_day(deployment.finished_at) if deployment.finished_at else None
        old_service_id = deployment.service_id
    if created or deployment.service_id is None:
        deployment.service = service
        deployment.team = team
    for name in ("repository", "environment", "sha", "ref", "url"):
        if record.get(name) and not getattr(deployment, name):
            setattr(deployment, name, record[name])
    if created or record.get("is_production"):
        deployment.is_production = bool(record.get("is_production"))
    started = record.get("started_at")
    if started and (deployment.started_at is None or started < deployment.started_at):
        deployment.started_at = started
    if created or _rank(record["status"], record.get("status_at")) > _rank(deployment.status, deployment.status_at):
        deployment.status = record["status"]
        deployment.status_at = record.get("status_at")
        deployment.finished_at = record.get("status_at") if record["status"] in Deployment.TERMINAL else None
    if not deployment.environment:
        raise ValidationError({"environment": "The deployment names no environment."})
    if created:
        try:
            with transaction.atomic():
                deployment.save()
        except IntegrityError:
            # A parallel worker created it first: fold into theirs.
            return deployment_apply(
                organization=organization, integration=integration, source=source, record=record, resolver=resolver
            )
    else:
        deployment.save()
    days = [d for d in (old_day, utc_day(deployment.finished_at) if deployment.finished_at else None) if d]
    team_id = deployment.service.team_id if deployment.service_id else deployment.team_id
    if team_id and days:
        mark_dirty(team_id, min(days))
    if deployment.finished_at and (deployment.service_id or old_service_id):
        _relink_incidents_after(deployment)
    return deployment, created


def incident_apply(*, organization, integration, source: str, record: dict, resolver: Resolver):
    """Create or update the postmortem app's incident for one source event."""
    from apps.postmortems.models import Incident
    from apps.postmortems.services import incident_upsert_from_source

    keys = record.get("service_keys") or []
    services = []
    before = set(resolver.unmatched)
    for key in keys:
        service = resolver.service(key)
        if service is not None and service not in services:
            services.append(service)
    if services:
        # The keys are alternative names of the impacted service (a name and an id, labels):
        # one that matched places the incident, the others are not unattributed evidence.
        for key in set(resolver.unmatched) - before:
            del resolver.unmatched[key]
    incident_source = source if source in Incident.Source.values else Incident.Source.OTHER
    if record.get("update_only"):
        # An action that only names the alert (Escalate, AddNote...): update the incident we know, else nothing.
        known = (
            Incident.objects.filter(
                organization=organization, source=incident_source, external_id=record["external_id"]
            )
            .select_related("team")
            .first()
        )
        if known is None:
            return None, False
        team = services[0].team if services else known.team
        record = {k: v for k, v in record.items() if k not in ("started_at", "detected_at")} | (
            {"started_at": known.started_at}
        )
    else:
        team = resolver.team_for(services[0] if services else None, record.get("team_slug", ""))
    if team is None:
        if keys:
            raise UnattributedError(keys[0], resolver.unmatched.get(keys[0], "no mapping"))
        raise ValidationError({"team": "Cannot tell which team owns this incident: it names no service."})
    fields = {
        name: record[name]
        for name in ("title", "severity", "status", "started_at", "detected_at", "mitigated_at", "resolved_at")
        if record.get(name)
    }
    incident, created = incident_upsert_from_source(
        actor=permissions.SYSTEM,
        organization=organization,
        team=team,
        source=incident_source,
        external_id=record["external_id"],
        services=services,
        start_unknown=bool(record.get("start_unknown")),
        **fields,
    )
    if record.get("deployment_id"):
        deployment = Deployment.objects.filter(organization=organization, external_id=record["deployment_id"]).first()
        if deployment is None:
            raise ValidationError({"deployment_id": f"No deployment {record['deployment_id']!r} (import it first)."})
        incident_link_set(actor=None, incident=incident, deployment=deployment, note=f"Stated by {source}.")
    else:
        incident_link_refresh(incident=incident)
    return incident, created


# --- incident <-> deployment ------------------------------------------------------


def _auto_deployment(incident) -> Deployment | None:
    if incident.started_at is None:
        return None  # no start yet: nothing came "before" it
    service_ids = list(incident.services.values_list("pk", flat=True))
    if not service_ids:
        return None
    return (
        Deployment.objects.filter(
            service_id__in=service_ids,
            is_production=True,
            status=Deployment.Status.SUCCESS,
            finished_at__lte=incident.started_at,
        )
        .order_by("-finished_at", "-pk")
        .first()
    )


@transaction.atomic
def incident_link_refresh(*, incident) -> IncidentDeploymentLink:
    """Apply the default rule unless someone (or the source) set the link explicitly."""
    link, _ = IncidentDeploymentLink.objects.select_for_update().get_or_create(incident=incident)
    if link.method == IncidentDeploymentLink.Method.EXPLICIT:
        return link
    deployment = _auto_deployment(incident)
    method = IncidentDeploymentLink.Method.AUTO if deployment else IncidentDeploymentLink.Method.NONE
    if link.deployment_id != (deployment.pk if deployment else None) or link.method != method:
        _mark_link_days(link, deployment, incident)
        _record_link_change(link, deployment, method, actor=None)
        link.deployment = deployment
        link.method = method
        link.set_by = None
        link.save()
    _mark_incident_day(incident)
    return link


@transaction.atomic
def incident_link_set(*, actor, incident, deployment: Deployment | None, note: str = "", automatic: bool = False):
    """Say by hand which deployment caused the incident (None: none did), or go back to the default rule."""
    from apps.postmortems.models import Incident

    if actor is not None:
        permissions.get_for_user(actor, Incident.objects.all(), pk=incident.pk)
        link = IncidentDeploymentLink.objects.filter(incident=incident).first() or IncidentDeploymentLink(
            incident=incident
        )
        if not permissions.can_change(actor, link):
            raise PermissionDenied("Only the team's lead or an org admin changes this link.")
    if automatic:
        IncidentDeploymentLink.objects.filter(incident=incident).update(
            method=IncidentDeploymentLink.Method.NONE, note="", set_by=actor
        )
        return incident_link_refresh(incident=incident)
    if deployment is not None and deployment.organization_id != incident.organization_id:
        raise ValidationError({"deployment": "The deployment belongs to another organization."})
    link, _ = IncidentDeploymentLink.objects.select_for_update().get_or_create(incident=incident)
    _mark_link_days(link, deployment, incident)
    _record_link_change(link, deployment, IncidentDeploymentLink.Method.EXPLICIT, actor=actor, note=note)
    link.deployment = deployment
    link.method = IncidentDeploymentLink.Method.EXPLICIT
    link.set_by = actor
    link.note = note[:300]
    link.save()
    return link


def _record_link_change(link, deployment, method: str, *, actor, note: str = "") -> None:
    """Keep who moved the link, when, from where to where (a replayed source event that
    changes nothing records nothing)."""
    from .models import IncidentLinkChange

    new_id = deployment.pk if deployment else None
    if link.pk and link.deployment_id == new_id and link.method == method:
        return
    IncidentLinkChange.objects.create(
        incident_id=link.incident_id,
        from_deployment_id=link.deployment_id,
        to_deployment_id=new_id,
        from_method=link.method if link.pk else "",
        to_method=method,
        changed_by=actor,
        note=note[:300],
    )


def _mark_link_days(link, new_deployment, incident) -> None:
    for dep in (link.deployment if link.deployment_id else None, new_deployment):
        if dep is not None and dep.finished_at:
            team_id = dep.service.team_id if dep.service_id else dep.team_id
            if team_id:
                mark_dirty(team_id, utc_day(dep.finished_at))


def _mark_incident_day(incident) -> None:
    """The incident's day (restore time), its services' teams from then on (deployments while it
    was open are rework) and its linked deployment's day (that failure's recovery time)."""
    if incident.started_at is not None:  # an unknown start is on no day (until it is told)
        day = utc_day(incident.started_at)
        mark_dirty(incident.team_id, day)
        for team_id in set(incident.services.values_list("team_id", flat=True)) - {incident.team_id}:
            mark_dirty(team_id, day)
    link = IncidentDeploymentLink.objects.filter(incident=incident).select_related("deployment__service").first()
    dep = link.deployment if link else None
    if dep is not None and dep.finished_at:
        team_id = dep.service.team_id if dep.service_id else dep.team_id
        if team_id:
            mark_dirty(team_id, utc_day(dep.finished_at))


def _relink_incidents_after(deployment: Deployment) -> None:
    """A deployment appeared or changed: incidents of its service that started after it may link to it now."""
    from apps.postmortems.models import Incident

    if deployment.service_id is None or deployment.finished_at is None:
        return
    later = (
        Deployment.objects.filter(
            service_id=deployment.service_id,
            is_production=True,
            status=Deployment.Status.SUCCESS,
            finished_at__gt=deployment.finished_at,
        )
        .order_by("finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    window = Q(services=deployment.service_id, started_at__gte=deployment.finished_at)
    if later:
        window &= Q(started_at__lt=later)
    # Only those the rule could move: unlinked, or linked to one finished no later than this one;
    # and whatever links to this one now (it may have failed, or finished later than first said).
    movable = (
        Q(deployment_link__isnull=True)
        | Q(deployment_link__deployment__isnull=True)
        | Q(deployment_link__deployment__finished_at__lte=deployment.finished_at)
    )
    incidents = (
        Incident.objects.filter((window & movable) | Q(deployment_link__deployment=deployment))
        .exclude(deployment_link__method=IncidentDeploymentLink.Method.EXPLICIT)
        .distinct()
        .order_by("started_at")
    )
    for incident in incidents[:500]:
        incident_link_refresh(incident=incident)


# --- rework ----------------------------------------------------------------------


@transaction.atomic
def deployment_rework_mark(*, actor, deployment: Deployment, rework: bool | None) -> Deployment:
    """Say by hand whether a successful production deployment was an unplanned fix (True), was
    not (False), or leave it to the rules again (None). The team's lead or an org admin."""
    deployment = (
        Deployment.objects.select_for_update(of=("self",)).select_related("service", "team").get(pk=deployment.pk)
    )
    team = deployment.service.team if deployment.service_id else deployment.team
    if actor is not None and not (
        permissions.can_change(actor, deployment)
        or (team is not None and permissions.team_role(actor, team) == permissions.TEAM_LEAD)
    ):
        raise PermissionDenied("Only the team's lead or an org admin marks a deployment as rework.")
    if not deployment.is_production or deployment.status != Deployment.Status.SUCCESS:
        raise ValidationError({"rework": "Only a successful production deployment can be rework."})
    if deployment.rework_marked == rework:
        return deployment  # a retried request changes nothing
    deployment.rework_marked = rework
    deployment.rework_marked_by = actor if rework is not None else None
    deployment.rework_marked_at = timezone.now() if rework is not None else None
    deployment.save(update_fields=["rework_marked", "rework_marked_by", "rework_marked_at", "updated_at"])
    if team is not None and deployment.finished_at:
        mark_dirty(team.pk, utc_day(deployment.finished_at))
    return deployment


# --- rollup bookkeeping ---------------------------------------------------------


def mark_dirty(team_id: int, day: date) -> None:
    """Remember that the team's rollups from `day` on are stale (the rollup job recomputes them)."""
    now = timezone.now()
    obj, created = DirtyDay.objects.get_or_create(team_id=team_id, defaults={"day": day, "marked_at": now})
    if not created:
        DirtyDay.objects.filter(pk=obj.pk).update(day=Least(F("day"), Value(day)), marked_at=now)
