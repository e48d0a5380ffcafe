from django.db.models import Q
from rest_framework import permissions as drf_permissions
from rest_framework import viewsets
from rest_framework.response import Response

from apps.core import permissions
from apps.core.api import ScopedReadOnlyViewSet

from .. import selectors, services
from ..models import Target
from . import serializers


class TargetViewSet(ScopedReadOnlyViewSet):
    """Notification targets (webhook URLs shown without their secret path): org admins and leaders see
    the organization's, team leads their teams'. Added and changed on the targets pages."""

    queryset = Target.objects.select_related("team").order_by("pk")
    serializer_class = serializers.TargetSerializer

    def get_queryset(self):
        user = self.request.user
        qs = super().get_queryset()
        if user.is_superuser:
            return qs
        whole = [oid for oid in permissions.org_ids(user) if permissions.sees_whole_org(user, oid)]
        return qs.filter(Q(organization_id__in=whole) | Q(team_id__in=permissions.team_ids(user, roles=("lead",))))


class PreferenceViewSet(viewsets.ViewSet):
    """The signed-in person's notification preferences: GET lists every kind, POST {kind, enabled} sets one."""

    permission_classes = [drf_permissions.IsAuthenticated]
    serializer_class = serializers.PreferenceSerializer

    def list(self, request):
        rows = [
            {"kind": p["kind"].key, "label": p["kind"].label, "enabled": p["enabled"]}
            for p in selectors.preferences_for(request.user)
        ]
        return Response(rows)

    def create(self, request):
        serializer = serializers.PreferenceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.preference_set(actor=request.user, user=request.user, **serializer.validated_data)
        return self.list(request)
