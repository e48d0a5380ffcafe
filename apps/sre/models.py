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

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="gate_decisions")
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
