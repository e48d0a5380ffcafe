"""Initiatives: campaigns that turn checks into work with a deadline (issue 18).

An initiative names the teams and/or services in scope, the checks each of them must pass
(a scoring metric against a threshold, or a service check), a start and a target date.
Progress is stored once a day (`InitiativeProgress`) so the burn-up chart shows the share of
scope passing over time against the target line (docs/initiatives.md).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from apps.core.models import TimeStampedModel
from apps.scoring import metrics
from apps.scoring.models import Check


class Initiative(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        ARCHIVED = "archived", "Archived"

    organization = models.ForeignKey("teams.Organization", on_delete=models.CASCADE, related_name="initiatives")
    name = models.CharField(max_length=160)
    reason = models.TextField(help_text="Why this matters: shown to every team in scope.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="initiatives_owned"
    )
    start_date = models.DateField()
    target_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    teams = models.ManyToManyField("teams.Team", blank=True, related_name="initiatives")
    services = models.ManyToManyField("teams.Service", blank=True, related_name="initiatives")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    graduated_at = models.DateTimeField(null=True, blank=True)
    graduated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    graduated_level = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["target_date", "name", "pk"]
        indexes = [models.Index(fields=["organization", "status"], name="initiative_org_status")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("initiatives:detail", args=[self.pk])

    def clean(self):
        if self.start_date and self.target_date and self.target_date <= self.start_date:
            raise ValidationError({"target_date": "The target date must come after the start date."})


class InitiativeCheck(TimeStampedModel):
    """What every item in scope must pass: a scoring metric against a threshold (judged on the team's
    latest score snapshot with the scorecard's own comparison), or a service check by key."""

    class Kind(models.TextChoices):
        METRIC = "metric", "Scoring metric"
        SERVICE = "service", "Service check"

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="checks")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.METRIC)
    name = models.CharField(max_length=160)
    metric = models.CharField(max_length=60, choices=metrics.choices, blank=True)  # callable: no migration per metric
    operator = models.CharField(max_length=3, choices=Check.Operator.choices, default=Check.Operator.GTE)
    value = models.FloatField(null=True, blank=True, help_text="Shares are 0-1 (0.8 for 80%), scores 0-100.")
    when_missing = models.CharField(max_length=4, choices=Check.Missing.choices, default=Check.Missing.FAIL)
    service_check = models.CharField(max_length=60, blank=True, help_text="Key of a service check.")
    hint = models.TextField(blank=True, help_text="How to pass: shown to the teams that fail.")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["initiative", "order", "pk"]

    def __str__(self):
        return self.name

    @property
    def target_display(self) -> str:
        """ "≥ 80%" as every page writes a metric check's target; the key for a service check."""
        if self.kind != self.Kind.METRIC or self.value is None:
            return self.service_check
        from apps.scoring.pillars import OP_SYMBOLS

        return f"{OP_SYMBOLS.get(self.operator, self.operator)} {metrics.format_value(self.metric, self.value)}"

    def clean(self):
        if self.kind == self.Kind.METRIC:
            if not self.metric or self.value is None:
                raise ValidationError("A metric check needs a metric and a value.")
            # The scorecard's own rule for what a value may be (shares 0-1, scores 0-100, tiers 1-4).
            Check(metric=self.metric, operator=self.operator, value=self.value).clean()
        elif not self.service_check:
            raise ValidationError({"service_check": "A service check needs its key."})


class InitiativeProgress(TimeStampedModel):
    """Scope passing on one day: written by the progress job (once per initiative and day, upserted)."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="progress")
    day = models.DateField()
    passing = models.PositiveIntegerField()
    total = models.PositiveIntegerField()

    class Meta:
        ordering = ["initiative", "day"]
        constraints = [models.UniqueConstraint(fields=["initiative", "day"], name="uniq_initiative_progress_day")]

    def __str__(self):
        return f"{self.initiative} · {self.day} · {self.passing}/{self.total}"

    @property
    def share(self) -> float | None:
        return self.passing / self.total if self.total else None
