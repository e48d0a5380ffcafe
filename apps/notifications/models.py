"""Notifications: where messages go (targets), who turned what off (preferences), what was sent (deliveries)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from apps.core.models import TimeStampedModel

from . import kinds


class Target(TimeStampedModel):
    """An email address or an incoming webhook (Slack, Microsoft Teams) that receives a team's or the org's messages.

    A target with a team receives that team's messages (digest, level changes); one without a team
    receives the organization's (the leader digest).
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SLACK = "slack", "Slack incoming webhook"
        TEAMS = "teams", "Microsoft Teams incoming webhook"

    class Health(models.TextChoices):
        NEVER = "never", "Not used yet"
        OK = "ok", "Working"
        FAILING = "failing", "Failing"

    organization = models.ForeignKey("teams.Organization", on_delete=models.CASCADE, related_name="notify_targets")
    team = models.ForeignKey(
        "teams.Team",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notify_targets",
        help_text="Empty: the organization's messages (leader digest).",
    )
    name = models.CharField(max_length=120)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    address = models.CharField(
        max_length=500, help_text="An email address, or the webhook URL Slack or Microsoft Teams gave you."
    )
    kinds = models.JSONField(default=list, help_text="The kinds of message this target receives.")
    active = models.BooleanField(default=True)
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.NEVER)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["organization", "team__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "team", "name"], name="uniq_notify_target_name"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("notifications:target", args=[self.pk])

    @property
    def is_webhook(self) -> bool:
        return self.channel != self.Channel.EMAIL

    @property
    def address_display(self) -> str:
        """The address without the secret part of a webhook URL (its path is the credential)."""
        if not self.is_webhook:
            return self.address
        return f"{urlsplit(self.address).netloc}/…"

    def kind_labels(self) -> list[str]:
        return [kinds.label(k) for k in self.kinds]


class Preference(TimeStampedModel):
    """A person's choice for one kind of message. No row means the kind is on."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_preferences")
    kind = models.CharField(max_length=40)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["user", "kind"]
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="uniq_notify_pref_user_kind")]

    def __str__(self):
        return f"{self.user} · {self.kind} · {'on' if self.enabled else 'off'}"


class Delivery(TimeStampedModel):
    """One message of one kind, for one period and subject, to one person or one target.

    Unique by (kind, period, subject, recipient): a retried job finds the row and does not send again.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        RETRYING = "retrying", "Failed, will retry"
        FAILED = "failed", "Failed, gave up"

    organization = models.ForeignKey("teams.Organization", on_delete=models.CASCADE, related_name="notify_deliveries")
    team = models.ForeignKey(
        "teams.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="notify_deliveries"
    )
    kind = models.CharField(max_length=40)
    period = models.CharField(max_length=20, help_text="2026-W49 for weekly digests, the day for immediate messages.")
    subject = models.CharField(max_length=60, help_text="What the message is about: team:12, org:3.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="notify_deliveries"
    )
    target = models.ForeignKey(Target, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries")
    title = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True, help_text="The webhook body (Slack or Teams format).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "period", "subject", "user"],
                condition=Q(user__isnull=False),
                name="uniq_notify_delivery_person",
            ),
            models.UniqueConstraint(
                fields=["kind", "period", "subject", "target"],
                condition=Q(target__isnull=False),
                name="uniq_notify_delivery_target",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=True, target__isnull=False) | Q(user__isnull=False, target__isnull=True),
                name="notify_delivery_one_recipient",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notify_delivery_due")]

    def __str__(self):
        return f"{self.kind} {self.period} → {self.user or self.target}"

    @property
    def recipient_label(self) -> str:
        return self.user.email if self.user_id else str(self.target)
