"""Demo SLIs and SLOs with 30 days of 5-minute samples: most healthy, some burning, one exhausted.

Idempotent: SLIs and SLOs are upserted by slug, samples by (SLI, bucket), and the
alert history is rebuilt from the samples on every run.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from apps.core import permissions
from apps.teams.models import Organization, Service, Team, TeamMembership

from . import maths, services
from .models import BUCKET_SECONDS, SLI, SLO, BurnRateAlert, ErrorBudgetPolicy

DAY = 86400
DAYS = 30

# (service, SLI kind, SLI name, SLO target, window, budgeting, profile)
#   window: ("rolling", days) or ("calendar", "month"/"quarter")
#   profile: healthy | at_risk | burning | slow_burn | exhausted | recovered | none
SPECS = [
    ("checkout-api", "availability", "Checkout API availability", "0.999", ("rolling", 30), "occ", "burning"),
    ("checkout-api", "latency", "Checkout API latency < 300 ms", "0.99", ("rolling", 28), "slices", "healthy"),
    ("payments-gateway", "availability", "Payments availability", "0.9995", ("rolling", 30), "occ", "exhausted"),
    ("order-service", "availability", "Order placement success", "0.999", ("calendar", "month"), "occ", "recovered"),
    ("cart-service", "availability", "Cart availability", "0.995", ("rolling", 7), "occ", "healthy"),
    ("auth-service", "availability", "Sign-in availability", "0.9995", ("rolling", 30), "occ", "healthy"),
    ("session-store", "latency", "Session read latency < 20 ms", "0.99", ("rolling", 30), "occ", "slow_burn"),
    ("search-api", "latency", "Search latency < 500 ms", "0.95", ("rolling", 28), "slices", "healthy"),
    ("ledger", "correctness", "Ledger entries reconciled", "0.9999", ("calendar", "quarter"), "occ", "healthy"),
    ("ingress-gateway", "availability", "Ingress availability", "0.9999", ("rolling", 30), "occ", "recovered"),
    ("kafka-cluster", "availability", "Kafka produce success", "0.999", ("rolling", 30), "occ", "healthy"),
    ("risk-scorer", "latency", "Risk score within 150 ms", "0.99", ("rolling", 7), "occ", "healthy"),
    ("warehouse-loader", "freshness", "Warehouse data < 1 h old", "0.98", ("calendar", "month"), "slices", "healthy"),
    ("mobile-bff", "availability", "Mobile BFF availability", "0.998", ("rolling", 30), "occ", "healthy"),
    ("feature-store", "availability", "Feature store reads", "0.999", ("rolling", 30), "occ", "at_risk"),
    # Synced from Prometheus; nothing fetched yet: shows "No data", never 100%.
    ("metrics-pipeline", "availability", "Metrics ingest success", "0.999", ("rolling", 30), "occ", "none"),
]
# The second organization: one team measures its tier-1 service, the others have no SLO yet.
GLOBEX_SPECS = [
    ("route-planner", "availability", "Route planning success", "0.995", ("rolling", 30), "occ", "healthy"),
]


def _slug(text: str) -> str:
    from django.utils.text import slugify

    return slugify(text)[:110]


def _upsert_sli(service: Service, kind: str, name: str, profile: str) -> SLI:
    slug = _slug(f"{service.slug}-{kind}")
    sli = SLI.objects.filter(organization_id=service.organization_id, slug=slug).first()
    fields = {"kind": kind, "description": f"{name} as measured at the edge."}
    if profile == "none":
        job = service.slug
        fields.update(
            source=SLI.Source.PROMETHEUS,
            prometheus_url="http://127.0.0.1:9090",
            good_query=f'sum(increase(http_requests_total{{job="{job}",code!~"5.."}}[5m]))',
            total_query=f'sum(increase(http_requests_total{{job="{job}"}}[5m]))',
        )
    else:
        fields["source"] = SLI.Source.PUSH
    if sli is None:
        return services.sli_create(actor=permissions.SYSTEM, service=service, name=name, slug=slug, **fields)
    return sli


def _upsert_slo(sli: SLI, name: str, target: str, window, budgeting: str, owner) -> SLO:
    fields = {
        "target": Decimal(target),
        "description": f"{name}: {float(target) * 100:g}% of events are good.",
        "owner": owner,
        "budgeting": SLO.Budgeting.TIMESLICES if budgeting == "slices" else SLO.Budgeting.OCCURRENCES,
        "timeslice_seconds": 900 if budgeting == "slices" else None,
        "timeslice_target": Decimal("0.95") if budgeting == "slices" else None,
    }
    if window[0] == "rolling":
        fields.update(window_kind=SLO.WindowKind.ROLLING, window_days=window[1], calendar_unit="")
    else:
        fields.update(window_kind=SLO.WindowKind.CALENDAR, window_days=30, calendar_unit=window[1])
    slug = sli.slug
    slo = SLO.objects.filter(organization_id=sli.organization_id, slug=slug).first()
    if slo is None:
        return services.slo_create(actor=permissions.SYSTEM, sli=sli, name=name, slug=slug, **fields)
    return services.slo_update(actor=permissions.SYSTEM, slo=slo, name=name, **fields)


def _error_ratio(profile: str, budget: float, age: int, rng) -> float:
    """Share of bad events in the bucket `age` seconds before now."""
    noise = 0.6 + 0.8 * rng.random()
    base = budget * 0.25 * noise
    if profile == "burning" and age < 90 * 60:
        return budget * 22 * noise
    if profile == "slow_burn" and age < 3 * DAY:
        return budget * 1.6 * noise
    if profile == "exhausted" and 9 * DAY <= age < 9 * DAY + 6 * 3600:
        return 0.3 + 0.1 * rng.random()
    if profile == "at_risk":
        return budget * 0.85 * noise
    if profile == "recovered" and 4 * DAY <= age < 4 * DAY + 2 * 3600:
        return budget * 40 * noise
    return base


def _incident_checkpoints(now: datetime) -> list[datetime]:
    """When to evaluate the alerts so the history shows incidents opening and resolving."""
    out = []
    for start, length in ((9 * DAY + 6 * 3600, 6 * 3600), (4 * DAY + 2 * 3600, 2 * 3600)):
        begin = now - timedelta(seconds=start)
        for offset in (1800, 3600, length, length + 3600, length + 8 * 3600, length + DAY, length + 4 * DAY):
            moment = begin + timedelta(seconds=offset)
            if moment < now:
                out.append(moment)
    return sorted(set(out))


def _org_slos(org, specs, now_bucket, rng, slos, rows):
    """The SLIs and SLOs of one organization's specs, with 30 days of samples (appended to `rows`)."""
    by_slug = {s.slug: s for s in Service.objects.filter(organization=org).select_related("team")}
    leads = dict(
        TeamMembership.objects.filter(team__organization=org, role=TeamMembership.Role.LEAD).values_list(
            "team_id", "user"
        )
    )
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.in_bulk(list(leads.values()))
    for service_slug, kind, name, target, window, budgeting, profile in specs:
        service = by_slug.get(service_slug)
        if service is None:
            continue
        sli = _upsert_sli(service, kind, name, profile)
        slo = _upsert_slo(sli, name, target, window, budgeting, users.get(leads.get(service.team_id)))
        slos.append(slo)
        if profile == "none":
            continue
        budget = 1 - float(target)
        for k in range(DAYS * 288):
            bucket = now_bucket - (k + 1) * BUCKET_SECONDS
            hour = datetime.fromtimestamp(bucket, UTC).hour
            traffic = 400 + 350 * math.sin((hour - 6) / 24 * 2 * math.pi) + 100 * rng.random()
            total = max(int(traffic), 20)
            expected_bad = total * _error_ratio(profile, budget, k * BUCKET_SECONDS, rng)
            # Whole events; the fraction becomes one more bad event with that probability.
            bad = min(total, int(expected_bad) + (rng.random() < expected_bad - int(expected_bad)))
            rows.append((sli.pk, bucket, float(total - bad), float(total)))


def seed(context):
    rng = context["rng"]
    org = context.get("organization")
    if org is None:
        return
    now = timezone.now().replace(second=0, microsecond=0)
    now_bucket = maths.floor_to(int(now.timestamp()), BUCKET_SECONDS)
    slos, rows = [], []
    globex = Organization.objects.filter(slug="globex").first()
    # Globex draws from its own generator, so the shared one (and every later app's demo) is as before.
    for spec_org, specs, spec_rng in ((org, SPECS, rng), (globex, GLOBEX_SPECS, random.Random(8_2026))):
        if spec_org is None:
            continue
        _org_slos(spec_org, specs, now_bucket, spec_rng, slos, rows)
    services.samples_upsert(rows, actor=permissions.SYSTEM)

    # Policies: a team default for Checkout and Payments, one SLO with its own.
    for team_slug in ("checkout", "payments"):
        team = Team.objects.filter(organization=org, slug=team_slug).first()
        if team and not ErrorBudgetPolicy.objects.filter(team=team, slo__isnull=True).exists():
            services.policy_set(
                actor=permissions.SYSTEM,
                team=team,
                name=f"{team.name} error budget policy",
                steps=[
                    {"consumed_percent": 50, "action": "Review the top error sources at the weekly ops review."},
                    {"consumed_percent": 75, "action": "Put one engineer on reliability work until the burn slows."},
                    {"consumed_percent": 100, "action": "Freeze feature deploys; only fixes and rollbacks ship."},
                ],
                notes="Agreed with product on 2026-01-12. The freeze lifts when the budget is positive again.",
            )
    payments = next((s for s in slos if s.slug.startswith("payments-gateway")), None)
    if payments and not ErrorBudgetPolicy.objects.filter(slo=payments).exists():
        services.policy_set(
            actor=permissions.SYSTEM,
            team=payments.sli.service.team,
            slo=payments,
            name="Payments availability policy",
            steps=[
                {"consumed_percent": 25, "action": "Page the payments on-call lead for a burn review."},
                {"consumed_percent": 100, "action": "Freeze deploys and start a postmortem for the outage."},
                {"consumed_percent": 200, "action": "Escalate to the CTO; reliability roadmap item next quarter."},
            ],
        )
    checkout = Team.objects.filter(organization=org, slug="checkout").first()
    if checkout:
        services.alert_settings_set(actor=permissions.SYSTEM, team=checkout, email="checkout-oncall@northwind.example")

    # Alert history, rebuilt: evaluate at the incidents' checkpoints, then now.
    BurnRateAlert.objects.filter(slo__in=slos).delete()
    for moment in [*_incident_checkpoints(now), now]:
        services.alerts_evaluate(actor=permissions.SYSTEM, slos=slos, now=moment)
    # The demo's past alerts count as already told (no burst of e-mails when the worker starts).
    for alert in BurnRateAlert.objects.filter(slo__in=slos):
        alert.notified_open_at = alert.opened_at
        alert.notified_resolved_at = alert.resolved_at
        alert.save(update_fields=["notified_open_at", "notified_resolved_at"])
    open_alerts = BurnRateAlert.objects.filter(slo__in=slos, resolved_at__isnull=True).count()
    context["log"](f"{len(slos)} SLOs, {len(rows)} samples, {open_alerts} open burn-rate alerts")
