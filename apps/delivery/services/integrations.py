"""Integrations: the sources that send webhooks, their secrets, patterns and key mappings."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core import permissions
from apps.core.validation import foreign_message, require_same_organization
from apps.teams.models import Service, Team

from .. import normalizers
from .. import secrets as secret_store
from ..models import Integration, ServiceMapping
from .evidence import evidence_reattribute


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
    mappings: dict[str, Service] | None = None,
    **patterns,
) -> tuple[Integration, str]:
    """Add an integration (with its key -> service mappings, if given). Returns (integration,
    plaintext secret): the only time the secret is shown."""
    require_same_organization(organization, field="team", obj=team, label="The team")
    permissions.require_create(
        actor,
        Integration,
        organization=organization,
        team=team,
        message="Only an org admin adds org-wide integrations; a team lead adds their team's.",
    )
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
        created_by=permissions.person(actor),
        **patterns,
    )
    _check_pattern_set(integration)
    integration.full_clean(exclude=["secret_encrypted", "token"])
    integration.save()
    if mappings:
        _set_mappings(actor, integration, mappings)
    return integration, secret


@transaction.atomic
def integration_update(
    *,
    actor,
    integration: Integration,
    name=None,
    production_environments=None,
    is_active=None,
    team=...,
    mappings: dict[str, Service] | None = None,
    **patterns,
):
    """Change what is given (None or left out: unchanged). `patterns`: PATTERN_FIELDS, "" clears one;
    `mappings` replaces the key -> service mappings (see integration_mappings_set)."""
    permissions.require_change(actor, integration, _DENIED)
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
        require_same_organization(integration.organization_id, field="team", obj=team, label="The team")
        permissions.require_create(
            actor,
            Integration,
            organization=integration.organization,
            team=team,
            message="You may not move this integration there.",
        )
        integration.team = team
    _check_pattern_set(integration)
    integration.save()
    if mappings is not None:
        _set_mappings(actor, integration, mappings)
    return integration


_DENIED = "You may not change this integration."


@transaction.atomic
def integration_rotate_secret(*, actor, integration: Integration, secret: str | None = None) -> str:
    """Replace the secret (generated unless given). Returns the new plaintext, shown once."""
    permissions.require_change(actor, integration, _DENIED)
    secret = _check_secret(secret)
    integration.secret_encrypted = secret_store.encrypt(secret)
    integration.secret_rotated_at = timezone.now()
    integration.save(update_fields=["secret_encrypted", "secret_rotated_at", "updated_at"])
    return secret


@transaction.atomic
def integration_mappings_set(*, actor, integration: Integration, mappings: dict[str, Service]) -> None:
    """Replace the key -> service mappings, and re-attribute the rows already received for those keys."""
    permissions.require_change(actor, integration, _DENIED)
    _set_mappings(actor, integration, mappings)


def _set_mappings(actor, integration: Integration, mappings: dict[str, Service]) -> None:
    cleaned: dict[str, Service] = {}
    for key, service in mappings.items():
        key = (key or "").strip()
        if not key:
            continue
        if len(key) > 300:
            raise ValidationError({"mappings": f"{key[:40]}…: a key is at most 300 characters."})
        if service.organization_id != integration.organization_id:
            raise ValidationError({"mappings": foreign_message(service.name)})
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
        evidence_reattribute(actor=actor, integration=integration, key=key, service=service, move=True)
