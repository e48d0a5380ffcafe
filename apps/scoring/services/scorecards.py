"""Writes of an organization's rubric: the scorecard (from the default the first time), its
settings and its level checks. Only org admins (or the system actor) change a rubric."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core import permissions
from apps.teams.models import Organization

from .. import pillars
from ..models import Check, Scorecard
from ..rubric import default_rubric

ADMIN_ONLY = "Only an org admin changes the scorecard."
CHECK_FIELDS = {"key", "level", "name", "metric", "operator", "value", "hint", "when_missing", "order"}


def scorecard_ensure(*, actor, organization: Organization) -> Scorecard:
    """The org's scorecard, created from the default rubric the first time. Safe to call concurrently."""
    existing = Scorecard.objects.filter(organization=organization).first()
    if existing is not None:
        return existing
    permissions.require_create(actor, Scorecard, organization=organization, message=ADMIN_ONLY)
    rubric = default_rubric()
    try:
        with transaction.atomic():
            scorecard = Scorecard.objects.create(
                organization=organization,
                name=rubric["name"],
                gap_threshold=rubric["gap_threshold"],
                **{f"weight_{k}": v for k, v in rubric["weights"].items()},
            )
            Check.objects.bulk_create(
                Check(scorecard=scorecard, order=i, **spec) for i, spec in enumerate(rubric["checks"])
            )
    except IntegrityError:
        # Another process created it between our read and write.
        return Scorecard.objects.get(organization=organization)
    return scorecard


def scorecards_ensure(*, actor, organizations: Iterable[Organization]) -> dict[int, Scorecard]:
    """{org id: scorecard} for these orgs, creating missing ones (queries grow with new orgs only)."""
    orgs = list(organizations)
    found = {s.organization_id: s for s in Scorecard.objects.filter(organization__in=orgs)}
    for org in orgs:
        if org.pk not in found:
            found[org.pk] = scorecard_ensure(actor=actor, organization=org)
    return found


@transaction.atomic
def scorecard_update(*, actor, scorecard: Scorecard, **fields) -> Scorecard:
    """Change weights, name or gap threshold (org admins only); validated before anything is written."""
    permissions.require_change(actor, scorecard, ADMIN_ONLY)
    allowed = {"name", "gap_threshold", *(f"weight_{k}" for k in pillars.PILLAR_KEYS)}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Not a scorecard setting."))
    for key, value in fields.items():
        setattr(scorecard, key, value)
    scorecard.full_clean()
    scorecard.save()
    return scorecard


def _check_grace(informational_until: date | None) -> None:
    if informational_until is not None and informational_until <= timezone.localdate():
        raise ValidationError(
            {"informational_until": "A grace period ends in the future; leave it empty to apply the check now."}
        )


@transaction.atomic
def check_create(
    *,
    actor,
    scorecard: Scorecard,
    key: str,
    level: int,
    name: str,
    metric: str,
    operator: str = Check.Operator.GTE,
    value: float,
    hint: str,
    when_missing: str = Check.Missing.FAIL,
    informational_until: date | None = None,
    order: int | None = None,
) -> Check:
    """Add a level check to the org's rubric (org admins). With `informational_until` the check is shown
    to every team but blocks no level before that day (a grace period, docs/scoring.md). Adding the same
    key again with the same terms returns the existing check; other terms are a validation error."""
    permissions.require_create(actor, Check, organization=scorecard.organization_id, message=ADMIN_ONLY)
    _check_grace(informational_until)
    terms = {
        "level": level,
        "name": name,
        "metric": metric,
        "operator": operator,
        "value": value,
        "hint": hint,
        "when_missing": when_missing,
        "informational_until": informational_until,
    }
    existing = Check.objects.filter(scorecard=scorecard, key=key).first()
    if existing is not None:
        if all(getattr(existing, f) == v for f, v in terms.items()):
            return existing
        raise ValidationError({"key": "The scorecard already has a check with this key."})
    if order is None:
        order = Check.objects.filter(scorecard=scorecard, level=level).count()
    check = Check(scorecard=scorecard, key=key, order=order, **terms)
    check.full_clean()
    check.save()
    return check


@transaction.atomic
def check_update(*, actor, check: Check, informational_until: date | None = None, **fields) -> Check:
    """Change a level check (org admins). A changed check may start a new grace period with
    `informational_until`; without one it applies from the next scoring run."""
    permissions.require_change(actor, check, ADMIN_ONLY)
    unknown = set(fields) - CHECK_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Not a check setting."))
    if informational_until != check.informational_until:
        _check_grace(informational_until)
    for key, value in fields.items():
        setattr(check, key, value)
    check.informational_until = informational_until
    check.full_clean()
    check.save()
    return check
