"""Writes of the catalog: SLIs, SLOs, error budget policies and alert settings."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils.text import slugify

from apps.core import permissions

from ..models import (
    SLI,
    SLO,
    AlertSettings,
    ErrorBudgetPolicy,
)
from .status import _status_refresh

logger = logging.getLogger(__name__)

SLI_SYNC_FIELDS = ("source", "good_query", "total_query", "prometheus_url")

# --- catalog -----------------------------------------------------------------------


def _unique_slug(model, organization, name: str, slug: str | None, *, exclude_pk=None) -> str:
    base = slugify(slug or name)[:110] or "item"
    candidate, n = base, 2
    qs = model.objects.filter(organization=organization)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    if slug:
        return base  # an explicit slug is taken as given (the unique constraint reports clashes)
    while qs.filter(slug=candidate).exists():
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _save(instance):
    instance.full_clean()
    instance.save()
    return instance


@transaction.atomic
def sli_create(*, actor, service, name: str, slug: str | None = None, **fields) -> SLI:
    permissions.require_create(
        actor, SLI, team=service.team, organization=service.organization_id, message="You may not add SLIs here."
    )
    sli = SLI(
        organization_id=service.organization_id,
        service=service,
        name=name,
        slug=_unique_slug(SLI, service.organization_id, name, slug),
        **fields,
    )
    return _save(sli)


@transaction.atomic
def sli_update(*, actor, sli: SLI, **fields) -> SLI:
    permissions.require_change(actor, sli, "You may not change this SLI.")
    service = fields.get("service")
    if service is not None and service.pk != sli.service_id:
        permissions.require_move(actor, sli, team=service.team)
    changed_source = any(k in fields and fields[k] != getattr(sli, k) for k in SLI_SYNC_FIELDS)
    for key, value in fields.items():
        setattr(sli, key, value)
    if "service" in fields:
        sli.organization_id = sli.service.organization_id
    if changed_source:
        # New queries: forget the old error and let the next sync try again from the cursor.
        sli.sync_state, sli.last_error, sli.last_error_at = SLI.SyncState.NEVER, "", None
    return _save(sli)


@transaction.atomic
def slo_create(*, actor, sli: SLI, name: str, target, slug: str | None = None, alert_policies=None, **fields) -> SLO:
    """`alert_policies`: OpenSLO alert policies (or their ids) whose conditions replace the table."""
    permissions.require_create(
        actor, SLO, team=sli.service.team, organization=sli.organization_id, message="You may not add SLOs here."
    )
    slo = SLO(
        organization_id=sli.organization_id,
        sli=sli,
        name=name,
        target=target,
        slug=_unique_slug(SLO, sli.organization_id, name, slug),
        **fields,
    )
    _save(slo)
    if alert_policies is not None:
        slo.alert_policies.set(alert_policies)
    _status_refresh(slo_ids=[slo.pk])
    return slo


@transaction.atomic
def slo_update(*, actor, slo: SLO, alert_policies=None, **fields) -> SLO:
    permissions.require_change(actor, slo, "You may not change this SLO.")
    sli = fields.get("sli")
    if sli is not None and sli.pk != slo.sli_id:
        permissions.require_move(actor, slo, team=sli.service.team)
    for key, value in fields.items():
        setattr(slo, key, value)
    if "sli" in fields:
        slo.organization_id = slo.sli.organization_id
    _save(slo)
    if alert_policies is not None:
        slo.alert_policies.set(alert_policies)
    # Target, window or SLI changed: the stored figures (and alerts) follow now.
    _status_refresh(slo_ids=[slo.pk])
    return slo


@transaction.atomic
def slo_delete(*, actor, slo: SLO) -> None:
    """Delete an SLO with its policy and alert history (the SLI and its samples stay)."""
    permissions.require_change(actor, slo, "You may not delete this SLO.")
    slo.delete()


@transaction.atomic
def policy_set(*, actor, team, slo: SLO | None = None, name: str, steps, notes: str = "") -> ErrorBudgetPolicy:
    """The SLO's own policy (slo given) or the team's default; upserted."""
    policy = ErrorBudgetPolicy.objects.filter(team=team, slo=slo).first()
    if policy is None:
        permissions.require_create(
            actor,
            ErrorBudgetPolicy,
            team=team,
            organization=team.organization_id,
            message="You may not set this policy.",
        )
        policy = ErrorBudgetPolicy(team=team, slo=slo)
    else:
        permissions.require_change(actor, policy, "You may not change this policy.")
    policy.name, policy.steps, policy.notes = name, steps, notes
    return _save(policy)


@transaction.atomic
def alert_settings_set(
    *, actor, team, email: str = "", webhook_url: str = "", notify_tickets: bool = True
) -> AlertSettings:
    obj = AlertSettings.objects.filter(team=team).first()
    if obj is None:
        permissions.require_create(
            actor, AlertSettings, team=team, organization=team.organization_id, message="You may not set these alerts."
        )
        obj = AlertSettings(team=team)
    else:
        permissions.require_change(actor, obj, "You may not change these alerts.")
    obj.email, obj.webhook_url, obj.notify_tickets = email, webhook_url, notify_tickets
    return _save(obj)


@transaction.atomic
def policy_update(*, actor, policy: ErrorBudgetPolicy, **fields) -> ErrorBudgetPolicy:
    """Change a policy (the API's update); moving it to another team needs the right there too."""
    permissions.require_change(actor, policy, "You may not change this policy.")
    permissions.require_move(actor, policy, team=fields.get("team"))
    for key, value in fields.items():
        setattr(policy, key, value)
    return _save(policy)


@transaction.atomic
def alert_settings_update(*, actor, settings_row: AlertSettings, **fields) -> AlertSettings:
    """Change a team's alert settings (the API's update); another team needs the right there too."""
    permissions.require_change(actor, settings_row, "You may not change these alerts.")
    permissions.require_move(actor, settings_row, team=fields.get("team"))
    for key, value in fields.items():
        setattr(settings_row, key, value)
    return _save(settings_row)
