"""Six months of pushes, deployments and incidents, with a spread of DORA tiers across teams.

The last two weeks arrive the way real records do: as signed webhook deliveries (GitHub
pushes and deployment statuses, PagerDuty incident events) verified, stored and normalized
by the intake, so the integrations show real deliveries. The months before are backfilled
as `manage.py import_delivery` would (source "import", no integration), which is what a team
that connects its tools today does with its history. One push chain runs through both, so
lead times follow shipped commits. Deterministic (own random seed, delivery ids and bodies
derived from the records): running it twice on the same day stores nothing new.
"""

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction

from apps.core import permissions
from apps.core.permissions import SYSTEM
from apps.teams.models import Organization, Service, Team

from . import intake, rollups, secrets, services
from .models import Change, Deployment, Integration, RawEvent

DAYS = 182
DELIVERED_DAYS = 14  # the most recent part of the history, sent through the intake
# Delivery ids are derived from what they carry: a second run sends the same ids.
DELIVERY_NAMESPACE = uuid.UUID("0b6c1d9e-5a0f-4f5e-9a51-6d656d6f2026")

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
MESSAGES = ["Fix flaky retry", "Add metrics", "Bump dependency", "Refactor handler", "Tune timeout"]
AUTHORS = ["ada", "grace", "linus", "margaret", "ken"]
# The second organization: two teams deploy through GitHub, the others have not connected anything.
GLOBEX_PROFILES = {"routing": "high", "fleet-tracking": "medium"}


@dataclass
class _Release:
    """One planned production deployment and the commits pushed just before it."""

    service: Service | None  # None: a repository no service is mapped to
    started: datetime
    finished: datetime
    failed: bool
    commits: list[tuple[str, datetime, str, str]] = field(default_factory=list)  # sha, committed, message, author


def seed(context):
    org = context.get("organization")
    if org is None:
        return
    rng = random.Random(6_2026)
    anchor = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    teams = list(Team.objects.filter(organization=org).order_by("slug"))
    github = _integration(org, "GitHub (demo)", Integration.Kind.GITHUB)
    pagerduty = _integration(org, "PagerDuty (demo)", Integration.Kind.PAGERDUTY)
    for mapping_service in Service.objects.filter(organization=org):
        pagerduty.mappings.get_or_create(key=mapping_service.name, defaults={"service": mapping_service})
    before = _counts(org)
    sender = _Sender()
    delivered_since = anchor - timedelta(days=DELIVERED_DAYS)
    for index, team in enumerate(teams):
        delivery, restore = TEAM_PROFILES.get(team.slug, FALLBACK[index % len(FALLBACK)])
        team_services = list(Service.objects.filter(team=team).order_by("slug"))
        if not team_services:
            continue
        releases = sorted(
            _plan_releases(rng, team_services, anchor, PROFILES[delivery]), key=lambda r: (r.service.pk, r.started)
        )
        incidents = list(_pagerduty_deliveries(rng, team, team_services, anchor, PROFILES[delivery], PROFILES[restore]))
        heads = _import_history(org, team, [r for r in releases if r.finished < delivered_since])
        _import_incidents(org, team, [i for i in incidents if i.started < delivered_since])
        with transaction.atomic():  # one commit per team, not per delivery
            for headers, payload in _github_deliveries([r for r in releases if r.finished >= delivered_since], heads):
                sender.send(github, headers, payload)
            for incident in incidents:
                if incident.started >= delivered_since:
                    for headers, payload in incident.deliveries():
                        sender.send(pagerduty, headers, payload)
    written = rollups.refresh(
        team_ids=[t.pk for t in teams], since=(anchor - timedelta(days=DAYS + 1)).date(), until=anchor.date()
    )
    _globex(anchor, sender)
    after = _counts(org)
    context["log"](
        f"Delivery: {after[0] - before[0]} new deployments, {after[1] - before[1]} new commits, "
        f"{after[2] - before[2]} new incidents ({sender.received} deliveries through the intake for the last "
        f"{DELIVERED_DAYS} days, {sender.duplicates} already stored, {sender.failed} failed; the rest imported), "
        f"{written} rollup rows"
    )


def _counts(org) -> tuple[int, int, int]:
    from apps.postmortems.models import Incident

    return (
        Deployment.objects.filter(organization=org).count(),
        Change.objects.filter(organization=org).count(),
        Incident.objects.filter(organization=org, source__in=["pagerduty", "api"]).count(),
    )


def _globex(anchor, sender: "_Sender") -> None:
    """Globex: the teams that connected GitHub deploy through it, and one deployment of a
    repository no service is mapped to yet arrives too (kept as unattributed, for the org
    admin to map)."""
    org = Organization.objects.filter(slug="globex").first()
    if org is None:
        return
    rng = random.Random(7_2026)
    github = _integration(org, "GitHub (Globex)", Integration.Kind.GITHUB)
    delivered_since = anchor - timedelta(days=DELIVERED_DAYS)
    teams = list(Team.objects.filter(organization=org, slug__in=GLOBEX_PROFILES).order_by("slug"))
    for team in teams:
        team_services = list(Service.objects.filter(team=team).order_by("slug"))
        if not team_services:
            continue
        releases = sorted(
            _plan_releases(rng, team_services, anchor, PROFILES[GLOBEX_PROFILES[team.slug]]),
            key=lambda r: (r.service.pk, r.started),
        )
        heads = _import_history(org, team, [r for r in releases if r.finished < delivered_since])
        with transaction.atomic():
            recent = [r for r in releases if r.finished >= delivered_since]
            for headers, payload in _github_deliveries(recent, heads, owner=org.slug):
                sender.send(github, headers, payload)
    finished = anchor - timedelta(days=2, hours=-10)
    unmapped = _Release(service=None, started=finished - timedelta(minutes=6), finished=finished, failed=False)
    unmapped.commits.append((f"{rng.getrandbits(160):040x}", finished - timedelta(hours=5), "Customs forms", "ken"))
    for headers, payload in _github_deliveries([unmapped], {}, repository="globex/customs-portal"):
        sender.send(github, headers, payload)
    rollups.refresh(
        team_ids=[t.pk for t in teams], since=(anchor - timedelta(days=DAYS + 1)).date(), until=anchor.date()
    )


def _integration(org, name, kind) -> Integration:
    existing = Integration.objects.filter(organization=org, name=name).first()
    if existing:
        return existing
    integration, _secret = services.integration_create(actor=permissions.SYSTEM, organization=org, name=name, kind=kind)
    return integration


class _Sender:
    """Signs each body with the integration's secret and hands it to the intake, then
    normalizes it at once (no worker runs while the demo loads)."""

    def __init__(self):
        self.received = self.duplicates = self.failed = 0
        self._secrets: dict[int, str] = {}

    def send(self, integration: Integration, headers: dict, payload: dict) -> None:
        secret = self._secrets.get(integration.pk)
        if secret is None:
            secret = self._secrets[integration.pk] = secrets.decrypt(integration.secret_encrypted)
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", **headers}
        if integration.kind == Integration.Kind.GITHUB:
            headers["X-Hub-Signature-256"] = intake.github_signature(secret, body)
        else:
            headers["X-PagerDuty-Signature"] = intake.pagerduty_signature(secret, body)
        event, created = services.raw_event_receive(
            actor=permissions.SYSTEM, token=integration.token, headers=headers, body=body, enqueue=False
        )
        self.received += 1
        if not created:
            self.duplicates += 1
            return
        if services.raw_event_process(actor=permissions.SYSTEM, raw_event_id=event.pk) == RawEvent.Status.FAILED:
            self.failed += 1


def _plan_releases(rng, team_services, anchor, profile) -> list[_Release]:
    probability, per_day, age_hours, failure, _ = profile
    releases = []
    for days_ago in range(DAYS, 0, -1):
        day = anchor - timedelta(days=days_ago)
        weekend = day.weekday() >= 5
        if rng.random() > (probability * (0.3 if weekend else 1.0)):
            continue
        for _n in range(rng.randint(*per_day)):
            service = rng.choice(team_services)
            finished = day + timedelta(hours=rng.uniform(8, 19))
            release = _Release(
                service=service,
                started=finished - timedelta(minutes=rng.randint(3, 20)),
                finished=finished,
                failed=rng.random() < failure,
            )
            for _c in range(rng.randint(1, 4)):
                committed = finished - timedelta(hours=rng.uniform(*age_hours))
                release.commits.append(
                    (f"{rng.getrandbits(160):040x}", committed, rng.choice(MESSAGES), rng.choice(AUTHORS))
                )
            release.commits.sort(key=lambda c: c[1])
            releases.append(release)
    return releases


def _import_history(org, team, releases) -> dict[str, str]:
    """Backfill the older releases as imported rows (with their push chains). Returns each
    repository's branch head, where the delivered pushes go on from."""
    heads: dict[str, str] = {}
    changes, deployments = [], []
    for release in releases:
        service = release.service
        repository = f"{org.slug}/{service.slug}"
        parent = heads.get(repository, "")
        for sha, committed, message, author in release.commits:
            changes.append(
                Change(
                    organization=org,
                    team=team,
                    service=service,
                    repository=repository,
                    sha=sha,
                    parent_sha=parent,
                    message=message,
                    author=author,
                    committed_at=committed,
                    source="import",
                )
            )
            parent = sha
        heads[repository] = parent
        deployments.append(
            Deployment(
                organization=org,
                team=team,
                service=service,
                source="import",
                external_id=f"demo-{parent[:12]}",
                repository=repository,
                environment="production",
                is_production=True,
                status=Deployment.Status.FAILURE if release.failed else Deployment.Status.SUCCESS,
                status_at=release.finished,
                sha=parent,
                ref="main",
                started_at=release.started,
                finished_at=release.finished,
            )
        )
    Deployment.objects.bulk_create(deployments, ignore_conflicts=True, batch_size=1000)
    Change.objects.bulk_create(changes, ignore_conflicts=True, batch_size=1000)
    return heads


def _import_incidents(org, team, incidents) -> None:
    from apps.postmortems.services import incident_upsert_from_source

    for planned in incidents:
        incident, _created = incident_upsert_from_source(
            actor=SYSTEM,
            organization=org,
            team=team,
            source="api",
            external_id=planned.incident_id,
            services=[planned.service],
            title=planned.title,
            severity=planned.severity,
            started_at=planned.started,
            detected_at=planned.started,
            **({"resolved_at": planned.resolved, "status": "resolved"} if planned.resolved else {}),
        )
        services.incident_link_refresh(actor=permissions.SYSTEM, incident=incident)


def _github_deliveries(releases, heads: dict[str, str], *, owner: str = "northwind", repository: str = ""):
    """Per repository, in deployment order: a push of the release's commits onto the branch
    head (before/after chain), then the deployment's final status at the new head."""
    heads = dict(heads)
    for release in releases:
        full_name = repository or f"{owner}/{release.service.slug}"
        repo = {"full_name": full_name, "default_branch": "main", "name": full_name.rsplit("/", 1)[-1]}
        before = heads.get(full_name, "0" * 40)
        after = release.commits[-1][0]
        heads[full_name] = after
        yield (
            {"X-GitHub-Event": "push", "X-GitHub-Delivery": _delivery_id("push", after)},
            {
                "ref": "refs/heads/main",
                "before": before,
                "after": after,
                "repository": repo,
                "pusher": {"name": release.commits[-1][3]},
                "commits": [
                    {
                        "id": sha,
                        "message": message,
                        "timestamp": _iso(committed),
                        "url": f"https://github.com/{full_name}/commit/{sha}",
                        "author": {"name": author, "username": author},
                    }
                    for sha, committed, message, author in release.commits
                ],
            },
        )
        deployment_id = int(after[:12], 16)
        state = "failure" if release.failed else "success"
        yield (
            {"X-GitHub-Event": "deployment_status", "X-GitHub-Delivery": _delivery_id("deployment", after, state)},
            {
                "action": "created",
                "deployment_status": {
                    "state": state,
                    "environment": "production",
                    "created_at": _iso(release.finished),
                    "updated_at": _iso(release.finished),
                    "target_url": f"https://github.com/{full_name}/actions/runs/{deployment_id % 10**9}",
                },
                "deployment": {
                    "id": deployment_id,
                    "sha": after,
                    "ref": "main",
                    "environment": "production",
                    "production_environment": True,
                    "created_at": _iso(release.started),
                },
                "repository": repo,
            },
        )


@dataclass
class _Incident:
    service: Service
    incident_id: str
    title: str
    severity: int
    started: datetime
    resolved: datetime | None

    def deliveries(self):
        """A PagerDuty v3 webhook `incident.triggered`, and `incident.resolved` once it is over."""
        data = {
            "id": self.incident_id,
            "type": "incident",
            "title": self.title,
            "created_at": _iso(self.started),
            "urgency": "high",
            "priority": {"summary": f"P{self.severity}"},
            "service": {"id": f"P{self.service.pk:06d}", "summary": self.service.name},
        }
        events = [("incident.triggered", self.started)]
        if self.resolved:
            events.append(("incident.resolved", self.resolved))
        for event_type, occurred in events:
            resolved = {"status": "resolved"} if event_type == "incident.resolved" else {}
            event = {
                "id": _delivery_id("pagerduty", self.incident_id, event_type),
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": _iso(occurred),
                "data": data | resolved,
            }
            yield {}, {"event": event}


def _pagerduty_deliveries(rng, team, team_services, anchor, delivery_profile, restore_profile):
    """About one incident a month per team, a little more for teams that fail more."""
    low, high = restore_profile[4]
    now = datetime.now(UTC)
    for days_ago in range(DAYS, 0, -1):
        if rng.random() > 0.03 + delivery_profile[3] / 4:
            continue
        service = rng.choice(team_services)
        started = anchor - timedelta(days=days_ago) + timedelta(hours=rng.uniform(0, 23))
        resolved = started + timedelta(hours=rng.uniform(low, high))
        title = rng.choice(
            [
                f"{service.name}: elevated 5xx",
                f"{service.name}: latency above SLO",
                f"{service.name}: queue backlog",
                f"{service.name}: failed health checks",
            ]
        )
        yield _Incident(
            service=service,
            incident_id=f"demo-pd-{team.slug}-{started:%Y%m%d}",
            title=title,
            severity=rng.choice([1, 2, 2, 3, 3, 3, 4]),
            started=started,
            resolved=resolved if resolved <= now else None,
        )


def _delivery_id(*parts) -> str:
    return str(uuid.uuid5(DELIVERY_NAMESPACE, ":".join(parts)))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
