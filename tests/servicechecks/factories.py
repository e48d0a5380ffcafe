"""Rows the checks read, made directly (the checks judge stored data, whichever service wrote it)."""

import secrets
from datetime import UTC, datetime, time, timedelta

from apps.delivery.models import Deployment, Integration, ServiceMapping
from apps.postmortems.models import Incident, Postmortem
from apps.slos.models import SLI, SLO, AlertSettings
from apps.sre.models import Runbook


def at(day, hour=12):
    return datetime.combine(day, time(hour), tzinfo=UTC)


def integration(org, kind, *, active=True, name=None):
    return Integration.objects.create(
        organization=org,
        name=name or f"{kind}-{secrets.token_hex(3)}",
        kind=kind,
        token=secrets.token_hex(16),
        secret_encrypted="x",
        is_active=active,
    )


def mapping(service, kind, *, active=True):
    integ = integration(service.organization, kind, active=active)
    return ServiceMapping.objects.create(integration=integ, key=f"acme/{service.slug}", service=service)


def slo(service, *, alerting=True):
    sli = SLI.objects.create(
        organization=service.organization, service=service, name="Availability", slug=f"avail-{secrets.token_hex(3)}"
    )
    return SLO.objects.create(
        organization=service.organization,
        sli=sli,
        name="99.9",
        slug=f"slo-{secrets.token_hex(3)}",
        target="0.999",
        alerting=alerting,
    )


def alert_settings(team, *, email="", webhook_url=""):
    return AlertSettings.objects.create(team=team, email=email, webhook_url=webhook_url)


def runbook(service, *, reviewed_on=None):
    rb = Runbook.objects.create(team=service.team, title="Restart it", body="Steps", last_reviewed_on=reviewed_on)
    rb.services.add(service)
    return rb


def deployment(service, finished_at, *, production=True, status=Deployment.Status.SUCCESS):
    return Deployment.objects.create(
        organization=service.organization,
        team=service.team,
        service=service,
        source="github",
        external_id=secrets.token_hex(6),
        environment="production" if production else "staging",
        is_production=production,
        status=status,
        finished_at=finished_at,
    )


def incident(service, *, severity=2, resolved_at, status=Incident.Status.RESOLVED):
    inc = Incident.objects.create(
        organization=service.organization,
        team=service.team,
        title=f"Outage {secrets.token_hex(2)}",
        severity=severity,
        status=status,
        started_at=resolved_at - timedelta(hours=2),
        resolved_at=resolved_at if status == Incident.Status.RESOLVED else None,
    )
    inc.services.add(service)
    return inc


def postmortem(inc, *, status=Postmortem.Status.PUBLISHED):
    return Postmortem.objects.create(
        organization=inc.organization, team=inc.team, incident=inc, title=f"PM {inc.title}", status=status
    )
