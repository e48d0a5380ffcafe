"""REST API of CALMS assessments. Role rules are apps.core.permissions'; writes go through services."""

from django.db.models import Count, Prefetch
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.core.api import ScopedModelViewSet, ScopedReadOnlyViewSet

from .. import selectors, services
from ..models import Answer, Assessment, Campaign, Dimension, Question
from . import serializers


class FrameworkViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Framework versions (read-only): built-in ones and those of your organizations.
    The detail includes dimensions, questions, weights and the level descriptors."""

    permission_classes = [IsAuthenticated]
    filterset_fields = ["key", "version", "organization"]
    search_fields = ["name", "key"]
    ordering_fields = ["key", "version"]

    def get_queryset(self):
        qs = (
            selectors.frameworks_for_user(self.request.user)
            .annotate(campaign_count=Count("campaigns"))
            .order_by("key", "-version")
        )
        if self.action == "retrieve":
            qs = qs.prefetch_related(
                Prefetch("dimensions", queryset=Dimension.objects.order_by("order", "pk")),
                Prefetch("dimensions__questions", queryset=Question.objects.order_by("order", "pk")),
            )
        return qs

    def get_serializer_class(self):
        return (
            serializers.CalmsFrameworkDetailSerializer
            if self.action == "retrieve"
            else serializers.CalmsFrameworkSerializer
        )


class CampaignViewSet(ScopedModelViewSet):
    """Campaigns: the whole org reads them; org admins open and change them."""

    queryset = Campaign.objects.prefetch_related("frameworks", "assessments")
    serializer_class = serializers.CalmsCampaignSerializer
    filterset_fields = ["organization", "frameworks"]
    search_fields = ["name"]
    ordering_fields = ["opens_on", "closes_on", "name"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def save_new(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.campaign_open(
            organization=data["organization"],
            frameworks=data["frameworks"],
            name=data["name"],
            opens_on=data["opens_on"],
            closes_on=data["closes_on"],
            teams=data.get("teams", []),
            actor=self.request.user,
        )

    def perform_update(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.campaign_update(
            campaign=serializer.instance,
            actor=self.request.user,
            name=data.get("name"),
            opens_on=data.get("opens_on"),
            closes_on=data.get("closes_on"),
            teams=data.get("teams"),
            frameworks=data.get("frameworks"),
        )

    @extend_schema(
        responses=serializers.CalmsCampaignResultsSerializer,
        parameters=[
            OpenApiParameter(
                "framework",
                str,
                description="Framework key of the campaign (e.g. calms, sre); its first framework when omitted.",
            )
        ],
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def results(self, request, pk=None):
        """Progress per team, the teams x dimensions scores (submitted only), department and org averages,
        of one framework of the campaign."""
        campaign = self.get_object()
        key = request.query_params.get("framework")
        held = {f.key for f in campaign.frameworks.all()}
        if key and key not in held:
            raise ValidationError(
                {"framework": f"Not a framework of this campaign; choose one of {', '.join(sorted(held))}."}
            )
        framework = selectors.campaign_framework(campaign, key)
        overview = selectors.campaign_overview(campaign=campaign, framework=framework)
        context = {**self.get_serializer_context(), "dimension_keys": [d.key for d in overview.dimensions]}
        return Response(serializers.CalmsCampaignResultsSerializer(overview, context=context).data)


class AssessmentViewSet(ScopedReadOnlyViewSet):
    """Team assessments. Members of the team write answers; the team lead submits and reopens."""

    queryset = Assessment.objects.select_related("campaign", "team", "framework", "submitted_by")
    serializer_class = serializers.CalmsAssessmentSerializer
    filterset_fields = ["campaign", "team", "framework", "status"]
    ordering_fields = ["submitted_at", "created_at"]

    @extend_schema(
        methods=["GET"], responses=serializers.CalmsAnswerSerializer(many=True), description="The stored answers."
    )
    @extend_schema(
        methods=["POST"],
        request=serializers.CalmsAnswersBulkSerializer,
        responses={
            200: serializers.CalmsAnswersWrittenSerializer,
            400: OpenApiResponse(
                description='Nothing written. Keys name the failing item, e.g. {"answers[2].level": ["…"]}.'
            ),
        },
        description="Upsert many answers of this assessment in one request: all or nothing. "
        "Omitted fields keep their value; the same request twice leaves the same answers.",
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def answers(self, request, pk=None):
        assessment = self.get_object()
        if request.method == "GET":
            rows = Answer.objects.filter(assessment=assessment).select_related("question__dimension", "answered_by")
            return Response(serializers.CalmsAnswerSerializer(rows, many=True).data)
        payload = serializers.CalmsAnswersBulkSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        items = [
            services.AnswerInput(question=item["question"], **{k: v for k, v in item.items() if k != "question"})
            for item in payload.validated_data["answers"]
        ]
        services.answers_upsert(assessment=assessment, items=items, actor=request.user)
        assessment.refresh_from_db()
        rows = Answer.objects.filter(assessment=assessment).select_related("question__dimension", "answered_by")
        return Response(
            {
                "assessment": serializers.CalmsAssessmentSerializer(assessment).data,
                "answers": serializers.CalmsAnswerSerializer(rows, many=True).data,
            }
        )

    @extend_schema(request=None, responses=serializers.CalmsAssessmentSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def submit(self, request, pk=None):
        """Submit (team lead): scores are computed and stored, answers become read-only. Idempotent."""
        assessment = self.get_object()
        assessment = services.assessment_submit(assessment=assessment, actor=request.user)
        return Response(serializers.CalmsAssessmentSerializer(assessment).data)

    @extend_schema(request=None, responses=serializers.CalmsAssessmentSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def reopen(self, request, pk=None):
        """Back to a draft (team lead), until the campaign's close date. Idempotent."""
        assessment = self.get_object()
        assessment = services.assessment_reopen(assessment=assessment, actor=request.user)
        return Response(serializers.CalmsAssessmentSerializer(assessment).data)

    @extend_schema(responses=serializers.CalmsResultSerializer)
    @action(detail=True, methods=["get"], filter_backends=[])
    def results(self, request, pk=None):
        """Scores per dimension, the previous cycle's and the change, and the lowest questions' next level."""
        assessment = self.get_object()
        return Response(serializers.CalmsResultSerializer(selectors.assessment_result(assessment=assessment)).data)
