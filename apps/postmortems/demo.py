"""Six months of incidents with postmortems in every state and action items open, done and overdue.

Idempotent: incidents are keyed by their source id; an incident seen before is left alone."""

import datetime as dt

from django.utils import timezone

from apps.core.permissions import SYSTEM
from apps.teams.models import TeamMembership

from . import policy, services
from .models import MARKDOWN_FIELDS, ActionItem, ContributingFactorCategory, Incident, Postmortem, PostmortemEvent

SCENARIOS = [
    {
        "title": "Checkout errors after connection pool exhaustion on {service}",
        "summary": "For {minutes} minutes, {service} returned HTTP 500 for about a third of requests because its "
        "database connection pool was exhausted after a deploy doubled the number of worker processes.",
        "impact": "About **{users}** customers could not complete an action; error rate peaked at 34%.",
        "root_causes": "The pool size is configured per process, so doubling workers doubled connections and hit "
        "the database's `max_connections`. Nothing alerted on pool saturation.",
        "trigger": "Deploy that raised `WEB_CONCURRENCY` from 4 to 8.",
        "detection": "Error-rate alert on the SLO burn rate (fast window) paged the on-call after 6 minutes.",
        "resolution": "Rolled back the deploy; later added PgBouncer in transaction mode.",
        "went_well": "- Rollback took 4 minutes\n- The burn-rate alert fired quickly",
        "went_wrong": "- The pool saturation metric was not on any dashboard\n- Load tests run with 4 workers",
        "got_lucky": "- It happened outside the evening peak",
        "factors": [
            ("configuration", "Per-process pool size multiplied by worker count.", True),
            ("monitoring-gap", "No alert on connection pool saturation.", False),
        ],
        "tags": ["database", "connection-pool", "deploy"],
        "actions": [
            ("Add PgBouncer in front of the primary", "prevent"),
            ("Alert on pool saturation above 80%", "detect"),
            ("Load test with production worker counts", "process"),
        ],
    },
    {
        "title": "Expired TLS certificate on {service}",
        "summary": "The certificate of {service} expired at midnight UTC; clients failed the TLS handshake "
        "until a new certificate was issued {minutes} minutes later.",
        "impact": "All traffic to {service} failed; about **{users}** users saw errors.",
        "root_causes": "The certificate was issued by hand two years ago, outside cert-manager, and its renewal "
        "reminder went to the mailbox of someone who left.",
        "trigger": "Certificate expiry.",
        "detection": "Customer reports to support, then synthetic checks.",
        "resolution": "Issued a certificate through cert-manager and moved the ingress to it.",
        "went_well": "- Clear runbook for issuing certificates",
        "went_wrong": "- No expiry monitoring for manually issued certificates",
        "got_lucky": "- Low traffic at midnight",
        "factors": [
            ("process", "Renewal depended on one person's calendar reminder.", True),
            ("monitoring-gap", "Synthetic checks did not inspect certificate expiry.", False),
        ],
        "tags": ["tls", "certificates"],
        "actions": [
            ("Move every certificate to cert-manager", "prevent"),
            ("Alert 21 days before any certificate expires", "detect"),
        ],
    },
    {
        "title": "Kafka consumer lag delayed {service} by hours",
        "summary": "{service} fell {minutes} minutes behind because a poison message made one partition's "
        "consumer crash-loop.",
        "impact": "Orders were confirmed late for about **{users}** customers; no data was lost.",
        "root_causes": "The consumer retried the malformed message forever instead of sending it to a "
        "dead-letter topic.",
        "trigger": "A producer released a schema change without a compatible consumer.",
        "detection": "Consumer-lag alert, 20 minutes after lag started growing.",
        "resolution": "Skipped the offset by hand, then shipped dead-letter handling.",
        "went_well": "- Lag alert existed and fired",
        "went_wrong": "- No dead-letter topic\n- Schema compatibility not checked in CI",
        "got_lucky": "- Only one partition was affected",
        "factors": [
            ("software-bug", "Unbounded retries of a malformed message.", True),
            ("change", "Incompatible schema change shipped first by the producer.", False),
            ("testing-gap", "No contract test between producer and consumer.", False),
        ],
        "tags": ["kafka", "schema", "queue"],
        "actions": [
            ("Dead-letter topic for poison messages", "mitigate"),
            ("Schema compatibility check in CI", "prevent"),
        ],
    },
    {
        "title": "DNS resolution failures in {service}",
        "summary": "Pods of {service} failed to resolve internal names for {minutes} minutes when CoreDNS was "
        "overloaded by a spike of NXDOMAIN lookups.",
        "impact": "Intermittent failures for about **{users}** users.",
        "root_causes": "`ndots:5` made every external lookup try five search domains; CoreDNS ran with two replicas "
        "and no autoscaling.",
        "trigger": "A new batch job doing millions of external lookups.",
        "detection": "Latency SLO burn-rate alert.",
        "resolution": "Scaled CoreDNS, added NodeLocal DNSCache, set `ndots:2` for the batch job.",
        "went_well": "- Good collaboration between teams",
        "went_wrong": "- DNS metrics were not in the cluster dashboards",
        "got_lucky": "- The batch job was paused quickly by its owner",
        "factors": [
            ("capacity", "CoreDNS had fixed, small capacity.", True),
            ("configuration", "Default ndots caused five lookups per name.", False),
        ],
        "tags": ["dns", "kubernetes", "capacity"],
        "actions": [
            ("Deploy NodeLocal DNSCache", "prevent"),
            ("Autoscale CoreDNS", "mitigate"),
            ("Add DNS panel to the cluster dashboard", "detect"),
        ],
    },
    {
        "title": "Third-party payment provider outage degraded {service}",
        "summary": "Our card processor had a partial outage; {service} kept retrying and amplified the load for "
        "{minutes} minutes.",
        "impact": "About **{users}** payments failed or were delayed.",
        "root_causes": "Retries without a circuit breaker or jitter multiplied traffic to the failing provider.",
        "trigger": "Provider outage.",
        "detection": "Provider status page and our error-rate alert at the same time.",
        "resolution": "Failed over to the secondary provider by feature flag.",
        "went_well": "- The failover flag worked",
        "went_wrong": "- Failover was manual and took 25 minutes to decide",
        "got_lucky": "- The secondary provider had capacity",
        "factors": [
            ("dependency", "Card processor partial outage.", True),
            ("software-bug", "Retry storm without circuit breaker.", False),
        ],
        "tags": ["third-party", "payments", "retries"],
        "actions": [
            ("Circuit breaker around provider calls", "mitigate"),
            ("Automatic failover on provider error rate", "mitigate"),
            ("Game day: provider failover", "process"),
        ],
    },
    {
        "title": "Disk full on primary database of {service}",
        "summary": "The primary database volume of {service} filled up with WAL files because a replication slot "
        "of a decommissioned replica was never dropped; writes failed for {minutes} minutes.",
        "impact": "All writes failed; about **{users}** users could not save changes.",
        "root_causes": "An inactive replication slot retained WAL forever. Disk alerts were set at 95%, "
        "too late to react.",
        "trigger": "Nightly batch increased WAL volume.",
        "detection": "Write errors paged the on-call.",
        "resolution": "Dropped the slot, expanded the volume.",
        "went_well": "- Fast diagnosis thanks to the database runbook",
        "went_wrong": "- Disk alert threshold too high\n- Decommissioning checklist missed the slot",
        "got_lucky": "- Reads kept working",
        "factors": [
            ("infrastructure", "Volume filled with retained WAL.", True),
            ("process", "Replica decommissioning did not drop its slot.", False),
            ("monitoring-gap", "Disk alert at 95% gave no time to act.", False),
        ],
        "tags": ["database", "postgres", "disk"],
        "actions": [
            ("Alert on inactive replication slots", "detect"),
            ("Add slot removal to the decommissioning checklist", "process"),
            ("Disk usage forecast alert", "detect"),
        ],
    },
    {
        "title": "Bad feature flag rollout broke sign-in on {service}",
        "summary": "A feature flag enabled a new session format for 100% of users instead of 5%; sessions created "
        "by old pods could not be read for {minutes} minutes.",
        "impact": "About **{users}** users were signed out and could not sign back in.",
        "root_causes": "The flag targeting rule used a percentage field that the flag service interprets as a "
        "fraction, so 5 became 500%.",
        "trigger": "Feature flag change.",
        "detection": "Sign-in success rate SLO alert.",
        "resolution": "Turned the flag off; sessions recovered on next request.",
        "went_well": "- Flag off restored service immediately",
        "went_wrong": "- Flag changes skip review",
        "got_lucky": "- It happened during working hours",
        "factors": [
            ("change", "Flag change without review or staged rollout.", True),
            ("configuration", "Percentage vs fraction confusion.", False),
        ],
        "tags": ["feature-flags", "sessions", "auth"],
        "actions": [
            ("Require review for flag changes in production", "process"),
            ("Validate flag percentages in the flag service", "prevent"),
        ],
    },
    {
        "title": "Memory leak in {service} caused restarts",
        "summary": "{service} leaked memory in its image-resizing path and was OOM-killed every 40 minutes; "
        "requests in flight failed over {minutes} minutes of degraded service.",
        "impact": "Error bursts for about **{users}** users.",
        "root_causes": "A cache keyed by full URL, including query strings, grew without bound.",
        "trigger": "A marketing campaign added unique tracking parameters to every link.",
        "detection": "Pod restart alert.",
        "resolution": "Bounded the cache with an LRU and normalised keys.",
        "went_well": "- Heap profiles were easy to capture",
        "went_wrong": "- Restarts were considered normal for days",
        "got_lucky": "- Autoscaling hid most of the impact",
        "factors": [
            ("software-bug", "Unbounded cache keyed by raw URL.", True),
            ("monitoring-gap", "Restart alerts were routinely ignored.", False),
        ],
        "tags": ["memory", "cache"],
        "actions": [("Bound every in-process cache", "prevent"), ("Page on repeated OOM kills", "detect")],
    },
]

SEVERITY_PLAN = [2, 3, 1, 3, 2, 4, 3, 2, 3, 5, 2, 3, 1, 4, 2, 3, 3, 2, 4, 3, 2, 3, 1, 2, 3, 4, 2, 3, 2, 3, 3, 2]


def _people(team):
    memberships = list(team.memberships.select_related("user").order_by("-role", "user__email"))
    lead = next((m.user for m in memberships if m.role == TeamMembership.Role.LEAD), memberships[0].user)
    members = [m.user for m in memberships if m.role == TeamMembership.Role.MEMBER] or [lead]
    return lead, members


def _business_days_after(day: dt.date, n: int) -> dt.date:
    return policy.add_business_days(day, n)


def seed(context):
    org = context["organization"]
    teams = [t for t in context["teams"] if t.services.exists()]
    rng = context["rng"]
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    categories = {c.slug: c for c in ContributingFactorCategory.objects.filter(organization__isnull=True)}
    made = 0
    for index, severity in enumerate(SEVERITY_PLAN):
        external_id = f"DEMO-{index + 1:03d}"
        if Incident.objects.filter(
            organization=org, source=Incident.Source.PAGERDUTY, external_id=external_id
        ).exists():
            continue
        team = teams[(index * 5) % len(teams)]
        service = rng.choice(list(team.services.all()))
        scenario = SCENARIOS[index % len(SCENARIOS)]
        days_ago = 178 - index * 5.4
        started = now - dt.timedelta(days=days_ago, hours=rng.randint(0, 10))
        minutes = rng.choice([18, 25, 42, 55, 75, 110, 160])
        detected = started + dt.timedelta(minutes=rng.randint(2, 12))
        mitigated = started + dt.timedelta(minutes=minutes * 0.7)
        resolved = started + dt.timedelta(minutes=minutes)
        open_now = index == len(SEVERITY_PLAN) - 1
        words = {"service": service.name, "minutes": minutes, "users": rng.choice([300, 1200, 4800, 15000])}
        incident, _ = services.incident_upsert_from_source(
            actor=SYSTEM,
            organization=org,
            team=team,
            source=Incident.Source.PAGERDUTY,
            external_id=external_id,
            services=[service],
            title=scenario["title"].format(**words),
            description=scenario["summary"].format(**words),
            severity=severity,
            status=Incident.Status.OPEN if open_now else Incident.Status.RESOLVED,
            started_at=started,
            detected_at=detected,
            mitigated_at=None if open_now else mitigated,
            resolved_at=None if open_now else resolved,
        )
        made += 1
        # SEV1-3 get postmortems; two recent SEV2s are left without one (they show as "needed").
        if severity > 3 or open_now or index in (27, 31):
            continue
        _postmortem(incident, team, scenario, words, categories, teams, index, now, rng)
    context["log"](
        f"{org.name}: {made} new incidents, {Postmortem.objects.filter(organization=org).count()} postmortems"
    )


def _postmortem(incident, team, scenario, words, categories, teams, index, now, rng):
    lead, members = _people(team)
    author = members[index % len(members)]
    postmortem, _ = services.postmortem_create(actor=author, incident=incident)
    other_team = teams[(teams.index(team) + 3) % len(teams)]
    reviewer_lead, _ = _people(other_team)
    reviewers = [lead, reviewer_lead] if lead != author else [reviewer_lead]
    start = incident.started_at
    services.postmortem_update(
        actor=author,
        postmortem=postmortem,
        title=f"Postmortem: {incident.title}",
        users_affected=words["users"],
        **{k: scenario[k].format(**words) for k in MARKDOWN_FIELDS},
        tags=scenario["tags"],
        reviewers=reviewers,
        authors=[author],
        timeline=[
            {"at": start, "description": "Impact begins."},
            {"at": incident.detected_at, "description": f"Alert fires; on-call ({author.name}) acknowledges."},
            {"at": incident.mitigated_at, "description": "Mitigation in place; error rate back under the SLO."},
            {"at": incident.resolved_at, "description": "Resolved; monitoring confirms recovery."},
        ],
        factors=[
            {"category": categories[slug], "description": text, "is_root_cause": root}
            for slug, text, root in scenario["factors"]
        ],
        links=[
            {
                "title": "Incident channel",
                "url": f"https://chat.northwind.example/archives/inc-{incident.external_id.lower()}",
            },
            {"title": "Dashboard", "url": f"https://grafana.northwind.example/d/{incident.services.first().slug}"},
        ],
    )
    age_days = (now - incident.started_at).days
    # Older postmortems are published; recent ones are in review or draft; two old SEV2s are overdue drafts.
    if index in (7, 15):
        state = "draft"
    elif age_days > 30:
        state = "published"
    elif index % 3 == 0:
        state = "changes_requested"
    elif index % 3 == 1:
        state = "in_review"
    else:
        state = "draft"
    if state != "draft":
        services.postmortem_submit(actor=author, postmortem=postmortem)
    if state == "changes_requested":
        services.postmortem_review(
            actor=reviewers[-1],
            postmortem=postmortem,
            decision="changes_requested",
            comment="Can we say more about **why** the alert took this long? The detection section is thin.",
        )
    if state == "in_review":
        services.postmortem_review(actor=reviewers[0], postmortem=postmortem, decision="approved", comment="LGTM.")
    if state == "published":
        for reviewer in reviewers:
            services.postmortem_review(actor=reviewer, postmortem=postmortem, decision="approved", comment="Thorough.")
        services.postmortem_publish(actor=lead, postmortem=postmortem)
        # Backdate the publication as if it happened a few business days after resolution.
        resolved_day = timezone.localdate(incident.resolved_at)
        published_at = timezone.make_aware(
            dt.datetime.combine(_business_days_after(resolved_day, rng.choice([2, 3, 4, 6, 9])), dt.time(15))
        )
        Postmortem.objects.filter(pk=postmortem.pk).update(
            published_at=published_at, submitted_at=published_at - dt.timedelta(days=1)
        )
        # Spread the history between the resolution and the publication, in order.
        events = list(PostmortemEvent.objects.filter(postmortem=postmortem).order_by("pk"))
        step = (published_at - incident.resolved_at) / (len(events) or 1)
        for n, event in enumerate(events, start=1):
            when = published_at if n == len(events) else incident.resolved_at + step * n
            PostmortemEvent.objects.filter(pk=event.pk).update(created_at=when)
    _action_items(postmortem, team, scenario, lead, members, teams, now, rng, state, index)


def _action_items(postmortem, team, scenario, lead, members, teams, now, rng, state, index):
    today = timezone.localdate()
    for n, (title, kind) in enumerate(scenario["actions"]):
        owner = members[(index + n) % len(members)]
        owning_team = team if n < 2 else teams[(teams.index(team) + 1) % len(teams)]
        if owning_team != team:
            owner = _people(owning_team)[0]
        due = timezone.localdate(postmortem.incident.started_at) + dt.timedelta(days=14 + 14 * n)
        if rng.random() < 0.45:
            due = today + dt.timedelta(days=rng.randint(5, 45))  # still ahead
        if state == "published":
            roll = rng.random()
            status = "done" if roll < 0.55 else "wont_do" if roll < 0.62 else "in_progress" if roll < 0.8 else "open"
        else:
            status = "open"
        item, created = services.action_item_create(
            actor=lead,
            postmortem=postmortem,
            title=title,
            kind=kind,
            priority=1 + (n % 3),
            owner=owner,
            team=owning_team,
            due_date=due,
            status=status,
            tracker_url=f"https://jira.northwind.example/browse/REL-{postmortem.pk * 10 + n}",
        )
        if created and status in ActionItem.CLOSED:
            # Closed some days before (mostly) or after the due date.
            closed = due + dt.timedelta(days=rng.choice([-9, -5, -2, 0, 3, 8]))
            closed = min(closed, today)
            ActionItem.objects.filter(pk=item.pk).update(
                closed_at=timezone.make_aware(dt.datetime.combine(closed, dt.time(11)))
            )
