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
from apps.teams.models import Team

from .. import selectors, services
from ..models import Exemption, Scorecard, ScoringRun, Snapshot
from . import serializers


class ScorecardViewSet(ScopedModelViewSet):
    """An organization's scorecard: pillar weights, gap threshold and level checks (checks are edited in the admin)."""

    queryset = Scorecard.objects.select_related("organization").prefetch_related("checks")
    serializer_class = serializers.ScorecardSerializer
    filterset_fields = ["organization"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def create(self, request, *args, **kwargs):
        # POST is open for the ensure action only: a scorecard is never created from a body.
        raise exceptions.MethodNotAllowed("POST")

    # Reads never write: an org gets its scorecard when it is created (apps/scoring/receivers.py),
    # from the scoring job, or from POST .../scorecards/ensure/ below.

    def perform_update(self, serializer):
        serializer.instance = services.scorecard_update(
            actor=self.request.user, scorecard=serializer.instance, **serializer.validated_data
        )

    @extend_schema(request=serializers.ScorecardEnsureSerializer, responses=serializers.ScorecardSerializer)
    @action(detail=False, methods=["post"])
    def ensure(self, request):
        """The organization's scorecard, created from the default rubric if it has none (org admins)."""
        body = serializers.ScorecardEnsureSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        card = services.scorecard_ensure(actor=request.user, organization=body.validated_data["organization"])
        return Response(self.get_serializer(self.get_queryset().get(pk=card.pk)).data)


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
            actor=self.request.user,
            team=data["team"],
            level_check=data["level_check"],
            reason=data.get("reason", ""),
            expires_on=data.get("expires_on"),
        )

    def _decide(self, request, service, *, with_expiry: bool = False):
        exemption = self.get_object()
        body = serializers.ExemptionDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        kwargs = {"actor": request.user, "exemption": exemption, "justification": body.validated_data["justification"]}
        if with_expiry:
            kwargs["expires_on"] = body.validated_data.get("expires_on")
        exemption = service(**kwargs)
        return Response(self.get_serializer(Exemption.objects.get(pk=exemption.pk)).data)

    @extend_schema(request=serializers.ExemptionDecisionSerializer, responses=serializers.ExemptionSerializer)
    @action(detail=True, methods=["post"])
    def grant(self, request, pk=None):
        """Grant until `expires_on` with a justification (org admins)."""
        return self._decide(request, services.exemption_grant, with_expiry=True)

    @extend_schema(request=serializers.ExemptionDecisionSerializer, responses=serializers.ExemptionSerializer)
    @action(detail=True, methods=["post"])
    def renew(self, request, pk=None):
        """Extend a grant to a new `expires_on` with a justification (org admins); recorded as a renewal."""
        return self._decide(request, services.exemption_renew, with_expiry=True)

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
        run = services.scoring_request(actor=request.user, organization=org, trigger="api")
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
