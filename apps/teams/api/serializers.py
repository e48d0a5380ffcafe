from django.contrib.auth import get_user_model
from rest_framework import serializers

from apps.core.api import ScopedPrimaryKeyRelatedField

from ..models import Department, Organization, OrgMembership, Service, Team, TeamMembership

User = get_user_model()


class ModelCleanMixin:
    """Run the model's clean() so cross-org references fail as a 400."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        instance = self.instance or self.Meta.model()
        for key, value in attrs.items():
            setattr(instance, key, value)
        instance.clean()
        return attrs


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class DepartmentSerializer(ModelCleanMixin, serializers.ModelSerializer):
    organization = ScopedPrimaryKeyRelatedField(queryset=Organization.objects.all())
    parent = ScopedPrimaryKeyRelatedField(queryset=Department.objects.all(), allow_null=True, required=False)

    class Meta:
        model = Department
        fields = ["id", "organization", "parent", "name", "slug", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class TeamSerializer(ModelCleanMixin, serializers.ModelSerializer):
    organization = ScopedPrimaryKeyRelatedField(queryset=Organization.objects.all())
    department = ScopedPrimaryKeyRelatedField(queryset=Department.objects.all(), allow_null=True, required=False)
    url = serializers.HyperlinkedIdentityField(view_name="api:team-detail")

    class Meta:
        model = Team
        fields = ["id", "url", "organization", "department", "name", "slug", "description", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class UserSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name"]


class UserByEmailField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="email", queryset=User.objects.filter(is_active=True), **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(str(data).strip().lower())


class OrgMembershipSerializer(serializers.ModelSerializer):
    organization = ScopedPrimaryKeyRelatedField(queryset=Organization.objects.all())
    user = UserByEmailField()

    class Meta:
        model = OrgMembership
        fields = ["id", "organization", "user", "role", "created_at"]
        read_only_fields = ["created_at"]


class TeamMembershipSerializer(serializers.ModelSerializer):
    team = ScopedPrimaryKeyRelatedField(queryset=Team.objects.all())
    user = UserByEmailField()

    class Meta:
        model = TeamMembership
        fields = ["id", "team", "user", "role", "created_at"]
        read_only_fields = ["created_at"]


class ServiceSerializer(ModelCleanMixin, serializers.ModelSerializer):
    organization = ScopedPrimaryKeyRelatedField(queryset=Organization.objects.all())
    team = ScopedPrimaryKeyRelatedField(queryset=Team.objects.all())

    class Meta:
        model = Service
        fields = [
            "id",
            "organization",
            "team",
            "name",
            "slug",
            "description",
            "tier",
            "lifecycle",
            "repository_url",
            "runbook_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
