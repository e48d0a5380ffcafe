"""Six months of pushes, deployments and incidents, with a spread of DORA tiers across teams.

Deterministic (own random seed, ids derived from the day), so running it twice changes nothing.
Incidents go through the postmortems service with source "pagerduty" and ids "demo-pd-...".
"""

import random
from datetime import UTC, datetime, timedelta

from apps.teams.models import Organization, Service, Team

from . import rollups, services
from .models import Change, Deployment, Integration

DAYS = 182

# (deploy days probability, deploys on such a day, commit age hours, failure probability, restore hours)
PROFILES = {
    "elite": (0.92, (2, 6), (1, 14), 0.02, (0.2, 0.8)),
    "high": (0.4, (1, 2), (20, 110), 0.06, (2, 14)),
    "medium": (0.08, (1, 1), (180, 600), 0.12, (30, 120)),
    "low": (0.02, (1, 1), (800, 1500), 0.25, (200, 330)),
}
TEAM_PROFILES = {
    "cloud-infra": ("high", "high"),
    "developer-experience": ("elite", "elite"),
    "observability": ("elite", "high"),
    "data-platform": ("medium", "medium"),
    "checkout": ("elite", "high"),
    "payments": ("high", "medium"),
    "search": ("high", "elite"),
    "identity": ("medium", "high"),
    "mobile": ("low", "medium"),
}
FALLBACK = [("high", "high"), ("medium", "low"), ("low", "low"), ("elite", "medium")]
# The second organization: two teams deploy through GitHub, the others have not connected anything.
GLOBEX_PROFILES = {"routing": "high", "fleet-tracking": "medium"}


def seed(context):
    org = context.get("organization")
    if org is None:
        return
    rng = random.Random(6_2026)
    anchor = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    teams = list(Team.objects.filter(organization=org).order_by("slug"))
    github, _ = _integration(org, "GitHub (demo)", Integration.Kind.GITHUB)
    pagerduty, _ = _integration(org, "PagerDuty (demo)", Integration.Kind.PAGERDUTY)
    new_changes, new_deployments, incidents = 0, 0, 0
    for index, team in enumerate(teams):
        delivery, restore = TEAM_PROFILES.get(team.slug, FALLBACK[index % len(FALLBACK)])
        team_services = list(Service.objects.filter(team=team).order_by("slug"))
        if not team_services:
            continue
        c, d = _deployments(rng, org, team, team_services, github, anchor, PROFILES[delivery])
        new_changes += c
        new_deployments += d
        incidents += _incidents(rng, org, team, team_services, anchor, PROFILES[delivery], PROFILES[restore])
    for mapping_service in Service.objects.filter(organization=org):
        pagerduty.mappings.get_or_create(key=mapping_service.name, defaults={"service": mapping_service})
    written = rollups.refresh(
        team_ids=[t.pk for t in teams], since=(anchor - timedelta(days=DAYS + 1)).date(), until=anchor.date()
    )
    new_deployments += _globex(anchor)
    context["log"](
        f"Delivery: {new_deployments} new deployments, {new_changes} new commits, "
        f"{incidents} new PagerDuty incidents, {written} rollup rows"
    )


def _globex(anchor) -> int:
    """Globex: deployments for the teams that connected GitHub, and one deployment of a repository
    no service is mapped to yet (kept as unattributed, for the org admin to map)."""
    org = Organization.objects.filter(slug="globex").first()
    if org is None:
        return 0
    rng = random.Random(7_2026)
    github, _ = _integration(org, "GitHub (Globex)", Integration.Kind.GITHUB)
    teams = list(Team.objects.filter(organization=org, slug__in=GLOBEX_PROFILES).order_by("slug"))
    written = 0
    for team in teams:
        team_services = list(Service.objects.filter(team=team).order_by("slug"))
        if team_services:
            written += _deployments(
                rng, org, team, team_services, github, anchor, PROFILES[GLOBEX_PROFILES[team.slug]]
            )[1]
    finished = anchor - timedelta(days=2, hours=-10)
    Deployment.objects.get_or_create(
        integration=github,
        external_id="demo-unmapped-customs-portal-1",
        defaults={
            "organization": org,
            "source": "github",
            "repository": "globex/customs-portal",
            "environment": "production",
            "is_production": True,
            "status": Deployment.Status.SUCCESS,
            "status_at": finished,
            "sha": f"{rng.getrandbits(160):040x}",
            "ref": "main",
            "started_at": finished - timedelta(minutes=6),
            "finished_at": finished,
        },
    )
    rollups.refresh(
        team_ids=[t.pk for t in teams], since=(anchor - timedelta(days=DAYS + 1)).date(), until=anchor.date()
    )
    return written


def _integration(org, name, kind):
    existing = Integration.objects.filter(organization=org, name=name).first()
    if existing:
        return existing, False
    integration, _secret = services.integration_create(actor=None, organization=org, name=name, kind=kind)
    return integration, True


def _deployments(rng, org, team, team_services, integration, anchor, profile):
    probability, per_day, age_hours, failure, _ = profile
    changes, deployments = [], []
    for days_ago in range(DAYS, 0, -1):
        day = anchor - timedelta(days=days_ago)
        weekend = day.weekday() >= 5
        if rng.random() > (probability * (0.3 if weekend else 1.0)):
            continue
        for n in range(rng.randint(*per_day)):
            service = rng.choice(team_services)
            finished = day + timedelta(hours=rng.uniform(8, 19))
            failed = rng.random() < failure
            sha = f"{rng.getrandbits(160):040x}"
            repository = f"{org.slug}/{service.slug}"
            deployments.append(
                Deployment(
                    organization=org,
                    team=team,
                    service=service,
                    integration=integration,
                    source="github",
                    external_id=f"demo-{service.slug}-{day:%Y%m%d}-{n}",
                    repository=repository,
                    environment="production",
                    is_production=True,
                    status=Deployment.Status.FAILURE if failed else Deployment.Status.SUCCESS,
                    status_at=finished,
                    sha=sha,
                    ref="main",
                    started_at=finished - timedelta(minutes=rng.randint(3, 20)),
                    finished_at=finished,
                )
            )
            for c in range(rng.randint(1, 4)):
                committed = finished - timedelta(hours=rng.uniform(*age_hours))
                changes.append(
                    Change(
                        organization=org,
                        team=team,
                        service=service,
                        integration=integration,
                        repository=repository,
                        sha=sha if c == 0 else f"{rng.getrandbits(160):040x}",
                        message=rng.choice(
                            ["Fix flaky retry", "Add metrics", "Bump dependency", "Refactor handler", "Tune timeout"]
                        ),
                        author=rng.choice(["ada", "grace", "linus", "margaret", "ken"]),
                        committed_at=committed,
                        source="github",
                    )
                )
    before_c = Change.objects.filter(team=team).count()
    before_d = Deployment.objects.filter(team=team).count()
    Deployment.objects.bulk_create(deployments, ignore_conflicts=True, batch_size=1000)
    Change.objects.bulk_create(changes, ignore_conflicts=True, batch_size=1000)
    return Change.objects.filter(team=team).count() - before_c, Deployment.objects.filter(team=team).count() - before_d


def _incidents(rng, org, team, team_services, anchor, delivery_profile, restore_profile):
    from apps.postmortems.services import incident_upsert_from_source

    low, high = restore_profile[4]
    count = 0
    for days_ago in range(DAYS, 0, -1):
        # About one incident a month per team, a little more for teams that fail more.
        if rng.random() > 0.03 + delivery_profile[3] / 4:
            continue
        service = rng.choice(team_services)
        started = anchor - timedelta(days=days_ago) + timedelta(hours=rng.uniform(0, 23))
        restore = timedelta(hours=rng.uniform(low, high))
        resolved = started + restore
        if resolved > datetime.now(UTC):
            resolved = None
        incident, created = incident_upsert_from_source(
            organization=org,
            team=team,
            source="pagerduty",
            external_id=f"demo-pd-{team.slug}-{started:%Y%m%d}",
            services=[service],
            title=rng.choice(
                [
                    f"{service.name}: elevated 5xx",
                    f"{service.name}: latency above SLO",
                    f"{service.name}: queue backlog",
                    f"{service.name}: failed health checks",
                ]
            ),
            severity=rng.choice([1, 2, 2, 3, 3, 3, 4]),
            started_at=started,
            detected_at=started + timedelta(minutes=rng.randint(1, 10)),
            **({"resolved_at": resolved, "status": "resolved"} if resolved else {}),
        )
        services.incident_link_refresh(incident=incident)
        count += created
    return count
