"""Celery jobs of the scoring app: thin, they take ids and call a service."""

from apps.core import permissions
from apps.core.tasks import idempotent_task
from apps.teams.models import Organization

from . import services
from .models import ScoringRun


@idempotent_task
def score_all():
    """The daily run: every organization, today's snapshot per team (re-running replaces it)."""
    runs = services.score_all_organizations(actor=permissions.SYSTEM, trigger="schedule")
    return {"runs": len(runs), "teams": sum(r.teams_scored for r in runs)}


@idempotent_task
def run_scoring(run_id: int):
    """A run queued from the button or the API."""
    run = ScoringRun.objects.select_related("organization").filter(pk=run_id).first()
    if run is None or run.status == ScoringRun.Status.DONE:
        return None
    run = services.scoring_run(actor=permissions.SYSTEM, organization=run.organization, run=run, trigger=run.trigger)
    return run.teams_scored


@idempotent_task
def score_organization(organization_id: int):
    org = Organization.objects.filter(pk=organization_id).first()
    if org is None:
        return None
    return services.scoring_run(actor=permissions.SYSTEM, organization=org, trigger="task").teams_scored
