"""SLIs, SLOs, their samples, error budget policies and burn-rate alerts.

Numbers follow DESIGN.md ("The numbers, defined once"); the maths lives in
`apps.slos.maths`, the reads in `selectors`, the writes in `services`.

Samples are stored per SLI per 5-minute bucket. A bucket is identified by the
Unix time (seconds, UTC) at which it starts, so window arithmetic is integer
arithmetic both in Python and in SQL.
"""

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from apps.core.models import TimeStampedModel
from apps.teams.models import Organization, Service, Team

BUCKET_SECONDS = 300


class SLI(TimeStampedModel):
    class Kind(models.TextChoices):
        AVAILABILITY = "availability", "Availability"
        LATENCY = "latency", "Latency"
        FRESHNESS = "freshness", "Freshness"
        CORRECTNESS = "correctness", "Correctness"
        OTHER = "other", "Other"

    class Source(models.TextChoices):
        PROMETHEUS = "prometheus", "Prometheus"
        PUSH = "push", "Pushed samples"

    class SyncState(models.TextChoices):
        NEVER = "never", "Not synced yet"
        OK = "ok", "Synced"
        ERROR = "error", "Query error"
        RETRYING = "retrying", "Prometheus unreachable, retrying"

    # Kept beside the service so names (OpenSLO metadata.name) are unique org-wide.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="slis")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="slis")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=120)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.AVAILABILITY)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.PUSH)
    prometheus_url = models.URLField(
        blank=True, help_text="Base URL of the Prometheus HTTP API; empty uses the server's PROMETHEUS_URL."
    )
    good_query = models.TextField(
        blank=True, help_text="PromQL giving the number of good events per 5 minutes, e.g. sum(increase(x[5m]))."
    )
    total_query = models.TextField(blank=True, help_text="PromQL giving the number of all events per 5 minutes.")
    # An OpenSLO thresholdMetric this SLI was built from (a latency threshold): the metric's query
    # and the objective's comparison. Good events are the ones meeting `threshold_op threshold_value`.
    threshold_query = models.TextField(blank=True, help_text="OpenSLO thresholdMetric query, if any.")
    threshold_op = models.CharField(max_length=3, blank=True, help_text="lt, lte, gt or gte.")
    threshold_value = models.FloatField(null=True, blank=True)
    # Prometheus sync: everything before `sync_cursor` (a bucket boundary) is stored.
    sync_cursor = models.DateTimeField(null=True, blank=True)
    sync_state = models.CharField(max_length=20, choices=SyncState.choices, default=SyncState.NEVER)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Set by every write of its samples, in the same transaction: a stored SLO status older
    # than this is stale (the periodic tick recomputes it even if the on-commit refresh was lost).
    data_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "SLI"
        ordering = ["organization", "slug"]
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="uniq_sli_slug")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("slos:sli_detail", args=[self.pk])

    def clean(self):
        if self.service_id and self.organization_id and self.service.organization_id != self.organization_id:
            raise ValidationError({"service": "The service belongs to another organization."})
        if self.source == self.Source.PROMETHEUS:
            errors = {}
            if not self.good_query.strip():
                errors["good_query"] = "A Prometheus SLI needs a good-events query."
            if not self.total_query.strip():
                errors["total_query"] = "A Prometheus SLI needs a total-events query."
            if errors:
                raise ValidationError(errors)


class SLO(TimeStampedModel):
    class WindowKind(models.TextChoices):
        ROLLING = "rolling", "Rolling"
        CALENDAR = "calendar", "Calendar"

    class CalendarUnit(models.TextChoices):
        WEEK = "week", "Week"
        MONTH = "month", "Month"
        QUARTER = "quarter", "Quarter"
        YEAR = "year", "Year"

    class Budgeting(models.TextChoices):
        OCCURRENCES = "occurrences", "Occurrences"
        TIMESLICES = "timeslices", "Timeslices"
        RATIO_TIMESLICES = "ratio_timeslices", "Ratio timeslices"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="slos")
    sli = models.ForeignKey(SLI, on_delete=models.CASCADE, related_name="slos")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=120)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="owned_slos"
    )
    target = models.DecimalField(
        max_digits=7,
        decimal_places=6,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Fraction of good events (or slices), e.g. 0.999 for 99.9%.",
    )
    window_kind = models.CharField(max_length=10, choices=WindowKind.choices, default=WindowKind.ROLLING)
    window_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(366)], help_text="Length of a rolling window."
    )
    calendar_unit = models.CharField(max_length=10, choices=CalendarUnit.choices, blank=True)
    # Calendar periods' boundaries are wall-clock times in this IANA zone (converted to UTC
    # for the queries). `calendar_start` is the instant one period starts (OpenSLO
    # calendar.startTime); empty: the 1st at 00:00 (weeks: Monday 00:00), in that zone.
    calendar_timezone = models.CharField(
        max_length=64, default="UTC", help_text="IANA time zone of a calendar window, e.g. America/New_York."
    )
    calendar_start = models.DateTimeField(
        null=True, blank=True, help_text="When one calendar period starts; empty: the 1st (weeks: Monday) at 00:00."
    )
    budgeting = models.CharField(max_length=20, choices=Budgeting.choices, default=Budgeting.OCCURRENCES)
    timeslice_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Slice length in seconds (a multiple of 300)."
    )
    timeslice_target = models.DecimalField(
        max_digits=7,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="A slice is good when its ratio is at least this.",
    )
    alerting = models.BooleanField(default=True, help_text="Evaluate multiwindow burn-rate alerts.")
    # Several objectives of one OpenSLO SLO document become one SLO each, sharing this name.
    openslo_name = models.SlugField(
        max_length=120, blank=True, help_text="The OpenSLO SLO this is one objective of (empty: its own)."
    )
    alert_policies = models.ManyToManyField(
        "AlertPolicy",
        blank=True,
        related_name="slos",
        help_text="OpenSLO alert policies; none means the platform's multiwindow table.",
    )

    class Meta:
        verbose_name = "SLO"
        ordering = ["organization", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="uniq_slo_slug"),
            models.CheckConstraint(condition=Q(target__gt=0) & Q(target__lt=1), name="slo_target_between_0_1"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("slos:detail", args=[self.pk])

    @property
    def target_percent(self) -> float:
        return float(self.target) * 100

    @property
    def window_label(self) -> str:
        if self.window_kind == self.WindowKind.CALENDAR:
            zone = "" if self.calendar_timezone in ("", "UTC") else f" ({self.calendar_timezone})"
            return f"calendar {self.calendar_unit}{zone}"
        return f"rolling {self.window_days} days"

    @property
    def calendar_anchor(self) -> datetime | None:
        """`calendar_start` as a wall-clock time in the window's zone (None: the default start)."""
        if self.calendar_start is None:
            return None
        return self.calendar_start.astimezone(ZoneInfo(self.calendar_timezone or "UTC")).replace(tzinfo=None)

    def clean(self):
        errors = {}
        if self.target is not None and not (0 < self.target < 1):
            errors["target"] = "The target is a fraction strictly between 0 and 1, e.g. 0.999."
        if self.window_kind == self.WindowKind.CALENDAR and not self.calendar_unit:
            errors["calendar_unit"] = "A calendar window needs a week, month, quarter or year."
        if self.window_kind == self.WindowKind.CALENDAR:
            try:
                ZoneInfo(self.calendar_timezone or "UTC")
            except (ZoneInfoNotFoundError, ValueError):
                errors["calendar_timezone"] = f"{self.calendar_timezone!r} is not an IANA time zone."
        if self.window_kind == self.WindowKind.ROLLING:
            self.calendar_unit = ""
            self.calendar_timezone = "UTC"
            self.calendar_start = None
            if not self.window_days:
                errors["window_days"] = "A rolling window needs a number of days."
        if self.budgeting in (self.Budgeting.TIMESLICES, self.Budgeting.RATIO_TIMESLICES):
            if not self.timeslice_seconds or self.timeslice_seconds % BUCKET_SECONDS:
                errors["timeslice_seconds"] = f"Slices are a positive multiple of {BUCKET_SECONDS} seconds."
            elif self.timeslice_seconds > 86400:
                errors["timeslice_seconds"] = "Slices are at most one day."
            if self.budgeting == self.Budgeting.RATIO_TIMESLICES:
                self.timeslice_target = None  # each slice counts by its ratio, not against a slice target
            elif self.timeslice_target is None or not (0 < self.timeslice_target <= 1):
                errors["timeslice_target"] = "Timeslices need a slice target between 0 and 1."
        else:
            self.timeslice_seconds = None
            self.timeslice_target = None
        if self.sli_id and self.organization_id and self.sli.organization_id != self.organization_id:
            errors["sli"] = "The SLI belongs to another organization."
        if errors:
            raise ValidationError(errors)


class SLISample(models.Model):
    """Good and total events of one SLI in the 5-minute bucket starting at `bucket` (Unix seconds)."""

    # The natural key is the primary key: no id column, sequence or extra index to keep up
    # on every ingested row. On PostgreSQL its index also carries good and total (INCLUDE,
    # added by migration 0007), so window sums are index-only scans.
    pk = models.CompositePrimaryKey("sli", "bucket")
    # No index of its own: the primary key (sli, bucket) leads with it. No database
    # constraint either: checked per row at commit it doubled the cost of ingest, so
    # `services.samples_upsert` checks each SLI once under a row lock, and deleting an
    # SLI takes that lock first (`signals.sli_deleting`) so no sample outlives its SLI.
    sli = models.ForeignKey(SLI, on_delete=models.CASCADE, related_name="samples", db_index=False, db_constraint=False)
    bucket = models.BigIntegerField(help_text="Unix time (s) of the bucket start, a multiple of 300.")
    good = models.FloatField()
    total = models.FloatField()

    class Meta:
        verbose_name = "SLI sample"
        constraints = [
            models.CheckConstraint(
                condition=Q(good__gte=0) & Q(total__gte=0) & Q(good__lte=models.F("total")),
                name="sli_sample_counts_valid",
            ),
        ]

    def __str__(self):
        return f"{self.sli_id}@{self.bucket}: {self.good}/{self.total}"


class SLIRollup(models.Model):
    """Hourly sums of an SLI's samples, kept current by `services.samples_upsert`.

    Long windows (30 days = 8,640 buckets) read 720 rollup rows plus the samples at
    their edges instead of every sample.
    """

    # Keyed like the samples (see SLISample.pk); covering on PostgreSQL too.
    pk = models.CompositePrimaryKey("sli", "hour")

    # No index of its own: the primary key (sli, hour) leads with it. No database constraint,
    # for the samples' reason: written in the same transaction under the same SLI row lock,
    # its per-row check at commit was 12 % of an ingest batch's time.
    sli = models.ForeignKey(SLI, on_delete=models.CASCADE, related_name="rollups", db_index=False, db_constraint=False)
    hour = models.BigIntegerField(help_text="Unix time (s) of the hour start.")
    good = models.FloatField()
    total = models.FloatField()

    class Meta:
        verbose_name = "SLI hourly rollup"

    def __str__(self):
        return f"{self.sli_id}@{self.hour}: {self.good}/{self.total}"


def default_policy_steps():
    return [
        {"consumed_percent": 50, "action": "Prioritise reliability work in the next sprint."},
        {"consumed_percent": 100, "action": "Freeze feature deploys until the budget is positive again."},
    ]


class ErrorBudgetPolicy(TimeStampedModel):
    """Thresholds of budget consumed and the actions the team agreed for each.

    A policy with `slo` set applies to that SLO; one without is the team's default.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="error_budget_policies")
    slo = models.OneToOneField(SLO, on_delete=models.CASCADE, null=True, blank=True, related_name="policy")
    name = models.CharField(max_length=200, default="Error budget policy")
    steps = models.JSONField(
        default=default_policy_steps,
        help_text='[{"consumed_percent": 50, "action": "..."}], thresholds in increasing order.',
    )
    notes = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "error budget policies"
        ordering = ["team", "slo"]
        constraints = [
            models.UniqueConstraint(fields=["team"], condition=Q(slo__isnull=True), name="uniq_team_default_policy")
        ]

    def __str__(self):
        return self.name

    def clean(self):
        from .maths import validate_policy_steps

        try:
            self.steps = validate_policy_steps(self.steps)
        except ValueError as exc:
            raise ValidationError({"steps": str(exc)})
        if self.slo_id and self.team_id and self.slo.sli.service.team_id != self.team_id:
            raise ValidationError({"slo": "The SLO belongs to another team's service."})


class BurnRateAlert(TimeStampedModel):
    """One firing of a multiwindow burn-rate rule; resolved_at is empty while it is open."""

    class Severity(models.TextChoices):
        PAGE = "page", "Page"
        TICKET = "ticket", "Ticket"

    slo = models.ForeignKey(SLO, on_delete=models.CASCADE, related_name="alerts")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    long_window = models.PositiveIntegerField(help_text="Seconds.")
    short_window = models.PositiveIntegerField(help_text="Seconds.")
    factor = models.FloatField()
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    long_burn_rate = models.FloatField()
    short_burn_rate = models.FloatField()
    peak_burn_rate = models.FloatField()
    notified_open_at = models.DateTimeField(null=True, blank=True)
    notified_resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["slo", "long_window", "short_window"],
                condition=Q(resolved_at__isnull=True),
                name="uniq_open_alert_per_rule",
            )
        ]
        indexes = [models.Index(fields=["slo", "resolved_at"])]

    def __str__(self):
        return f"{self.get_severity_display()} {self.slo}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class AlertSettings(TimeStampedModel):
    """Where a team is told about its SLOs' burn-rate alerts."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="slo_alert_settings")
    email = models.EmailField(blank=True)
    webhook_url = models.URLField(blank=True, help_text="Receives a JSON POST when an alert opens or resolves.")
    notify_tickets = models.BooleanField(default=True, help_text="Also send ticket-severity alerts (pages always).")

    class Meta:
        verbose_name = "alert notification settings"
        verbose_name_plural = "alert notification settings"

    def __str__(self):
        return f"Alert settings of {self.team}"


class SLOStatusRecord(models.Model):
    """An SLO's window figures as last computed by the job that changed its data.

    A cache of `selectors.slo_statuses` (the one definition of the numbers) plus the
    alert state at that instant: written by `services.slo_status_refresh` after a push,
    a sync or a backfill, for the SLOs whose windows move (the periodic tick), and when
    an SLO is created or edited. Pages and the API read it, so their cost does not grow
    with the catalog. `sli`, `consumed` and `remaining` are empty when the window has no data.
    """

    slo = models.OneToOneField(SLO, on_delete=models.CASCADE, primary_key=True, related_name="status_record")
    as_of = models.DateTimeField(help_text="The instant the figures were computed for.")
    state = models.CharField(max_length=12, help_text="healthy, at_risk, burning, exhausted or no_data.")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    good = models.FloatField(default=0)
    total = models.FloatField(default=0)
    sli = models.FloatField(null=True, blank=True)
    consumed = models.FloatField(null=True, blank=True)
    remaining = models.FloatField(null=True, blank=True)
    # {window seconds (as text): burn rate or null}
    burn_rates = models.JSONField(default=dict)
    period_hours = models.FloatField(default=0)
    burn_end = models.BigIntegerField(default=0, help_text="Unix s where the burn-rate windows end.")
    open_alerts = models.PositiveSmallIntegerField(default=0)
    alert_severity = models.CharField(max_length=10, blank=True, help_text="The most severe open alert, if any.")

    class Meta:
        verbose_name = "SLO status"
        verbose_name_plural = "SLO statuses"
        indexes = [models.Index(fields=["state", "as_of"], name="slo_status_state_as_of")]

    def __str__(self):
        return f"{self.slo_id}: {self.state} as of {self.as_of:%Y-%m-%d %H:%M}"


class NotificationTarget(TimeStampedModel):
    """An OpenSLO AlertNotificationTarget: a name alerts are routed to.

    Delivery goes through the team's alert settings: a target whose `target` is "email" gets
    the team's e-mail; any other target the team's webhook, whose JSON names the targets.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="notification_targets")
    slug = models.SlugField(max_length=120)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    target = models.CharField(max_length=100, help_text="e.g. email, webhook, slack, pagerduty.")

    class Meta:
        ordering = ["organization", "slug"]
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="uniq_notification_target")]

    def __str__(self):
        return self.name

    @property
    def channel(self) -> str:
        return "email" if self.target.strip().lower() in ("email", "e-mail", "mail") else "webhook"


class AlertPolicy(TimeStampedModel):
    """An OpenSLO AlertPolicy with its one burn-rate AlertCondition (the spec allows one).

    The alert opens when the burn rate over `lookback_window` and over `alert_after`
    (the platform's short window) both pass the threshold.
    """

    class Op(models.TextChoices):
        GT = "gt", "greater than"
        GTE = "gte", "at least"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alert_policies")
    slug = models.SlugField(max_length=120)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    alert_when_breaching = models.BooleanField(default=True)
    alert_when_resolved = models.BooleanField(default=True)
    alert_when_no_data = models.BooleanField(default=False)
    condition_slug = models.SlugField(max_length=120)
    condition_name = models.CharField(max_length=200, blank=True)
    condition_description = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=BurnRateAlert.Severity.choices)
    op = models.CharField(max_length=3, choices=Op.choices, default=Op.GT)
    threshold = models.FloatField(help_text="Burn rate.")
    lookback_window = models.PositiveIntegerField(help_text="Long window, seconds.")
    alert_after = models.PositiveIntegerField(help_text="Short window, seconds.")
    targets = models.ManyToManyField(NotificationTarget, blank=True, related_name="policies")

    class Meta:
        verbose_name_plural = "alert policies"
        ordering = ["organization", "slug"]
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="uniq_alert_policy")]

    def __str__(self):
        return self.name
