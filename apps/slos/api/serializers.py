from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api import ScopedPrimaryKeyRelatedField
from apps.teams.models import Service, Team

from .. import maths
from ..models import SLI, SLO, AlertSettings, BurnRateAlert, ErrorBudgetPolicy

User = get_user_model()


class SLISerializer(serializers.ModelSerializer):
    service = ScopedPrimaryKeyRelatedField(queryset=Service.objects.all())
    slug = serializers.SlugField(max_length=120, required=False)

    class Meta:
        model = SLI
        fields = [
            "id",
            "organization",
            "service",
            "name",
            "slug",
            "description",
            "kind",
            "source",
            "prometheus_url",
            "good_query",
            "total_query",
            "sync_state",
            "sync_cursor",
            "last_synced_at",
            "last_error",
            "last_error_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "organization",
            "sync_state",
            "sync_cursor",
            "last_synced_at",
            "last_error",
            "last_error_at",
            "created_at",
            "updated_at",
        ]
        # Uniqueness is checked by the service (slugs are derived when missing).
        validators = []


class BudgetSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["healthy", "at_risk", "burning", "exhausted", "no_data"])
    as_of = serializers.DateTimeField(help_text="When these figures were computed (they are stored, not live).")
    open_alerts = serializers.IntegerField()
    alert_severity = serializers.ChoiceField(choices=["page", "ticket"], allow_null=True)
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    good = serializers.FloatField(help_text="Good events (good slices for timeslices) in the window.")
    total = serializers.FloatField(help_text="All events (slices with data for timeslices) in the window.")
    sli = serializers.FloatField(allow_null=True, help_text="Null when the window has no data.")
    consumed = serializers.FloatField(allow_null=True)
    remaining = serializers.FloatField(allow_null=True, help_text="May be negative.")
    burn_rates = serializers.DictField(child=serializers.FloatField(allow_null=True), help_text="Window -> burn rate.")


def status_data(status) -> dict:
    return {
        "state": status.state,
        "as_of": status.as_of,
        "open_alerts": status.open_alerts,
        "alert_severity": status.alert_severity or None,
        "window_start": status.window_start,
        "window_end": status.window_end,
        "good": status.good,
        "total": status.total,
        "sli": status.sli,
        "consumed": status.consumed,
        "remaining": status.remaining,
        "burn_rates": {maths.duration_label(w): v for w, v in status.burn_rates.items()},
    }


class SLOSerializer(serializers.ModelSerializer):
    sli = ScopedPrimaryKeyRelatedField(queryset=SLI.objects.all())
    owner = serializers.SlugRelatedField(
        slug_field="email", queryset=User.objects.filter(is_active=True), allow_null=True, required=False
    )
    slug = serializers.SlugField(max_length=120, required=False)
    budget = serializers.SerializerMethodField()

    class Meta:
        model = SLO
        fields = [
            "id",
            "organization",
            "sli",
            "name",
            "slug",
            "description",
            "owner",
            "target",
            "window_kind",
            "window_days",
            "calendar_unit",
            "calendar_timezone",
            "calendar_start",
            "budgeting",
            "timeslice_seconds",
            "timeslice_target",
            "alerting",
            "budget",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["organization", "created_at", "updated_at"]
        validators = []

    @extend_schema_field(BudgetSerializer)
    def get_budget(self, obj):
        statuses = self.context.get("statuses")
        if statuses is None or statuses.get(obj.pk) is None:
            from ..selectors import ensure_stored, stored_statuses

            ensure_stored(SLO.objects.filter(pk=obj.pk))
            obj = SLO.objects.select_related("status_record").get(pk=obj.pk)
            statuses = stored_statuses([obj])
        return status_data(statuses[obj.pk])


class ErrorBudgetPolicySerializer(serializers.ModelSerializer):
    team = ScopedPrimaryKeyRelatedField(queryset=Team.objects.all())
    slo = ScopedPrimaryKeyRelatedField(queryset=SLO.objects.all(), allow_null=True, required=False)

    class Meta:
        model = ErrorBudgetPolicy
        fields = ["id", "team", "slo", "name", "steps", "notes", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators = []

    def validate(self, attrs):
        attrs = super().validate(attrs)
        steps = attrs.get("steps", getattr(self.instance, "steps", None))
        try:
            attrs["steps"] = maths.validate_policy_steps(steps)
        except ValueError as exc:
            raise serializers.ValidationError({"steps": str(exc)})
        team = attrs.get("team", getattr(self.instance, "team", None))
        slo = attrs.get("slo", getattr(self.instance, "slo", None))
        if slo is not None and team is not None and slo.sli.service.team_id != team.pk:
            raise serializers.ValidationError({"slo": "The SLO belongs to another team's service."})
        return attrs


class BurnRateAlertSerializer(serializers.ModelSerializer):
    long_window_label = serializers.SerializerMethodField()
    short_window_label = serializers.SerializerMethodField()

    class Meta:
        model = BurnRateAlert
        fields = [
            "id",
            "slo",
            "severity",
            "long_window",
            "short_window",
            "long_window_label",
            "short_window_label",
            "factor",
            "opened_at",
            "resolved_at",
            "long_burn_rate",
            "short_burn_rate",
            "peak_burn_rate",
            "notified_open_at",
            "notified_resolved_at",
        ]
        read_only_fields = fields

    def get_long_window_label(self, obj) -> str:
        return maths.duration_label(obj.long_window)

    def get_short_window_label(self, obj) -> str:
        return maths.duration_label(obj.short_window)


class AlertSettingsSerializer(serializers.ModelSerializer):
    team = ScopedPrimaryKeyRelatedField(queryset=Team.objects.all())

    class Meta:
        model = AlertSettings
        fields = ["id", "team", "email", "webhook_url", "notify_tickets", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators = []


class SampleSerializer(serializers.Serializer):
    sli = serializers.IntegerField(help_text="SLI id (a pushed SLI).")
    timestamp = serializers.DateTimeField(help_text="Start of the 5-minute bucket (ISO 8601 with zone, or Unix s).")
    good = serializers.FloatField(min_value=0)
    total = serializers.FloatField(min_value=0)


class SamplePushSerializer(serializers.Serializer):
    samples = SampleSerializer(many=True, help_text="At most 10,000 samples; all are stored or none.")


class SamplePushResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    slis = serializers.ListField(child=serializers.IntegerField())


class OpenSLOImportSerializer(serializers.Serializer):
    document = serializers.CharField(help_text="OpenSLO v1 YAML (multi-document).", trim_whitespace=False)


class OpenSLOImportResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(help_text="True: nothing was written (?dry_run=true).")
    created = serializers.ListField(child=serializers.CharField())
    updated = serializers.ListField(child=serializers.CharField())
    unchanged = serializers.ListField(child=serializers.CharField())
    ignored = serializers.ListField(
        child=serializers.CharField(), help_text="Fields accepted but not used, with their paths and why."
    )
    notes = serializers.ListField(
        child=serializers.CharField(), help_text="Conversions, e.g. a non-Prometheus source kept as pushed samples."
    )
