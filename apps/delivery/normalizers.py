"""Turn one raw event's payload into plain records (no database access).

A parser returns a `Parsed`: the commits, deployment states and incident
facts the event states, or `ignored` with the reason. The services layer
writes them; every record is keyed by the source's own id, and every fold
(deployment status, incident times) picks a maximum over a total order, so
events applied in any order give the same rows.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime


class PayloadError(ValueError):
    """The payload lacks something the event type requires."""


@dataclass
class Parsed:
    changes: list[dict] = field(default_factory=list)
    deployments: list[dict] = field(default_factory=list)
    incidents: list[dict] = field(default_factory=list)
    ignored: str = ""
    subject: str = ""
    occurred_at: datetime | None = None


# --- values -------------------------------------------------------------------


# Epoch numbers carry no unit: tell it by magnitude. Any date between 1973 and 5138 has
# fewer than 12 digits in seconds, 12-14 in milliseconds, 15-17 in microseconds and
# 18-20 in nanoseconds (Opsgenie: createdAt in ms, updatedAt in ns).
EPOCH_UNITS = ((10**11, 1), (10**14, 10**3), (10**17, 10**6), (10**20, 10**9))


def _from_epoch(value) -> datetime:
    if isinstance(value, bool) or value < 0:
        raise PayloadError(f"Unreadable time {value!r}.")
    per_second = next((unit for limit, unit in EPOCH_UNITS if value < limit), None)
    if per_second is None:
        raise PayloadError(f"Unreadable time {value!r}: too large for seconds, ms, µs or ns since 1970.")
    if isinstance(value, int):
        seconds, rest = divmod(value, per_second)
        micros = rest * 10**6 // per_second
    else:
        seconds, micros = int(value // per_second), int(round((value % per_second) * 10**6 / per_second))
    try:
        return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=min(micros, 999_999))
    except (OverflowError, OSError, ValueError) as exc:
        raise PayloadError(f"Unreadable time {value!r}.") from exc


def parse_time(value) -> datetime | None:
    """ISO 8601, GitLab's "2016-08-12 15:23:28 UTC" / "+0200" forms, or epoch seconds, milliseconds,
    microseconds or nanoseconds (see EPOCH_UNITS). Anything else is a PayloadError."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return _from_epoch(value)
    if not isinstance(value, str):
        raise PayloadError(f"Unreadable time {value!r}.")
    text = value.strip()
    if text.isdigit():
        return _from_epoch(int(text))
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    elif len(text) > 6 and text[-5] in "+-" and text[-6] == " " and text[-4:].isdigit():
        text = f"{text[:-6]}{text[-5:-2]}:{text[-2:]}"
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise PayloadError(f"Unreadable time {value!r}.")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _text(value, limit: int = 300) -> str:
    return "" if value is None else str(value)[:limit]


def _required(mapping: dict, key: str, what: str):
    value = mapping.get(key)
    if value in (None, ""):
        raise PayloadError(f"{what} has no {key!r}.")
    return value


DEPLOY_STATUS = {
    # GitHub deployment_status.state
    "success": "success",
    "failure": "failure",
    "error": "failure",
    "pending": "pending",
    "queued": "pending",
    "in_progress": "in_progress",
    # GitLab deployment / job / pipeline status
    "running": "in_progress",
    "created": "pending",
    "waiting_for_resource": "pending",
    "preparing": "pending",
    "scheduled": "pending",
    "manual": "pending",
    "failed": "failure",
    "canceled": "canceled",
    "cancelled": "canceled",
    "succeeded": "success",
}


def deploy_status(value) -> str | None:
    return DEPLOY_STATUS.get(str(value or "").strip().lower())


# --- deployment patterns ----------------------------------------------------------


@functools.lru_cache(maxsize=512)
def compile_pattern(text: str) -> re.Pattern:
    """A deployment pattern: a regular expression that must match a whole name, any case."""
    return re.compile(text, re.IGNORECASE)


def pattern_error(text: str) -> str | None:
    """Why `text` is not a usable pattern (None when it is)."""
    try:
        compile_pattern(text)
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        return f"Not a regular expression: {exc.msg}{where}."
    return None


def _matches(pattern: str, *values: str) -> bool:
    if not pattern:
        return True
    try:
        regex = compile_pattern(pattern)
    except re.error as exc:
        raise PayloadError(f"The integration's pattern {pattern!r} is not a regular expression: {exc.msg}.") from exc
    return any(value and regex.fullmatch(value) for value in values)


def _pattern_miss(integration, *, workflow=None, job=None, branch=None) -> str:
    """Why a run, pipeline or job is not a deployment by the integration's patterns ("" when it is).

    Each argument is the name(s) to test, or None when that pattern does not apply."""
    checks = (
        ("workflow", integration.deploy_workflow, workflow),
        ("job", integration.deploy_job, job),
        ("branch", integration.deploy_branch, branch),
    )
    for label, pattern, names in checks:
        if names is None or not pattern:
            continue
        names = tuple(n for n in ((names,) if isinstance(names, str) else names) if n)
        if not _matches(pattern, *names):
            shown = " / ".join(names) if names else "none named"
            return f"{label} {shown} does not match the {label} pattern {pattern}"
    return ""


def _default_environment(integration) -> str:
    envs = [e for e in (integration.production_environments or []) if e]
    return _text(envs[0] if envs else "production", 100)


def _severity_from_priority(priority) -> int | None:
    text = str(priority or "").strip().upper()
    if len(text) == 2 and text[0] in "PS" and text[1] in "12345":
        return int(text[1])
    if text.startswith("SEV") and text[3:] in ("1", "2", "3", "4", "5"):
        return int(text[3:])
    return None


ALERT_SEVERITY = {"critical": 2, "page": 2, "error": 2, "high": 2, "warning": 3, "warn": 3, "info": 4, "low": 4}


# --- GitHub -------------------------------------------------------------------


def github(event_type: str, payload: dict, integration) -> Parsed:
    if event_type == "push":
        return _github_push(payload)
    if event_type == "deployment_status":
        return _github_deployment_status(payload, integration)
    if event_type == "workflow_run":
        return _github_workflow_run(payload, integration)
    if event_type == "workflow_job":
        return _github_workflow_job(payload, integration)
    if event_type == "ping":
        return Parsed(ignored="GitHub ping (the webhook is set up).")
    return Parsed(ignored=f"GitHub {event_type or 'unknown'} events are not used.")


MAX_PATHS = 1000


def commit_paths(commit: dict) -> list[str]:
    """The files a pushed commit added, modified or removed (GitHub and GitLab list them per
    commit), sorted, at most MAX_PATHS: a monorepo's path-prefix mappings read them."""
    paths = set()
    for name in ("added", "modified", "removed"):
        for path in _list(commit.get(name)):
            if isinstance(path, str) and path.strip():
                paths.add(path.strip()[:500])
    return sorted(paths)[:MAX_PATHS]


def _chain_parents(changes: list[dict], payload: dict, total) -> None:
    """Give each pushed commit its parent: the commits list is oldest first and ends at
    `after`, and the first one's parent is `before` (unless the branch is new or the list
    was cut short). Lead time follows these chains from a deployed sha (DESIGN.md)."""
    after = _text(payload.get("after"), 64)
    if not after or changes[-1]["sha"] != after:
        return  # not the chain we think it is: leave the parents unknown
    before = _text(payload.get("before"), 64)
    if before.strip("0") and isinstance(total, int) and total == len(changes):
        changes[0]["parent_sha"] = before
    for parent, child in zip(changes, changes[1:], strict=False):
        child["parent_sha"] = parent["sha"]


def _pushed_commits(payload: dict, repository: str, *, author_fields: tuple[str, ...]) -> list[dict]:
    """The commit records of a GitHub or GitLab push (both list `commits` with id, message, url,
    timestamp, author and the files touched; the author is the first of `author_fields` given)."""
    changes = []
    for commit in _list(payload.get("commits")):
        commit = _dict(commit)
        author = _dict(commit.get("author"))
        changes.append(
            {
                "repository": repository,
                "sha": _text(_required(commit, "id", "A pushed commit"), 64),
                "message": _text(commit.get("message"), 2000),
                "author": _text(next((author.get(f) for f in author_fields if author.get(f)), ""), 200),
                "url": _text(commit.get("url"), 500),
                "committed_at": parse_time(_required(commit, "timestamp", "A pushed commit")),
                "paths": commit_paths(commit),
            }
        )
    return changes


def _github_push(payload: dict) -> Parsed:
    repo = _dict(payload.get("repository"))
    full_name = _text(_required(repo, "full_name", "The push's repository"))
    ref = _text(payload.get("ref"))
    default_branch = repo.get("default_branch") or repo.get("master_branch")
    if default_branch and ref != f"refs/heads/{default_branch}":
        return Parsed(ignored=f"Push to {ref or 'an unknown ref'}, not the default branch {default_branch}.")
    changes = _pushed_commits(payload, full_name, author_fields=("username", "name", "email"))
    if not changes:
        return Parsed(ignored="Push without commits (a branch or tag created or deleted).")
    _chain_parents(changes, payload, len(changes))
    return Parsed(changes=changes, occurred_at=max(c["committed_at"] for c in changes))


def _github_deployment_status(payload: dict, integration) -> Parsed:
    status = _dict(payload.get("deployment_status"))
    deployment = _dict(payload.get("deployment"))
    repo = _dict(payload.get("repository"))
    state = _text(status.get("state")).lower()
    mapped = deploy_status(state)
    if mapped is None:
        return Parsed(ignored=f"Deployment state {state or 'missing'} says nothing about the outcome.")
    deployment_id = _required(deployment, "id", "The deployment")
    environment = _text(status.get("environment") or deployment.get("environment"), 100)
    status_at = parse_time(status.get("updated_at") or status.get("created_at"))
    production = deployment.get("production_environment")
    record = {
        "external_id": str(deployment_id),
        "repository": _text(repo.get("full_name")),
        "environment": environment,
        "is_production": bool(production) if production is not None else integration.is_production(environment),
        "status": mapped,
        "status_at": status_at,
        "started_at": parse_time(deployment.get("created_at")) or status_at,
        "sha": _text(deployment.get("sha"), 64),
        "ref": _text(deployment.get("ref"), 200),
        "url": _text(status.get("target_url") or status.get("log_url") or status.get("environment_url"), 500),
    }
    return Parsed(deployments=[record], subject=f"deployment:{deployment_id}", occurred_at=status_at)


# GitHub Actions: a completed run's or job's conclusion -> deployment status. Other
# conclusions (skipped, neutral, stale, action_required) mean nothing was deployed.
ACTIONS_CONCLUSION = {
    "success": "success",
    "failure": "failure",
    "timed_out": "failure",
    "startup_failure": "failure",
    "cancelled": "canceled",
}
ACTIONS_RUNNING = {"queued": "pending", "requested": "pending", "waiting": "pending", "pending": "pending"}


def _actions_status(thing: str, status, conclusion) -> tuple[str | None, str]:
    """(deployment status, "") or (None, why it is not a deployment state)."""
    status = str(status or "").lower()
    if status == "completed":
        conclusion = str(conclusion or "").lower()
        mapped = ACTIONS_CONCLUSION.get(conclusion)
        if mapped is None:
            return None, f"{thing} concluded {conclusion or 'without a conclusion'}: nothing was deployed."
        return mapped, ""
    if status == "in_progress":
        return "in_progress", ""
    if status in ACTIONS_RUNNING:
        return ACTIONS_RUNNING[status], ""
    return None, f"{thing} status {status or 'missing'} says nothing about the outcome."


def _actions_environment(integration, thing: dict) -> tuple[str, str]:
    """(environment, "") or ("", why not production): the payload's environment when it names one."""
    named = thing.get("environment")
    named = _dict(named).get("name") if isinstance(named, dict) else named
    if named:
        named = _text(named, 100)
        if not integration.is_production(named):
            return "", f"environment {named} is not a production environment"
        return named, ""
    return _default_environment(integration), ""


def _github_workflow_run(payload: dict, integration) -> Parsed:
    if not integration.has_deploy_patterns:
        return Parsed(ignored="Workflow runs count as deployments once a deployment pattern is set (edit page).")
    if integration.deploy_job:
        return Parsed(ignored=f"Jobs matching {integration.deploy_job} count as deployments here, not whole runs.")
    run = _dict(payload.get("workflow_run"))
    workflow = _dict(payload.get("workflow"))
    run_id = _required(run, "id", "The workflow run")
    attempt = run.get("run_attempt") or 1
    name = _text(run.get("name") or workflow.get("name"))
    path = _text(run.get("path") or workflow.get("path")).split("@", 1)[0]
    miss = _pattern_miss(
        integration, workflow=(name, path, path.rsplit("/", 1)[-1]), branch=_text(run.get("head_branch"))
    )
    environment, not_production = _actions_environment(integration, run)
    status, why = _actions_status(f"Workflow run {name or run_id}", run.get("status"), run.get("conclusion"))
    if miss or not_production:
        return Parsed(ignored=f"Workflow run {name or run_id}: {miss or not_production}.")
    if status is None:
        return Parsed(ignored=why)
    started = parse_time(run.get("run_started_at")) or parse_time(run.get("created_at"))
    status_at = parse_time(run.get("updated_at")) or started
    if status_at is None:
        raise PayloadError(f"Workflow run {name or run_id} has no updated_at or run_started_at.")
    return _actions_deployment(
        payload, run, f"actions:{run_id}:{attempt}", environment, status, status_at=status_at, started=started
    )


def _actions_deployment(payload, item: dict, external_id: str, environment: str, status: str, *, status_at, started):
    """A production deployment from a matching workflow run or job (both carry head_sha, head_branch, html_url)."""
    record = {
        "external_id": external_id,
        "repository": _text(_dict(payload.get("repository")).get("full_name")),
        "environment": environment,
        "is_production": True,
        "status": status,
        "status_at": status_at,
        "started_at": started,
        "sha": _text(item.get("head_sha"), 64),
        "ref": _text(item.get("head_branch"), 200),
        "url": _text(item.get("html_url"), 500),
    }
    return Parsed(deployments=[record], subject=f"deployment:{external_id}", occurred_at=status_at)


def _github_workflow_job(payload: dict, integration) -> Parsed:
    if not integration.deploy_job:
        why = "whole workflow runs count here" if integration.deploy_workflow else "no deployment pattern is set"
        return Parsed(ignored=f"Workflow jobs count as deployments once a job pattern is set ({why}).")
    job = _dict(payload.get("workflow_job"))
    job_id = _required(job, "id", "The workflow job")
    name = _text(job.get("name"))
    miss = _pattern_miss(
        integration, workflow=_text(job.get("workflow_name")), job=name, branch=_text(job.get("head_branch"))
    )
    environment, not_production = _actions_environment(integration, job)
    status, why = _actions_status(f"Job {name or job_id}", job.get("status"), job.get("conclusion"))
    if miss or not_production:
        return Parsed(ignored=f"Job {name or job_id}: {miss or not_production}.")
    if status is None:
        return Parsed(ignored=why)
    started = parse_time(job.get("started_at")) or parse_time(job.get("created_at"))
    finished = parse_time(job.get("completed_at"))
    status_at = (finished if status in ("success", "failure", "canceled") else None) or started
    if status_at is None:
        raise PayloadError(f"Job {name or job_id} has no started_at or completed_at.")
    return _actions_deployment(
        payload, job, f"actions-job:{job_id}", environment, status, status_at=status_at, started=started
    )


# --- GitLab -------------------------------------------------------------------


def gitlab(event_type: str, payload: dict, integration) -> Parsed:
    kind = str(payload.get("object_kind") or "").lower()
    if kind == "push":
        return _gitlab_push(payload)
    if kind == "deployment":
        return _gitlab_deployment(payload, integration)
    if kind == "pipeline":
        return _gitlab_pipeline(payload, integration)
    if kind == "build":
        return _gitlab_build(payload, integration)
    return Parsed(ignored=f"GitLab {event_type or kind or 'unknown'} events are not used.")


def _gitlab_project(payload: dict) -> str:
    project = _dict(payload.get("project"))
    return _text(project.get("path_with_namespace") or payload.get("project_path") or project.get("name"))


def _gitlab_push(payload: dict) -> Parsed:
    project = _dict(payload.get("project"))
    path = _gitlab_project(payload)
    if not path:
        raise PayloadError("The push names no project.")
    ref = _text(payload.get("ref"))
    default_branch = project.get("default_branch")
    if default_branch and ref != f"refs/heads/{default_branch}":
        return Parsed(ignored=f"Push to {ref or 'an unknown ref'}, not the default branch {default_branch}.")
    changes = _pushed_commits(payload, path, author_fields=("name", "email"))
    if not changes:
        return Parsed(ignored="Push without commits.")
    _chain_parents(changes, payload, payload.get("total_commits_count") or len(changes))
    return Parsed(changes=changes, occurred_at=max(c["committed_at"] for c in changes))


def _gitlab_deployment(payload: dict, integration) -> Parsed:
    mapped = deploy_status(payload.get("status"))
    if mapped is None:
        return Parsed(ignored=f"Deployment status {payload.get('status')!r} is not used.")
    # The job that deployed: the same key a pipeline event gives that job, so both count once.
    job_id = payload.get("deployable_id") or payload.get("deployment_id")
    if not job_id:
        raise PayloadError("The deployment event has no deployable_id.")
    environment = _text(payload.get("environment"), 100)
    status_at = parse_time(payload.get("status_changed_at"))
    commit_url = _text(payload.get("commit_url"), 500)
    sha = commit_url.rstrip("/").rsplit("/", 1)[-1] if "/commit/" in commit_url else _text(payload.get("short_sha"))
    tier = str(payload.get("environment_tier") or "").lower()
    record = {
        "external_id": f"job:{job_id}",
        "repository": _gitlab_project(payload),
        "environment": environment,
        "is_production": tier == "production" or integration.is_production(environment),
        "status": mapped,
        "status_at": status_at,
        "started_at": status_at,
        "sha": sha[:64],
        "ref": _text(payload.get("ref"), 200),
        "url": _text(payload.get("deployable_url"), 500),
    }
    return Parsed(deployments=[record], subject=f"deployment:job:{job_id}", occurred_at=status_at)


def _gitlab_job(integration, job: dict, *, pipeline_name=None, repository: str, sha: str, ref: str, url: str):
    """(deployment record, "") or (None, why this job is not a production deployment).

    With a job pattern, jobs whose name matches (on a matching branch, in a pipeline whose name
    matches the workflow pattern when one is set) count; without patterns, jobs whose environment
    is production do. `pipeline_name` is None when the event does not say (the Job Hook)."""
    env = _dict(job.get("environment"))
    env_name = _text(env.get("name"), 100)
    name = _text(job.get("name"))
    if env_name and env.get("action") not in ("start", None, ""):
        return None, f"job {name} {env.get('action')}s environment {env_name}, it does not deploy"
    production_env = bool(env_name) and (
        str(env.get("deployment_tier") or "").lower() == "production" or integration.is_production(env_name)
    )
    if integration.deploy_job:
        if integration.deploy_workflow and pipeline_name is None:
            return (
                None,
                f"job {name}: the Job Hook does not name its pipeline, so the workflow pattern cannot be checked",
            )
        miss = _pattern_miss(integration, workflow=pipeline_name or "", job=name, branch=ref)
        if miss:
            return None, f"job {name}: {miss}"
        if env_name and not production_env:
            return None, f"job {name}: environment {env_name} is not a production environment"
    elif integration.deploy_workflow:
        return None, f"job {name}: whole pipelines count here (no job pattern)"
    elif not production_env:
        return None, f"job {name} has no production environment"
    mapped = deploy_status(job.get("status"))
    if mapped is None:
        return None, f"job {name} status {job.get('status')!r} is not a deployment state"
    started = parse_time(job.get("started_at")) or parse_time(job.get("created_at"))
    finished = parse_time(job.get("finished_at"))
    status_at = (finished if mapped in ("success", "failure", "canceled") else None) or started
    if status_at is None:
        raise PayloadError(f"GitLab job {name} has no started_at, created_at or finished_at.")
    record = {
        "external_id": f"job:{_required(job, 'id', 'A GitLab job')}",
        "repository": repository,
        "environment": env_name or _default_environment(integration),
        "is_production": True,
        "status": mapped,
        "status_at": status_at,
        "started_at": started,
        "sha": sha[:64],
        "ref": ref[:200],
        "url": url[:500],
    }
    return record, ""


def _gitlab_pipeline(payload: dict, integration) -> Parsed:
    attrs = _dict(payload.get("object_attributes"))
    repository = _gitlab_project(payload)
    pipeline_id = _required(attrs, "id", "The pipeline")
    sha, ref = _text(attrs.get("sha"), 64), _text(attrs.get("ref"), 200)
    pipeline_name = _text(attrs.get("name"))
    if integration.deploy_workflow and not integration.deploy_job:
        return _gitlab_whole_pipeline(payload, integration, attrs, repository)
    records, reasons = [], []
    for build in _list(payload.get("builds")):
        build = _dict(build)
        record, why = _gitlab_job(
            integration,
            build,
            pipeline_name=pipeline_name,
            repository=repository,
            sha=sha,
            ref=ref,
            url=_text(attrs.get("url"), 500),
        )
        if record:
            records.append(record)
        else:
            reasons.append(why)
    if not records:
        detail = "; ".join(reasons) if reasons else "it lists no jobs"
        return Parsed(ignored=f"Pipeline {pipeline_id} has no production deployment job: {detail}.")
    return Parsed(
        deployments=records, subject=f"pipeline:{pipeline_id}", occurred_at=max(r["status_at"] for r in records)
    )


def _gitlab_whole_pipeline(payload: dict, integration, attrs: dict, repository: str) -> Parsed:
    pipeline_id = attrs["id"]
    name = _text(attrs.get("name"))
    miss = _pattern_miss(integration, workflow=name, branch=_text(attrs.get("ref")))
    if miss:
        return Parsed(ignored=f"Pipeline {pipeline_id}: {miss}.")
    mapped = deploy_status(attrs.get("status"))
    if mapped is None:
        return Parsed(ignored=f"Pipeline {pipeline_id} status {attrs.get('status')!r} is not a deployment state.")
    started = parse_time(attrs.get("created_at"))
    finished = parse_time(attrs.get("finished_at"))
    status_at = (finished if mapped in ("success", "failure", "canceled") else None) or started
    if status_at is None:
        raise PayloadError(f"Pipeline {pipeline_id} has no created_at or finished_at.")
    record = {
        "external_id": f"pipeline:{pipeline_id}",
        "repository": repository,
        "environment": _default_environment(integration),
        "is_production": True,
        "status": mapped,
        "status_at": status_at,
        "started_at": started,
        "sha": _text(attrs.get("sha"), 64),
        "ref": _text(attrs.get("ref"), 200),
        "url": _text(attrs.get("url"), 500),
    }
    return Parsed(deployments=[record], subject=f"deployment:pipeline:{pipeline_id}", occurred_at=status_at)


def _gitlab_build(payload: dict, integration) -> Parsed:
    """A Job Hook (object_kind "build"): its fields are flat, `build_*`."""
    build_id = _required(payload, "build_id", "The job event")
    job = {
        "id": build_id,
        "name": payload.get("build_name"),
        "status": payload.get("build_status"),
        "created_at": payload.get("build_created_at"),
        "started_at": payload.get("build_started_at"),
        "finished_at": payload.get("build_finished_at"),
        "environment": payload.get("environment"),
    }
    project = _gitlab_project(payload)
    web_url = _text(_dict(payload.get("project")).get("web_url") or _dict(payload.get("repository")).get("homepage"))
    record, why = _gitlab_job(
        integration,
        job,
        pipeline_name=None,
        repository=project,
        sha=_text(payload.get("sha") or _dict(payload.get("commit")).get("sha"), 64),
        ref=_text(payload.get("ref"), 200),
        url=f"{web_url}/-/jobs/{build_id}" if web_url else "",
    )
    if record is None:
        return Parsed(ignored=f"Job {build_id} is not a production deployment: {why}.")
    return Parsed(deployments=[record], subject=f"deployment:job:{build_id}", occurred_at=record["status_at"])


# --- incident sources -----------------------------------------------------------


def pagerduty(event_type: str, payload: dict, integration) -> Parsed:
    event = _dict(payload.get("event"))
    event_type = _text(event.get("event_type") or event_type)
    data = _dict(event.get("data"))
    if event.get("resource_type", "incident") != "incident" or not event_type.startswith("incident."):
        return Parsed(ignored=f"PagerDuty {event_type or 'unknown'} events are not used.")
    occurred = parse_time(event.get("occurred_at"))
    incident_id = _text(_required(data, "id", "The PagerDuty incident"), 200)
    service = _dict(data.get("service"))
    record = {
        "external_id": incident_id,
        "title": _text(data.get("title") or data.get("summary")),
        "severity": _severity_from_priority(_dict(data.get("priority")).get("summary"))
        or (2 if data.get("urgency") == "high" else 4 if data.get("urgency") == "low" else None),
        # The incident's own created_at; a trigger without it started when it occurred. Any other
        # event without it (a resolve before its trigger) leaves the start unknown: its occurred_at
        # is not the start, and taking it would make a zero-length incident.
        "started_at": parse_time(data.get("created_at")) or (occurred if event_type == "incident.triggered" else None),
        "service_keys": [k for k in (service.get("summary"), service.get("id")) if k],
    }
    if record["started_at"] is None:
        record["start_unknown"] = True
    if event_type == "incident.triggered":
        record["detected_at"] = record["started_at"]
    elif event_type == "incident.resolved":
        record["status"] = "resolved"
        record["resolved_at"] = occurred
    elif event_type not in (
        "incident.acknowledged",
        "incident.priority_updated",
        "incident.annotated",
        "incident.reassigned",
        "incident.escalated",
        "incident.unacknowledged",
        "incident.delegated",
        "incident.reopened",
        "incident.responder.added",
        "incident.responder.replied",
        "incident.status_update_published",
        "incident.workflow.started",
        "incident.workflow.completed",
        "incident.conference_bridge.updated",
        "incident.custom_field_values.updated",
        "incident.incident_type.changed",
        "incident.service_updated",
    ):
        return Parsed(ignored=f"PagerDuty {event_type} events are not used.")
    return Parsed(incidents=[record], subject=f"incident:{incident_id}", occurred_at=occurred)


# Opsgenie actions that change nothing an incident records (they may carry only the alert id).
OPSGENIE_NOTE_ACTIONS = (
    "Acknowledge",
    "UnAcknowledge",
    "AddNote",
    "Escalate",
    "AssignOwnership",
    "TakeOwnership",
    "AddTags",
    "RemoveTags",
    "AddRecipient",
    "AddTeam",
    "AddResponder",
    "AddDetails",
    "RemoveDetails",
    "UpdatePriority",
    "UpdateMessage",
    "UpdateDescription",
    "Snooze",
    "SnoozeEnded",
    "CustomAction",
)


def opsgenie(event_type: str, payload: dict, integration) -> Parsed:
    action = _text(payload.get("action") or event_type)
    alert = _dict(payload.get("alert"))
    alert_id = _text(_required(alert, "alertId", "The Opsgenie alert"), 200)
    if action not in ("Create", "Close") and action not in OPSGENIE_NOTE_ACTIONS:
        return Parsed(ignored=f"Opsgenie {action or 'unknown'} actions are not used.")
    created = parse_time(alert.get("createdAt"))
    updated = parse_time(alert.get("updatedAt")) or created
    details = _dict(alert.get("details"))
    tags = [str(t) for t in _list(alert.get("tags"))]
    keys = [details.get("service"), alert.get("entity")] + [
        t.split(":", 1)[1] for t in tags if t.startswith("service:")
    ]
    record = {
        "external_id": alert_id,
        "title": _text(alert.get("message")),
        "severity": _severity_from_priority(alert.get("priority")),
        "started_at": created,
        "service_keys": [k for k in keys if k],
    }
    if action in OPSGENIE_NOTE_ACTIONS:
        # Only an update of a known incident: the services layer applies it when the alert
        # is known and ignores it (with this reason) otherwise.
        record["update_only"] = f"Opsgenie {action} for alert {alert_id}, which is not known (yet): nothing to update."
    elif created is None:
        raise PayloadError(f"The Opsgenie {action} of alert {alert_id} has no createdAt.")
    elif action == "Create":
        record["detected_at"] = created
    else:
        record["status"] = "resolved"
        record["resolved_at"] = updated
    return Parsed(incidents=[record], subject=f"incident:{alert_id}", occurred_at=updated)


def alertmanager(event_type: str, payload: dict, integration) -> Parsed:
    group_key = _text(_required(payload, "groupKey", "The Alertmanager notification"), 2000)
    alerts = [_dict(a) for a in _list(payload.get("alerts"))]
    if not alerts:
        return Parsed(ignored="Alertmanager notification without alerts.")
    starts = [parse_time(a.get("startsAt")) for a in alerts if a.get("startsAt")]
    if not starts:
        raise PayloadError("No alert has a startsAt.")
    started = min(starts)
    labels = _dict(payload.get("commonLabels"))
    annotations = _dict(payload.get("commonAnnotations"))
    # One incident per firing of a group: the group key plus when it started.
    external_id = f"{hashlib.sha256(group_key.encode()).hexdigest()[:24]}:{started:%Y%m%dT%H%M%SZ}"
    record = {
        "external_id": external_id,
        "title": _text(annotations.get("summary") or labels.get("alertname") or "Alertmanager alert"),
        "severity": ALERT_SEVERITY.get(str(labels.get("severity", "")).lower()),
        "started_at": started,
        "detected_at": started,
        "service_keys": [k for k in (labels.get("service"), labels.get("app"), labels.get("job")) if k],
    }
    if payload.get("status") == "resolved":
        ends = [
            parse_time(a.get("endsAt")) for a in alerts if a.get("endsAt") and not str(a["endsAt"]).startswith("0001")
        ]
        record["status"] = "resolved"
        record["resolved_at"] = max(ends) if ends else None
        if record["resolved_at"] is None:
            raise PayloadError("A resolved notification without endsAt.")
    return Parsed(
        incidents=[record], subject=f"incident:{external_id}", occurred_at=record.get("resolved_at") or started
    )


# --- generic (and the backfill file format) ---------------------------------------


def generic(event_type: str, payload, integration) -> Parsed:
    """`{"records": [...]}`, a list of records, or one record (see docs/delivery.md)."""
    if isinstance(payload, dict) and "records" in payload:
        records = payload["records"]
    elif isinstance(payload, list):
        records = payload
    else:
        records = [payload]
    if not isinstance(records, list) or not records:
        raise PayloadError("No records.")
    parsed = Parsed()
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise PayloadError(f"Record {index} is not an object.")
        kind, values = record_from_row(record, integration=integration, where=f"Record {index}")
        getattr(parsed, kind).append(values)
    return parsed


RECORD_KINDS = {"change": "changes", "deployment": "deployments", "incident": "incidents"}


def record_from_row(row: dict, *, integration=None, where: str = "Row") -> tuple[str, dict]:
    """One record of the generic/backfill format -> ("changes"|"deployments"|"incidents", values)."""
    row = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k}
    kind = str(row.get("kind") or "").lower()
    if kind not in RECORD_KINDS:
        raise PayloadError(f"{where}: kind must be change, deployment or incident (got {row.get('kind')!r}).")
    try:
        if kind == "change":
            values = {
                "repository": _text(row.get("repository") or row.get("service")),
                "sha": _text(_required(row, "sha", where), 64),
                "message": _text(row.get("title") or row.get("message"), 2000),
                "author": _text(row.get("author"), 200),
                "url": _text(row.get("url"), 500),
                "committed_at": parse_time(_required(row, "committed_at", where)),
            }
            if not values["repository"]:
                raise PayloadError(f"{where}: a change needs its repository or service.")
        elif kind == "deployment":
            status = deploy_status(row.get("status") or "success")
            if status is None:
                raise PayloadError(f"{where}: unknown deployment status {row.get('status')!r}.")
            environment = _text(row.get("environment") or "production", 100)
            finished = parse_time(row.get("finished_at"))
            started = parse_time(row.get("started_at"))
            if finished is None and status in ("success", "failure", "canceled"):
                raise PayloadError(f"{where}: a finished deployment needs finished_at.")
            production = row.get("is_production")
            if isinstance(production, str):
                production = production.lower() in ("1", "true", "yes")
            values = {
                "external_id": _text(_required(row, "id", where), 200),
                "repository": _text(row.get("repository")),
                "service_key": _text(row.get("service")),
                "team_slug": _text(row.get("team")),
                "environment": environment,
                "is_production": production
                if production is not None
                else (
                    integration.is_production(environment)
                    if integration
                    else environment.lower() in ("production", "prod")
                ),
                "status": status,
                "status_at": finished or started,
                "started_at": started or finished,
                "sha": _text(row.get("sha"), 64),
                "ref": _text(row.get("ref"), 200),
                "url": _text(row.get("url"), 500),
            }
        else:
            severity = row.get("severity")
            if severity not in (None, ""):
                try:
                    severity = int(severity)
                except (TypeError, ValueError):
                    severity = _severity_from_priority(severity)
                if severity not in (1, 2, 3, 4, 5):
                    raise PayloadError(f"{where}: severity must be 1-5.")
            resolved = parse_time(row.get("resolved_at"))
            values = {
                "external_id": _text(_required(row, "id", where), 200),
                "title": _text(row.get("title")),
                "severity": severity or None,
                "started_at": parse_time(_required(row, "started_at", where)),
                "detected_at": parse_time(row.get("detected_at")),
                "mitigated_at": parse_time(row.get("mitigated_at")),
                "resolved_at": resolved,
                "status": "resolved" if resolved else None,
                "service_keys": [k for k in str(row.get("service") or "").split("|") if k],
                "team_slug": _text(row.get("team")),
                "deployment_id": _text(row.get("deployment_id"), 200),
            }
    except PayloadError as exc:
        if str(exc).startswith(where):
            raise
        raise PayloadError(f"{where}: {exc}") from exc
    return RECORD_KINDS[kind], values


PARSERS = {
    "github": github,
    "gitlab": gitlab,
    "pagerduty": pagerduty,
    "opsgenie": opsgenie,
    "alertmanager": alertmanager,
    "generic": generic,
}


def parse(kind: str, event_type: str, payload, integration) -> Parsed:
    """Parse one payload; anything unexpected in it is a PayloadError (a recorded, explained failure)."""
    if kind != "generic" and not isinstance(payload, dict):
        raise PayloadError("The payload is not a JSON object.")
    try:
        return PARSERS[kind](event_type, payload, integration)
    except PayloadError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        # A field of an unexpected type or range: say which event it was, without a traceback.
        raise PayloadError(f"Unexpected {kind} {event_type or 'event'} payload: {type(exc).__name__}: {exc}") from exc
