"""Real deliveries over HTTP into a running server, normalized by a real Celery worker on Redis."""

import time
import urllib.error
import urllib.request

import pytest
from celery.contrib.testing.worker import start_worker

from apps.core import permissions
from apps.delivery import services
from apps.delivery.models import Change, Deployment, RawEvent
from apps.postmortems.models import Incident
from config.celery_app import app as celery_app
from tests.delivery import payloads as p

SECRET = "live-secret-0123456789abcdef"


def post(url: str, body: bytes, headers: dict) -> int:
    plain = {k.removeprefix("HTTP_").replace("_", "-").title(): v for k, v in headers.items()}
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **plain}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def worker(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        celery_app.conf.task_always_eager = True


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_signed_deliveries_over_http_are_normalized_by_a_worker(cast, live_server, worker):
    github, _ = services.integration_create(
        actor=permissions.SYSTEM, organization=cast.org, team=cast.team, name="GitHub", kind="github", secret=SECRET
    )
    pagerduty, _ = services.integration_create(
        actor=permissions.SYSTEM,
        organization=cast.org,
        team=cast.team,
        name="PagerDuty",
        kind="pagerduty",
        secret=SECRET,
    )
    gh_url = f"{live_server.url}/delivery/hooks/{github.token}/"
    pd_url = f"{live_server.url}/delivery/hooks/{pagerduty.token}/"

    deploy = p.dumps(p.github_deployment_status(deployment_id=501, state="success", at="2026-03-05T10:00:00Z"))
    push = p.dumps(p.github_push(commits=[("d" * 40, "Ship it", "2026-03-05T08:00:00Z")]))
    created = "2026-03-05T11:00:00Z"
    trig = p.dumps(p.pagerduty_event("incident.triggered", occurred_at=created, created_at=created, event_id="01A"))
    res = p.dumps(
        p.pagerduty_event("incident.resolved", occurred_at="2026-03-05T11:40:00Z", created_at=created, event_id="01B")
    )

    # Deployment before its push, resolution before the trigger; one redelivery; one forgery.
    assert post(gh_url, deploy, p.github_headers(SECRET, deploy, "deployment_status", delivery="gh-1")) == 202
    assert post(gh_url, push, p.github_headers(SECRET, push, "push", delivery="gh-2")) == 202
    assert post(gh_url, push, p.github_headers(SECRET, push, "push", delivery="gh-2")) == 200
    assert post(gh_url, push, p.github_headers("forged-secret-0123456789", push, "push", delivery="gh-3")) == 401
    assert post(pd_url, res, p.pagerduty_headers([SECRET], res)) == 202
    assert post(pd_url, trig, p.pagerduty_headers([SECRET], trig)) == 202

    assert wait_for(lambda: not RawEvent.objects.filter(status="pending").exists() and RawEvent.objects.count() == 4)
    assert sorted(RawEvent.objects.values_list("status", flat=True)) == ["processed"] * 4
    deployment = Deployment.objects.get()
    assert (deployment.external_id, deployment.status, deployment.service) == ("501", "success", cast.service)
    assert Change.objects.get().sha == "d" * 40
    incident = Incident.objects.get()
    assert (incident.status, incident.source) == ("resolved", "pagerduty")
    assert (incident.resolved_at - incident.started_at).total_seconds() == 40 * 60
    assert incident.deployment_link.deployment == deployment


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_actions_runs_and_a_resolve_before_its_trigger_over_http(cast, live_server, worker):
    github, _ = services.integration_create(
        actor=permissions.SYSTEM,
        organization=cast.org,
        team=cast.team,
        name="GitHub Actions",
        kind="github",
        secret=SECRET,
        deploy_workflow=r"deploy\.yml",
        deploy_branch="main",
    )
    pagerduty, _ = services.integration_create(
        actor=permissions.SYSTEM,
        organization=cast.org,
        team=cast.team,
        name="PagerDuty",
        kind="pagerduty",
        secret=SECRET,
    )
    gh_url = f"{live_server.url}/delivery/hooks/{github.token}/"
    pd_url = f"{live_server.url}/delivery/hooks/{pagerduty.token}/"
    run = p.dumps(p.github_workflow_run(run_id=61, updated="2026-03-05T10:00:00Z"))
    ci = p.dumps(p.github_workflow_run(run_id=62, name="CI", path=".github/workflows/ci.yml"))
    # PagerDuty without the incident's created_at: the resolve says nothing of the start.
    res = p.dumps(p.pagerduty_event("incident.resolved", occurred_at="2026-03-05T11:40:00Z", event_id="01C"))
    trig = p.dumps(p.pagerduty_event("incident.triggered", occurred_at="2026-03-05T11:00:00Z", event_id="01D"))
    assert post(gh_url, run, p.github_headers(SECRET, run, "workflow_run", delivery="run-61")) == 202
    assert post(gh_url, ci, p.github_headers(SECRET, ci, "workflow_run", delivery="run-62")) == 202
    assert post(pd_url, res, p.pagerduty_headers([SECRET], res)) == 202
    assert wait_for(lambda: not RawEvent.objects.filter(status="pending").exists() and RawEvent.objects.count() == 3)
    assert Incident.objects.get().started_at is None
    assert post(pd_url, trig, p.pagerduty_headers([SECRET], trig)) == 202
    assert wait_for(lambda: not RawEvent.objects.filter(status="pending").exists() and RawEvent.objects.count() == 4)
    statuses = dict(RawEvent.objects.values_list("delivery_id", "status"))
    assert statuses == {"run-61": "processed", "run-62": "ignored", "01C": "processed", "01D": "processed"}
    deployment = Deployment.objects.get()
    assert (deployment.external_id, deployment.status, deployment.service) == ("actions:61:1", "success", cast.service)
    incident = Incident.objects.get()
    assert (incident.resolved_at - incident.started_at).total_seconds() == 40 * 60
