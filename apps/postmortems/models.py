"""Incidents, blameless postmortems, their timeline, contributing factors and action items."""

import re

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse

from apps.core.models import TimeStampedModel
from apps.core.validation import foreign_message

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
    # None only for a source incident whose start was not told yet (a PagerDuty resolve that came
    # before its trigger and carried no created_at); the trigger fills it in, whatever the order.
    started_at = models.DateTimeField(null=True, blank=True, help_text="When users started to be affected.")
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
        ordering = [models.F("started_at").desc(nulls_last=True), "-pk"]
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
    def start_unknown(self) -> bool:
        return self.started_at is None

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
            errors["team"] = foreign_message("The team")
        if self.source == self.Source.MANUAL and self.external_id:
            errors["external_id"] = "A manual incident has no external id."
        errors.update(
            time_order_errors(
                {name: getattr(self, name) for name in TIME_ORDER},
                start_required=self.source in (self.Source.MANUAL, self.Source.API),
            )
        )
        if self.status == self.Status.RESOLVED and not self.resolved_at and "resolved_at" not in errors:
            errors["resolved_at"] = "A resolved incident needs the time it was resolved."
        if self.resolved_at and self.status != self.Status.RESOLVED and "status" not in errors:
            errors["status"] = "An incident with a resolved time is resolved."
        if errors:
            raise ValidationError(errors)


def time_order_errors(times: dict, *, start_required: bool = True) -> dict[str, str]:
    """Started <= detected <= mitigated <= resolved, over the times that are set.

    `start_required=False`: an alert source's incident may not know its start yet.

    Returns {field: message} naming the first field that comes too early."""
    errors: dict[str, str] = {}
    previous_name, previous = None, None
    labels = {
        "started_at": "started",
        "detected_at": "detected",
        "mitigated_at": "mitigated",
        "resolved_at": "resolved",
    }
    if start_required and times.get("started_at") is None:
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


# --- postmortems ----------------------------------------------------------------


class PostmortemTemplate(TimeStampedModel):
    """The prompts a new postmortem starts from, chosen by the incident's severity, and the
    publish-by policy for those severities. Rows without an organization are the defaults
    every org gets; an org's own template for the same severity wins."""

    organization = models.ForeignKey(
        "teams.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="postmortem_templates"
    )
    name = models.CharField(max_length=120)
    min_severity = models.PositiveSmallIntegerField(choices=Incident.Severity.choices, default=1)
    max_severity = models.PositiveSmallIntegerField(choices=Incident.Severity.choices, default=5)
    publish_within_business_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Publish-by policy: business days after resolution (blank: no deadline)."
    )
    summary = models.TextField(blank=True)
    impact = models.TextField(blank=True)
    root_causes = models.TextField(blank=True)
    trigger = models.TextField(blank=True)
    detection = models.TextField(blank=True)
    resolution = models.TextField(blank=True)
    went_well = models.TextField(blank=True)
    went_wrong = models.TextField(blank=True)
    got_lucky = models.TextField(blank=True)

    class Meta:
        ordering = ["organization_id", "min_severity"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_severity__lte=models.F("max_severity")), name="pm_template_severity_range"
            )
        ]

    def __str__(self):
        return f"{self.name} (SEV{self.min_severity}-SEV{self.max_severity})"

    def clean(self):
        if self.min_severity and self.max_severity and self.min_severity > self.max_severity:
            raise ValidationError({"max_severity": "The range ends before it starts."})


class ContributingFactorCategory(TimeStampedModel):
    """The catalogue factors are filed under (organization blank: the default catalogue)."""

    organization = models.ForeignKey(
        "teams.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="factor_categories"
    )
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "contributing factor categories"
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="uniq_factor_category_slug")]

    def __str__(self):
        return self.name


# A tag is one word or words joined by single hyphens, lower case: "third-party", "dns".
TAG_MAX_LENGTH = 50
TAG_RULE = (
    f"lowercase letters and digits, words joined by single hyphens (e.g. third-party), "
    f"at most {TAG_MAX_LENGTH} characters"
)
_TAG_PATTERN = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


def normalize_tag(raw) -> str:
    """What a person typed, as the tag it names: capitals don't matter and spaces between
    words become one hyphen ("Capacity Planning" is capacity-planning). Nothing else is
    rewritten: other characters make the tag invalid."""
    return "-".join(str(raw).lower().split())


def _tag_error(typed: str) -> ValidationError:
    return ValidationError(f"“{typed}” is not a valid tag: use {TAG_RULE}.", code="invalid_tag")


def validate_tag_name(value: str) -> None:
    if len(value) > TAG_MAX_LENGTH or value != value.lower() or not _TAG_PATTERN.fullmatch(value):
        raise _tag_error(value)


def clean_tag_names(names) -> list[str]:
    """Tag names as typed -> normalized, de-duplicated names; every name breaking the rule
    is reported (never silently rewritten into another tag)."""
    clean, errors = [], []
    for raw in names:
        name = normalize_tag(raw)
        if not name or name in clean:
            continue
        try:
            validate_tag_name(name)
        except ValidationError:
            errors.extend(_tag_error(str(raw).strip()).messages)  # as typed, not as normalized
        else:
            clean.append(name)
    if errors:
        raise ValidationError(errors)
    return clean


class Tag(models.Model):
    organization = models.ForeignKey("teams.Organization", on_delete=models.CASCADE, related_name="postmortem_tags")
    name = models.SlugField(max_length=TAG_MAX_LENGTH, allow_unicode=True, validators=[validate_tag_name])

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="uniq_postmortem_tag")]

    def __str__(self):
        return self.name


# The Markdown fields of a postmortem, in the order the page shows them.
MARKDOWN_FIELDS = (
    "summary",
    "impact",
    "root_causes",
    "trigger",
    "detection",
    "resolution",
    "went_well",
    "went_wrong",
    "got_lucky",
)


class Postmortem(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"

    organization = models.ForeignKey("teams.Organization", on_delete=models.CASCADE, related_name="postmortems")
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="postmortems")
    incident = models.OneToOneField(Incident, on_delete=models.PROTECT, related_name="postmortem")
    template = models.ForeignKey(PostmortemTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    authors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="authored_postmortems", blank=True)
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="PostmortemReview", related_name="reviewed_postmortems", blank=True
    )
    summary = models.TextField(blank=True)
    impact = models.TextField(blank=True, help_text="Who was affected and how.")
    users_affected = models.PositiveIntegerField(null=True, blank=True)
    root_causes = models.TextField(blank=True)
    trigger = models.TextField(blank=True)
    detection = models.TextField(blank=True)
    resolution = models.TextField(blank=True)
    went_well = models.TextField("What went well", blank=True)
    went_wrong = models.TextField("What went wrong", blank=True)
    got_lucky = models.TextField("Where we got lucky", blank=True)
    tags = models.ManyToManyField(Tag, related_name="postmortems", blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    publish_due_on = models.DateField(null=True, blank=True, help_text="From the publish-by policy.")
    # PostgreSQL full-text search document (weighted); kept by services.postmortem_reindex.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = [models.F("incident__started_at").desc(nulls_last=True), "-pk"]
        indexes = [
            models.Index(fields=["organization", "status"], name="pm_org_status"),
            models.Index(fields=["team", "status"], name="pm_team_status"),
            GinIndex(fields=["search_vector"], name="pm_search_vector_gin"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("postmortems:detail", args=[self.pk])

    @property
    def is_overdue(self) -> bool:
        from django.utils import timezone

        if self.publish_due_on is None:
            return False
        if self.status == self.Status.PUBLISHED:
            return bool(self.published_at and timezone.localdate(self.published_at) > self.publish_due_on)
        return timezone.localdate() > self.publish_due_on


class TimelineEntry(TimeStampedModel):
    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField()
    description = models.TextField(help_text="Markdown.")

    class Meta:
        ordering = ["at", "pk"]
        verbose_name_plural = "timeline entries"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.description[:60]}"


class ContributingFactor(TimeStampedModel):
    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="factors")
    category = models.ForeignKey(ContributingFactorCategory, on_delete=models.PROTECT, related_name="factors")
    description = models.TextField(help_text="Markdown.")
    is_root_cause = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_root_cause", "pk"]

    def __str__(self):
        return f"{self.category}: {self.description[:60]}"


class SupportingLink(models.Model):
    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="links")
    title = models.CharField(max_length=200)
    url = models.URLField(max_length=500)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.title


class PostmortemReview(TimeStampedModel):
    """A named reviewer and where they stand on the current revision."""

    class Decision(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="postmortem_reviews")
    decision = models.CharField(max_length=20, choices=Decision.choices, default=Decision.PENDING)
    comment = models.TextField(blank=True, help_text="Markdown.")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["postmortem", "reviewer"], name="uniq_postmortem_reviewer")]

    def __str__(self):
        return f"{self.reviewer} · {self.get_decision_display()}"


class PostmortemEvent(models.Model):
    """The workflow history: who submitted, approved, asked for changes, published."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        SUBMITTED = "submitted", "Submitted for review"
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Asked for changes"
        WITHDRAWN = "withdrawn", "Withdrawn from review"
        PUBLISHED = "published", "Published"

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    comment = models.TextField(blank=True, help_text="Markdown.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} by {self.actor}"


# --- action items ---------------------------------------------------------------


class ActionItem(TimeStampedModel):
    class Kind(models.TextChoices):
        PREVENT = "prevent", "Prevent"
        MITIGATE = "mitigate", "Mitigate"
        DETECT = "detect", "Detect"
        PROCESS = "process", "Process"

    class Priority(models.IntegerChoices):
        P1 = 1, "P1 (urgent)"
        P2 = 2, "P2 (high)"
        P3 = 3, "P3 (medium)"
        P4 = 4, "P4 (low)"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        WONT_DO = "wont_do", "Won't do"

    CLOSED = (Status.DONE, Status.WONT_DO)

    organization = models.ForeignKey("teams.Organization", on_delete=models.CASCADE, related_name="action_items")
    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="action_items")
    team = models.ForeignKey(
        "teams.Team", on_delete=models.PROTECT, related_name="action_items", help_text="The team that owns the work."
    )
    title = models.CharField(max_length=300)
    kind = models.CharField("Type", max_length=10, choices=Kind.choices, default=Kind.PREVENT)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.P2)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="action_items"
    )
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    tracker_url = models.URLField("Tracker link", max_length=500, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "due_date", "priority", "pk"]
        indexes = [
            models.Index(fields=["organization", "status", "due_date"], name="ai_org_status_due"),
            models.Index(fields=["team", "due_date"], name="ai_team_due"),
        ]

    def __str__(self):
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status not in self.CLOSED

    @property
    def is_overdue(self) -> bool:
        from django.utils import timezone

        return self.is_open and self.due_date is not None and self.due_date < timezone.localdate()

    @property
    def closed_on_time(self) -> bool | None:
        if self.status != self.Status.DONE or self.due_date is None or self.closed_at is None:
            return None
        from django.utils import timezone

        return timezone.localdate(self.closed_at) <= self.due_date
