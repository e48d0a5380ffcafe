"""What each kind of source sends and what we make of it: the event types an integration
uses, those it ignores and why, and what to subscribe to (the integration page's set-up help).

Kept beside the normalizers (which decide the same things per event) and read by the page;
no database access here."""

from __future__ import annotations

from dataclasses import dataclass

from .normalizers import OPSGENIE_NOTE_ACTIONS


@dataclass(frozen=True)
class EventType:
    name: str  # as the source names it (the raw event's event_type)
    used: bool
    detail: str  # what it becomes, or why it is ignored
    subscribe: bool = False  # ask the source to send it
    also: tuple[str, ...] = ()  # other event types this row stands for
    prefix: str = ""  # ... or every event type starting with this

    def covers(self, event_type: str) -> bool:
        return (
            event_type == self.name
            or event_type in self.also
            or bool(self.prefix and event_type.startswith(self.prefix))
        )


@dataclass(frozen=True)
class SourceGuide:
    content_type: str
    events: tuple[EventType, ...]

    @property
    def subscribe(self) -> list[str]:
        return [e.name for e in self.events if e.subscribe]

    def row_for(self, event_type: str) -> EventType | None:
        return next((e for e in self.events if e.covers(event_type)), None)


def _github(integration) -> SourceGuide:
    workflow, job, branch = integration.deploy_workflow, integration.deploy_job, integration.deploy_branch
    on_branch = f" on branch {branch}" if branch else ""
    if job:
        runs = EventType("workflow_run", False, f"jobs matching {job} count as deployments here, not whole runs")
        jobs = EventType(
            "workflow_job",
            True,
            f"a deployment per job matching {job}"
            + (f" in workflow {workflow}" if workflow else "")
            + f"{on_branch} (key actions-job:<job id>)",
            subscribe=True,
        )
    elif workflow:
        runs = EventType(
            "workflow_run",
            True,
            f"a deployment per run of workflow {workflow}{on_branch} (key actions:<run id>:<attempt>)",
            subscribe=True,
        )
        jobs = EventType("workflow_job", False, "whole runs count here (set a job pattern to count jobs)")
    else:
        why = "no deployment pattern is set (edit the integration to count GitHub Actions as deployments)"
        runs, jobs = EventType("workflow_run", False, why), EventType("workflow_job", False, why)
    return SourceGuide(
        content_type="application/json (application/x-www-form-urlencoded is read too)",
        events=(
            EventType("push", True, "commits pushed to the default branch (other branches: ignored)", True),
            EventType(
                "deployment_status",
                True,
                "deployments by the Deployments API; inactive states ignored"
                + (
                    ". A job with an environment: sends these too: with runs or jobs counted here, leave them "
                    "unsubscribed or the same release counts twice"
                    if integration.has_deploy_patterns
                    else ""
                ),
                subscribe=not integration.has_deploy_patterns,
            ),
            runs,
            jobs,
            EventType("ping", False, "sent once when the webhook is set up"),
        ),
    )


def _gitlab(integration) -> SourceGuide:
    workflow, job = integration.deploy_workflow, integration.deploy_job
    if job:
        pipeline = f"each job matching {job} (key job:<job id>)"
        job_hook = EventType("Job Hook", True, f"a deployment per job matching {job} (key job:<job id>)", True)
    elif workflow:
        pipeline = f"the whole pipeline when its name matches {workflow} (key pipeline:<id>)"
        job_hook = EventType("Job Hook", False, "whole pipelines count here (set a job pattern to count jobs)")
    else:
        pipeline = "each job whose environment is production (key job:<job id>)"
        job_hook = EventType("Job Hook", True, "a job whose environment is production (key job:<job id>)")
    return SourceGuide(
        content_type="application/json (GitLab's only format)",
        events=(
            EventType("Push Hook", True, "commits pushed to the default branch", True),
            EventType("Deployment Hook", True, "deployments to a production environment (key job:<job id>)", True),
            EventType("Pipeline Hook", True, f"deployments: {pipeline}", True),
            job_hook,
            EventType("Merge Request Hook", False, "merge requests are not used (commits come from pushes)"),
        ),
    )


def _pagerduty(integration) -> SourceGuide:
    return SourceGuide(
        content_type="application/json (Generic Webhooks v3)",
        events=(
            EventType("incident.triggered", True, "incident start and detection (its created_at)", True),
            EventType(
                "incident.resolved",
                True,
                "resolution; before its trigger, the start is the incident's created_at, else unknown until "
                "the trigger arrives",
                True,
            ),
            EventType(
                "incident.acknowledged",
                True,
                "title, severity and services (other incident.* updates the same)",
                True,
                prefix="incident.",
            ),
        ),
    )


def _opsgenie(integration) -> SourceGuide:
    return SourceGuide(
        content_type="application/json",
        events=(
            EventType("Create", True, "incident start and detection (createdAt, milliseconds)", True),
            EventType("Close", True, "resolution (updatedAt, nanoseconds)", True),
            EventType(
                "Acknowledge, AddNote, Escalate, …",
                True,
                "update the known incident (never its times); an alert not known yet is ignored with that reason",
                also=OPSGENIE_NOTE_ACTIONS,
            ),
        ),
    )


def _alertmanager(integration) -> SourceGuide:
    return SourceGuide(
        content_type="application/json (set send_resolved: true)",
        events=(
            EventType("firing", True, "an incident per firing of an alert group", True),
            EventType("resolved", True, "its resolution (the alerts' endsAt)", True),
        ),
    )


def _generic(integration) -> SourceGuide:
    return SourceGuide(
        content_type="application/json",
        events=(EventType("records", True, "changes, deployments and incidents in the backfill format", True),),
    )


GUIDES = {
    "github": _github,
    "gitlab": _gitlab,
    "pagerduty": _pagerduty,
    "opsgenie": _opsgenie,
    "alertmanager": _alertmanager,
    "generic": _generic,
}


def guide(integration) -> SourceGuide:
    return GUIDES[integration.kind](integration)
