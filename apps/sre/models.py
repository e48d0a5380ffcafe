from django.conf import settings
from django.db import models

from apps.core.models import TimeStampedModel
from apps.teams.models import Service


class GateOverride(TimeStampedModel):
    """A lead lets deploys through a denying gate, with a reason, until `expires_at`."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="gate_overrides")
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Override for {self.service} until {self.expires_at:%Y-%m-%d %H:%M}"


class GateDecision(models.Model):
    """One answer of the release gate to a CI call."""

    class Kind(models.TextChoices):
        FEATURE = "feature", "Feature"
        FIX = "fix", "Fix"

    # No index of its own: the (service, -decided_at) index below leads with it (one less to write per call).
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="gate_decisions", db_index=False)
    decided_at = models.DateTimeField(db_index=True)
    allowed = models.BooleanField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FEATURE)
    ref = models.CharField(max_length=200, blank=True, help_text="Commit or pipeline the CI named.")
    reason = models.TextField()
    override = models.ForeignKey(GateOverride, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # Per SLO: {"slo": id, "name": ..., "consumed": fraction or None, "freeze": bool}
    slos = models.JSONField(default=list)

    class Meta:
        ordering = ["-decided_at"]
        indexes = [models.Index(fields=["service", "-decided_at"])]

    def __str__(self):
        return f"{'allow' if self.allowed else 'deny'} {self.service} at {self.decided_at:%Y-%m-%d %H:%M}"


class ToilItem(TimeStampedModel):
    """Recurring manual operational work a team does: the SRE book's toil (manual, repetitive,
    automatable, tactical, no enduring value, growing with the service)."""

    class Category(models.TextChoices):
        REQUESTS = "requests", "Requests and tickets"
        INTERRUPTS = "interrupts", "Pages and interrupts"
        RELEASES = "releases", "Manual releases and deploys"
        CAPACITY = "capacity", "Capacity and provisioning"
        ACCESS = "access", "Access and accounts"
        DATA = "data", "Data fixes and migrations"
        REPORTING = "reporting", "Reports and checks"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        AUTOMATING = "automating", "Being automated"
        AUTOMATED = "automated", "Automated away"
        STOPPED = "stopped", "No longer done"

    # Still done by hand: counts as toil.
    OPEN_STATUSES = (Status.ACTIVE, Status.AUTOMATING)

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="toil_items")
    title = models.CharField("What", max_length=200)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.REQUESTS)
    hours_per_week = models.DecimalField(max_digits=5, decimal_places=1, help_text="Person-hours a typical week.")
    automatable = models.BooleanField(default=True, help_text="Could a machine do it?")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    started_on = models.DateField(help_text="Since when the team does it.")
    # When it was automated away or stopped; None while it is still done by hand.
    ended_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    last_reviewed_on = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-hours_per_week", "title"]
        indexes = [models.Index(fields=["team", "status"])]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("sre:toil_edit", args=[self.pk])


class ToilReview(TimeStampedModel):
    """A team's review of its toil list in one cycle, with the hours the team works a week."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="toil_reviews")
    reviewed_on = models.DateField()
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    capacity_hours = models.DecimalField(
        max_digits=7, decimal_places=1, help_text="Person-hours the team works in a week (all members)."
    )
    # The figures when reviewed, kept so the trend reads what the team saw.
    toil_hours = models.DecimalField(max_digits=7, decimal_places=1, default=0)
    saved_hours = models.DecimalField(max_digits=7, decimal_places=1, default=0)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-reviewed_on", "-created_at"]
        constraints = [models.UniqueConstraint(fields=["team", "reviewed_on"], name="uniq_toil_review_day")]

    def __str__(self):
        return f"Toil review of {self.team} on {self.reviewed_on}"


class Runbook(TimeStampedModel):
    """How to respond to an alert or a kind of incident: a link to where it lives, or its text here."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="runbooks")
    title = models.CharField(max_length=200)
    url = models.URLField("Link", max_length=500, blank=True, help_text="Where the runbook lives, if not here.")
    body = models.TextField(blank=True, help_text="Markdown.")
    services = models.ManyToManyField("teams.Service", related_name="runbooks", blank=True)
    slos = models.ManyToManyField(
        "slos.SLO", related_name="runbooks", blank=True, help_text="The SLOs whose burn-rate alerts it answers."
    )
    # Short labels of the incidents it covers ("database failover", "certificate expiry").
    incident_types = models.JSONField(default=list, blank=True)
    last_reviewed_on = models.DateField(null=True, blank=True)
    last_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("sre:runbook", args=[self.pk])


class IncidentRunbook(TimeStampedModel):
    """Which runbook the responders used on an incident (or that none was used)."""

    incident = models.OneToOneField("postmortems.Incident", on_delete=models.CASCADE, related_name="runbook_used")
    runbook = models.ForeignKey(Runbook, on_delete=models.SET_NULL, null=True, blank=True, related_name="uses")
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    def __str__(self):
        return f"{self.incident}: {self.runbook or 'no runbook'}"
