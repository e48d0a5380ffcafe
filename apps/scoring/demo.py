"""Demo: weekly score snapshots over the past six months, so trends have points. Idempotent
(a snapshot per team and day is replaced, never duplicated), and one exemption story."""

from datetime import timedelta

from django.utils import timezone

from apps.core import permissions
from apps.teams.models import Organization, Team, TeamMembership

from . import services
from .models import Check, Exemption

WEEKS = 26


def seed(context):
    today = timezone.localdate()
    orgs = list(Organization.objects.filter(teams__isnull=False).distinct().order_by("pk"))
    days = [today - timedelta(weeks=w) for w in range(WEEKS, 0, -1)]
    for org in orgs:
        services.scorecard_ensure(actor=permissions.SYSTEM, organization=org)
        teams = list(Team.objects.filter(organization=org).select_related("organization").order_by("pk"))
        for day in days:
            services.score_teams(actor=permissions.SYSTEM, teams=teams, as_of=day)
    _exemption_story(context)
    for org in orgs:
        services.scoring_run(actor=permissions.SYSTEM, organization=org, as_of=today, trigger="demo")
    context["log"](f"Scores: {len(orgs)} organization(s), {WEEKS + 1} snapshot days per team")


def _exemption_story(context):
    """Checkout's lead asked for the tier-1 SLO check to be waived while a service is retired; the admin granted it.
    Payments' lead has a request waiting for a decision."""
    org = context.get("organization")
    if org is None:
        return
    admin = org.memberships.filter(role="admin").select_related("user").first()
    stories = (
        (
            "checkout",
            "tier1-slo-coverage",
            "order-service is being folded into checkout-api this quarter; its SLO moves with it.",
            True,
        ),
        (
            "payments",
            "postmortems-published",
            "Two SEV2s were card-network outages handled by the provider; their reports replace ours.",
            False,
        ),
    )
    for slug, key, reason, granted in stories:
        team = Team.objects.filter(organization=org, slug=slug).first()
        check = Check.objects.filter(scorecard__organization=org, key=key).first()
        lead = TeamMembership.objects.filter(team=team, role="lead").select_related("user").first()
        if not (team and check and lead and admin):
            continue
        if Exemption.objects.filter(team=team, level_check=check).exists():
            continue
        exemption = services.exemption_request(
            team=team,
            level_check=check,
            actor=lead.user,
            reason=reason,
        )
        if granted:
            services.exemption_grant(
                exemption=exemption,
                actor=admin.user,
                justification="Agreed in the reliability review: the retirement is on the roadmap.",
                expires_on=timezone.localdate() + timedelta(days=60),
            )
