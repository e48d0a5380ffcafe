from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core import permissions
from apps.core.api import ServiceModelViewSet

from .. import selectors, services
from ..models import Initiative
from . import serializers


class InitiativeViewSet(ServiceModelViewSet):
    """Initiatives: checks, scope and dates; progress from the stored daily points. Org admins and leaders
    write; everyone in the organization reads. `POST …/graduate/ {level}` adds the metric checks to the
    scorecard (org admins); `GET …/progress/` lists the daily points."""

    queryset = selectors.with_scope(Initiative.objects.select_related("organization", "owner"))
    serializer_class = serializers.InitiativeSerializer
    filterset_fields = ["organization", "status"]

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.action == "list":
            page_rows = self.filter_queryset(self.get_queryset())
            context["standings"] = selectors.standings(page_rows)
        return context

    def _fields(self, data: dict) -> dict:
        data = dict(data)
        checks = data.pop("checks", None)
        if checks is not None:
            data["checks"] = [dict(c) for c in checks]
        return data

    def create_with(self, data: dict):
        data = self._fields(data)
        org = data.pop("organization")
        if not permissions.org_role(self.request.user, org):
            raise exceptions.ValidationError({"organization": "No such organization."})
        return services.initiative_create(actor=self.request.user, organization=org, **data)

    def update_with(self, instance, data: dict):
        data = self._fields(data)
        data.pop("organization", None)
        return services.initiative_update(actor=self.request.user, initiative=instance, **data)

    def perform_destroy(self, instance):
        services.initiative_delete(actor=self.request.user, initiative=instance)

    @extend_schema(request=serializers.GraduateSerializer, responses={200: serializers.InitiativeSerializer})
    @action(detail=True, methods=["post"])
    def graduate(self, request, pk=None):
        initiative = self.get_object()
        body = serializers.GraduateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.initiative_graduate(actor=request.user, initiative=initiative, level=body.validated_data["level"])
        initiative.refresh_from_db()
        return Response(self.get_serializer(initiative).data)

    @extend_schema(responses={200: serializers.ProgressPointSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None):
        initiative = self.get_object()
        return Response(serializers.ProgressPointSerializer(initiative.progress.order_by("day"), many=True).data)
