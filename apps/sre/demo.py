"""Toil lists with a review, and runbooks for tier-1 services (some due for review), per team.

Deterministic: rows are found by team and title, so running it twice changes nothing.
"""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from apps.slos.models import SLO
from apps.teams.models import Service, TeamMembership

from .models import Runbook, ToilItem, ToilReview

# (what, category, hours a week, automatable, status, started days ago, ended days ago)
TOIL = [
    ("Hand-run production deploys", "releases", "6", True, "automating", 150, None),
    ("Access requests for new joiners", "access", "3", True, "active", 120, None),
    ("Restarting stuck workers after pages", "interrupts", "5", True, "active", 90, None),
    ("Monthly capacity report", "reporting", "2", True, "automated", 170, 40),
    ("Certificate rotation", "capacity", "1.5", True, "automated", 160, 70),
    ("Answering data-fix tickets", "data", "4", False, "active", 60, None),
    ("Clearing full disks", "interrupts", "8", True, "active", 45, None),
]
# Teams toil weighs on more than others (index into the team list): more items and hours.
HEAVY = {0, 3}


def seed(context):
    org = context.get("organization")
    if org is None:
        return
    today = timezone.now().date()
    teams = list(context.get("teams") or org.teams.order_by("slug"))
    items = reviews = runbooks = 0
    for index, team in enumerate(teams):
        members = list(TeamMembership.objects.filter(team=team).select_related("user").order_by("role", "pk"))
        owner = members[0].user if members else None
        rows = TOIL if index in HEAVY else TOIL[index % 3 : index % 3 + 4]
        for title, category, hours, automatable, status, started, ended in rows:
            hours = Decimal(hours) * (3 if index in HEAVY else 1)
            _, created = ToilItem.objects.get_or_create(
                team=team,
                title=title,
                defaults={
                    "category": category,
                    "hours_per_week": hours,
                    "automatable": automatable,
                    "owner": owner,
                    "status": status,
                    "started_on": today - timedelta(days=started),
                    "ended_on": None if ended is None else today - timedelta(days=ended),
                    "last_reviewed_on": today - timedelta(days=14),
                },
            )
            items += created
        capacity = Decimal(max(len(members), 3) * 40)
        open_hours = sum(
            i.hours_per_week for i in ToilItem.objects.filter(team=team, status__in=ToilItem.OPEN_STATUSES)
        )
        saved = sum(i.hours_per_week for i in ToilItem.objects.filter(team=team, status=ToilItem.Status.AUTOMATED))
        _, created = ToilReview.objects.get_or_create(
            team=team,
            reviewed_on=today - timedelta(days=14),
            defaults={
                "reviewed_by": owner,
                "capacity_hours": capacity,
                "toil_hours": open_hours,
                "saved_hours": saved,
                "notes": "Quarterly toil review.",
            },
        )
        reviews += created
        for n, service in enumerate(Service.objects.filter(team=team, tier=Service.Tier.TIER_1).order_by("slug")):
            runbook, created = Runbook.objects.get_or_create(
                team=team,
                title=f"{service.name}: responding to a burn-rate page",
                defaults={
                    "body": (
                        f"## When {service.name} pages\n\n"
                        "1. Open the SLO page and check which window burns.\n"
                        "2. Look at the last deployment; roll back if it lines up.\n"
                        "3. Check the dependencies' status pages.\n"
                        "4. Post in the incident channel every 30 minutes.\n"
                    ),
                    "incident_types": ["elevated errors", "latency"],
                    # Every other team's runbook is overdue for review.
                    "last_reviewed_on": today - timedelta(days=30 if (index + n) % 2 == 0 else 240),
                    "last_reviewed_by": owner,
                },
            )
            if created:
                runbook.services.add(service)
                runbook.slos.set(SLO.objects.filter(sli__service=service))
            runbooks += created
    context["log"](f"{items} toil items, {reviews} toil reviews, {runbooks} runbooks")
