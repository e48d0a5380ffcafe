"""Demo organization: 3 departments, 12 teams, 40 services, people in every role."""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from apps.accounts.services import email_address_trust
from apps.core.permissions import SYSTEM

from . import services
from .models import OrgMembership, TeamMembership

User = get_user_model()

DEMO_PASSWORD = "demo-password-2026"

DEPARTMENTS = {
    "platform": (
        "Platform Engineering",
        [
            (
                "cloud-infra",
                "Cloud Infrastructure",
                "Kubernetes clusters, networking and the paved road.",
                ["cluster-api", "ingress-gateway", "dns-manager", "secrets-broker"],
            ),
            (
                "developer-experience",
                "Developer Experience",
                "CI/CD, build tooling and internal developer portal.",
                ["ci-runners", "artifact-registry", "dev-portal"],
            ),
            (
                "observability",
                "Observability",
                "Metrics, logs, traces and alert routing for everyone.",
                ["metrics-pipeline", "log-ingest", "trace-collector", "alert-router"],
            ),
            (
                "data-platform",
                "Data Platform",
                "Managed databases, streaming and backups.",
                ["postgres-operator", "kafka-cluster", "backup-service"],
            ),
        ],
    ),
    "product": (
        "Product Engineering",
        [
            (
                "checkout",
                "Checkout",
                "Cart, checkout flow and order placement.",
                ["checkout-api", "cart-service", "order-service", "tax-calculator"],
            ),
            (
                "payments",
                "Payments",
                "Card processing, refunds and ledgers.",
                ["payments-gateway", "ledger", "refunds-worker"],
            ),
            (
                "search",
                "Search & Discovery",
                "Product search, ranking and recommendations.",
                ["search-api", "indexer", "recommendations"],
            ),
            (
                "identity",
                "Identity",
                "Sign-in, sessions and customer accounts.",
                ["auth-service", "account-service", "session-store"],
            ),
            (
                "mobile",
                "Mobile Apps",
                "iOS and Android apps and their backend-for-frontend.",
                ["mobile-bff", "push-notifications", "app-config"],
            ),
        ],
    ),
    "data": (
        "Data & ML",
        [
            (
                "analytics",
                "Analytics Engineering",
                "Warehouse models and business reporting.",
                ["warehouse-loader", "reporting-api", "dbt-runner"],
            ),
            (
                "ml-platform",
                "ML Platform",
                "Feature store, training and model serving.",
                ["feature-store", "model-serving", "training-scheduler"],
            ),
            (
                "fraud",
                "Fraud Detection",
                "Real-time risk scoring of orders and payments.",
                ["risk-scorer", "rules-engine", "case-manager"],
            ),
        ],
    ),
}

TIER_ONE = {
    "checkout-api",
    "payments-gateway",
    "auth-service",
    "ledger",
    "ingress-gateway",
    "order-service",
    "risk-scorer",
    "search-api",
    "session-store",
    "kafka-cluster",
}
TIER_THREE = {"dev-portal", "dbt-runner", "training-scheduler", "app-config", "case-manager", "reporting-api"}
FIRST_NAMES = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Femi",
    "Grace",
    "Hugo",
    "Ines",
    "Jamal",
    "Kira",
    "Liam",
    "Maya",
    "Noor",
    "Owen",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Yara",
]


_hashed_password = None


def _person(email: str, name: str, *, superuser: bool = False):
    global _hashed_password
    user = User.objects.filter(email=email).first()
    if user is None:
        # Hash once: PBKDF2 per demo user would make seeding take a minute.
        _hashed_password = _hashed_password or make_password(DEMO_PASSWORD)
        user = User(email=email, name=name, is_staff=superuser, is_superuser=superuser, password=_hashed_password)
        user.save()
        email_address_trust(actor=SYSTEM, user=user)
    return user


def seed(context):
    rng = context["rng"]
    org = services.organization_upsert(actor=SYSTEM, name="Northwind Commerce", slug="northwind")
    context["organization"] = org

    superuser = _person("root@example.com", "Platform Superuser", superuser=True)
    admin = _person("admin@northwind.example", "Olivia Admin")
    leader = _person("cto@northwind.example", "Leo Leader")
    services.org_membership_set(actor=SYSTEM, organization=org, user=admin, role=OrgMembership.Role.ADMIN)
    services.org_membership_set(actor=SYSTEM, organization=org, user=leader, role=OrgMembership.Role.LEADER)

    teams = []
    name_index = 0
    for dept_slug, (dept_name, team_specs) in DEPARTMENTS.items():
        department = services.department_upsert(actor=SYSTEM, organization=org, name=dept_name, slug=dept_slug)
        for slug, name, description, service_names in team_specs:
            team = services.team_upsert(
                actor=SYSTEM, organization=org, name=name, slug=slug, department=department, description=description
            )
            teams.append(team)
            for position in range(4):
                first = FIRST_NAMES[name_index % len(FIRST_NAMES)]
                name_index += 1
                email = f"{first.lower()}.{slug}@northwind.example"
                user = _person(email, f"{first} {name.split()[0]}")
                role = TeamMembership.Role.LEAD if position == 0 else TeamMembership.Role.MEMBER
                services.team_membership_set(actor=SYSTEM, team=team, user=user, role=role)
            for service_name in service_names:
                tier = 1 if service_name in TIER_ONE else 3 if service_name in TIER_THREE else 2
                services.service_upsert(
                    actor=SYSTEM,
                    organization=org,
                    team=team,
                    name=service_name,
                    slug=service_name,
                    tier=tier,
                    lifecycle="production" if rng.random() > 0.08 else "experimental",
                    description=f"{service_name.replace('-', ' ').capitalize()} owned by {name}.",
                    repository_url=f"https://github.com/northwind/{service_name}",
                    runbook_url=f"https://runbooks.northwind.example/{service_name}",
                )

    # A second, small organization shows tenancy: nobody in it sees Northwind.
    other = services.organization_upsert(actor=SYSTEM, name="Globex Logistics", slug="globex")
    globex_admin = _person("admin@globex.example", "Gina Globex")
    services.org_membership_set(actor=SYSTEM, organization=other, user=globex_admin, role=OrgMembership.Role.ADMIN)
    routing = services.team_upsert(actor=SYSTEM, organization=other, name="Routing", slug="routing")
    services.team_membership_set(actor=SYSTEM, team=routing, user=globex_admin, role=TeamMembership.Role.LEAD)
    services.service_upsert(
        actor=SYSTEM, organization=other, team=routing, name="route-planner", slug="route-planner", tier=1
    )
    # A believable small tenant: a few teams, some with evidence (Routing: SLO and deployments;
    # Fleet Tracking: deployments), one with a service but no evidence yet, one without services.
    operations = services.department_upsert(actor=SYSTEM, organization=other, name="Operations", slug="operations")
    services.team_upsert(actor=SYSTEM, organization=other, name="Routing", slug="routing", department=operations)
    services.service_upsert(actor=SYSTEM, organization=other, team=routing, name="route-api", slug="route-api", tier=2)
    fleet = services.team_upsert(
        actor=SYSTEM,
        organization=other,
        name="Fleet Tracking",
        slug="fleet-tracking",
        department=operations,
        description="Truck telemetry and arrival estimates.",
    )
    services.service_upsert(
        actor=SYSTEM, organization=other, team=fleet, name="fleet-telemetry", slug="fleet-telemetry", tier=2
    )
    warehouse = services.team_upsert(
        actor=SYSTEM,
        organization=other,
        name="Warehouse Systems",
        slug="warehouse-systems",
        department=operations,
        description="Warehouse management sync; joined the platform this month.",
    )
    services.service_upsert(actor=SYSTEM, organization=other, team=warehouse, name="wms-sync", slug="wms-sync", tier=3)
    services.team_upsert(
        actor=SYSTEM,
        organization=other,
        name="Customs Docs",
        slug="customs-docs",
        description="Customs paperwork; no services yet.",
    )
    fleet_lead = _person("fleet.lead@globex.example", "Farid Fleet")
    services.team_membership_set(actor=SYSTEM, team=fleet, user=fleet_lead, role=TeamMembership.Role.LEAD)
    # The leader also advises Globex, so the organization switcher has two entries.
    services.org_membership_set(actor=SYSTEM, organization=other, user=leader, role=OrgMembership.Role.LEADER)

    checkout = next(t for t in teams if t.slug == "checkout")
    lead = checkout.memberships.get(role=TeamMembership.Role.LEAD).user
    member = checkout.memberships.filter(role=TeamMembership.Role.MEMBER).order_by("user__email").first().user
    context["password"] = DEMO_PASSWORD
    context["teams"] = teams
    context["logins"] = [
        ("Superuser (all orgs)", superuser.email),
        ("Org admin (Northwind)", admin.email),
        ("Leader (Northwind, Globex)", leader.email),
        ("Team lead (Checkout)", lead.email),
        ("Team member (Checkout)", member.email),
        ("Org admin (Globex)", globex_admin.email),
    ]
    context["log"](f"{org.name}: {len(teams)} teams, {org.services.count()} services, {org.memberships.count()} people")
