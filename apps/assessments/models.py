"""CALMS self-assessments: versioned frameworks, campaigns, team assessments, answers.

A framework version (e.g. "CALMS v1") holds dimensions, each with weighted
questions answered on levels 0-4 (one descriptor per level) or N/A. Once a
campaign uses a version it is immutable: answers always point at the exact
questions they were given against. Scores are computed by
`apps.assessments.calms_maths` and stored on the assessment.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from apps.core.models import TimeStampedModel

MIN_LEVEL = 0
MAX_LEVEL = 4
LEVEL_COUNT = MAX_LEVEL - MIN_LEVEL + 1


class FrameworkLocked(ValidationError):
    """Raised when something tries to change a framework version that is in use."""


class Framework(TimeStampedModel):
    """One version of a question bank. `organization` is empty for built-in frameworks."""

    organization = models.ForeignKey(
        "teams.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="assessment_frameworks",
        help_text="Empty for a built-in framework every organization may use.",
    )
    key = models.SlugField(max_length=40, help_text='Family of versions, e.g. "calms".')
    version = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key", "version"], name="uniq_framework_version"),
            # Built-in versions have no organization; NULLs never collide, so they need their own rule.
            models.UniqueConstraint(
                fields=["key", "version"], condition=Q(organization__isnull=True), name="uniq_builtin_framework_version"
            ),
        ]

    def __str__(self):
        return f"{self.name} v{self.version}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            self.guard_unlocked()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self.guard_unlocked()
        return super().delete(*args, **kwargs)

    @property
    def label(self) -> str:
        return str(self)

    def is_in_use(self) -> bool:
        if self.pk is None:
            return False
        return Campaign.objects.filter(frameworks=self.pk).exists()

    def guard_unlocked(self):
        if self.is_in_use():
            raise FrameworkLocked(
                f"{self} is used by a campaign and can no longer change; create a new version instead."
            )


class Dimension(models.Model):
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="dimensions")
    key = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    weight = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("1"), validators=[MinValueValidator(Decimal("0.01"))]
    )
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["framework", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "key"], name="uniq_dimension_key"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="dimension_weight_positive"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        Framework.objects.get(pk=self.framework_id).guard_unlocked()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self.framework.guard_unlocked()
        return super().delete(*args, **kwargs)


class Question(models.Model):
    dimension = models.ForeignKey(Dimension, on_delete=models.CASCADE, related_name="questions")
    key = models.SlugField(max_length=60)
    text = models.CharField(max_length=300)
    guidance = models.TextField(blank=True)
    weight = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("1"), validators=[MinValueValidator(Decimal("0.01"))]
    )
    # One descriptor per level, index = level (0..4).
    level_descriptors = models.JSONField(default=list)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["dimension__order", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["dimension", "key"], name="uniq_question_key"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="question_weight_positive"),
        ]

    def __str__(self):
        return self.text

    def save(self, *args, **kwargs):
        Framework.objects.get(dimensions__pk=self.dimension_id).guard_unlocked()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self.dimension.framework.guard_unlocked()
        return super().delete(*args, **kwargs)

    @property
    def max_level(self) -> int:
        return MAX_LEVEL

    def descriptor(self, level: int | None) -> str:
        if level is None or not 0 <= level < len(self.level_descriptors):
            return ""
        return self.level_descriptors[level]

    @property
    def levels(self) -> list[tuple[int, str]]:
        return list(enumerate(self.level_descriptors))

    def clean(self):
        descriptors = self.level_descriptors
        if (
            not isinstance(descriptors, list)
            or len(descriptors) != LEVEL_COUNT
            or not all(isinstance(d, str) and d.strip() for d in descriptors)
        ):
            raise ValidationError(
                {"level_descriptors": f"Give exactly {LEVEL_COUNT} non-empty descriptors, for levels 0 to {MAX_LEVEL}."}
            )


class Campaign(TimeStampedModel):
    """One assessment cycle of an organization: one or more framework versions (e.g. CALMS v1 and
    SRE practices v1), dates and the teams in scope. Each team in scope answers each framework."""

    class Phase(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    organization = models.ForeignKey("teams.Organization", on_delete=models.CASCADE, related_name="campaigns")
    # At least one, one version per family (checked by services.campaign_open/campaign_update);
    # `frameworks.all()` follows Framework's ordering (by key: CALMS first, then SRE practices).
    frameworks = models.ManyToManyField(Framework, related_name="campaigns")
    name = models.CharField(max_length=120)
    opens_on = models.DateField()
    closes_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-opens_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="uniq_campaign_name"),
            models.CheckConstraint(condition=Q(closes_on__gte=models.F("opens_on")), name="campaign_dates_ordered"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("assessments:campaign", args=[self.pk])

    def phase(self, today=None) -> str:
        today = today or timezone.localdate()
        if today < self.opens_on:
            return self.Phase.SCHEDULED
        if today > self.closes_on:
            return self.Phase.CLOSED
        return self.Phase.OPEN

    @property
    def current_phase(self) -> str:
        return self.phase()

    def is_open(self, today=None) -> bool:
        return self.phase(today) == self.Phase.OPEN

    def clean(self):
        # Which frameworks a campaign may hold is the service's rule (services.campaign_open).
        if self.opens_on and self.closes_on and self.closes_on < self.opens_on:
            raise ValidationError({"closes_on": "The close date must be on or after the open date."})


class Assessment(TimeStampedModel):
    """A team's answers to one framework of a campaign (one per campaign, team and framework)."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        SUBMITTED = "submitted", "Submitted"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="assessments")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="assessments")
    # The version the answers were given against (one of the campaign's frameworks).
    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="assessments")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NOT_STARTED, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    overall_score = models.FloatField(null=True, blank=True)
    # {dimension key: score 0-100 or None}
    dimension_scores = models.JSONField(default=dict, blank=True)
    answered_count = models.PositiveIntegerField(default=0)
    question_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["campaign", "team__name"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "team", "framework"], name="uniq_assessment_per_framework")
        ]
        indexes = [models.Index(fields=["team", "status", "-submitted_at"], name="assessment_latest_idx")]

    def __str__(self):
        return f"{self.team} · {self.campaign}"

    def get_absolute_url(self):
        return reverse("assessments:detail", args=[self.pk])

    @property
    def is_submitted(self) -> bool:
        return self.status == self.Status.SUBMITTED

    @property
    def progress_percent(self) -> int:
        if not self.question_count:
            return 0
        return round(100 * self.answered_count / self.question_count)


class Answer(TimeStampedModel):
    """One question's answer: a level, N/A, or still open (a comment alone is a draft note)."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    not_applicable = models.BooleanField(default=False)
    comment = models.TextField(blank=True, max_length=4000)
    evidence_url = models.URLField(blank=True, max_length=500)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["question__dimension__order", "question__order"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "question"], name="uniq_answer_per_question"),
            models.CheckConstraint(
                condition=Q(level__isnull=True) | Q(level__gte=MIN_LEVEL, level__lte=MAX_LEVEL),
                name="answer_level_in_range",
            ),
            models.CheckConstraint(condition=~Q(not_applicable=True, level__isnull=False), name="answer_level_or_na"),
        ]

    def __str__(self):
        return f"{self.question.key}: {'N/A' if self.not_applicable else self.level}"

    @property
    def is_answered(self) -> bool:
        return self.not_applicable or self.level is not None
