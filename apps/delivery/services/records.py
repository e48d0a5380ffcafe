"""The normalized records a source's events state: commits, deployments, incidents; and the
rework mark a lead puts on a deployment."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core import permissions

from ..models import Change, Deployment, Integration
from ..resolver import Resolver
from ..rollups import utc_day
from .bookkeeping import _mark_dirty as mark_dirty
from .evidence import UnattributedError
from .links import _link_refresh, _relink_incidents_after, incident_link_set


def _require_evidence_writer(actor, organization) -> None:
    """Commits, deployments and incidents from a source are written by the system (intake, jobs,
    the import command) or an org admin (Change and Deployment rows are admin-edited)."""
    permissions.require_create(
        actor, Change, organization=organization, message="Only an org admin writes delivery evidence."
    )


def apply_parsed(
    *, actor, integration: Integration | None, parsed, organization=None, source: str | None = None
) -> dict:
    """Write what one parsed event (or import batch) states. Returns counts of rows created."""
    organization = organization or integration.organization
    _require_evidence_writer(actor, organization)
    source = source or integration.kind
    resolver = Resolver(organization, integration)
    created = {"changes": 0, "deployments": 0, "incidents": 0}
    if parsed.changes:
        created["changes"] = _changes_upsert(
            organization=organization, integration=integration, source=source, records=parsed.changes, resolver=resolver
        )
    for record in parsed.deployments:
        _, was_created = _deployment_apply(
            organization=organization, integration=integration, source=source, record=record, resolver=resolver
        )
        created["deployments"] += was_created
    for record in parsed.incidents:
        incident, was_created = _incident_apply(
            actor, organization=organization, integration=integration, source=source, record=record, resolver=resolver
        )
        if incident is None:
            created.setdefault("ignored", []).append(record["update_only"])
        created["incidents"] += was_created
    created["unattributed"] = dict(resolver.unmatched)
    return created


def changes_upsert(*, actor, organization, integration, source: str, records: list[dict], resolver: Resolver) -> int:
    """Insert commits not seen before (same repository and sha = same change). Returns how many were new."""
    _require_evidence_writer(actor, organization)
    return _changes_upsert(
        organization=organization, integration=integration, source=source, records=records, resolver=resolver
    )


@transaction.atomic
def _changes_upsert(*, organization, integration, source: str, records: list[dict], resolver: Resolver) -> int:
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


def deployment_apply(
    *, actor, organization, integration, source: str, record: dict, resolver: Resolver
) -> tuple[Deployment, bool]:
    """Create or fold one state of a deployment (keyed by the source's id)."""
    _require_evidence_writer(actor, organization)
    return _deployment_apply(
        organization=organization, integration=integration, source=source, record=record, resolver=resolver
    )


@transaction.atomic
def _deployment_apply(
    *, organization, integration, source: str, record: dict, resolver: Resolver
) -> tuple[Deployment, bool]:
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
            return _deployment_apply(
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


def incident_apply(*, actor, organization, integration, source: str, record: dict, resolver: Resolver):
    """Create or update the postmortem app's incident for one source event."""
    _require_evidence_writer(actor, organization)
    return _incident_apply(
        actor, organization=organization, integration=integration, source=source, record=record, resolver=resolver
    )


def _incident_apply(actor, *, organization, integration, source: str, record: dict, resolver: Resolver):
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
        actor=actor,
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
        incident_link_set(actor=actor, incident=incident, deployment=deployment, note=f"Stated by {source}.")
    else:
        _link_refresh(incident)
    return incident, created


@transaction.atomic
def deployment_rework_mark(*, actor, deployment: Deployment, rework: bool | None) -> Deployment:
    """Say by hand whether a successful production deployment was an unplanned fix (True), was
    not (False), or leave it to the rules again (None). The team's lead or an org admin."""
    deployment = (
        Deployment.objects.select_for_update(of=("self",)).select_related("service", "team").get(pk=deployment.pk)
    )
    team = deployment.service.team if deployment.service_id else deployment.team
    if not (
        permissions.can_change(actor, deployment)
        or (team is not None and permissions.team_role(actor, team) == permissions.TEAM_LEAD)
    ):
        raise PermissionDenied("Only the team's lead or an org admin marks a deployment as rework.")
    if not deployment.is_production or deployment.status != Deployment.Status.SUCCESS:
        raise ValidationError({"rework": "Only a successful production deployment can be rework."})
    if deployment.rework_marked == rework:
        return deployment  # a retried request changes nothing
    deployment.rework_marked = rework
    deployment.rework_marked_by = permissions.person(actor) if rework is not None else None
    deployment.rework_marked_at = timezone.now() if rework is not None else None
    deployment.save(update_fields=["rework_marked", "rework_marked_by", "rework_marked_at", "updated_at"])
    if team is not None and deployment.finished_at:
        mark_dirty(team.pk, utc_day(deployment.finished_at))
    return deployment
