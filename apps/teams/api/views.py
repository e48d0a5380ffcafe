from django_filters import rest_framework as filters
from rest_framework.exceptions import PermissionDenied

from apps.core.api import ScopedModelViewSet

from .. import services
from ..models import Department, Organization, OrgMembership, Service, Team, TeamMembership
from . import serializers


class OrganizationViewSet(ScopedModelViewSet):
    queryset = Organization.objects.all()
    serializer_class = serializers.OrganizationSerializer
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "created_at"]

    def perform_create(self, serializer):
        if not self.request.user.is_superuser:
            raise PermissionDenied("Only a superuser creates organizations.")
        serializer.save()

    def perform_update(self, serializer):
        # An organization cannot move anywhere: the object permission (org admin) suffices.
        serializer.save()


class DepartmentViewSet(ScopedModelViewSet):
    queryset = Department.objects.select_related("parent")
    serializer_class = serializers.DepartmentSerializer
    filterset_fields = ["organization", "parent"]
    search_fields = ["name"]
    ordering_fields = ["name"]


class TeamFilter(filters.FilterSet):
    member = filters.CharFilter(field_name="memberships__user__email", lookup_expr="iexact")

    class Meta:
        model = Team
        fields = ["organization", "department", "member"]


class TeamViewSet(ScopedModelViewSet):
    queryset = Team.objects.select_related("department")
    serializer_class = serializers.TeamSerializer
    filterset_class = TeamFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]


class OrgMembershipViewSet(ScopedModelViewSet):
    queryset = OrgMembership.objects.select_related("user")
    serializer_class = serializers.OrgMembershipSerializer
    filterset_fields = ["organization", "role"]
    search_fields = ["user__email", "user__name"]

    def save_new(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.org_membership_set(
            organization=data["organization"], user=data["user"], role=data["role"]
        )


class TeamMembershipViewSet(ScopedModelViewSet):
    queryset = TeamMembership.objects.select_related("user", "team")
    serializer_class = serializers.TeamMembershipSerializer
    filterset_fields = ["team", "role", "team__organization"]
    search_fields = ["user__email", "user__name"]

    def save_new(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.team_membership_set(team=data["team"], user=data["user"], role=data["role"])


class ServiceViewSet(ScopedModelViewSet):
    queryset = Service.objects.select_related("team")
    serializer_class = serializers.ServiceSerializer
    filterset_fields = ["organization", "team", "tier", "lifecycle"]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "tier", "created_at"]
