"""Incidents, blameless postmortems, their timeline, contributing factors and action items."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse

from apps.core.models import TimeStampedModel

# The times of an incident, in the order they must hold.
TIME_ORDER = ("started_at", "detected_at", "mitigated_at", "resolved_at")


class Incident(TimeStampedModel):
    """Something went wrong for users. Written by people (UI, API) and by alert
    sources (PagerDuty, Opsgenie, Alertmanager) through `services.incident_upsert_from_source`."""

    class Severity(models.IntegerChoices):
        SEV1 = 1, "SEV1"
        SEV2 = 2, "SEV2"
        SEV3 = 3, "SEV3"
        SEV4 = 4, "SEV4"
        SEV5 = 5, "SEV5"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MITIGATED = "mitigated", "Mitigated"
        RESOLVED = "resolved", "Resolved"

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        API = "api", "API"
        PAGERDUTY = "pagerduty", "PagerDuty"
        OPSGENIE = "opsgenie", "Opsgenie"
        ALERTMANAGER = "alertmanager", "Alertmanager"
        OTHER = "other", "Other"

    # A status only moves forward along this order (a late "open" event never reopens).
    STATUS_RANK = {Status.OPEN: 0, Status.MITIGATED: 1, Status.RESOLVED: 2}

    organization = models.ForeignKey("teams.Organization", on_delete=models.CASCADE, related_name="incidents")
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="incidents")
    services = models.ManyToManyField(
        "teams.Service", related_name="incidents", blank=True, help_text="The services users saw fail."
    )
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True, help_text="Markdown.")
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.SEV3)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    started_at = models.DateTimeField(help_text="When users started to be affected.")
    detected_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    external_id = models.CharField(
        max_length=200, blank=True, help_text="The incident's id in its source (blank for manual incidents)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source", "external_id"],
                condition=~Q(external_id=""),
                name="uniq_incident_source_external_id",
            ),
            models.CheckConstraint(condition=Q(severity__gte=1, severity__lte=5), name="incident_severity_1_5"),
        ]
        indexes = [
            models.Index(fields=["organization", "started_at"], name="incident_org_started"),
            models.Index(fields=["team", "severity", "started_at"], name="incident_team_sev_started"),
        ]

    def __str__(self):
        return f"{self.get_severity_display()} · {self.title}"

    def get_absolute_url(self):
        return reverse("postmortems:incident_detail", args=[self.pk])

    @property
    def duration(self):
        """Started to resolved (None while unresolved)."""
        return self.resolved_at - self.started_at if self.resolved_at and self.started_at else None

    @property
    def window_end(self):
        """End of the impact window: resolved, else mitigated, else None (still open)."""
        return self.resolved_at or self.mitigated_at

    def clean(self):
        errors = {}
        if self.team_id and self.organization_id and self.team.organization_id != self.organization_id:
            errors["team"] = "The team belongs to another organization."
        if self.source == self.Source.MANUAL and self.external_id:
            errors["external_id"] = "A manual incident has no external id."
        errors.update(time_order_errors({name: getattr(self, name) for name in TIME_ORDER}))
        if self.status == self.Status.RESOLVED and not self.resolved_at and "resolved_at" not in errors:
            errors["resolved_at"] = "A resolved incident needs the time it was resolved."
        if self.resolved_at and self.status != self.Status.RESOLVED and "status" not in errors:
            errors["status"] = "An incident with a resolved time is resolved."
        if errors:
            raise ValidationError(errors)


def time_order_errors(times: dict) -> dict[str, str]:
    """Started <= detected <= mitigated <= resolved, over the times that are set.

    Returns {field: message} naming the first field that comes too early."""
    errors: dict[str, str] = {}
    previous_name, previous = None, None
    labels = {
        "started_at": "started",
        "detected_at": "detected",
        "mitigated_at": "mitigated",
        "resolved_at": "resolved",
    }
    if times.get("started_at") is None:
        errors["started_at"] = "When did the incident start? This time is required."
    for name in TIME_ORDER:
        value = times.get(name)
        if value is None:
            continue
        if previous is not None and value < previous:
            errors[name] = (
                f"The {labels[name]} time ({value:%Y-%m-%d %H:%M}) is before the {labels[previous_name]} time "
                f"({previous:%Y-%m-%d %H:%M}); times must be in order started ≤ detected ≤ mitigated ≤ resolved."
            )
        else:
            previous_name, previous = name, value
    return errors
