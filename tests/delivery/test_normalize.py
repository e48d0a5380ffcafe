"""Normalization of raw events: commits, deployments and incidents, in any order."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.core import permissions
from apps.core.permissions import SYSTEM
from apps.delivery import services
from apps.delivery.models import Change, Deployment, DirtyDay, IncidentDeploymentLink, RawEvent
from apps.postmortems.models import Incident
from tests.delivery import payloads as p
from tests.delivery.conftest import SECRET

pytestmark = pytest.mark.django_db


def t(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def send_github(hook, integration, event, payload, delivery=None):
    body = p.dumps(payload)
    return hook(integration, body, p.github_headers(SECRET, body, event, delivery=delivery))


def test_push_to_default_branch_becomes_changes_mapped_to_the_service(cast, make_integration, hook):
    integration = make_integration("github", mappings={"acme/checkout-api": cast.service})
    commits = [("1" * 40, "One", "2026-03-01T10:00:00Z"), ("2" * 40, "Two", "2026-03-01T12:00:00+02:00")]
    send_github(hook, integration, "push", p.github_push(commits=commits))
    changes = {c.sha: c for c in Change.objects.all()}
    assert set(changes) == {"1" * 40, "2" * 40}
    assert changes["2" * 40].committed_at == t("2026-03-01T10:00:00Z")
    assert changes["1" * 40].service == cast.service and changes["1" * 40].team == cast.team
    assert changes["1" * 40].author == "octocat"
    # Other branches are kept as raw events but do not count as changes.
    send_github(
        hook,
        integration,
        "push",
        p.github_push(commits=[("3" * 40, "WIP", "2026-03-01T13:00:00Z")], ref="refs/heads/feature"),
    )
    assert not Change.objects.filter(sha="3" * 40).exists()
    assert RawEvent.objects.filter(status="ignored").count() == 1


def test_repository_matches_service_slug_without_a_mapping(cast, make_integration, hook):
    integration = make_integration("github")
    send_github(
        hook,
        integration,
        "push",
        p.github_push(repo="acme/checkout-api", commits=[("4" * 40, "x", "2026-03-01T10:00:00Z")]),
    )
    assert Change.objects.get().service == cast.service


def test_deployment_statuses_fold_whatever_the_order(cast, make_integration, hook):
    integration = make_integration("github")
    events = [
        ("pending", "2026-03-02T10:00:00Z", 1),
        ("in_progress", "2026-03-02T10:01:00Z", 2),
        ("success", "2026-03-02T10:05:00Z", 3),
    ]
    # Success arrives first, then the stale in-progress and pending states.
    for state, at, status_id in reversed(events):
        send_github(
            hook, integration, "deployment_status", p.github_deployment_status(state=state, at=at, status_id=status_id)
        )
    deployment = Deployment.objects.get()
    assert deployment.status == "success"
    assert deployment.finished_at == t("2026-03-02T10:05:00Z")
    assert deployment.is_production and deployment.service == cast.service
    assert RawEvent.objects.filter(status="processed").count() == 3

    # Same events in order on another deployment give the same row.
    for state, at, status_id in events:
        send_github(
            hook,
            integration,
            "deployment_status",
            p.github_deployment_status(deployment_id=2, state=state, at=at, status_id=status_id),
        )
    other = Deployment.objects.get(external_id="2")
    assert (other.status, other.finished_at, other.started_at) == (
        deployment.status,
        deployment.finished_at,
        deployment.started_at,
    )


def test_staging_deployments_are_not_production(cast, make_integration, hook):
    integration = make_integration("github")
    send_github(
        hook,
        integration,
        "deployment_status",
        p.github_deployment_status(environment="staging", at="2026-03-02T10:00:00Z"),
    )
    assert Deployment.objects.get().is_production is False


def test_gitlab_deployment_and_pipeline_events_of_one_job_count_once(cast, make_integration, hook):
    integration = make_integration("gitlab")
    deploy = p.dumps(p.gitlab_deployment(job_id=1001, status="success", at="2021-04-28 21:50:00 +0200"))
    hook(integration, deploy, p.gitlab_headers(SECRET, "Deployment Hook"))
    pipeline = p.dumps(p.gitlab_pipeline(job_id=1001, status="success", finished="2021-04-28 19:50:00 UTC"))
    hook(integration, pipeline, p.gitlab_headers(SECRET, "Pipeline Hook"))
    deployment = Deployment.objects.get()
    assert deployment.external_id == "job:1001"
    assert deployment.status == "success"
    assert deployment.finished_at == t("2021-04-28T19:50:00Z")
    assert deployment.sha == "279484c09fbe69ededfced8c1bb6e6d24616b468"
    assert deployment.service == cast.service


def test_gitlab_push_and_failed_pipeline(cast, make_integration, hook):
    integration = make_integration("gitlab")
    push = p.dumps(p.gitlab_push(commits=[("5" * 40, "Add", "2021-04-28T18:00:00+02:00")]))
    hook(integration, push, p.gitlab_headers(SECRET, "Push Hook"))
    assert Change.objects.get().committed_at == t("2021-04-28T16:00:00Z")
    failed = p.dumps(
        p.gitlab_pipeline(pipeline_id=32, job_id=2002, status="failed", finished="2021-04-28 20:00:00 UTC")
    )
    hook(integration, failed, p.gitlab_headers(SECRET, "Pipeline Hook"))
    assert Deployment.objects.get(external_id="job:2002").status == "failure"


def test_pagerduty_incident_triggered_then_resolved_in_any_order(cast, make_integration, hook):
    integration = make_integration("pagerduty")
    created = "2026-03-03T08:00:00Z"
    triggered = p.dumps(p.pagerduty_event("incident.triggered", occurred_at=created, created_at=created))
    resolved = p.dumps(p.pagerduty_event("incident.resolved", occurred_at="2026-03-03T09:30:00Z", created_at=created))
    # Resolved arrives before triggered.
    hook(integration, resolved, p.pagerduty_headers([SECRET], resolved))
    hook(integration, triggered, p.pagerduty_headers([SECRET], triggered))
    incident = Incident.objects.get()
    assert (incident.source, incident.external_id) == ("pagerduty", "Q1ZJ4J9XCY7K0E")
    assert incident.status == "resolved"
    assert incident.started_at == t(created) and incident.resolved_at == t("2026-03-03T09:30:00Z")
    assert incident.severity == 2
    assert incident.team == cast.team and list(incident.services.all()) == [cast.service]
    # Acknowledgement later changes nothing that matters.
    ack = p.dumps(p.pagerduty_event("incident.acknowledged", occurred_at="2026-03-03T08:10:00Z", created_at=created))
    hook(integration, ack, p.pagerduty_headers([SECRET], ack))
    assert Incident.objects.count() == 1
    assert Incident.objects.get().status == "resolved"


def test_opsgenie_create_and_close(cast, make_integration, hook):
    integration = make_integration("opsgenie")
    start = int(t("2026-03-04T10:00:00Z").timestamp() * 1000)
    close = p.dumps(p.opsgenie_alert("Close", created=start, updated=start + 45 * 60 * 1000))
    create = p.dumps(p.opsgenie_alert("Create", created=start))
    hook(integration, close, p.bearer_headers(SECRET))
    hook(integration, create, p.bearer_headers(SECRET))
    incident = Incident.objects.get()
    assert incident.source == "opsgenie"
    assert incident.severity == 1
    assert incident.resolved_at - incident.started_at == timedelta(minutes=45)


def test_alertmanager_firing_then_resolved(cast, make_integration, hook):
    integration = make_integration("alertmanager")
    firing = p.dumps(p.alertmanager_notification("firing"))
    resolved = p.dumps(p.alertmanager_notification("resolved", ends="2026-03-01T10:20:00Z"))
    hook(integration, firing, p.bearer_headers(SECRET))
    hook(integration, resolved, p.bearer_headers(SECRET))
    incident = Incident.objects.get()
    assert (incident.source, incident.status, incident.severity) == ("alertmanager", "resolved", 2)
    assert incident.resolved_at - incident.started_at == timedelta(minutes=20)


def test_unknown_event_types_are_kept_and_ignored(cast, make_integration, hook):
    integration = make_integration("github")
    send_github(hook, integration, "issues", {"action": "opened", "issue": {"id": 1}})
    event = RawEvent.objects.get()
    assert event.status == "ignored" and "issues" in event.note
    assert Change.objects.count() == Deployment.objects.count() == 0


def test_an_incident_no_team_owns_is_held_and_mapping_its_service_processes_it(
    cast, make_integration, hook, django_capture_on_commit_callbacks
):
    # An org-wide PagerDuty integration with an unknown service cannot tell the team: held, not failed.
    integration = make_integration("pagerduty", team=None)
    body = p.dumps(
        p.pagerduty_event(occurred_at="2026-03-03T08:00:00Z", created_at="2026-03-03T08:00:00Z", service="mystery")
    )
    assert hook(integration, body, p.pagerduty_headers([SECRET], body)).status_code == 202
    event = RawEvent.objects.get()
    assert event.status == "unattributed" and "kept until it is mapped" in event.note and event.error == ""
    assert Incident.objects.count() == 0
    # Map the service: the held event goes through again by itself.
    with django_capture_on_commit_callbacks(execute=True):
        services.integration_mappings_set(
            actor=permissions.SYSTEM, integration=integration, mappings={"mystery": cast.service}
        )
    event.refresh_from_db()
    assert event.status == "processed" and event.error == "" and event.attempts == 2
    assert Incident.objects.get().team == cast.team


def test_bad_payload_is_a_recorded_failure(cast, make_integration, hook):
    integration = make_integration("github")
    payload = p.github_push(commits=[("6" * 40, "x", "not a time")])
    send_github(hook, integration, "push", payload)
    event = RawEvent.objects.get()
    assert event.status == "failed" and "Unreadable time" in event.error
    assert Change.objects.count() == 0


def test_sweeper_requeues_events_whose_task_was_lost(
    cast, make_integration, hook, monkeypatch, django_capture_on_commit_callbacks
):
    from apps.delivery import tasks

    integration = make_integration("github")
    lost = []
    monkeypatch.setattr(tasks.drain_raw_events, "delay", lambda: lost.append(1))  # the broker drops it
    send_github(hook, integration, "push", p.github_push(commits=[("7" * 40, "x", "2026-03-01T10:00:00Z")]))
    assert lost and RawEvent.objects.get().status == "pending"
    monkeypatch.undo()
    # Too recent: left alone. Older than the grace period: processed.
    assert tasks.sweep_raw_events() == 0
    RawEvent.objects.update(received_at=datetime.now(UTC) - timedelta(minutes=5))
    assert tasks.sweep_raw_events() == 1
    assert RawEvent.objects.get().status == "processed"
    assert Change.objects.filter(sha="7" * 40).exists()
    assert tasks.sweep_raw_events() == 0


def test_processing_twice_changes_nothing(cast, make_integration, hook):
    integration = make_integration("github")
    send_github(hook, integration, "push", p.github_push(commits=[("8" * 40, "x", "2026-03-01T10:00:00Z")]))
    event = RawEvent.objects.get()
    assert services.raw_event_process(actor=permissions.SYSTEM, raw_event_id=event.pk) == "processed"
    event.refresh_from_db()
    assert event.attempts == 1
    assert Change.objects.count() == 1


def test_deployment_before_its_push_gives_the_same_rollups(cast, make_integration, hook):
    """Out of order: the deployment arrives before the push that carried its commits."""
    from apps.delivery import rollups, selectors

    def run(order):
        Change.objects.all().delete()
        Deployment.objects.all().delete()
        integration = make_integration("github", name=f"gh-{order}")
        push = p.github_push(commits=[("9" * 40, "x", "2026-03-05T08:00:00Z")])
        deploy = p.github_deployment_status(state="success", at="2026-03-05T10:00:00Z", deployment_id=77)
        steps = [("push", push), ("deployment_status", deploy)]
        for event, payload in steps if order == "push-first" else reversed(steps):
            send_github(hook, integration, event, payload)
        assert DirtyDay.objects.filter(team=cast.team).exists()
        rollups.refresh_dirty()
        return selectors.team_dora(team_ids=[cast.team.pk], window_days=7, until=datetime(2026, 3, 7).date())

    push_first, deploy_first = run("push-first"), run("deploy-first")
    assert push_first == deploy_first
    assert deploy_first[cast.team.pk]["lead_time_hours"]["median"] == 2.0


def test_incident_links_to_the_latest_production_deployment_before_it(cast, make_integration, hook):
    integration = make_integration("github")
    pd = make_integration("pagerduty")
    created = "2026-03-06T12:00:00Z"
    incident_body = p.dumps(p.pagerduty_event(occurred_at=created, created_at=created))
    # The incident arrives first; the deployments that preceded it arrive after.
    hook(pd, incident_body, p.pagerduty_headers([SECRET], incident_body))
    incident = Incident.objects.get()
    assert IncidentDeploymentLink.objects.get(incident=incident).method == "none"
    send_github(
        hook, integration, "deployment_status", p.github_deployment_status(deployment_id=1, at="2026-03-06T09:00:00Z")
    )
    send_github(
        hook, integration, "deployment_status", p.github_deployment_status(deployment_id=2, at="2026-03-06T11:00:00Z")
    )
    send_github(
        hook, integration, "deployment_status", p.github_deployment_status(deployment_id=3, at="2026-03-06T13:00:00Z")
    )
    link = IncidentDeploymentLink.objects.get(incident=incident)
    assert (link.method, link.deployment.external_id) == ("auto", "2")
    # Set by hand, it stays whatever arrives later.
    first = Deployment.objects.get(external_id="1")
    services.incident_link_set(actor=cast.lead, incident=incident, deployment=first)
    send_github(
        hook, integration, "deployment_status", p.github_deployment_status(deployment_id=4, at="2026-03-06T11:30:00Z")
    )
    link.refresh_from_db()
    assert (link.method, link.deployment, link.set_by) == ("explicit", first, cast.lead)
    # And back to the default rule.
    services.incident_link_set(actor=cast.lead, incident=incident, deployment=None, automatic=True)
    link.refresh_from_db()
    assert (link.method, link.deployment.external_id) == ("auto", "4")


def test_a_linked_deployment_that_turns_out_failed_hands_its_incidents_back(cast, make_integration, hook):
    """Deployment 2 first reports success, the incident links to it, then 2 reports failure
    (later, so it wins): the incident goes back to deployment 1, the latest success before it."""
    integration = make_integration("github")
    pd = make_integration("pagerduty")
    for deployment_id, at in ((1, "2026-03-06T09:00:00Z"), (2, "2026-03-06T11:00:00Z")):
        send_github(
            hook, integration, "deployment_status", p.github_deployment_status(deployment_id=deployment_id, at=at)
        )
    created = "2026-03-06T12:00:00Z"
    body = p.dumps(p.pagerduty_event(occurred_at=created, created_at=created))
    hook(pd, body, p.pagerduty_headers([SECRET], body))
    link = IncidentDeploymentLink.objects.get()
    assert link.deployment.external_id == "2"
    failed = p.github_deployment_status(deployment_id=2, state="failure", at="2026-03-06T12:30:00Z", status_id=2)
    send_github(hook, integration, "deployment_status", failed)
    link.refresh_from_db()
    assert (link.method, link.deployment.external_id) == ("auto", "1")


def test_member_and_other_team_cannot_set_the_link(cast, make_integration, hook):
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from apps.postmortems.services import incident_upsert_from_source

    incident, _ = incident_upsert_from_source(
        actor=SYSTEM,
        organization=cast.org,
        team=cast.team,
        source="api",
        external_id="i-1",
        started_at=t("2026-03-06T12:00:00Z"),
    )
    for user in (cast.member, cast.other_member, cast.leader):
        with pytest.raises(PermissionDenied):
            services.incident_link_set(actor=user, incident=incident, deployment=None)
    with pytest.raises(Http404):
        services.incident_link_set(actor=cast.outsider, incident=incident, deployment=None)


def test_push_chains_each_commit_to_its_parent(cast, make_integration, hook):
    integration = make_integration("github", mappings={"acme/checkout-api": cast.service})
    commits = [("a" * 40, "One", "2026-03-01T10:00:00Z"), ("b" * 40, "Two", "2026-03-01T11:00:00Z")]
    send_github(hook, integration, "push", p.github_push(commits=commits))
    parents = dict(Change.objects.values_list("sha", "parent_sha"))
    # The first commit's parent is the push's `before`; the next one's is the commit before it.
    assert parents == {"a" * 40: "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "b" * 40: "a" * 40}


def test_incident_starting_as_a_deployment_finishes_links_to_it_and_link_changes_are_recorded(
    cast, make_integration, hook
):
    from apps.delivery.models import IncidentLinkChange

    integration = make_integration("github")
    pd = make_integration("pagerduty")
    send_github(
        hook, integration, "deployment_status", p.github_deployment_status(deployment_id=1, at="2026-03-06T09:00:00Z")
    )
    send_github(
        hook, integration, "deployment_status", p.github_deployment_status(deployment_id=2, at="2026-03-06T12:00:00Z")
    )
    created = "2026-03-06T12:00:00Z"  # the very moment deployment 2 finished
    body = p.dumps(p.pagerduty_event(occurred_at=created, created_at=created))
    hook(pd, body, p.pagerduty_headers([SECRET], body))
    incident = Incident.objects.get()
    link = IncidentDeploymentLink.objects.get(incident=incident)
    assert (link.method, link.deployment.external_id) == ("auto", "2")
    first = Deployment.objects.get(external_id="1")
    services.incident_link_set(actor=cast.lead, incident=incident, deployment=first, note="the config change")
    change = IncidentLinkChange.objects.filter(incident=incident).first()
    assert (change.from_deployment.external_id, change.to_deployment, change.changed_by) == ("2", first, cast.lead)
    assert (change.from_method, change.to_method, change.note) == ("auto", "explicit", "the config change")
    # Setting the same link again records nothing new.
    services.incident_link_set(actor=cast.lead, incident=incident, deployment=first)
    assert IncidentLinkChange.objects.filter(incident=incident, changed_by=cast.lead).count() == 1
