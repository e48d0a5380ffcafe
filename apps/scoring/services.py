"""Writes of the scoring app: scorecards, exemptions and the scoring job. All idempotent."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core import permissions
from apps.teams.models import Organization, Team

from . import inputs as inputs_mod
from . import pillars, signals
from .models import Check, Exemption, ExemptionEvent, Scorecard, ScoringRun, Snapshot

logger = logging.getLogger(__name__)

DEFAULT_RUBRIC = Path(__file__).resolve().parent / "rubrics" / "default.json"
SNAPSHOT_FIELDS = [
    "organization",
    "overall",
    "level",
    "self_assessment",
    "delivery",
    "reliability",
    "learning",
    "weights",
    "checks",
    "gaps",
    "recommendations",
    "inputs",
    "updated_at",
]


@cache
def default_rubric() -> dict:
    """The rubric every organization starts from (apps/scoring/rubrics/default.json)."""
    return json.loads(DEFAULT_RUBRIC.read_text())


# --- scorecards -----------------------------------------------------------------------------


def scorecard_ensure(*, organization: Organization) -> Scorecard:
    """The org's scorecard, created from the default rubric the first time. Safe to call concurrently."""
    existing = Scorecard.objects.filter(organization=organization).first()
    if existing is not None:
        return existing
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


def scorecards_ensure(*, organizations: Iterable[Organization]) -> dict[int, Scorecard]:
    """{org id: scorecard} for these orgs, creating missing ones (queries grow with new orgs only)."""
    orgs = list(organizations)
    found = {s.organization_id: s for s in Scorecard.objects.filter(organization__in=orgs)}
    for org in orgs:
        if org.pk not in found:
            found[org.pk] = scorecard_ensure(organization=org)
    return found


@transaction.atomic
def scorecard_update(*, scorecard: Scorecard, user, **fields) -> Scorecard:
    """Change weights, name or gap threshold (org admins only); validated before anything is written."""
    if not permissions.is_org_admin(user, scorecard.organization_id) and not user.is_superuser:
        raise PermissionDenied("Only an org admin changes the scorecard.")
    allowed = {"name", "gap_threshold", *(f"weight_{k}" for k in pillars.PILLAR_KEYS)}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Not a scorecard setting."))
    for key, value in fields.items():
        setattr(scorecard, key, value)
    scorecard.full_clean()
    scorecard.save()
    return scorecard


# --- exemptions ---------------------------------------------------------------------------


def _record(exemption: Exemption, action: str, user, note: str = "") -> None:
    ExemptionEvent.objects.create(
        exemption=exemption, action=action, actor=user, note=note, expires_on=exemption.expires_on
    )


def _require_admin(user, organization) -> None:
    if not permissions.is_org_admin(user, organization):
        raise PermissionDenied("Only an org admin decides on exemptions.")


def _check_expiry(expires_on: date | None, *, required: bool) -> None:
    if expires_on is None:
        if required:
            raise ValidationError({"expires_on": "Give the date the exemption ends."})
        return
    today = timezone.localdate()
    if expires_on <= today:
        raise ValidationError({"expires_on": "The expiry must be in the future."})
    if (expires_on - today).days > 366:
        raise ValidationError({"expires_on": "An exemption lasts at most a year; ask again when it ends."})


@transaction.atomic
def exemption_request(
    *, team: Team, level_check: Check, user, reason: str, expires_on: date | None = None
) -> Exemption:
    """A team lead (or an org admin) asks for a check to count as passed. Asking twice returns the open request."""
    if not (
        permissions.team_role(user, team) == permissions.TEAM_LEAD
        or permissions.is_org_admin(user, team.organization_id)
    ):
        raise PermissionDenied("Only the team's lead or an org admin asks for an exemption.")
    if level_check.scorecard.organization_id != team.organization_id:
        raise ValidationError({"level_check": "This check belongs to another organization's scorecard."})
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
        team=team, level_check=level_check, reason=reason, expires_on=expires_on, requested_by=user
    )
    _record(exemption, ExemptionEvent.Action.REQUESTED, user, reason)
    return exemption


def _locked(exemption: Exemption) -> Exemption:
    return Exemption.objects.select_for_update().select_related("team", "level_check").get(pk=exemption.pk)


@transaction.atomic
def exemption_grant(*, exemption: Exemption, user, justification: str, expires_on: date) -> Exemption:
    """An org admin grants a request until `expires_on`. Granting again with the same terms changes nothing."""
    exemption = _locked(exemption)
    _require_admin(user, exemption.team.organization_id)
    justification = (justification or "").strip()
    if not justification:
        raise ValidationError({"justification": "A grant needs a justification."})
    if exemption.status == Exemption.Status.GRANTED and exemption.expires_on == expires_on:
        return exemption
    if exemption.status not in (Exemption.Status.REQUESTED, Exemption.Status.GRANTED):
        raise ValidationError({"status": f"This exemption is {exemption.get_status_display().lower()}; ask again."})
    _check_expiry(expires_on, required=True)
    exemption.status = Exemption.Status.GRANTED
    exemption.justification = justification
    exemption.expires_on = expires_on
    exemption.decided_by = user
    exemption.decided_at = timezone.now()
    exemption.save()
    _record(exemption, ExemptionEvent.Action.GRANTED, user, justification)
    return exemption


def _exemption_decide(*, exemption, user, justification, to_status, from_status, action, wrong_state, why):
    """Reject a request or revoke a grant: admin only, a justification, recorded; repeating it changes nothing."""
    exemption = _locked(exemption)
    _require_admin(user, exemption.team.organization_id)
    if exemption.status == to_status:
        return exemption
    if exemption.status != from_status:
        raise ValidationError({"status": wrong_state})
    justification = (justification or "").strip()
    if not justification:
        raise ValidationError({"justification": why})
    exemption.status = to_status
    exemption.justification = justification
    exemption.decided_by = user
    exemption.decided_at = timezone.now()
    exemption.save()
    _record(exemption, action, user, justification)
    return exemption


@transaction.atomic
def exemption_reject(*, exemption: Exemption, user, justification: str) -> Exemption:
    return _exemption_decide(
        exemption=exemption,
        user=user,
        justification=justification,
        to_status=Exemption.Status.REJECTED,
        from_status=Exemption.Status.REQUESTED,
        action=ExemptionEvent.Action.REJECTED,
        wrong_state="Only a pending request can be rejected; revoke a grant instead.",
        why="Say why the request is rejected.",
    )


@transaction.atomic
def exemption_revoke(*, exemption: Exemption, user, justification: str) -> Exemption:
    return _exemption_decide(
        exemption=exemption,
        user=user,
        justification=justification,
        to_status=Exemption.Status.REVOKED,
        from_status=Exemption.Status.GRANTED,
        action=ExemptionEvent.Action.REVOKED,
        wrong_state="Only a granted exemption can be revoked.",
        why="Say why the exemption is revoked.",
    )
    if exemption.status != Exemption.Status.GRANTED:
        raise ValidationError({"status": "Only a granted exemption can be revoked."})
    justification = (justification or "").strip()
    if not justification:
        raise ValidationError({"justification": "Say why the exemption is revoked."})
    exemption.status = Exemption.Status.REVOKED
    exemption.justification = justification
    exemption.decided_by = user
    exemption.decided_at = timezone.now()
    exemption.save()
    _record(exemption, ExemptionEvent.Action.REVOKED, user, justification)
    return exemption


# --- the scoring job -----------------------------------------------------------------------


def _specs(checks: Iterable[Check]) -> list[pillars.CheckSpec]:
    return [
        pillars.CheckSpec(
            id=c.pk,
            key=c.key,
            level=c.level,
            name=c.name,
            metric=c.metric,
            operator=c.operator,
            value=c.value,
            hint=c.hint,
            when_missing=c.when_missing,
        )
        for c in checks
    ]


def score_teams(
    *, teams: Iterable[Team], as_of: date | None = None, progress: Callable[[int], None] | None = None
) -> int:
    """Score these teams as of `as_of` (default today) and upsert one snapshot per team for that day.

    A fixed number of queries whatever the number of teams (up to 2,000 per upsert batch):
    scorecards, checks, exemptions, the four evidence selectors, one upsert.
    `progress(n)` is called as teams are scored.
    """
    as_of = as_of or timezone.localdate()
    teams = list(teams)
    if not teams:
        return 0
    orgs = {t.organization_id: t.organization for t in teams}
    scorecards = scorecards_ensure(organizations=orgs.values())
    checks_by_card: dict[int, list[Check]] = {}
    for check in Check.objects.filter(scorecard__in=scorecards.values()):
        checks_by_card.setdefault(check.scorecard_id, []).append(check)
    specs = {card_id: _specs(checks) for card_id, checks in checks_by_card.items()}
    team_ids = [t.pk for t in teams]
    exemptions: dict[int, dict[int, str]] = {}
    for team_id, check_id, expires_on in Exemption.objects.filter(
        team_id__in=team_ids,
        status=Exemption.Status.GRANTED,
        expires_on__gte=as_of,
        decided_at__date__lte=as_of,
    ).values_list("team_id", "level_check_id", "expires_on"):
        exemptions.setdefault(team_id, {})[check_id] = expires_on.isoformat()
    gathered = inputs_mod.gather(team_ids=team_ids, as_of=as_of)
    now = timezone.now()
    rows = []
    for i, team in enumerate(teams, 1):
        card = scorecards[team.organization_id]
        result = pillars.score_team(
            gathered[team.pk],
            weights=card.weights,
            checks=specs.get(card.pk, []),
            gap_threshold=card.gap_threshold,
            exemptions=exemptions.get(team.pk),
        )
        rows.append(
            Snapshot(
                organization_id=team.organization_id,
                team=team,
                date=as_of,
                overall=result.overall,
                level=result.level,
                weights=card.weights,
                checks=result.stored_checks,
                gaps=result.gaps,
                recommendations=result.recommendations,
                inputs=result.inputs,
                updated_at=now,
                **result.pillars,
            )
        )
        if progress is not None and (i % 50 == 0 or i == len(teams)):
            progress(50 if i % 50 == 0 else i % 50)
    Snapshot.objects.bulk_create(
        rows,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["team", "date"],
        update_fields=SNAPSHOT_FIELDS,
    )
    signals.snapshots_written.send(sender=Snapshot, team_ids=team_ids, as_of=as_of)
    return len(rows)


def scoring_run(
    *,
    organization: Organization,
    as_of: date | None = None,
    trigger: str = "schedule",
    user=None,
    run: ScoringRun | None = None,
    progress: Callable[[int], None] | None = None,
) -> ScoringRun:
    """Score every team of an organization for `as_of` (default today), recorded as a ScoringRun."""
    as_of = as_of or timezone.localdate()
    if run is None:
        run = ScoringRun.objects.create(organization=organization, as_of=as_of, trigger=trigger, requested_by=user)
    ScoringRun.objects.filter(pk=run.pk).update(status=ScoringRun.Status.RUNNING, started_at=timezone.now())
    try:
        with transaction.atomic():
            teams = Team.objects.filter(organization=organization).select_related("organization").order_by("pk")
            count = score_teams(teams=teams, as_of=run.as_of, progress=progress)
    except Exception as exc:
        ScoringRun.objects.filter(pk=run.pk).update(
            status=ScoringRun.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:2000]
        )
        raise
    ScoringRun.objects.filter(pk=run.pk).update(
        status=ScoringRun.Status.DONE, finished_at=timezone.now(), teams_scored=count, error=""
    )
    run.refresh_from_db()
    return run


def scoring_request(*, organization: Organization, user=None, trigger: str = "button") -> ScoringRun:
    """Queue a run for today (org admins). While one is queued or running, asking again returns it."""
    if user is not None and not permissions.is_org_admin(user, organization):
        raise PermissionDenied("Only an org admin runs the scoring job.")
    today = timezone.localdate()
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        pending = ScoringRun.objects.filter(
            organization=organization,
            as_of=today,
            status__in=[ScoringRun.Status.QUEUED, ScoringRun.Status.RUNNING],
            created_at__gte=timezone.now() - timedelta(minutes=30),
        ).first()
        if pending is not None:
            return pending
        run = ScoringRun.objects.create(organization=organization, as_of=today, trigger=trigger, requested_by=user)

        def enqueue():
            from .tasks import run_scoring

            run_scoring.delay(run.pk)

        transaction.on_commit(enqueue)
    return run


def score_all_organizations(*, as_of: date | None = None, trigger: str = "schedule") -> list[ScoringRun]:
    """The daily job: one run per organization that has teams."""
    runs = []
    for org in Organization.objects.filter(teams__isnull=False).distinct().order_by("pk"):
        try:
            runs.append(scoring_run(organization=org, as_of=as_of, trigger=trigger))
        except Exception:  # one org's failure must not stop the others; it is recorded on its run
            logger.exception("Scoring failed for organization %s", org.pk)
    return runs
