"""Writes to incidents, postmortems and action items: transactional, validated, idempotent."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core import permissions

from .models import TIME_ORDER, Incident

INCIDENT_FIELDS = {"title", "description", "severity", "status", *TIME_ORDER}


# --- incidents ----------------------------------------------------------------


def _check_services(organization, services: Iterable) -> list:
    services = list(services or [])
    foreign = [s for s in services if s.organization_id != organization.pk]
    if foreign:
        raise ValidationError({"services": f"{', '.join(s.name for s in foreign)} belongs to another organization."})
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
    if actor is not None and not permissions.can_create(actor, Incident, team=team):
        raise PermissionDenied("You may not report incidents for this team.")
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
        created_by=actor,
        **fields,
    )
    incident.full_clean()
    incident.save()
    incident.services.set(_check_services(organization, services))
    _after_incident_change(incident)
    return incident


@transaction.atomic
def incident_update(*, actor, incident: Incident, services: Iterable | None = None, **fields) -> Incident:
    """Change an incident's details (a person's edit; times must stay in order)."""
    _unknown(fields, INCIDENT_FIELDS | {"team"})
    if actor is not None and not permissions.can_change(actor, incident):
        raise PermissionDenied("You may not change this incident.")
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
    *, organization, team, source: str, external_id: str, services: Iterable | None = None, **fields
) -> tuple[Incident, bool]:
    """Create or update the incident a source (PagerDuty, Opsgenie, Alertmanager, API) knows as `external_id`.

    Idempotent: the same event twice changes nothing; events may arrive in any order
    (see `_merge_source_fields`). `services` are added to the impacted services.
    Returns (incident, created). Raises ValidationError when times are out of order."""
    _unknown(fields, INCIDENT_FIELDS)
    external_id = (external_id or "").strip()
    if not external_id:
        raise ValidationError({"external_id": "A source incident needs its external id."})
    if source == Incident.Source.MANUAL or source not in Incident.Source.values:
        raise ValidationError({"source": f"Unknown incident source {source!r}."})
    if team.organization_id != organization.pk:
        raise ValidationError({"team": "The team belongs to another organization."})
    services = _check_services(organization, services or [])
    if fields.get("status") and fields["status"] not in Incident.Status.values:
        raise ValidationError({"status": f"Unknown status {fields['status']!r}."})

    key = {"organization": organization, "source": source, "external_id": external_id}
    incident = Incident.objects.select_for_update().filter(**key).first()
    created = incident is None
    if created:
        if fields.get("started_at") is None:
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
    """Hook for what depends on an incident's times (the postmortem's publish-by date)."""
