"""Webhook bodies as the providers document them (trimmed to the fields they always send),
and the headers they sign them with."""

import hashlib
import hmac
import json
import uuid

# --- signing, exactly as the providers do ---------------------------------------


def github_headers(secret: str, body: bytes, event: str, delivery: str | None = None) -> dict:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "HTTP_X_GITHUB_EVENT": event,
        "HTTP_X_GITHUB_DELIVERY": delivery or str(uuid.uuid4()),
        "HTTP_X_GITHUB_HOOK_ID": "292430182",
        "HTTP_X_HUB_SIGNATURE_256": signature,
        "HTTP_USER_AGENT": "GitHub-Hookshot/044aadd",
    }


def gitlab_headers(secret: str, event: str, uuid_: str | None = None, idempotency: str | None = None) -> dict:
    headers = {
        "HTTP_X_GITLAB_EVENT": event,
        "HTTP_X_GITLAB_TOKEN": secret,
        "HTTP_X_GITLAB_EVENT_UUID": uuid_ or str(uuid.uuid4()),
        "HTTP_X_GITLAB_INSTANCE": "https://gitlab.example.com",
        "HTTP_USER_AGENT": "GitLab/17.5.0",
    }
    if idempotency:
        headers["HTTP_IDEMPOTENCY_KEY"] = idempotency
    return headers


def pagerduty_headers(secrets: list[str], body: bytes) -> dict:
    signatures = ",".join("v1=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets)
    return {
        "HTTP_X_PAGERDUTY_SIGNATURE": signatures,
        "HTTP_X_WEBHOOK_ID": "PWHOOK1",
        "HTTP_USER_AGENT": "PagerDuty-Webhook/V3.0",
    }


def bearer_headers(secret: str, **extra) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}", **extra}


def dumps(payload) -> bytes:
    return json.dumps(payload).encode()


# --- GitHub -----------------------------------------------------------------------


def github_push(repo="acme/checkout-api", commits=(), ref="refs/heads/main", default_branch="main"):
    owner, name = repo.split("/")
    commit_list = [
        {
            "id": sha,
            "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
            "distinct": True,
            "message": message,
            "timestamp": timestamp,
            "url": f"https://github.com/{repo}/commit/{sha}",
            "author": {"name": "Octo Cat", "email": "octocat@github.com", "username": "octocat"},
            "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
            "added": [],
            "removed": [],
            "modified": ["README.md"],
        }
        for sha, message, timestamp in commits
    ]
    return {
        "ref": ref,
        "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "after": commit_list[-1]["id"] if commit_list else "0000000000000000000000000000000000000000",
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"https://github.com/{repo}/compare/6113728f27ae...",
        "commits": commit_list,
        "head_commit": commit_list[-1] if commit_list else None,
        "repository": {
            "id": 186853002,
            "name": name,
            "full_name": repo,
            "private": False,
            "owner": {"name": owner, "login": owner},
            "html_url": f"https://github.com/{repo}",
            "default_branch": default_branch,
            "master_branch": default_branch,
        },
        "pusher": {"name": "octocat", "email": "octocat@github.com"},
        "sender": {"login": "octocat", "id": 21031067, "type": "User"},
    }


def github_deployment_status(
    repo="acme/checkout-api",
    deployment_id=145988746,
    state="success",
    environment="production",
    at="",
    sha="",
    status_id=None,
):
    return {
        "action": "created",
        "deployment_status": {
            "url": f"https://api.github.com/repos/{repo}/deployments/{deployment_id}/statuses/{status_id or 1}",
            "id": status_id or 1,
            "node_id": "MDE2OkRlcGxveW1lbnRTdGF0dXMx",
            "state": state,
            "creator": {"login": "octocat", "id": 21031067},
            "description": "",
            "environment": environment,
            "target_url": f"https://github.com/{repo}/actions/runs/1",
            "created_at": at,
            "updated_at": at,
            "deployment_url": f"https://api.github.com/repos/{repo}/deployments/{deployment_id}",
            "repository_url": f"https://api.github.com/repos/{repo}",
        },
        "deployment": {
            "url": f"https://api.github.com/repos/{repo}/deployments/{deployment_id}",
            "id": deployment_id,
            "node_id": "MDEwOkRlcGxveW1lbnQx",
            "sha": sha or "a10867b14bb761a232cd80139fbd4c0d33264240",
            "ref": "main",
            "task": "deploy",
            "payload": {},
            "original_environment": environment,
            "environment": environment,
            "description": None,
            "creator": {"login": "octocat", "id": 21031067},
            "created_at": at,
            "updated_at": at,
            "statuses_url": f"https://api.github.com/repos/{repo}/deployments/{deployment_id}/statuses",
            "repository_url": f"https://api.github.com/repos/{repo}",
        },
        "repository": {"id": 186853002, "name": repo.split("/")[1], "full_name": repo, "default_branch": "main"},
        "sender": {"login": "octocat", "id": 21031067, "type": "User"},
    }


def _github_repository(repo):
    owner, name = repo.split("/")
    return {
        "id": 186853002,
        "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
        "name": name,
        "full_name": repo,
        "private": False,
        "owner": {"login": owner, "id": 21031067, "type": "Organization"},
        "html_url": f"https://github.com/{repo}",
        "default_branch": "main",
    }


def github_workflow_run(
    repo="acme/checkout-api",
    run_id=30433642,
    attempt=1,
    name="Deploy",
    path=".github/workflows/deploy.yml",
    branch="main",
    sha="acb5820ced9479c074f688cc328bf03f341a511d",
    status="completed",
    conclusion="success",
    started="2026-03-04T10:00:00Z",
    updated="2026-03-04T10:06:30Z",
):
    """A `workflow_run` delivery (action requested / in_progress / completed)."""
    action = {"completed": "completed", "in_progress": "in_progress"}.get(status, "requested")
    return {
        "action": action,
        "workflow_run": {
            "id": run_id,
            "name": name,
            "node_id": "WFR_kwLOCyvp284BzGp2",
            "head_branch": branch,
            "head_sha": sha,
            "path": path,
            "display_title": "Bump checkout timeout",
            "run_number": 562,
            "event": "push",
            "status": status,
            "conclusion": conclusion if status == "completed" else None,
            "workflow_id": 159038,
            "check_suite_id": 414944374,
            "url": f"https://api.github.com/repos/{repo}/actions/runs/{run_id}",
            "html_url": f"https://github.com/{repo}/actions/runs/{run_id}",
            "pull_requests": [],
            "created_at": started,
            "updated_at": updated,
            "actor": {"login": "octocat", "id": 21031067, "type": "User"},
            "run_attempt": attempt,
            "run_started_at": started,
            "jobs_url": f"https://api.github.com/repos/{repo}/actions/runs/{run_id}/jobs",
            "head_commit": {
                "id": sha,
                "tree_id": "d23f6eedb1e1b9610bbc754ddb5197bfe7271223",
                "message": "Bump checkout timeout",
                "timestamp": started,
                "author": {"name": "Octo Cat", "email": "octocat@github.com"},
            },
            "repository": {"id": 186853002, "name": repo.split("/")[1], "full_name": repo},
        },
        "workflow": {
            "id": 159038,
            "node_id": "MDg6V29ya2Zsb3cxNTkwMzg=",
            "name": name,
            "path": path,
            "state": "active",
            "url": f"https://api.github.com/repos/{repo}/actions/workflows/159038",
            "html_url": f"https://github.com/{repo}/blob/main/{path}",
        },
        "repository": _github_repository(repo),
        "sender": {"login": "octocat", "id": 21031067, "type": "User"},
    }


def github_workflow_job(
    repo="acme/checkout-api",
    job_id=399444496,
    run_id=30433642,
    name="deploy-production",
    workflow_name="CI",
    branch="main",
    sha="acb5820ced9479c074f688cc328bf03f341a511d",
    status="completed",
    conclusion="success",
    started="2026-03-04T10:02:00Z",
    completed="2026-03-04T10:05:00Z",
):
    """A `workflow_job` delivery (action queued / in_progress / completed / waiting)."""
    return {
        "action": status if status in ("queued", "in_progress", "completed", "waiting") else "queued",
        "workflow_job": {
            "id": job_id,
            "run_id": run_id,
            "workflow_name": workflow_name,
            "head_branch": branch,
            "run_url": f"https://api.github.com/repos/{repo}/actions/runs/{run_id}",
            "run_attempt": 1,
            "node_id": "MDg6Q2hlY2tSdW4zOTk0NDQ0OTY=",
            "head_sha": sha,
            "url": f"https://api.github.com/repos/{repo}/actions/jobs/{job_id}",
            "html_url": f"https://github.com/{repo}/actions/runs/{run_id}/job/{job_id}",
            "status": status,
            "conclusion": conclusion if status == "completed" else None,
            "created_at": started,
            "started_at": started,
            "completed_at": completed if status == "completed" else None,
            "name": name,
            "steps": [
                {
                    "name": "Set up job",
                    "status": "completed",
                    "conclusion": "success",
                    "number": 1,
                    "started_at": started,
                    "completed_at": started,
                }
            ],
            "check_run_url": f"https://api.github.com/repos/{repo}/check-runs/{job_id}",
            "labels": ["ubuntu-latest"],
            "runner_id": 1,
            "runner_name": "GitHub Actions 1",
            "runner_group_id": 2,
            "runner_group_name": "GitHub Actions",
        },
        "repository": _github_repository(repo),
        "sender": {"login": "octocat", "id": 21031067, "type": "User"},
    }


# --- GitLab -----------------------------------------------------------------------


def _gitlab_project(path="acme/checkout-api"):
    return {
        "id": 15,
        "name": path.split("/")[1],
        "web_url": f"https://gitlab.example.com/{path}",
        "path_with_namespace": path,
        "default_branch": "main",
        "namespace": path.split("/")[0],
    }


def gitlab_push(path="acme/checkout-api", commits=()):
    return {
        "object_kind": "push",
        "event_name": "push",
        "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
        "after": commits[-1][0] if commits else "0" * 40,
        "ref": "refs/heads/main",
        "ref_protected": True,
        "checkout_sha": commits[-1][0] if commits else None,
        "user_id": 4,
        "user_name": "John Smith",
        "user_username": "jsmith",
        "project_id": 15,
        "project": _gitlab_project(path),
        "commits": [
            {
                "id": sha,
                "message": message,
                "title": message,
                "timestamp": timestamp,
                "url": f"https://gitlab.example.com/{path}/-/commit/{sha}",
                "author": {"name": "Jordi Mallach", "email": "jordi@softcatala.org"},
                "added": [],
                "modified": ["app.rb"],
                "removed": [],
            }
            for sha, message, timestamp in commits
        ],
        "total_commits_count": len(commits),
        "repository": {"name": path.split("/")[1], "homepage": f"https://gitlab.example.com/{path}"},
    }


def gitlab_deployment(
    path="acme/checkout-api", job_id=1001, status="success", at="2021-04-28 21:50:00 +0200", sha=None
):
    sha = sha or "279484c09fbe69ededfced8c1bb6e6d24616b468"
    return {
        "object_kind": "deployment",
        "status": status,
        "status_changed_at": at,
        "deployment_id": 15,
        "deployable_id": job_id,
        "deployable_url": f"https://gitlab.example.com/{path}/-/jobs/{job_id}",
        "environment": "production",
        "environment_tier": "production",
        "environment_slug": "production",
        "environment_external_url": "https://checkout.example.com",
        "project": _gitlab_project(path),
        "short_sha": sha[:8],
        "user": {"id": 1, "name": "Administrator", "username": "root"},
        "user_url": "https://gitlab.example.com/root",
        "commit_url": f"https://gitlab.example.com/{path}/-/commit/{sha}",
        "commit_title": "Add new file",
        "ref": "main",
    }


def gitlab_pipeline(
    path="acme/checkout-api",
    pipeline_id=31,
    job_id=1001,
    status="success",
    finished="2021-04-28 19:50:00 UTC",
    name=None,
    job_name="production",
):
    return {
        "object_kind": "pipeline",
        "object_attributes": {
            "id": pipeline_id,
            "name": name,
            "iid": 3,
            "ref": "main",
            "tag": False,
            "sha": "279484c09fbe69ededfced8c1bb6e6d24616b468",
            "status": status,
            "detailed_status": status,
            "stages": ["build", "deploy"],
            "created_at": "2021-04-28 19:40:00 UTC",
            "finished_at": finished,
            "duration": 600,
            "url": f"https://gitlab.example.com/{path}/-/pipelines/{pipeline_id}",
        },
        "project": _gitlab_project(path),
        "builds": [
            {
                "id": job_id - 1,
                "stage": "build",
                "name": "build",
                "status": "success",
                "created_at": "2021-04-28 19:40:00 UTC",
                "started_at": "2021-04-28 19:40:10 UTC",
                "finished_at": "2021-04-28 19:45:00 UTC",
                "environment": None,
            },
            {
                "id": job_id,
                "stage": "deploy",
                "name": job_name,
                "status": status,
                "created_at": "2021-04-28 19:40:00 UTC",
                "started_at": "2021-04-28 19:45:10 UTC",
                "finished_at": finished,
                "environment": {"name": "production", "action": "start", "deployment_tier": "production"},
            },
        ],
    }


def gitlab_job(
    path="acme/checkout-api",
    build_id=1977,
    name="deploy-production",
    stage="deploy",
    status="success",
    started="2021-02-23 02:41:37 UTC",
    finished="2021-02-23 02:46:37 UTC",
    environment=None,
    ref="main",
    sha="2293ada6b400935a1378653304eaf6221e0fdb8f",
):
    """A Job Hook delivery (X-Gitlab-Event: Job Hook, object_kind build)."""
    project = _gitlab_project(path)
    return {
        "object_kind": "build",
        "ref": ref,
        "tag": False,
        "before_sha": "2293ada6b400935a1378653304eaf6221e0fdb8f",
        "sha": sha,
        "retries_count": 0,
        "build_id": build_id,
        "build_name": name,
        "build_stage": stage,
        "build_status": status,
        "build_created_at": "2021-02-23 02:41:30 UTC",
        "build_started_at": started,
        "build_finished_at": finished if status in ("success", "failed", "canceled") else None,
        "build_duration": 300.0 if status in ("success", "failed", "canceled") else None,
        "build_queued_duration": 1.2,
        "build_allow_failure": False,
        "build_failure_reason": "script_failure" if status == "failed" else "unknown_failure",
        "pipeline_id": 2366,
        "runner": {"id": 380987, "description": "shared-runners-manager-6", "active": True, "is_shared": True},
        "project_id": project["id"],
        "project_name": f"{path.split('/')[0]} / {path.split('/')[1]}",
        "user": {"id": 3, "name": "User", "username": "user", "email": "user@gitlab.com"},
        "commit": {
            "id": 2366,
            "name": None,
            "sha": sha,
            "message": "test\n",
            "author_name": "User",
            "author_email": "user@gitlab.com",
            "status": "running",
            "duration": None,
            "started_at": "2021-02-23 02:41:30 UTC",
            "finished_at": None,
        },
        "repository": {
            "name": path.split("/")[1],
            "url": f"git@gitlab.example.com:{path}.git",
            "homepage": f"https://gitlab.example.com/{path}",
        },
        "project": project,
        "environment": environment,
    }


# --- incident sources ---------------------------------------------------------------


def pagerduty_event(
    event_type="incident.triggered",
    incident_id="Q1ZJ4J9XCY7K0E",
    occurred_at="",
    created_at="",
    event_id=None,
    service="checkout-api",
):
    status = {
        "incident.triggered": "triggered",
        "incident.resolved": "resolved",
        "incident.acknowledged": "acknowledged",
    }
    return {
        "event": {
            "id": event_id or f"01{uuid.uuid4().hex[:24].upper()}",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": occurred_at,
            "agent": {
                "html_url": "https://acme.pagerduty.com/users/PLH1HKV",
                "id": "PLH1HKV",
                "type": "user_reference",
            },
            "client": None,
            "data": {
                "id": incident_id,
                "type": "incident",
                "self": f"https://api.pagerduty.com/incidents/{incident_id}",
                "html_url": f"https://acme.pagerduty.com/incidents/{incident_id}",
                "number": 2,
                "status": status.get(event_type, "triggered"),
                "incident_key": "d3640fbd41094207a1c11e58e46b1662",
                "created_at": created_at,
                "title": "Checkout API 5xx above 2%",
                "service": {
                    "html_url": "https://acme.pagerduty.com/services/PF9KMXH",
                    "id": "PF9KMXH",
                    "self": "https://api.pagerduty.com/services/PF9KMXH",
                    "summary": service,
                    "type": "service_reference",
                },
                "assignees": [],
                "escalation_policy": {"id": "PKBV7YA", "type": "escalation_policy_reference"},
                "teams": [],
                "priority": {"id": "PSO75BM", "summary": "P2", "type": "priority_reference"},
                "urgency": "high",
                "conference_bridge": None,
                "resolve_reason": None,
            },
        }
    }


def opsgenie_alert(
    action="Create",
    alert_id="70413a06-38d6-4c85-92b8-5ebc900d42e2",
    created=1700000000000,
    updated=None,
    service="checkout-api",
):
    return {
        "action": action,
        "alert": {
            "alertId": alert_id,
            "message": "checkout-api error rate high",
            "tags": ["tag1", f"service:{service}"],
            "tinyId": "1791",
            "entity": service,
            "alias": "checkout-api-error-rate",
            "createdAt": created,
            "updatedAt": updated or created,
            "username": "Alert API",
            "userId": "daed1180-0ce8-438b-8f8e-57e1a5920a2d",
            "description": "error rate above 2% for 5m",
            "team": "checkout",
            "priority": "P1",
            "source": "Prometheus",
            "details": {"service": service},
        },
        "source": {"name": "", "type": "web"},
        "integrationName": "Webhook",
        "integrationId": "8e4a2fbb-b84b-4ae1-a1c2-dc8d5c1ff2f5",
        "integrationType": "Webhook",
    }


def alertmanager_notification(
    status="firing", starts="2026-03-01T10:00:00Z", ends="0001-01-01T00:00:00Z", service="checkout-api"
):
    labels = {"alertname": "HighErrorRate", "service": service, "severity": "critical"}
    return {
        "version": "4",
        "groupKey": '{}/{severity="critical"}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "devops-maturity",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": labels,
        "commonAnnotations": {"summary": "checkout-api 5xx ratio above 2%"},
        "externalURL": "http://alertmanager.example.com:9093",
        "alerts": [
            {
                "status": status,
                "labels": {**labels, "instance": "10.0.0.1:8080"},
                "annotations": {"summary": "checkout-api 5xx ratio above 2%"},
                "startsAt": starts,
                "endsAt": ends,
                "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=...",
                "fingerprint": "c2a3f6b1d5e4a7f8",
            }
        ],
    }
