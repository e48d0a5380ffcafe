"""Delivery evidence: integrations and their raw webhook events, the changes
(commits) and deployments normalized from them, the incident-to-deployment
link, and the daily DORA rollups the pages read."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from apps.core.models import TimeStampedModel


def default_production_environments() -> list[str]:
    return ["production", "prod"]


class Integration(TimeStampedModel):
    """One source (a GitHub org webhook, a PagerDuty subscription...) feeding a team or the whole org."""

    class Kind(models.TextChoices):
        GITHUB = "github", "GitHub"
        GITLAB = "gitlab", "GitLab"
        PAGERDUTY = "pagerduty", "PagerDuty"
        OPSGENIE = "opsgenie", "Opsgenie"
        ALERTMANAGER = "alertmanager", "Alertmanager"
        GENERIC = "generic", "Generic (JSON)"

    organization = models.ForeignKey("teams.Organization", on_delete=models.CASCADE, related_name="integrations")
    # None: the integration feeds the whole organization (services are found through the mappings).
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="integrations")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The secret part of the intake URL: /delivery/hooks/<token>/.
    token = models.CharField(max_length=64, unique=True, editable=False)
    # Fernet-encrypted with a key derived from SECRET_KEY (HMAC checks need the secret itself).
    secret_encrypted = models.TextField(editable=False)
    secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    production_environments = models.JSONField(default=default_production_environments, blank=True)
    # Deployment patterns (GitHub Actions, GitLab pipelines and jobs): regular expressions that
    # must match the whole name, case-insensitively; empty matches anything (see docs/delivery.md).
    deploy_workflow = models.CharField(
        max_length=300,
        blank=True,
        help_text="GitHub workflow name or file (deploy.yml), or GitLab pipeline name, of production deployments.",
    )
    deploy_job = models.CharField(
        max_length=300, blank=True, help_text="Job name of production deployments (then jobs count, not whole runs)."
    )
    deploy_branch = models.CharField(max_length=300, blank=True, help_text="Branch deployments run from.")
    is_active = models.BooleanField(default=True)
    last_delivery_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        ordering = ["organization", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="uniq_integration_name")]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"

    def get_absolute_url(self):
        return reverse("delivery:integration", args=[self.pk])

    @property
    def has_deploy_patterns(self) -> bool:
        """Workflow runs or jobs count as deployments only once a workflow or job pattern is set."""
        return bool(self.deploy_workflow or self.deploy_job)

    def is_production(self, environment: str | None) -> bool:
        envs = {e.strip().lower() for e in (self.production_environments or []) if e and e.strip()}
        return bool(environment) and environment.strip().lower() in envs


class ServiceMapping(TimeStampedModel):
    """How a source names a service: a repository ("acme/checkout-api") for Git
    sources, the service name or id an alerting tool reports for the others."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="mappings")
    key = models.CharField(max_length=300, help_text="Repository path (owner/name) or the source's service name/id.")
    service = models.ForeignKey("teams.Service", on_delete=models.CASCADE, related_name="delivery_mappings")

    class Meta:
        ordering = ["integration", "key"]
        constraints = [models.UniqueConstraint(fields=["integration", "key"], name="uniq_mapping_key")]

    def __str__(self):
        return f"{self.key} → {self.service}"


class UnattributedKey(TimeStampedModel):
    """A repository or provider service an integration sent that names no service of the
    organization. Its records are kept (commits and deployments without a service, incident
    events held as unattributed) and counted here; mapping the key re-attributes them."""

    organization = models.ForeignKey("teams.Organization", on_delete=models.CASCADE, related_name="+")
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="unattributed")
    key = models.CharField(max_length=300)
    reason = models.CharField(max_length=300, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    # Records still without a service under this key (recounted on every change).
    commits = models.PositiveIntegerField(default=0)
    deployments = models.PositiveIntegerField(default=0)
    incidents = models.PositiveIntegerField(default=0)
    mapped_service = models.ForeignKey(
        "teams.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    mapped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    mapped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "key"]
        constraints = [models.UniqueConstraint(fields=["integration", "key"], name="uniq_unattributed_key")]

    def __str__(self):
        return f"{self.key} ({self.integration_id})"

    @property
    def total(self) -> int:
        return self.commits + self.deployments + self.incidents


class RawEvent(models.Model):
    """A verified delivery exactly as received, stored before anything else happens."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"
        # Its records name no service and no team can be told: kept until the key is mapped.
        UNATTRIBUTED = "unattributed", "Kept unattributed"

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="events")
    organization = models.ForeignKey("teams.Organization", on_delete=models.CASCADE, related_name="+")
    delivery_id = models.CharField(max_length=200)
    # SHA-256 of the exact body received: a captured delivery re-sent under a new (unsigned)
    # delivery id is the same event. Empty on rows stored before it was recorded.
    body_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    event_type = models.CharField(max_length=100, blank=True)
    payload = models.JSONField()
    headers = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    # The normalized thing this event is about ("incident:PXXXX"), so later events refold it.
    subject = models.CharField(max_length=250, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    note = models.CharField(max_length=300, blank=True)
    # The first key of this event that matched no service (see UnattributedKey); mapping it
    # processes the event again.
    unattributed_key = models.CharField(max_length=300, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "delivery_id"], name="uniq_raw_event_delivery"),
            models.UniqueConstraint(
                fields=["integration", "body_sha256"], condition=~models.Q(body_sha256=""), name="uniq_raw_event_body"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="raw_event_status_idx"),
            models.Index(fields=["integration", "subject"], name="raw_event_subject_idx"),
            models.Index(
                fields=["integration", "unattributed_key"],
                condition=~models.Q(unattributed_key=""),
                name="raw_event_unattributed_idx",
            ),
        ]

    def __str__(self):
        return f"{self.integration.kind}:{self.event_type} {self.delivery_id}"


class Change(TimeStampedModel):
    """A commit that reached a deployable branch."""

    organization = models.ForeignKey("teams.Organization", on_delete=models.CASCADE, related_name="changes")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="changes")
    service = models.ForeignKey(
        "teams.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="changes"
    )
    integration = models.ForeignKey(Integration, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    repository = models.CharField(max_length=300, blank=True)
    sha = models.CharField(max_length=64)
    message = models.TextField(blank=True)
    author = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=500, blank=True)
    committed_at = models.DateTimeField()
    source = models.CharField(max_length=20)
    # The commit before it on the pushed branch (from the push's before/after and commits list).
    parent_sha = models.CharField(max_length=64, blank=True)
    # The files the commit added, modified or removed (push payloads list them): a monorepo's
    # path-prefix mappings ("acme/shop:services/cart/") attribute the commit by them.
    paths = models.JSONField(default=list, blank=True)
    # Written by the rollup job: the successful production deployment that shipped it, its
    # lead time (deploy finish - commit time) and whether that came from the time rule.
    shipped_by = models.ForeignKey(
        "Deployment", on_delete=models.SET_NULL, null=True, blank=True, related_name="shipped_changes", editable=False
    )
    # The shipping deployment's finish (None: not shipped yet); the rollup job reads from it.
    shipped_at = models.DateTimeField(null=True, blank=True, editable=False)
    lead_time_seconds = models.BigIntegerField(null=True, blank=True, editable=False)
    shipped_estimated = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["-committed_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "repository", "sha"], name="uniq_change_commit"),
        ]
        indexes = [
            models.Index(fields=["service", "committed_at"], name="change_service_time_idx"),
            models.Index(fields=["team", "committed_at"], name="change_team_time_idx"),
            # Unattributed commits, counted per key on every delivery that brings more.
            models.Index(
                fields=["integration", "repository"],
                condition=models.Q(service__isnull=True),
                name="change_unattributed_idx",
            ),
            models.Index(fields=["service", "shipped_at"], name="change_service_shipped_idx"),
        ]

    def __str__(self):
        return f"{self.repository}@{self.sha[:10]}"


class Deployment(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        SUCCESS = "success", "Succeeded"
        FAILURE = "failure", "Failed"
        CANCELED = "canceled", "Canceled"

    TERMINAL = (Status.SUCCESS, Status.FAILURE, Status.CANCELED)

    organization = models.ForeignKey("teams.Organization", on_delete=models.CASCADE, related_name="deployments")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="deployments")
    service = models.ForeignKey(
        "teams.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="deployments"
    )
    integration = models.ForeignKey(Integration, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    source = models.CharField(max_length=20)
    external_id = models.CharField(max_length=200)
    repository = models.CharField(max_length=300, blank=True)
    environment = models.CharField(max_length=100)
    is_production = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    # When the source said so: the latest (terminal first) status wins, whatever the arrival order.
    status_at = models.DateTimeField(null=True, blank=True)
    sha = models.CharField(max_length=64, blank=True)
    ref = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=500, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # When the deployment reached its final state (success or failure); the DORA clock.
    finished_at = models.DateTimeField(null=True, blank=True)
    # A person said this deployment was (True) or was not (False) an unplanned fix; None: not said.
    rework_marked = models.BooleanField(null=True, blank=True, editable=False)
    rework_marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    rework_marked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-finished_at", "-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "source", "external_id"], name="uniq_deployment_source"),
        ]
        indexes = [
            models.Index(fields=["service", "is_production", "finished_at"], name="deploy_service_time_idx"),
            models.Index(fields=["team", "is_production", "finished_at"], name="deploy_team_time_idx"),
            models.Index(
                fields=["integration", "repository"],
                condition=models.Q(service__isnull=True),
                name="deploy_unattributed_idx",
            ),
        ]

    def __str__(self):
        return f"{self.service or self.repository or 'deployment'} → {self.environment} ({self.status})"

    @property
    def at(self):
        return self.finished_at or self.started_at


class IncidentDeploymentLink(TimeStampedModel):
    """Which deployment (if any) caused an incident: said by a person or the
    source (explicit), or found by the default rule (auto)."""

    class Method(models.TextChoices):
        EXPLICIT = "explicit", "Set explicitly"
        AUTO = "auto", "Automatic (latest production deployment before the incident)"
        NONE = "none", "No deployment found"

    incident = models.OneToOneField("postmortems.Incident", on_delete=models.CASCADE, related_name="deployment_link")
    deployment = models.ForeignKey(
        Deployment, on_delete=models.SET_NULL, null=True, blank=True, related_name="incident_links"
    )
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.NONE)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.incident_id} → {self.deployment_id or '—'} ({self.method})"


class IncidentLinkChange(models.Model):
    """One change of an incident's deployment link: who (None: the default rule or the
    source), when, from which deployment to which. Never edited."""

    incident = models.ForeignKey("postmortems.Incident", on_delete=models.CASCADE, related_name="link_changes")
    from_deployment = models.ForeignKey(Deployment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    to_deployment = models.ForeignKey(Deployment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    from_method = models.CharField(max_length=10, blank=True)
    to_method = models.CharField(max_length=10)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-changed_at", "-pk"]

    def __str__(self):
        return f"{self.incident_id}: {self.from_deployment_id or '—'} → {self.to_deployment_id or '—'}"


class DailyRollup(models.Model):
    """One team's (service is None) or one service's delivery facts on one UTC day."""

    organization = models.ForeignKey("teams.Organization", on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="delivery_rollups")
    service = models.ForeignKey(
        "teams.Service", on_delete=models.CASCADE, null=True, blank=True, related_name="delivery_rollups"
    )
    day = models.DateField()
    deployments = models.PositiveIntegerField(default=0)  # production deployments that finished (any outcome)
    successful = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)  # failed, or linked to an incident
    lead_times = models.JSONField(default=list, blank=True)  # seconds, one per shipped commit
    restore_times = models.JSONField(default=list, blank=True)  # seconds, one per resolved incident started that day
    incidents = models.PositiveIntegerField(default=0)
    # Of lead_times, how many came from the time rule (the deployed sha was unknown).
    lead_times_estimated = models.PositiveIntegerField(default=0)
    # Seconds, one per recovered change failure among that day's deployments.
    recovery_times = models.JSONField(default=list, blank=True)
    rework = models.PositiveIntegerField(default=0)  # successful production deployments that were unplanned fixes
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team", "service", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "day"], condition=models.Q(service__isnull=True), name="uniq_rollup_team_day"
            ),
            models.UniqueConstraint(
                fields=["service", "day"], condition=models.Q(service__isnull=False), name="uniq_rollup_service_day"
            ),
        ]
        indexes = [models.Index(fields=["team", "day"], name="rollup_team_day_idx")]

    def __str__(self):
        return f"{self.team_id}/{self.service_id or '*'} {self.day}"


class DirtyDay(models.Model):
    """A team whose rollups from `day` on must be recomputed (written by the normalizers)."""

    team = models.OneToOneField("teams.Team", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    # Bumped on every mark, so a recompute only clears the marks it has seen.
    marked_at = models.DateTimeField()

    def __str__(self):
        return f"{self.team_id} from {self.day}"
