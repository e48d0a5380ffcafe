from rest_framework import serializers

from apps.core.api import ScopedPrimaryKeyRelatedField
from apps.teams.models import Organization, Team

from ..models import Check, Exemption, ExemptionEvent, Scorecard, ScoringRun, Snapshot


class CheckSerializer(serializers.ModelSerializer):
    class Meta:
        model = Check
        fields = [
            "id",
            "key",
            "level",
            "name",
            "metric",
            "operator",
            "value",
            "when_missing",
            "hint",
            "order",
            "informational_until",
        ]
        read_only_fields = fields


class ScorecardSerializer(serializers.ModelSerializer):
    checks = CheckSerializer(many=True, read_only=True)

    class Meta:
        model = Scorecard
        fields = [
            "id",
            "organization",
            "name",
            "weight_self_assessment",
            "weight_delivery",
            "weight_reliability",
            "weight_learning",
            "gap_threshold",
            "checks",
            "updated_at",
        ]
        read_only_fields = ["id", "organization", "checks", "updated_at"]


class ScorecardEnsureSerializer(serializers.Serializer):
    organization = ScopedPrimaryKeyRelatedField(queryset=Organization.objects.all())


class SnapshotSerializer(serializers.ModelSerializer):
    level_name = serializers.CharField(read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)
    pillars_measured = serializers.IntegerField(
        source="measured", read_only=True, help_text="How many of the four pillars have evidence (0: not yet measured)."
    )
    exemption_rate = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="Share (0-1) of the applicable checks passed only by exemption; null: no applicable check.",
    )
    level_when_applied = serializers.IntegerField(
        read_only=True, help_text="The level once the checks in their grace period apply."
    )

    class Meta:
        model = Snapshot
        fields = [
            "id",
            "organization",
            "team",
            "team_name",
            "date",
            "level",
            "level_name",
            "overall",
            "self_assessment",
            "delivery",
            "reliability",
            "learning",
            "pillars_measured",
            "exemption_rate",
            "level_when_applied",
            "weights",
            "checks",
            "gaps",
            "recommendations",
            "inputs",
            "updated_at",
        ]
        read_only_fields = fields


class ExemptionEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)

    class Meta:
        model = ExemptionEvent
        fields = ["action", "actor", "note", "expires_on", "created_at"]
        read_only_fields = fields


class ExemptionSerializer(serializers.ModelSerializer):
    team = ScopedPrimaryKeyRelatedField(queryset=Team.objects.all())
    level_check = ScopedPrimaryKeyRelatedField(queryset=Check.objects.all())
    requested_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    decided_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    events = ExemptionEventSerializer(many=True, read_only=True)

    class Meta:
        model = Exemption
        fields = [
            "id",
            "team",
            "level_check",
            "status",
            "reason",
            "justification",
            "expires_on",
            "requested_by",
            "decided_by",
            "decided_at",
            "events",
            "created_at",
        ]
        read_only_fields = ["id", "status", "justification", "requested_by", "decided_by", "decided_at", "created_at"]
        # Asking again while a request is open returns it (services.exemption_request), not a 400.
        validators = []


class ExemptionDecisionSerializer(serializers.Serializer):
    justification = serializers.CharField(max_length=2000)
    expires_on = serializers.DateField(required=False, allow_null=True)


class ScoringRunSerializer(serializers.ModelSerializer):
    organization = ScopedPrimaryKeyRelatedField(queryset=Organization.objects.all())
    requested_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)

    class Meta:
        model = ScoringRun
        fields = [
            "id",
            "organization",
            "as_of",
            "status",
            "trigger",
            "requested_by",
            "teams_scored",
            "started_at",
            "finished_at",
            "error",
            "created_at",
        ]
        read_only_fields = [f for f in fields if f != "organization"]


class ComparisonTeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ComparisonColumnSerializer(serializers.Serializer):
    team = ComparisonTeamSerializer()
    date = serializers.DateField(allow_null=True)
    level = serializers.IntegerField(allow_null=True)
    overall = serializers.FloatField(allow_null=True)
    pillars = serializers.DictField(child=serializers.FloatField(allow_null=True))
    pillars_measured = serializers.IntegerField(help_text="How many of the four pillars have evidence.")
    dora = serializers.JSONField(allow_null=True)
    reliability = serializers.JSONField(allow_null=True)
    calms = serializers.DictField(child=serializers.FloatField(allow_null=True), allow_null=True)
    gaps = serializers.ListField(child=serializers.DictField())
