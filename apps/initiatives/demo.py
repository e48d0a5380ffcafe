"""Demo: one active initiative in the demo organization with progress points from its score history.
Idempotent: found by name, its points upserted per day."""

from datetime import timedelta

from django.utils import timezone

from apps.core import permissions

from . import selectors, services
from .models import Initiative

NAME = "Every team self-assessed within 90 days"
STARTED_DAYS_AGO, DUE_IN_DAYS, EVERY_DAYS = 28, 35, 4


def seed(context):
    org = context.get("organization")
    if org is None:
        return
    today = timezone.localdate()
    start = today - timedelta(days=STARTED_DAYS_AGO)
    initiative = Initiative.objects.filter(organization=org, name=NAME).first()
    if initiative is None:
        leader = org.memberships.filter(role="leader").select_related("user").first()
        initiative = services.initiative_create(
            actor=permissions.SYSTEM,
            organization=org,
            name=NAME,
            reason=(
                "Scores lean on a current CALMS self-assessment; a year-old one hides what changed. "
                "Reassess this quarter, and keep every tier-1 service under an SLO while doing it."
            ),
            owner=leader.user if leader else None,
            start_date=start,
            target_date=today + timedelta(days=DUE_IN_DAYS),
            status=Initiative.Status.ACTIVE,
            teams=list(org.teams.order_by("name")),
            checks=[
                {
                    "name": "Self-assessed in the last 90 days",
                    "metric": "calms.days_since_submitted",
                    "operator": "lte",
                    "value": 90,
                    "hint": "Fill in and submit the team's CALMS self-assessment in the open campaign.",
                },
                {
                    "name": "Tier-1 services with an SLO",
                    "metric": "slo.coverage_tier1",
                    "operator": "gte",
                    "value": 1.0,
                    "when_missing": "pass",
                    "hint": "Define an SLI and an SLO for each tier-1 service your team owns.",
                },
            ],
        )
    initiative = selectors.with_scope(Initiative.objects.filter(pk=initiative.pk)).get()
    day, points = initiative.start_date, 0
    while day <= today:
        services.progress_record(actor=permissions.SYSTEM, initiative=initiative, day=day)
        day += timedelta(days=EVERY_DAYS)
        points += 1
    services.progress_record(actor=permissions.SYSTEM, initiative=initiative, day=today)
    context["log"](f"Initiatives: “{NAME}” with {points + 1} progress points")
