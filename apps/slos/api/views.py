from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core import permissions as perms
from apps.core.api import ScopedReadOnlyViewSet, ServiceModelViewSet, requested_organization

from .. import openslo, selectors, services
from ..models import SLI, SLO, AlertSettings, BurnRateAlert, ErrorBudgetPolicy
from . import serializers


class SLIViewSet(ServiceModelViewSet):
    queryset = SLI.objects.select_related("service__team")
    serializer_class = serializers.SLISerializer
    filterset_fields = ["organization", "service", "service__team", "kind", "source", "sync_state"]
    search_fields = ["name", "slug", "description"]
    ordering_fields = ["name", "slug", "created_at"]

    def create_with(self, data):
        return services.sli_create(actor=self.request.user, **data)

    def update_with(self, instance, data):
        return services.sli_update(actor=self.request.user, sli=instance, **data)

    @extend_schema(request=None, responses={202: OpenApiResponse(description="Sync queued.")})
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        """Queue a Prometheus sync of this SLI now (also after a query error)."""
        sli = self.get_object()
        if sli.source != SLI.Source.PROMETHEUS:
            raise exceptions.ValidationError({"source": "Only Prometheus SLIs are synced."})
        from ..tasks import sync_sli

        sync_sli.delay(sli.pk, force=True)
        return Response({"detail": "Sync queued."}, status=status.HTTP_202_ACCEPTED)


class SLOViewSet(ServiceModelViewSet):
    queryset = SLO.objects.select_related("sli__service__team", "owner", "status_record")
    serializer_class = serializers.SLOSerializer
    filterset_fields = {
        "organization": ["exact"],
        "sli": ["exact"],
        "sli__service": ["exact"],
        "sli__service__team": ["exact"],
        "sli__service__tier": ["exact"],
        "budgeting": ["exact"],
        "window_kind": ["exact"],
    }
    search_fields = ["name", "slug", "description"]
    ordering_fields = ["name", "slug", "target", "created_at"]

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        context = {**self.get_serializer_context(), "statuses": selectors.stored_statuses(rows)}
        data = self.get_serializer_class()(rows, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def create_with(self, data):
        return services.slo_create(actor=self.request.user, **data)

    def update_with(self, instance, data):
        return services.slo_update(actor=self.request.user, slo=instance, **data)

    def perform_destroy(self, instance):
        services.slo_delete(actor=self.request.user, slo=instance)


class ErrorBudgetPolicyViewSet(ServiceModelViewSet):
    queryset = ErrorBudgetPolicy.objects.select_related("team", "slo")
    serializer_class = serializers.ErrorBudgetPolicySerializer
    filterset_fields = ["team", "slo"]

    def create_with(self, data):
        return services.policy_set(
            actor=self.request.user,
            team=data["team"],
            slo=data.get("slo"),
            name=data.get("name", "Error budget policy"),
            steps=data["steps"],
            notes=data.get("notes", ""),
        )

    def update_with(self, instance, data):
        return services.policy_update(actor=self.request.user, policy=instance, **data)


class BurnRateAlertFilterMixin:
    @extend_schema(
        parameters=[OpenApiParameter("open", OpenApiTypes.BOOL, description="Only open (true) or resolved (false).")]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class BurnRateAlertViewSet(BurnRateAlertFilterMixin, ScopedReadOnlyViewSet):
    """Burn-rate alerts with their open/resolve history (opened and resolved by the evaluation)."""

    queryset = BurnRateAlert.objects.select_related("slo")
    serializer_class = serializers.BurnRateAlertSerializer
    filterset_fields = ["slo", "severity", "slo__sli__service__team"]
    ordering_fields = ["opened_at", "resolved_at"]

    def get_queryset(self):
        qs = super().get_queryset()
        flag = self.request.query_params.get("open")
        if flag in ("true", "1"):
            qs = qs.filter(resolved_at__isnull=True)
        elif flag in ("false", "0"):
            qs = qs.filter(resolved_at__isnull=False)
        return qs


class AlertSettingsViewSet(ServiceModelViewSet):
    queryset = AlertSettings.objects.select_related("team")
    serializer_class = serializers.AlertSettingsSerializer
    filterset_fields = ["team"]

    def create_with(self, data):
        return services.alert_settings_set(actor=self.request.user, **data)

    def update_with(self, instance, data):
        return services.alert_settings_update(actor=self.request.user, settings_row=instance, **data)


class SamplePushViewSet(viewsets.ViewSet):
    """Push SLI samples in bulk: at most 10,000 per request (413 above), all stored or none."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=serializers.SamplePushSerializer,
        responses={
            201: serializers.SamplePushResultSerializer,
            400: OpenApiResponse(description="A sample is invalid; the errors name it, e.g. samples[3].good."),
            403: OpenApiResponse(description="You may not push to one of the SLIs."),
            413: OpenApiResponse(description="More than 10,000 samples."),
        },
    )
    def create(self, request):
        try:
            body = request.data
        except RequestDataTooBig:
            return Response(
                {"detail": "The request body is too large."}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            )
        items = body.get("samples") if isinstance(body, dict) else body
        try:
            result = services.samples_push(actor=request.user, items=items)
        except services.PayloadTooLarge as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc))
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
        return Response(result, status=status.HTTP_201_CREATED)


class OpenSLOViewSet(viewsets.ViewSet):
    """OpenSLO v1 YAML of the catalog: export what you can see, import what you may change."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("organization", OpenApiTypes.INT, description="Organization id (default: current)."),
            OpenApiParameter("team", OpenApiTypes.INT, description="Only this team's SLOs."),
        ],
        responses={(200, "application/yaml"): OpenApiTypes.STR},
    )
    @action(detail=False, methods=["get"])
    def export(self, request):
        org = requested_organization(request)
        qs = perms.viewable(request.user, SLO.objects.filter(organization=org)).select_related("sli__service", "owner")
        team = request.query_params.get("team")
        if team and team.isdigit():
            qs = qs.filter(sli__service__team_id=int(team))
        return HttpResponse(openslo.export_documents(list(qs)), content_type="application/yaml; charset=utf-8")

    @extend_schema(
        parameters=[
            OpenApiParameter("organization", OpenApiTypes.INT, description="Organization id."),
            OpenApiParameter("dry_run", OpenApiTypes.BOOL, description="Say what would change; write nothing."),
        ],
        request={
            "application/json": serializers.OpenSLOImportSerializer,
            "application/yaml": OpenApiTypes.STR,
        },
        responses={
            200: serializers.OpenSLOImportResultSerializer,
            400: OpenApiResponse(description="The path of the bad field and what is wrong with it."),
        },
    )
    @action(detail=False, methods=["post"], url_path="import", url_name="import")
    def import_(self, request):
        org = requested_organization(request)
        if not perms.org_role(request.user, org):
            raise exceptions.NotFound("No such organization.")
        if request.content_type and request.content_type.split(";")[0] in (
            "application/yaml",
            "text/yaml",
            "text/plain",
        ):
            text = request.body.decode("utf-8", errors="replace")
        else:
            data = serializers.OpenSLOImportSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            text = data.validated_data["document"]
        try:
            result = openslo.import_documents(
                user=request.user,
                organization=org,
                text=text,
                dry_run=request.query_params.get("dry_run", "").lower() in ("1", "true", "yes"),
            )
        except openslo.OpenSLOError as exc:
            raise exceptions.ValidationError({exc.path: [exc.message]})
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc))
        return Response(result.as_dict())
