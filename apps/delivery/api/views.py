from datetime import UTC, datetime, time, timedelta

from django.db.models import Exists, OuterRef, Q
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core import permissions
from apps.core.api import RolePermission, ScopedModelViewSet, ScopedReadOnlyViewSet
from apps.teams.models import Service, Team

from .. import selectors, services
from ..models import Change, Deployment, IncidentDeploymentLink, Integration
from . import serializers

WINDOW_PARAMS = [
    OpenApiParameter("window", OpenApiTypes.INT, description="Days (default 90, at most 730)."),
    OpenApiParameter("until", OpenApiTypes.DATE, description="Last day of the window (default today, UTC)."),
]


class IntegrationViewSet(ScopedModelViewSet):
    """Sources of delivery evidence. The secret is returned once, on create and rotate-secret."""

    queryset = Integration.objects.select_related("team").prefetch_related("mappings")
    serializer_class = serializers.IntegrationSerializer
    filterset_fields = ["organization", "team", "kind", "is_active"]
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]

    def get_serializer_class(self):
        return serializers.IntegrationCreateSerializer if self.action == "create" else super().get_serializer_class()

    @extend_schema(
        request=serializers.IntegrationCreateSerializer, responses={201: serializers.IntegrationSecretSerializer}
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        integration = serializer.instance
        return Response(
            {
                "id": integration.pk,
                "intake_url": serializer.get_intake_url(integration),
                "secret": serializer.secret_plaintext,
            },
            status=status.HTTP_201_CREATED,
        )

    def save_new(self, serializer):
        data = serializer.validated_data
        integration, secret = services.integration_create(
            actor=self.request.user,
            organization=data["organization"],
            team=data.get("team"),
            name=data["name"],
            kind=data["kind"],
            production_environments=data.get("production_environments"),
            secret=data.get("secret") or None,
            mappings={m["key"]: m["service"] for m in data["mappings"]} if data.get("mappings") else None,
            **{f: data[f] for f in services.PATTERN_FIELDS if f in data},
        )
        serializer.instance = integration
        serializer.secret_plaintext = secret

    def save_existing(self, serializer):
        instance = serializer.instance
        data = serializer.validated_data
        services.integration_update(
            actor=self.request.user,
            integration=instance,
            name=data.get("name"),
            production_environments=data.get("production_environments"),
            is_active=data.get("is_active"),
            **({"team": data["team"]} if "team" in data else {}),
            mappings={m["key"]: m["service"] for m in data["mappings"]} if "mappings" in data else None,
            **{f: data[f] for f in services.PATTERN_FIELDS if f in data},
        )
        serializer.instance = self.get_queryset().get(pk=instance.pk)

    @extend_schema(request=serializers.RotateSecretSerializer, responses={200: serializers.IntegrationSecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        integration = self.get_object()
        body = serializers.RotateSecretSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        secret = services.integration_rotate_secret(
            actor=request.user, integration=integration, secret=body.validated_data.get("secret") or None
        )
        return Response(
            {
                "id": integration.pk,
                "intake_url": self.get_serializer(integration).get_intake_url(integration),
                "secret": secret,
            }
        )


def _day_start(day):
    return datetime.combine(day, time.min, tzinfo=UTC)


class WindowFilter(filters.FilterSet):
    """?since=&until=: UTC days, both included, on the field the figure counts by."""

    window_field = ""
    since = filters.DateFilter(method="filter_since", help_text="First UTC day (YYYY-MM-DD), included.")
    until = filters.DateFilter(method="filter_until", help_text="Last UTC day (YYYY-MM-DD), included.")

    def filter_since(self, queryset, name, value):
        return queryset.filter(**{f"{self.window_field}__gte": _day_start(value)})

    def filter_until(self, queryset, name, value):
        return queryset.filter(**{f"{self.window_field}__lt": _day_start(value + timedelta(days=1))})


class DeploymentFilter(WindowFilter):
    window_field = "finished_at"
    team = filters.NumberFilter(method="filter_team", help_text="The service's team (or the deployment's own).")
    failures = filters.BooleanFilter(
        method="filter_failures",
        help_text="true: the change failures (failed, or succeeded and linked to an incident).",
    )

    class Meta:
        model = Deployment
        fields = ["organization", "service", "environment", "is_production", "status", "source"]

    def filter_team(self, queryset, name, value):
        return queryset.filter(Q(service__team_id=value) | Q(service__isnull=True, team_id=value))

    def filter_failures(self, queryset, name, value):
        linked = IncidentDeploymentLink.objects.filter(deployment=OuterRef("pk"))
        failed = Q(status=Deployment.Status.FAILURE) | Q(Exists(linked), status=Deployment.Status.SUCCESS)
        return queryset.filter(failed, is_production=True) if value else queryset.exclude(failed)


class ChangeFilter(WindowFilter):
    window_field = "shipped_by__finished_at"
    team = filters.NumberFilter(method="filter_team", help_text="The team of the service that shipped it.")
    shipped = filters.BooleanFilter(field_name="shipped_by", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Change
        fields = ["organization", "service", "repository", "shipped_by", "shipped_estimated"]

    def filter_team(self, queryset, name, value):
        return queryset.filter(
            Q(shipped_by__service__team_id=value)
            | Q(shipped_by__isnull=False, shipped_by__service__isnull=True, shipped_by__team_id=value)
            | Q(shipped_by__isnull=True, team_id=value)
        )


class IncidentLinkFilter(WindowFilter):
    window_field = "incident__started_at"
    team = filters.NumberFilter(field_name="incident__team")
    service = filters.NumberFilter(field_name="incident__services", distinct=True)

    class Meta:
        model = IncidentDeploymentLink
        fields = ["incident", "deployment", "method"]


class DeploymentViewSet(ScopedReadOnlyViewSet):
    """Deployments; `?team=&service=&since=&until=&is_production=true` are the ones deployment
    frequency counts, `&failures=true` the change failures."""

    queryset = Deployment.objects.all()
    serializer_class = serializers.DeploymentSerializer
    filterset_class = DeploymentFilter
    search_fields = ["repository", "sha", "external_id"]
    ordering_fields = ["finished_at", "started_at"]
    ordering = ["-finished_at"]

    @extend_schema(request=serializers.ReworkMarkSerializer, responses={200: serializers.DeploymentSerializer})
    @action(detail=True, methods=["post"], url_path="rework")
    def rework(self, request, pk=None):
        """Mark a successful production deployment as rework (or not); the team's lead or an org admin."""
        # Visible rows only (others 404); who may mark is the service's rule, not the model's editors.
        deployment = get_object_or_404(self.get_queryset(), pk=pk)
        body = serializers.ReworkMarkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        deployment = services.deployment_rework_mark(
            actor=request.user, deployment=deployment, rework=body.validated_data["rework"]
        )
        return Response(serializers.DeploymentSerializer(deployment).data)


class ChangeViewSet(ScopedReadOnlyViewSet):
    """Commits; `?shipped=true&team=&service=&since=&until=` are the ones the lead time is the
    median of (the window is the shipping deployment's finish), with `lead_time_seconds`."""

    queryset = Change.objects.select_related("shipped_by")
    serializer_class = serializers.ChangeSerializer
    filterset_class = ChangeFilter
    search_fields = ["sha", "message", "author"]
    ordering_fields = ["committed_at"]
    ordering = ["-committed_at"]


class IncidentDeploymentLinkViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    """Which deployment caused an incident. PATCH `deployment` (or null) to set it by hand,
    `automatic: true` to go back to the default rule."""

    queryset = IncidentDeploymentLink.objects.select_related("incident", "deployment")
    serializer_class = serializers.IncidentDeploymentLinkSerializer
    permission_classes = [RolePermission]
    filterset_class = IncidentLinkFilter

    def get_queryset(self):
        return permissions.viewable(self.request.user, super().get_queryset())

    def perform_update(self, serializer):
        data = serializer.validated_data
        link = serializer.instance
        if not data.get("automatic") and "deployment" not in data:
            raise exceptions.ValidationError({"deployment": "Name the deployment (or null), or send automatic: true."})
        serializer.instance = services.incident_link_set(
            actor=self.request.user,
            incident=link.incident,
            deployment=data.get("deployment"),
            note=data.get("note", ""),
            automatic=data.get("automatic", False),
        )


class TeamDoraViewSet(viewsets.GenericViewSet):
    """The DORA four keys of the teams the requester can see (from the daily rollups)."""

    queryset = Team.objects.all()
    serializer_class = serializers.TeamDoraSerializer
    permission_classes = [RolePermission]
    filterset_fields = ["organization", "department"]
    pagination_class = None

    def get_queryset(self):
        return permissions.viewable(self.request.user, super().get_queryset()).order_by("name")

    def _window(self):
        from datetime import date

        try:
            window = int(self.request.query_params.get("window", 90))
            until = self.request.query_params.get("until")
            until = date.fromisoformat(until) if until else None
        except ValueError:
            raise exceptions.ValidationError({"window": "window is a number of days; until is YYYY-MM-DD."})
        if not 1 <= window <= 730:
            raise exceptions.ValidationError({"window": "Between 1 and 730 days."})
        return window, until

    def _payload(self, teams):
        window, until = self._window()
        dora = selectors.team_dora(team_ids=[t.pk for t in teams], window_days=window, until=until, full=True)
        _, end = selectors.window_bounds(window, until)
        return [{"team": t.pk, "name": t.name, "window_days": window, "until": end, "keys": dora[t.pk]} for t in teams]

    @extend_schema(parameters=WINDOW_PARAMS, responses=serializers.TeamDoraSerializer(many=True))
    def list(self, request):
        teams = list(self.filter_queryset(self.get_queryset()))
        return Response(serializers.TeamDoraSerializer(self._payload(teams), many=True).data)

    @extend_schema(parameters=WINDOW_PARAMS, responses=serializers.TeamDoraSerializer)
    def retrieve(self, request, pk=None):
        team = self.get_object()
        return Response(serializers.TeamDoraSerializer(self._payload([team])[0]).data)


class ServiceDoraViewSet(TeamDoraViewSet):
    """The DORA four keys of the services the requester can see: their deployments, the commits
    those shipped and the incidents that impacted them."""

    queryset = Service.objects.all()
    serializer_class = serializers.ServiceDoraSerializer
    filterset_fields = ["organization", "team", "tier"]

    def _payload(self, services_):
        window, until = self._window()
        dora = selectors.service_dora(service_ids=[s.pk for s in services_], window_days=window, until=until, full=True)
        _, end = selectors.window_bounds(window, until)
        return [
            {
                "service": s.pk,
                "team": s.team_id,
                "name": s.name,
                "window_days": window,
                "until": end,
                "keys": dora[s.pk],
            }
            for s in services_
        ]

    @extend_schema(parameters=WINDOW_PARAMS, responses=serializers.ServiceDoraSerializer(many=True))
    def list(self, request):
        services_ = list(self.filter_queryset(self.get_queryset()))
        return Response(serializers.ServiceDoraSerializer(self._payload(services_), many=True).data)

    @extend_schema(parameters=WINDOW_PARAMS, responses=serializers.ServiceDoraSerializer)
    def retrieve(self, request, pk=None):
        service = self.get_object()
        return Response(serializers.ServiceDoraSerializer(self._payload([service])[0]).data)
