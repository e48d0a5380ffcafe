from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api import ScopedPrimaryKeyRelatedField
from apps.teams.models import Organization, Service, Team

from .. import metrics
from ..models import Change, Deployment, IncidentDeploymentLink, Integration, ServiceMapping


class ServiceMappingSerializer(serializers.ModelSerializer):
    service = ScopedPrimaryKeyRelatedField(queryset=Service.objects.all())

    class Meta:
        model = ServiceMapping
        fields = ["key", "service"]


class IntegrationSerializer(serializers.ModelSerializer):
    organization = ScopedPrimaryKeyRelatedField(queryset=Organization.objects.all())
    team = ScopedPrimaryKeyRelatedField(queryset=Team.objects.all(), allow_null=True, required=False)
    mappings = ServiceMappingSerializer(many=True, required=False)
    intake_url = serializers.SerializerMethodField()
    production_environments = serializers.ListField(
        child=serializers.CharField(max_length=100), allow_empty=False, required=False
    )

    class Meta:
        model = Integration
        fields = [
            "id",
            "organization",
            "team",
            "name",
            "kind",
            "intake_url",
            "production_environments",
            "deploy_workflow",
            "deploy_job",
            "deploy_branch",
            "is_active",
            "mappings",
            "secret_rotated_at",
            "last_delivery_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["secret_rotated_at", "last_delivery_at", "created_at", "updated_at"]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_intake_url(self, obj) -> str | None:
        """Only for those who may change the integration (as on its page): readers get null."""
        from django.urls import reverse

        from apps.core import permissions

        request = self.context.get("request")
        if request is not None and not permissions.can_change(request.user, obj):
            return None
        path = reverse("delivery:intake", args=[obj.token])
        return request.build_absolute_uri(path) if request else path

    def validate(self, attrs):
        if self.instance is not None and "kind" in attrs and attrs["kind"] != self.instance.kind:
            raise serializers.ValidationError({"kind": "The kind of an integration cannot change; add a new one."})
        if (
            self.instance is not None
            and "organization" in attrs
            and attrs["organization"] != self.instance.organization
        ):
            raise serializers.ValidationError({"organization": "An integration stays in its organization."})
        return attrs


class IntegrationCreateSerializer(IntegrationSerializer):
    secret = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=200, help_text="Leave out to generate one."
    )

    class Meta(IntegrationSerializer.Meta):
        fields = [*IntegrationSerializer.Meta.fields, "secret"]


class IntegrationSecretSerializer(serializers.Serializer):
    """The answer to creating an integration or rotating its secret: the only time the secret is shown."""

    id = serializers.IntegerField(read_only=True)
    intake_url = serializers.URLField(read_only=True)
    secret = serializers.CharField(read_only=True)


class RotateSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Change
        fields = [
            "id",
            "organization",
            "team",
            "service",
            "repository",
            "sha",
            "message",
            "author",
            "url",
            "committed_at",
            "source",
            "parent_sha",
            "shipped_by",
            "shipped_at",
            "lead_time_seconds",
            "shipped_estimated",
        ]
        read_only_fields = ["parent_sha", "shipped_by", "shipped_at", "lead_time_seconds", "shipped_estimated"]


class DeploymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Deployment
        fields = [
            "id",
            "organization",
            "team",
            "service",
            "source",
            "external_id",
            "repository",
            "environment",
            "is_production",
            "status",
            "sha",
            "ref",
            "url",
            "started_at",
            "finished_at",
            "rework_marked",
        ]
        read_only_fields = ["rework_marked"]


class ReworkMarkSerializer(serializers.Serializer):
    rework = serializers.BooleanField(
        allow_null=True, help_text="true: an unplanned fix; false: not one; null: back to the rules."
    )


class IncidentDeploymentLinkSerializer(serializers.ModelSerializer):
    deployment = ScopedPrimaryKeyRelatedField(queryset=Deployment.objects.all(), allow_null=True, required=False)
    automatic = serializers.BooleanField(
        write_only=True, required=False, default=False, help_text="Go back to the default rule."
    )

    class Meta:
        model = IncidentDeploymentLink
        fields = ["id", "incident", "deployment", "method", "set_by", "note", "automatic", "updated_at"]
        read_only_fields = ["incident", "method", "set_by", "updated_at"]


class TierValueSerializer(serializers.Serializer):
    # A plain string (not an enum component): "tier" is also the service tier (1-3) elsewhere in the schema.
    tier = serializers.CharField(allow_null=True, help_text="elite, high, medium or low; null without data.")


class FrequencySerializer(TierValueSerializer):
    per_day = serializers.FloatField(allow_null=True)
    deployments = serializers.IntegerField()
    days_per_week = serializers.FloatField(allow_null=True)
    days_per_month = serializers.FloatField(allow_null=True)


class LeadTimeSerializer(TierValueSerializer):
    median = serializers.FloatField(allow_null=True, help_text="Hours.")
    changes = serializers.IntegerField(help_text="Shipped commits behind the median.")
    estimated = serializers.IntegerField(
        help_text="Of those, how many were attributed by the time rule (the deployed sha was unknown): "
        "the figure is an estimate when this is above 0."
    )


class FailureRateSerializer(TierValueSerializer):
    value = serializers.FloatField(allow_null=True, help_text="0-1.")
    failed = serializers.IntegerField()
    deployments = serializers.IntegerField()


class RecoverySerializer(TierValueSerializer):
    median = serializers.FloatField(allow_null=True, help_text="Hours.")
    recoveries = serializers.IntegerField(help_text="Recovered change failures behind the median.")


class ReworkSerializer(TierValueSerializer):
    value = serializers.FloatField(allow_null=True, help_text="0-1; DORA gives no tiers, so tier is always null.")
    rework = serializers.IntegerField()
    deployments = serializers.IntegerField()


class DoraKeysSerializer(serializers.Serializer):
    """DORA's 2024 set. Throughput: deployment_frequency, lead_time_hours, recovery_time_hours;
    instability: change_failure_rate, deployment_rework_rate (`groups` names them)."""

    deployment_frequency = FrequencySerializer()
    lead_time_hours = LeadTimeSerializer()
    recovery_time_hours = RecoverySerializer()
    change_failure_rate = FailureRateSerializer()
    deployment_rework_rate = ReworkSerializer()
    time_to_restore_hours = RecoverySerializer(
        source="recovery_time_hours",
        help_text="Deprecated alias of recovery_time_hours (DORA's earlier name), kept for this API version.",
    )
    groups = serializers.SerializerMethodField()

    def get_groups(self, obj) -> dict[str, list[str]]:
        return {name: list(keys) for name, keys in metrics.GROUPS.items()}


class TeamDoraSerializer(serializers.Serializer):
    team = serializers.IntegerField()
    name = serializers.CharField()
    window_days = serializers.IntegerField()
    until = serializers.DateField()
    keys = DoraKeysSerializer()


class ServiceDoraSerializer(serializers.Serializer):
    service = serializers.IntegerField()
    team = serializers.IntegerField()
    name = serializers.CharField()
    window_days = serializers.IntegerField()
    until = serializers.DateField()
    keys = DoraKeysSerializer()
