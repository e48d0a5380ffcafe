"""Writes of exemptions: a team lead asks for a check to count as passed; an org admin grants it
until a date (required), renews it (recorded), rejects or revokes it. Every step is an ExemptionEvent."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core import permissions
from apps.core.validation import foreign_message
from apps.teams.models import Team

from ..models import Check, Exemption, ExemptionEvent

ADMIN_DECIDES = "Only an org admin decides on exemptions."
MAX_DAYS = 366


def _record(exemption: Exemption, action: str, actor, note: str = "") -> None:
    ExemptionEvent.objects.create(
        exemption=exemption,
        action=action,
        actor=permissions.person(actor),
        note=note,
        expires_on=exemption.expires_on,
    )


def _check_expiry(expires_on: date | None, *, required: bool) -> None:
    if expires_on is None:
        if required:
            raise ValidationError({"expires_on": "Give the date the exemption ends."})
        return
    today = timezone.localdate()
    if expires_on <= today:
        raise ValidationError({"expires_on": "The expiry must be in the future."})
    if (expires_on - today).days > MAX_DAYS:
        raise ValidationError({"expires_on": "An exemption lasts at most a year; ask again when it ends."})


def _may_request(actor, team: Team) -> bool:
    return permissions.is_org_admin(actor, team.organization_id) or (
        permissions.team_role(actor, team) == permissions.TEAM_LEAD
    )


@transaction.atomic
def exemption_request(
    *, actor, team: Team, level_check: Check, reason: str, expires_on: date | None = None
) -> Exemption:
    """A team lead (or an org admin) asks for a check to count as passed. Asking twice returns the open request."""
    if not _may_request(actor, team):
        raise PermissionDenied("Only the team's lead or an org admin asks for an exemption.")
    if level_check.scorecard.organization_id != team.organization_id:
        raise ValidationError({"level_check": foreign_message("This check")})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the team should be exempted."})
    _check_expiry(expires_on, required=False)
    open_one = (
        Exemption.objects.select_for_update()
        .filter(team=team, level_check=level_check, status__in=[Exemption.Status.REQUESTED, Exemption.Status.GRANTED])
        .first()
    )
    if open_one is not None:
        return open_one
    exemption = Exemption.objects.create(
        team=team,
        level_check=level_check,
        reason=reason,
        expires_on=expires_on,
        requested_by=permissions.person(actor),
    )
    _record(exemption, ExemptionEvent.Action.REQUESTED, actor, reason)
    return exemption


def _locked(exemption: Exemption) -> Exemption:
    return (
        Exemption.objects.select_for_update(of=("self",))
        .select_related("team__organization", "level_check")
        .get(pk=exemption.pk)
    )


def _justified(justification: str, why: str) -> str:
    justification = (justification or "").strip()
    if not justification:
        raise ValidationError({"justification": why})
    return justification


@transaction.atomic
def exemption_grant(*, actor, exemption: Exemption, justification: str, expires_on: date) -> Exemption:
    """An org admin grants a request until `expires_on`. Granting again with the same terms changes nothing."""
    exemption = _locked(exemption)
    permissions.require_change(actor, exemption, ADMIN_DECIDES)
    justification = _justified(justification, "A grant needs a justification.")
    if exemption.status == Exemption.Status.GRANTED and exemption.expires_on == expires_on:
        return exemption
    if exemption.status == Exemption.Status.GRANTED:
        raise ValidationError({"status": "This exemption is already granted; renew it to change its expiry."})
    if exemption.status != Exemption.Status.REQUESTED:
        raise ValidationError({"status": f"This exemption is {exemption.get_status_display().lower()}; ask again."})
    _check_expiry(expires_on, required=True)
    exemption.status = Exemption.Status.GRANTED
    exemption.justification = justification
    exemption.expires_on = expires_on
    exemption.decided_by = permissions.person(actor)
    exemption.decided_at = timezone.now()
    exemption.save()
    _record(exemption, ExemptionEvent.Action.GRANTED, actor, justification)
    return exemption


@transaction.atomic
def exemption_renew(*, actor, exemption: Exemption, justification: str, expires_on: date) -> Exemption:
    """An org admin extends a grant (still running or lapsed) to a new expiry, recorded as a renewal.
    Renewing again to the same date changes nothing."""
    exemption = _locked(exemption)
    permissions.require_change(actor, exemption, ADMIN_DECIDES)
    if exemption.status != Exemption.Status.GRANTED:
        raise ValidationError({"status": "Only a granted exemption can be renewed; ask again instead."})
    justification = _justified(justification, "Say why the exemption is renewed.")
    if exemption.expires_on == expires_on:
        return exemption
    _check_expiry(expires_on, required=True)
    exemption.expires_on = expires_on
    exemption.justification = justification
    exemption.decided_by = permissions.person(actor)
    exemption.decided_at = timezone.now()
    exemption.save()
    _record(exemption, ExemptionEvent.Action.RENEWED, actor, justification)
    return exemption


def _decide(*, actor, exemption, justification, to_status, from_status, action, wrong_state, why):
    """Reject a request or revoke a grant: admin only, a justification, recorded; repeating it changes nothing."""
    exemption = _locked(exemption)
    permissions.require_change(actor, exemption, ADMIN_DECIDES)
    if exemption.status == to_status:
        return exemption
    if exemption.status != from_status:
        raise ValidationError({"status": wrong_state})
    exemption.status = to_status
    exemption.justification = _justified(justification, why)
    exemption.decided_by = permissions.person(actor)
    exemption.decided_at = timezone.now()
    exemption.save()
    _record(exemption, action, actor, exemption.justification)
    return exemption


@transaction.atomic
def exemption_reject(*, actor, exemption: Exemption, justification: str) -> Exemption:
    return _decide(
        actor=actor,
        exemption=exemption,
        justification=justification,
        to_status=Exemption.Status.REJECTED,
        from_status=Exemption.Status.REQUESTED,
        action=ExemptionEvent.Action.REJECTED,
        wrong_state="Only a pending request can be rejected; revoke a grant instead.",
        why="Say why the request is rejected.",
    )


@transaction.atomic
def exemption_revoke(*, actor, exemption: Exemption, justification: str) -> Exemption:
    return _decide(
        actor=actor,
        exemption=exemption,
        justification=justification,
        to_status=Exemption.Status.REVOKED,
        from_status=Exemption.Status.GRANTED,
        action=ExemptionEvent.Action.REVOKED,
        wrong_state="Only a granted exemption can be revoked.",
        why="Say why the exemption is revoked.",
    )
