"""The scoring job: score teams into dated snapshots, record each run, queue a run on request."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from apps.core import permissions
from apps.core.tasks import enqueue
from apps.teams.models import Organization, Team

from .. import inputs as inputs_mod
from .. import pillars, signals
from ..models import Check, ScoringRun, Snapshot
from ..rubric import specs as check_specs
from ..selectors.rubric import active_exemptions
from .scorecards import scorecards_ensure

logger = logging.getLogger(__name__)

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
JOB_ONLY = "Only an org admin runs the scoring job."


def score_teams(
    *,
    actor,
    teams: Iterable[Team],
    as_of: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Score these teams as of `as_of` (default today) and upsert one snapshot per team for that day.

    A fixed number of queries whatever the number of teams (up to 2,000 per upsert batch):
    scorecards, checks, exemptions, the four evidence selectors, one upsert.
    `progress(n)` is called as teams are scored. The actor must be an org admin of every team's org
    (the job passes permissions.SYSTEM).
    """
    as_of = as_of or timezone.localdate()
    teams = list(teams)
    if not teams:
        return 0
    orgs = {t.organization_id: t.organization for t in teams}
    for org_id in orgs:
        permissions.require_org_admin(actor, org_id, JOB_ONLY)
    scorecards = scorecards_ensure(actor=actor, organizations=orgs.values())
    checks_by_card: dict[int, list[Check]] = {}
    for check in Check.objects.filter(scorecard__in=scorecards.values()):
        checks_by_card.setdefault(check.scorecard_id, []).append(check)
    specs = {card_id: check_specs(checks) for card_id, checks in checks_by_card.items()}
    team_ids = [t.pk for t in teams]
    exemptions = active_exemptions(team_ids, as_of)
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
            as_of=as_of,
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
    actor,
    organization: Organization,
    as_of: date | None = None,
    trigger: str = "schedule",
    run: ScoringRun | None = None,
    progress: Callable[[int], None] | None = None,
) -> ScoringRun:
    """Score every team of an organization for `as_of` (default today), recorded as a ScoringRun."""
    permissions.require_org_admin(actor, organization, JOB_ONLY)
    as_of = as_of or timezone.localdate()
    if run is None:
        run = ScoringRun.objects.create(
            organization=organization, as_of=as_of, trigger=trigger, requested_by=permissions.person(actor)
        )
    ScoringRun.objects.filter(pk=run.pk).update(status=ScoringRun.Status.RUNNING, started_at=timezone.now())
    try:
        with transaction.atomic():
            teams = Team.objects.filter(organization=organization).select_related("organization").order_by("pk")
            count = score_teams(actor=actor, teams=teams, as_of=run.as_of, progress=progress)
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


def scoring_request(*, actor, organization: Organization, trigger: str = "button") -> ScoringRun:
    """Queue a run for today (org admins). While one is queued or running, asking again returns it."""
    permissions.require_org_admin(actor, organization, JOB_ONLY)
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
        run = ScoringRun.objects.create(
            organization=organization, as_of=today, trigger=trigger, requested_by=permissions.person(actor)
        )
        from ..tasks import run_scoring

        transaction.on_commit(lambda: enqueue(run_scoring, run.pk))
    return run


def score_all_organizations(*, actor, as_of: date | None = None, trigger: str = "schedule") -> list[ScoringRun]:
    """The daily job (actor=permissions.SYSTEM): one run per organization that has teams."""
    runs = []
    for org in Organization.objects.filter(teams__isnull=False).distinct().order_by("pk"):
        try:
            runs.append(scoring_run(actor=actor, organization=org, as_of=as_of, trigger=trigger))
        except Exception:  # one org's failure must not stop the others; it is recorded on its run
            logger.exception("Scoring failed for organization %s", org.pk)
    return runs
