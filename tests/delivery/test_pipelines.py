"""CI runs and jobs as deployments: GitHub Actions `workflow_run` / `workflow_job` and GitLab
Pipeline / Job Hooks matched by the integration's deployment patterns."""

from datetime import date, datetime

import pytest
from django.core.exceptions import ValidationError

from apps.core import permissions
from apps.core.permissions import SYSTEM
from apps.delivery import rollups, selectors, services
from apps.delivery.models import Deployment, Integration, RawEvent
from apps.postmortems.services import incident_upsert_from_source
from tests.delivery import payloads as p
from tests.delivery.conftest import SECRET

pytestmark = pytest.mark.django_db


def t(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def send_github(hook, integration, event, payload):
    body = p.dumps(payload)
    return hook(integration, body, p.github_headers(SECRET, body, event))


def with_patterns(integration, **patterns):
    return services.integration_update(actor=permissions.SYSTEM, integration=integration, **patterns)


def only_event():
    return RawEvent.objects.order_by("-pk").first()


# --- GitHub Actions runs -------------------------------------------------------------


def test_a_matching_workflow_run_is_a_deployment_with_its_sha_start_and_finish(cast, make_integration, hook):
    integration = with_patterns(make_integration("github"), deploy_workflow=r"deploy\.yml", deploy_branch="main")
    run = p.github_workflow_run(run_id=501, started="2026-03-04T10:00:00Z", updated="2026-03-04T10:06:30Z")
    assert send_github(hook, integration, "workflow_run", run).status_code == 202
    deployment = Deployment.objects.get()
    assert only_event().status == "processed"
    assert deployment.external_id == "actions:501:1"
    assert deployment.sha == "acb5820ced9479c074f688cc328bf03f341a511d"
    assert deployment.ref == "main"
    assert (deployment.status, deployment.is_production, deployment.environment) == ("success", True, "production")
    assert deployment.started_at == t("2026-03-04T10:00:00Z")
    assert deployment.finished_at == t("2026-03-04T10:06:30Z")
    assert deployment.service == cast.service


def test_the_workflow_pattern_matches_the_name_or_the_file(cast, make_integration, hook):
    integration = with_patterns(make_integration("github"), deploy_workflow="release to prod")
    send_github(hook, integration, "workflow_run", p.github_workflow_run(run_id=1, name="Release to prod"))
    assert Deployment.objects.filter(external_id="actions:1:1").exists()


def test_a_run_in_progress_is_not_finished_and_a_rerun_is_another_deployment(cast, make_integration, hook):
    integration = with_patterns(make_integration("github"), deploy_workflow="Deploy")
    send_github(hook, integration, "workflow_run", p.github_workflow_run(run_id=7, status="in_progress"))
    running = Deployment.objects.get()
    assert (running.status, running.finished_at) == ("in_progress", None)
    send_github(hook, integration, "workflow_run", p.github_workflow_run(run_id=7, conclusion="failure"))
    send_github(
        hook,
        integration,
        "workflow_run",
        p.github_workflow_run(run_id=7, attempt=2, updated="2026-03-04T11:00:00Z", started="2026-03-04T10:50:00Z"),
    )
    # A late "in progress" of the first attempt changes nothing.
    send_github(hook, integration, "workflow_run", p.github_workflow_run(run_id=7, status="in_progress"))
    by_key = dict(Deployment.objects.values_list("external_id", "status"))
    assert by_key == {"actions:7:1": "failure", "actions:7:2": "success"}
    assert Deployment.objects.get(external_id="actions:7:1").finished_at == t("2026-03-04T10:06:30Z")


@pytest.mark.parametrize(
    ("patterns", "run", "reason"),
    [
        (
            {"deploy_workflow": r"deploy\.yml"},
            {"name": "CI", "path": ".github/workflows/ci.yml"},
            r"workflow CI / .github/workflows/ci.yml / ci.yml does not match the workflow pattern deploy\.yml",
        ),
        (
            {"deploy_workflow": "Deploy", "deploy_branch": "main"},
            {"branch": "feature/faster-checkout"},
            "branch feature/faster-checkout does not match the branch pattern main",
        ),
        ({}, {}, "once a deployment pattern is set"),
        ({"deploy_workflow": "Deploy", "deploy_job": "deploy-.*"}, {}, "not whole runs"),
        ({"deploy_workflow": "Deploy"}, {"conclusion": "skipped"}, "concluded skipped: nothing was deployed"),
    ],
)
def test_runs_that_are_not_deployments_are_ignored_with_the_reason(cast, make_integration, hook, patterns, run, reason):
    integration = with_patterns(make_integration("github"), **patterns)
    send_github(hook, integration, "workflow_run", p.github_workflow_run(**run))
    event = only_event()
    assert event.status == "ignored"
    assert reason in event.note
    assert not Deployment.objects.exists()


def test_the_branch_pattern_must_match_the_whole_name(cast, make_integration, hook):
    integration = with_patterns(make_integration("github"), deploy_workflow="Deploy", deploy_branch="main")
    send_github(hook, integration, "workflow_run", p.github_workflow_run(branch="maintenance"))
    assert only_event().status == "ignored"


# --- GitHub Actions jobs -------------------------------------------------------------


def test_jobs_matching_the_job_pattern_are_deployments(cast, make_integration, hook):
    integration = with_patterns(make_integration("github"), deploy_job="deploy-prod.*", deploy_workflow="CI")
    send_github(hook, integration, "workflow_job", p.github_workflow_job(job_id=9001, name="deploy-production"))
    send_github(hook, integration, "workflow_job", p.github_workflow_job(job_id=9000, name="unit-tests"))
    # Whole runs do not count when jobs do (the same deployment would count twice).
    send_github(hook, integration, "workflow_run", p.github_workflow_run(name="CI"))
    deployment = Deployment.objects.get()
    assert deployment.external_id == "actions-job:9001"
    assert (deployment.started_at, deployment.finished_at) == (t("2026-03-04T10:02:00Z"), t("2026-03-04T10:05:00Z"))
    assert deployment.status == "success" and deployment.sha == "acb5820ced9479c074f688cc328bf03f341a511d"
    notes = dict(RawEvent.objects.filter(status="ignored").values_list("event_type", "note"))
    assert "job unit-tests does not match the job pattern deploy-prod.*" in notes["workflow_job"]
    assert "not whole runs" in notes["workflow_run"]


def test_a_queued_job_then_its_completion_fold_into_one_deployment(cast, make_integration, hook):
    integration = with_patterns(make_integration("github"), deploy_job="deploy-production")
    send_github(hook, integration, "workflow_job", p.github_workflow_job(job_id=3, conclusion="timed_out"))
    send_github(hook, integration, "workflow_job", p.github_workflow_job(job_id=3, status="queued"))
    deployment = Deployment.objects.get()
    assert (deployment.status, deployment.finished_at) == ("failure", t("2026-03-04T10:05:00Z"))


def test_jobs_are_ignored_without_a_job_pattern(cast, make_integration, hook):
    integration = with_patterns(make_integration("github"), deploy_workflow="CI")
    send_github(hook, integration, "workflow_job", p.github_workflow_job())
    assert only_event().status == "ignored" and "whole workflow runs count here" in only_event().note


# --- patterns are checked when set -----------------------------------------------------


def test_a_bad_pattern_is_refused_with_a_clear_error(cast, make_integration):
    integration = make_integration("github")
    with pytest.raises(ValidationError) as caught:
        with_patterns(integration, deploy_job="deploy-(prod")
    assert "Not a regular expression: missing ), unterminated subpattern at position 7." in str(caught.value)
    integration.refresh_from_db()
    assert integration.deploy_job == ""


def test_the_edit_page_shows_a_bad_pattern_next_to_its_field(cast, make_integration, client_for):
    from django.urls import reverse

    integration = make_integration("github")
    client = client_for("lead")
    url = reverse("delivery:integration_edit", args=[integration.pk])
    data = {"name": integration.name, "production_environments": "production", "is_active": "on"}
    response = client.post(url, {**data, "deploy_workflow": "*deploy"})
    assert response.status_code == 200
    assert "Not a regular expression: nothing to repeat at position 0." in response.content.decode()
    response = client.post(url, {**data, "deploy_workflow": " Deploy|Release ", "deploy_branch": "main"})
    assert response.status_code == 302
    integration = Integration.objects.get(pk=integration.pk)
    assert (integration.deploy_workflow, integration.deploy_job, integration.deploy_branch) == (
        "Deploy|Release",
        "",
        "main",
    )


def test_the_api_sets_and_checks_patterns(cast, make_integration, api_for):
    from django.urls import reverse

    integration = make_integration("github")
    api = api_for("lead")
    url = reverse("api:integration-detail", args=[integration.pk])
    bad = api.patch(url, {"deploy_branch": "[main"}, format="json")
    assert bad.status_code == 400 and "deploy_branch" in bad.json()
    good = api.patch(url, {"deploy_workflow": "Deploy"}, format="json")
    assert good.status_code == 200 and good.json()["deploy_workflow"] == "Deploy"


# --- GitLab pipelines and jobs ----------------------------------------------------------


def test_gitlab_job_hook_matching_the_job_pattern_is_a_deployment(cast, make_integration, hook):
    integration = with_patterns(make_integration("gitlab"), deploy_job="deploy-production", deploy_branch="main")
    job = p.gitlab_job(build_id=1977, started="2021-02-23 02:41:37 UTC", finished="2021-02-23 02:46:37 UTC")
    assert hook(integration, p.dumps(job), p.gitlab_headers(SECRET, "Job Hook")).status_code == 202
    deployment = Deployment.objects.get()
    assert deployment.external_id == "job:1977"
    assert (deployment.started_at, deployment.finished_at) == (t("2021-02-23T02:41:37Z"), t("2021-02-23T02:46:37Z"))
    assert (deployment.status, deployment.sha) == ("success", "2293ada6b400935a1378653304eaf6221e0fdb8f")
    assert deployment.url == "https://gitlab.example.com/acme/checkout-api/-/jobs/1977"
    assert deployment.service == cast.service


def test_gitlab_jobs_not_matching_or_to_staging_are_ignored_with_the_reason(cast, make_integration, hook):
    integration = with_patterns(make_integration("gitlab"), deploy_job="deploy-.*")
    hook(integration, p.dumps(p.gitlab_job(build_id=1, name="rspec")), p.gitlab_headers(SECRET, "Job Hook"))
    staging = p.gitlab_job(build_id=2, name="deploy-staging", environment={"name": "staging", "action": "start"})
    hook(integration, p.dumps(staging), p.gitlab_headers(SECRET, "Job Hook"))
    notes = list(RawEvent.objects.order_by("pk").values_list("status", "note"))
    assert notes[0] == ("ignored", "Job 1 is not a production deployment: job rspec: "
                        "job rspec does not match the job pattern deploy-.*.")  # fmt: skip
    assert notes[1][0] == "ignored" and "environment staging is not a production environment" in notes[1][1]
    assert not Deployment.objects.exists()


def test_gitlab_job_and_pipeline_hooks_of_one_job_count_once(cast, make_integration, hook):
    integration = with_patterns(make_integration("gitlab"), deploy_job="release")
    job = p.gitlab_job(build_id=1001, name="release", status="running", finished=None)
    hook(integration, p.dumps(job), p.gitlab_headers(SECRET, "Job Hook"))
    pipeline = p.gitlab_pipeline(job_id=1001, job_name="release", finished="2021-04-28 19:50:00 UTC")
    hook(integration, p.dumps(pipeline), p.gitlab_headers(SECRET, "Pipeline Hook"))
    deployment = Deployment.objects.get()
    assert (deployment.external_id, deployment.status) == ("job:1001", "success")
    assert deployment.finished_at == t("2021-04-28T19:50:00Z")


def test_a_whole_gitlab_pipeline_matching_by_name_is_a_deployment(cast, make_integration, hook):
    integration = with_patterns(make_integration("gitlab"), deploy_workflow="Deploy .*")
    hook(
        integration,
        p.dumps(p.gitlab_pipeline(pipeline_id=31, name="Deploy checkout")),
        p.gitlab_headers(SECRET, "Pipeline Hook"),
    )
    hook(
        integration,
        p.dumps(p.gitlab_pipeline(pipeline_id=32, job_id=2002, name="Nightly tests")),
        p.gitlab_headers(SECRET, "Pipeline Hook"),
    )
    deployment = Deployment.objects.get()
    assert deployment.external_id == "pipeline:31"
    assert (deployment.started_at, deployment.finished_at) == (t("2021-04-28T19:40:00Z"), t("2021-04-28T19:50:00Z"))
    ignored = RawEvent.objects.get(status="ignored")
    assert ignored.note == "Pipeline 32: workflow Nightly tests does not match the workflow pattern Deploy .*."


# --- the same history, two ways of telling it --------------------------------------------

HISTORY = [
    # (sha, committed, deploy start, deploy finish, outcome)
    ("1" * 40, "2026-03-02T08:00:00Z", "2026-03-02T09:50:00Z", "2026-03-02T10:00:00Z", "success"),
    ("2" * 40, "2026-03-03T08:00:00Z", "2026-03-03T11:50:00Z", "2026-03-03T12:00:00Z", "failure"),
    ("3" * 40, "2026-03-04T06:00:00Z", "2026-03-04T11:50:00Z", "2026-03-04T12:00:00Z", "success"),
    ("4" * 40, "2026-03-05T09:00:00Z", "2026-03-05T09:50:00Z", "2026-03-05T10:00:00Z", "success"),
]


def _deliver_history(hook, integration, as_actions: bool):
    for number, (sha, committed, start, finish, outcome) in enumerate(HISTORY, start=1):
        push = p.github_push(commits=[(sha, f"change {number}", committed)])
        push["before"] = HISTORY[number - 2][0] if number > 1 else push["before"]
        send_github(hook, integration, "push", push)
        if as_actions:
            for status, at in (("in_progress", start), ("completed", finish)):
                run = p.github_workflow_run(
                    run_id=800 + number, sha=sha, status=status, conclusion=outcome, started=start, updated=at
                )
                send_github(hook, integration, "workflow_run", run)
        else:
            for state, at in (("in_progress", start), (outcome, finish)):
                status = p.github_deployment_status(deployment_id=900 + number, state=state, at=at, sha=sha)
                status["deployment"]["created_at"] = start
                send_github(hook, integration, "deployment_status", status)
    # One incident an hour after the fourth deployment, resolved 90 minutes later.
    incident_upsert_from_source(
        actor=SYSTEM,
        organization=integration.organization,
        team=integration.team,
        source="api",
        external_id="INC-1",
        services=[integration.team.services.get()],
        title="Checkout errors",
        started_at=t("2026-03-05T11:00:00Z"),
        resolved_at=t("2026-03-05T12:30:00Z"),
    )
    services.incident_link_refresh(
        actor=permissions.SYSTEM, incident=integration.organization.incidents.get(external_id="INC-1")
    )
    rollups.refresh_dirty()
    return selectors.team_dora(team_ids=[integration.team_id], window_days=7, until=date(2026, 3, 7), full=True)


def test_dora_of_a_history_sent_as_actions_runs_equals_the_same_sent_as_deployment_statuses(
    cast, make_integration, hook
):
    statuses = make_integration("github", name="deployments api")
    as_statuses = _deliver_history(hook, statuses, as_actions=False)
    statuses.delete()
    for model in (Deployment, RawEvent):
        model.objects.all().delete()
    cast.org.changes.all().delete()
    cast.org.incidents.all().delete()
    actions = with_patterns(make_integration("github", name="actions"), deploy_workflow="Deploy")
    as_actions = _deliver_history(hook, actions, as_actions=True)
    assert Deployment.objects.filter(external_id__startswith="actions:").count() == 4
    assert as_actions == as_statuses
    keys = as_actions[cast.team.pk]
    # Hand-checked: 3 successful production deployments in 7 days; lead times 2 h, 28 h (the
    # failed deploy's commit ships with the next success: 3 Mar 08:00 -> 4 Mar 12:00), 6 h, 1 h;
    # failures: the failed run and the deployment the incident links to = 2 of 4; they recover
    # in 24 h (the next success) and 1.5 h (the incident resolved): median 12.75 h.
    assert keys["deployment_frequency"]["per_day"] == 3 / 7
    assert keys["lead_time_hours"]["median"] == 4.0
    assert keys["change_failure_rate"]["value"] == 0.5
    assert (keys["recovery_time_hours"]["median"], keys["recovery_time_hours"]["recoveries"]) == (12.75, 2)


# --- the integration page says which event types count -------------------------------------


def test_the_integration_page_lists_used_and_ignored_event_types_with_what_arrived(
    cast, make_integration, hook, client_for
):
    integration = with_patterns(make_integration("github"), deploy_workflow=r"deploy\.yml")
    send_github(hook, integration, "workflow_run", p.github_workflow_run(run_id=1))
    send_github(hook, integration, "workflow_run", p.github_workflow_run(run_id=2, path=".github/workflows/ci.yml"))
    send_github(hook, integration, "workflow_job", p.github_workflow_job())
    send_github(hook, integration, "issues", {"action": "opened", "issue": {"number": 1}})
    from apps.delivery import selectors

    section = selectors.integration_event_types(integration=integration)
    by_name = {row["type"].name: row for row in section["rows"]}
    assert by_name["workflow_run"]["type"].used and by_name["workflow_run"]["counts"] == {"processed": 1, "ignored": 1}
    assert not by_name["workflow_job"]["type"].used
    assert "whole runs count here" in by_name["workflow_job"]["type"].detail
    assert by_name["workflow_job"]["counts"] == {"ignored": 1}
    assert by_name["push"]["counts"] == {}
    assert section["unlisted"] == [{"name": "issues", "counts": {"ignored": 1}}]
    # Runs are the deployments here: a job with `environment:` would send deployment_status too.
    assert section["guide"].subscribe == ["push", "workflow_run"]
    assert "counts twice" in by_name["deployment_status"]["type"].detail
    page = client_for("lead").get(integration.get_absolute_url())
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="event-types"' in html and "a deployment per run of workflow deploy\\.yml" in html
    assert "application/json (application/x-www-form-urlencoded is read too)" in html
    assert '<span class="badge text-bg-light border font-monospace">workflow_run</span>' in html


def test_with_a_job_pattern_the_guide_subscribes_to_jobs_not_runs(cast, make_integration):
    from apps.delivery import sources

    github = with_patterns(make_integration("github"), deploy_job="deploy-prod")
    assert sources.guide(github).subscribe == ["push", "workflow_job"]
    assert sources.guide(make_integration("github", name="plain gh")).subscribe == ["push", "deployment_status"]
    gitlab = with_patterns(make_integration("gitlab"), deploy_job="deploy-prod")
    assert sources.guide(gitlab).subscribe == ["Push Hook", "Deployment Hook", "Pipeline Hook", "Job Hook"]
    plain = make_integration("gitlab", name="plain")
    assert "Job Hook" not in sources.guide(plain).subscribe
    opsgenie = sources.guide(make_integration("opsgenie"))
    assert opsgenie.row_for("Escalate").used and opsgenie.row_for("Delete") is None


def test_patterns_only_on_git_sources_and_a_branch_needs_a_workflow_or_job(cast, make_integration, client_for):
    from django.urls import reverse

    with pytest.raises(ValidationError, match="a workflow or job pattern too"):
        with_patterns(make_integration("github"), deploy_branch="main")
    pagerduty = make_integration("pagerduty")
    with pytest.raises(ValidationError, match="GitHub and GitLab integrations only"):
        with_patterns(pagerduty, deploy_workflow="Deploy")
    form = client_for("lead").get(reverse("delivery:integration_edit", args=[pagerduty.pk]))
    assert form.status_code == 200 and "deploy_workflow" not in form.content.decode()
