"""Scorecards (pillars, weights, level checks), exemptions and dated score snapshots.

The numbers themselves are computed by pure functions in `pillars.py`; this
module only stores the rubric an org scores itself against and the results.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from apps.core.models import TimeStampedModel

from . import metrics, pillars

LEVEL_NAMES = {1: "Initial", 2: "Managed", 3: "Defined", 4: "Measured", 5: "Optimizing"}
PILLARS = (
    ("self_assessment", "Self-assessment"),
    ("delivery", "Delivery"),
    ("reliability", "Reliability"),
    ("learning", "Learning"),
)
PILLAR_KEYS = tuple(key for key, _ in PILLARS)


class Scorecard(TimeStampedModel):
    """An organization's rubric: pillar weights, the perception-gap threshold and its level checks."""

    organization = models.OneToOneField("teams.Organization", on_delete=models.CASCADE, related_name="scorecard")
    name = models.CharField(max_length=120, default="DevOps maturity")
    weight_self_assessment = models.PositiveSmallIntegerField(default=20, validators=[MaxValueValidator(100)])
    weight_delivery = models.PositiveSmallIntegerField(default=30, validators=[MaxValueValidator(100)])
    weight_reliability = models.PositiveSmallIntegerField(default=30, validators=[MaxValueValidator(100)])
    weight_learning = models.PositiveSmallIntegerField(default=20, validators=[MaxValueValidator(100)])
    gap_threshold = models.PositiveSmallIntegerField(
        default=25,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Points (0-100) a CALMS dimension may be self-rated above its evidence before it is flagged.",
    )

    class Meta:
        ordering = ["organization__name"]

    def __str__(self):
        return f"{self.name} · {self.organization}"

    @property
    def weights(self) -> dict[str, int]:
        return {key: getattr(self, f"weight_{key}") for key in PILLAR_KEYS}

    def clean(self):
        if sum(self.weights.values()) <= 0:
            raise ValidationError("At least one pillar needs a weight above zero.")


class Check(TimeStampedModel):
    """One gate of a level: `metric operator value`; a team holds a level when it passes
    every check of that level and of all levels below."""

    class Operator(models.TextChoices):
        GTE = "gte", "≥"
        GT = "gt", ">"
        LTE = "lte", "≤"
        LT = "lt", "<"
        EQ = "eq", "="

    class Missing(models.TextChoices):
        FAIL = "fail", "Fails (no evidence)"
        PASS = "pass", "Passes (nothing to judge)"

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="checks")
    key = models.SlugField(max_length=60, help_text="Stable identifier, unique within the scorecard.")
    level = models.PositiveSmallIntegerField(
        choices=[(n, f"{n} · {name}") for n, name in LEVEL_NAMES.items() if n >= 2],
        help_text="Level this check gates (level 1 is where every team starts).",
    )
    name = models.CharField(max_length=160)
    metric = models.CharField(max_length=60, choices=metrics.choices)  # a callable: a new metric needs no migration
    operator = models.CharField(max_length=3, choices=Operator.choices, default=Operator.GTE)
    value = models.FloatField(help_text="Shares are 0-1 (0.8 for 80%), scores 0-100, tiers 1 low … 4 elite.")
    when_missing = models.CharField(
        max_length=4,
        choices=Missing.choices,
        default=Missing.FAIL,
        help_text="What a team with no data for the metric gets.",
    )
    hint = models.TextField(help_text="How to pass: shown to the team when the check fails.")
    order = models.PositiveSmallIntegerField(default=0)
    informational_until = models.DateField(
        null=True,
        blank=True,
        help_text="Grace period: until this day the check is shown to teams but blocks no level "
        "(pages show the level each team will hold when it applies). Empty: it counts now.",
    )

    class Meta:
        ordering = ["scorecard", "level", "order", "pk"]
        constraints = [models.UniqueConstraint(fields=["scorecard", "key"], name="uniq_scoring_check_key")]

    def __str__(self):
        return f"L{self.level} · {self.name}"

    def clean(self):
        metric = metrics.METRICS.get(self.metric)
        if self.metric and metric is None:
            raise ValidationError({"metric": "Unknown metric."})
        if metric is None or self.value is None:
            return
        if metric.unit == "ratio" and not 0 <= self.value <= 1:
            raise ValidationError({"value": "This metric is a share: give it between 0 and 1 (0.8 for 80%)."})
        if metric.unit == "score" and not 0 <= self.value <= 100:
            raise ValidationError({"value": "Scores run from 0 to 100."})
        if metric.unit == "rank" and self.value not in (1, 2, 3, 4):
            raise ValidationError({"value": "Tiers are ranked 1 (low), 2 (medium), 3 (high), 4 (elite)."})


class Exemption(TimeStampedModel):
    """A team's check counted as passed until `expires_on`: a lead asks, an org admin decides."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        GRANTED = "granted", "Granted"
        REJECTED = "rejected", "Rejected"
        REVOKED = "revoked", "Revoked"

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="score_exemptions")
    level_check = models.ForeignKey(Check, on_delete=models.CASCADE, related_name="exemptions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    reason = models.TextField(help_text="Why the team asks (written by the lead).")
    justification = models.TextField(blank=True, help_text="Why it was granted, rejected or revoked (org admin).")
    expires_on = models.DateField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One open request or grant per team and check; decided ones stay as history.
            models.UniqueConstraint(
                fields=["team", "level_check"],
                condition=models.Q(status__in=["requested", "granted"]),
                name="uniq_scoring_open_exemption",
            )
        ]

    def __str__(self):
        return f"{self.team} · {self.level_check.name} ({self.get_status_display()})"

    def active_on(self, day) -> bool:
        return self.status == self.Status.GRANTED and self.expires_on is not None and self.expires_on >= day


class ExemptionEvent(TimeStampedModel):
    """The audit trail of an exemption: every request, grant, rejection and revocation."""

    class Action(models.TextChoices):
        REQUESTED = "requested", "Requested"
        GRANTED = "granted", "Granted"
        REJECTED = "rejected", "Rejected"
        REVOKED = "revoked", "Revoked"
        RENEWED = "renewed", "Renewed"

    exemption = models.ForeignKey(Exemption, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=10, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    note = models.TextField(blank=True)
    expires_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.get_action_display()} by {self.actor or 'someone'}"


class BulkJSONField(models.JSONField):
    """A JSONField whose bulk inserts use one VALUES row per object.

    Django's PostgreSQL bulk_create otherwise packs each column into an array for
    UNNEST, and psycopg quotes every JSON document into that array literal in Python:
    ten times slower for snapshots' large documents. A placeholder opts out of it.
    """

    def get_placeholder(self, value, compiler, connection):
        return "%s"


class Snapshot(TimeStampedModel):
    """A team's score on one day, with every input behind every number (JSON)."""

    organization = models.ForeignKey("teams.Organization", on_delete=models.CASCADE, related_name="score_snapshots")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="score_snapshots")
    date = models.DateField()
    overall = models.FloatField(null=True)
    level = models.PositiveSmallIntegerField()
    self_assessment = models.FloatField(null=True)
    delivery = models.FloatField(null=True)
    reliability = models.FloatField(null=True)
    learning = models.FloatField(null=True)
    weights = BulkJSONField(default=dict)
    checks = BulkJSONField(default=list, encoder=DjangoJSONEncoder)
    gaps = BulkJSONField(default=list, encoder=DjangoJSONEncoder)
    recommendations = BulkJSONField(default=list, encoder=DjangoJSONEncoder)
    inputs = BulkJSONField(default=dict, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["team", "-date"]
        get_latest_by = "date"
        constraints = [models.UniqueConstraint(fields=["team", "date"], name="uniq_scoring_snapshot_team_date")]
        indexes = [models.Index(fields=["organization", "date"], name="scoring_snap_org_date")]

    def __str__(self):
        return f"{self.team} · {self.date} · level {self.level}"

    def get_absolute_url(self):
        return reverse("scoring:team", args=[self.team_id])

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES.get(self.level, "")

    @property
    def pillars(self) -> dict[str, float | None]:
        return {key: getattr(self, key) for key in PILLAR_KEYS}

    @property
    def measured(self) -> int:
        """How many of the four pillars have evidence."""
        return sum(1 for key in PILLAR_KEYS if getattr(self, key) is not None)

    @property
    def is_measured(self) -> bool:
        """A team with no evidence at all is "not yet measured": no score, not ranked."""
        return self.overall is not None

    @property
    def coverage_label(self) -> str:
        """What the score rests on: "2 of 4 pillars measured" (or "not yet measured")."""
        if not self.measured:
            return "not yet measured"
        return f"{self.measured} of {len(PILLAR_KEYS)} pillars measured"

    @property
    def pending_checks(self) -> list[dict]:
        """Check results in their grace period on the snapshot's day (shown, not counted)."""
        return pillars.pending_checks(self.checks or [])

    @property
    def level_when_applied(self) -> int:
        """The level the team will hold once the pending checks apply (the same level rule)."""
        return pillars.level_from_checks(self.checks or [], with_pending=True)

    @property
    def exemption_rate(self) -> float | None:
        """Share of the applicable checks passed only by exemption (pillars.exemption_rate)."""
        return pillars.exemption_rate(self.checks or [])


class ScoringRun(TimeStampedModel):
    """One run of the scoring job for an organization (from the schedule, a button, the API or the CLI)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey("teams.Organization", on_delete=models.CASCADE, related_name="scoring_runs")
    as_of = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=20, default="schedule")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    teams_scored = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.organization} · {self.as_of} · {self.get_status_display()}"
