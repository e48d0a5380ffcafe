from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.core import permissions
from apps.core.api import RolePermission, ScopedModelViewSet, ScopedReadOnlyViewSet
from apps.teams.models import Organization, Team

from .. import selectors, services
from ..models import Exemption, Scorecard, ScoringRun, Snapshot
from . import serializers


class ScorecardViewSet(ScopedModelViewSet):
    """An organization's scorecard: pillar weights, gap threshold and level checks (checks are edited in the admin)."""

    queryset = Scorecard.objects.select_related("organization").prefetch_related("checks")
    serializer_class = serializers.ScorecardSerializer
    filterset_fields = ["organization"]
    http_method_names = ["get", "put", "patch", "head", "options"]

    def list(self, request, *args, **kwargs):
        # Every org the user belongs to has a scorecard (the default rubric until changed).
        services.scorecards_ensure(organizations=permissions.viewable(request.user, Organization.objects.all()))
        return super().list(request, *args, **kwargs)

    def perform_update(self, serializer):
        serializer.instance = services.scorecard_update(
            scorecard=serializer.instance, user=self.request.user, **serializer.validated_data
        )


class SnapshotFilter(filters.FilterSet):
    date = filters.DateFromToRangeFilter(help_text="date_after / date_before (YYYY-MM-DD), inclusive.")

    class Meta:
        model = Snapshot
        fields = ["organization", "team", "level", "date"]


class SnapshotViewSet(ScopedReadOnlyViewSet):
    """Dated team scores with the inputs behind every number. Filter by team and date range."""

    queryset = Snapshot.objects.select_related("team").order_by("team_id", "-date")
    serializer_class = serializers.SnapshotSerializer
    filterset_class = SnapshotFilter
    ordering_fields = ["date", "overall", "level"]


class ExemptionViewSet(mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Exemptions: a team lead asks (POST), an org admin grants, rejects or revokes."""

    queryset = Exemption.objects.select_related("team", "level_check", "requested_by", "decided_by").prefetch_related(
        "events__actor"
    )
    serializer_class = serializers.ExemptionSerializer
    filterset_fields = ["team", "status", "level_check"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.exemption_request(
            team=data["team"],
            level_check=data["level_check"],
            user=self.request.user,
            reason=data.get("reason", ""),
            expires_on=data.get("expires_on"),
        )

    def _decide(self, request, service, **extra):
        exemption = self.get_object()
        if not permissions.can_change(request.user, exemption):
            raise exceptions.PermissionDenied("Only an org admin decides on exemptions.")
        body = serializers.ExemptionDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        kwargs = {"exemption": exemption, "user": request.user, "justification": body.validated_data["justification"]}
        if "expires_on" in extra:
            kwargs["expires_on"] = body.validated_data.get("expires_on")
            if kwargs["expires_on"] is None:
                raise exceptions.ValidationError({"expires_on": "Give the date the exemption ends."})
        exemption = service(**kwargs)
        return Response(self.get_serializer(Exemption.objects.get(pk=exemption.pk)).data)

    @extend_schema(request=serializers.ExemptionDecisionSerializer, responses=serializers.ExemptionSerializer)
    @action(detail=True, methods=["post"])
    def grant(self, request, pk=None):
        """Grant until `expires_on` with a justification (org admins)."""
        return self._decide(request, services.exemption_grant, expires_on=True)

    @extend_schema(request=serializers.ExemptionDecisionSerializer, responses=serializers.ExemptionSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, services.exemption_reject)

    @extend_schema(request=serializers.ExemptionDecisionSerializer, responses=serializers.ExemptionSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        return self._decide(request, services.exemption_revoke)


class ScoringRunViewSet(mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Runs of the scoring job. POST {"organization": id} queues one now (org admins); while one is
    queued or running for today, posting again returns it."""

    queryset = ScoringRun.objects.select_related("requested_by")
    serializer_class = serializers.ScoringRunSerializer
    filterset_fields = ["organization", "status"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        org = serializer.validated_data["organization"]
        try:
            run = services.scoring_request(organization=org, user=request.user, trigger="api")
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from exc
        return Response(self.get_serializer(run).data, status=status.HTTP_202_ACCEPTED)


class ComparisonViewSet(viewsets.ViewSet):
    """Up to six teams of one organization side by side (org admins and leaders)."""

    permission_classes = [IsAuthenticated, RolePermission]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "teams", OpenApiTypes.STR, required=True, description="Comma-separated team ids, at most six."
            )
        ],
        responses=serializers.ComparisonColumnSerializer(many=True),
    )
    def list(self, request):
        try:
            ids = selectors.parse_team_ids(request.query_params.getlist("teams"))
        except selectors.CompareError as exc:
            raise exceptions.ValidationError({"teams": str(exc)}) from exc
        if not ids:
            raise exceptions.ValidationError({"teams": "Name the teams to compare: ?teams=1,2,3."})
        teams = list(permissions.viewable(request.user, Team.objects.filter(pk__in=ids)).select_related("organization"))
        if len(teams) != len(ids):
            raise Http404("No such team.")
        orgs = {t.organization_id for t in teams}
        if len(orgs) > 1:
            raise exceptions.ValidationError({"teams": "Compare teams of one organization at a time."})
        org = teams[0].organization
        if not permissions.sees_whole_org(request.user, org):
            raise exceptions.PermissionDenied("Comparisons are for org admins and leaders.")
        comp = selectors.comparison(user=request.user, organization=org, team_ids=ids)
        data = selectors.comparison_payload(comp)
        return Response(serializers.ComparisonColumnSerializer(data, many=True).data)
