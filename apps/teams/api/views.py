from django_filters import rest_framework as filters

from apps.core.api import ServiceModelViewSet

from .. import services
from ..models import Department, Organization, OrgMembership, Service, Team, TeamMembership
from . import serializers

# Each create/update hook calls one service; the service checks the caller's rights.


class OrganizationViewSet(ServiceModelViewSet):
    queryset = Organization.objects.all()
    serializer_class = serializers.OrganizationSerializer
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "created_at"]

    def create_with(self, data):
        return services.organization_create(actor=self.request.user, **data)

    def update_with(self, organization, data):
        return services.organization_update(actor=self.request.user, organization=organization, **data)


class DepartmentViewSet(ServiceModelViewSet):
    queryset = Department.objects.select_related("parent")
    serializer_class = serializers.DepartmentSerializer
    filterset_fields = ["organization", "parent"]
    search_fields = ["name"]
    ordering_fields = ["name"]

    def create_with(self, data):
        return services.department_create(actor=self.request.user, **data)

    def update_with(self, department, data):
        return services.department_update(actor=self.request.user, department=department, **data)


class TeamFilter(filters.FilterSet):
    member = filters.CharFilter(field_name="memberships__user__email", lookup_expr="iexact")

    class Meta:
        model = Team
        fields = ["organization", "department", "member"]


class TeamViewSet(ServiceModelViewSet):
    queryset = Team.objects.select_related("department")
    serializer_class = serializers.TeamSerializer
    filterset_class = TeamFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]

    def create_with(self, data):
        return services.team_create(actor=self.request.user, **data)

    def update_with(self, team, data):
        return services.team_update(actor=self.request.user, team=team, **data)


class OrgMembershipViewSet(ServiceModelViewSet):
    queryset = OrgMembership.objects.select_related("user")
    serializer_class = serializers.OrgMembershipSerializer
    filterset_fields = ["organization", "role"]
    search_fields = ["user__email", "user__name"]

    def create_with(self, data):
        return services.org_membership_set(actor=self.request.user, **data)

    def update_with(self, membership, data):
        return services.org_membership_update(actor=self.request.user, membership=membership, **data)


class TeamMembershipViewSet(ServiceModelViewSet):
    queryset = TeamMembership.objects.select_related("user", "team")
    serializer_class = serializers.TeamMembershipSerializer
    filterset_fields = ["team", "role", "team__organization"]
    search_fields = ["user__email", "user__name"]

    def create_with(self, data):
        return services.team_membership_set(actor=self.request.user, **data)

    def update_with(self, membership, data):
        return services.team_membership_update(actor=self.request.user, membership=membership, **data)


class ServiceViewSet(ServiceModelViewSet):
    queryset = Service.objects.select_related("team")
    serializer_class = serializers.ServiceSerializer
    filterset_fields = ["organization", "team", "tier", "lifecycle"]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "tier", "created_at"]

    def create_with(self, data):
        return services.service_create(actor=self.request.user, **data)

    def update_with(self, service, data):
        return services.service_update(actor=self.request.user, service=service, **data)
