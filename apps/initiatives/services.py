"""Writes of the initiatives app. Every public function takes a required keyword-only `actor`
and checks rights itself: org admins and leaders create and change initiatives (issue 18: an
initiative is the organization's, not a team's record); jobs pass permissions.SYSTEM."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core import permissions
from apps.core.validation import require_same_organization
from apps.scoring.models import LEVEL_NAMES, Check
from apps.teams.models import Organization, OrgMembership, Team

from . import selectors
from .models import Initiative, InitiativeCheck, InitiativeProgress

FIELDS = ("name", "reason", "owner", "start_date", "target_date", "status")
CHECK_FIELDS = ("kind", "name", "metric", "operator", "value", "when_missing", "service_check", "hint", "order")


def _require_manage(actor, organization) -> None:
    if not selectors.may_manage(actor, organization):
        raise PermissionDenied("Only org admins and leaders manage initiatives.")


def _validate_scope(organization, *, owner, teams, services) -> None:
    if owner is not None and not (
        OrgMembership.objects.filter(organization=organization, user=owner).exists()
        or Team.objects.filter(organization=organization, memberships__user=owner).exists()
    ):
        raise ValidationError({"owner": "The owner must belong to this organization."})
    for team in teams or ():
        require_same_organization(organization, field="teams", obj=team, label="A team in scope")
    for service in services or ():
        require_same_organization(organization, field="services", obj=service, label="A service in scope")


def _check_rows(initiative, checks) -> list[InitiativeCheck]:
    rows = []
    for i, spec in enumerate(checks or ()):
        unknown = set(spec) - set(CHECK_FIELDS)
        if unknown:
            raise ValidationError({"checks": f"Unknown check field(s): {', '.join(sorted(unknown))}."})
        row = InitiativeCheck(initiative=initiative, **{"order": i, **spec})
        if row.kind == InitiativeCheck.Kind.SERVICE:
            keys = dict(selectors.service_check_choices())
            if row.service_check not in keys:
                raise ValidationError({"checks": f"Unknown service check “{row.service_check}”."})
        if not row.name:
            row.name = row.service_check or row.metric
        row.full_clean(exclude=["initiative"])
        rows.append(row)
    return rows


@transaction.atomic
def initiative_create(
    *,
    actor,
    organization: Organization,
    name: str,
    reason: str,
    start_date: date,
    target_date: date,
    owner=None,
    status: str = Initiative.Status.DRAFT,
    teams=(),
    services=(),
    checks=(),
) -> Initiative:
    """A new initiative with its scope and checks (validated before anything is written)."""
    _require_manage(actor, organization)
    teams, services = list(teams or ()), list(services or ())
    _validate_scope(organization, owner=owner, teams=teams, services=services)
    initiative = Initiative(
        organization=organization,
        name=name,
        reason=reason,
        owner=owner,
        start_date=start_date,
        target_date=target_date,
        status=status,
        created_by=permissions.person(actor),
    )
    initiative.full_clean()
    initiative.save()
    rows = _check_rows(initiative, checks)
    InitiativeCheck.objects.bulk_create(rows)
    initiative.teams.set(teams)
    initiative.services.set(services)
    return initiative


@transaction.atomic
def initiative_update(*, actor, initiative: Initiative, teams=None, services=None, checks=None, **fields) -> Initiative:
    """Change fields, scope (`teams`, `services`) or replace the checks (`checks`: list of dicts)."""
    _require_manage(actor, initiative.organization)
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Not an initiative field."))
    if initiative.status == Initiative.Status.COMPLETED and initiative.graduated_at and checks is not None:
        raise ValidationError({"checks": "A graduated initiative's checks are in the rubric now; change them there."})
    _validate_scope(
        initiative.organization,
        owner=fields.get("owner"),
        teams=list(teams) if teams is not None else None,
        services=list(services) if services is not None else None,
    )
    for key, value in fields.items():
        setattr(initiative, key, value)
    initiative.full_clean()
    initiative.save()
    if teams is not None:
        initiative.teams.set(list(teams))
    if services is not None:
        initiative.services.set(list(services))
    if checks is not None:
        rows = _check_rows(initiative, checks)
        initiative.checks.all().delete()
        InitiativeCheck.objects.bulk_create(rows)
    return initiative


def initiative_set_status(*, actor, initiative: Initiative, status: str) -> Initiative:
    if status not in Initiative.Status.values:
        raise ValidationError({"status": "Unknown status."})
    return initiative_update(actor=actor, initiative=initiative, status=status)


@transaction.atomic
def initiative_delete(*, actor, initiative: Initiative) -> None:
    _require_manage(actor, initiative.organization)
    initiative.delete()


# --- progress -------------------------------------------------------------------------------------


def progress_record(*, actor, initiative: Initiative, day: date | None = None) -> InitiativeProgress:
    """Store the scope passing on `day` (default today): one row per initiative and day, upserted,
    so a second run the same day (another scoring run, a retried job) replaces it."""
    _require_manage(actor, initiative.organization)
    day = day or timezone.localdate()
    scope = selectors.evaluate(initiative, as_of=day)
    row, _ = InitiativeProgress.objects.update_or_create(
        initiative=initiative, day=day, defaults={"passing": scope.passing, "total": scope.total}
    )
    return row


def progress_record_all(*, actor, day: date | None = None, organization_ids=None) -> int:
    """The job: record today's point of every active initiative (of these organizations)."""
    day = day or timezone.localdate()
    qs = Initiative.objects.filter(status=Initiative.Status.ACTIVE, start_date__lte=day).select_related("organization")
    if organization_ids is not None:
        qs = qs.filter(organization_id__in=list(organization_ids))
    count = 0
    for initiative in selectors.with_scope(qs.order_by("pk")):
        progress_record(actor=actor, initiative=initiative, day=day)
        count += 1
    return count


# --- graduation -----------------------------------------------------------------------------------


def _add_level_check(*, actor, scorecard, check: InitiativeCheck, level: int, key: str) -> Check:
    """A level check from a metric check, through scoring's own service (its rights and validation);
    a check graduated before is kept as it is, so graduating again adds nothing."""
    from apps.scoring.services import check_create

    existing = Check.objects.filter(scorecard=scorecard, key=key).first()
    if existing is not None:
        return existing
    return check_create(
        actor=actor,
        scorecard=scorecard,
        key=key,
        level=level,
        name=check.name,
        metric=check.metric,
        operator=check.operator,
        value=check.value,
        when_missing=check.when_missing,
        hint=check.hint or f"Part of the initiative “{check.initiative.name}”.",
        order=100 + check.order,
    )


@transaction.atomic
def initiative_graduate(*, actor, initiative: Initiative, level: int) -> list[Check]:
    """One action: the initiative's metric checks become level checks of `level` in the org's scorecard,
    and the initiative is completed, recorded with who and when. Graduating again adds nothing."""
    from apps.scoring.services import scorecard_ensure

    _require_manage(actor, initiative.organization)
    if not selectors.may_graduate(actor, initiative.organization):
        # The rubric itself is the org admins' (scoring registers Check as EDITORS_ADMIN).
        raise PermissionDenied("Only an org admin adds checks to the scorecard.")
    if level not in LEVEL_NAMES or level < 2:
        raise ValidationError({"level": "Choose a level from 2 to 5."})
    initiative = Initiative.objects.select_for_update().get(pk=initiative.pk)
    metric_checks = list(initiative.checks.filter(kind=InitiativeCheck.Kind.METRIC))
    if not metric_checks:
        raise ValidationError("This initiative has no metric checks to add to the scorecard.")
    scorecard = scorecard_ensure(actor=actor, organization=initiative.organization)
    added = [
        _add_level_check(
            actor=actor, scorecard=scorecard, check=c, level=level, key=f"initiative-{initiative.pk}-{c.pk}"
        )
        for c in metric_checks
    ]
    if initiative.graduated_at is None:
        initiative.graduated_at = timezone.now()
        initiative.graduated_by = permissions.person(actor)
        initiative.graduated_level = level
    initiative.status = Initiative.Status.COMPLETED
    initiative.save(update_fields=["graduated_at", "graduated_by", "graduated_level", "status", "updated_at"])
    return added


__all__ = [
    "initiative_create",
    "initiative_delete",
    "initiative_graduate",
    "initiative_set_status",
    "initiative_update",
    "progress_record",
    "progress_record_all",
]
