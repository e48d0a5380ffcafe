from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework import permissions as drf_permissions
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response

from apps.core.api import ServiceModelViewSet, requested_organization

from .. import search, services
from ..models import ActionItem, ContributingFactor, Incident, Postmortem, PostmortemReview
from ..views import library_filters
from . import serializers

NO_DELETE = ["get", "post", "put", "patch", "head", "options"]


class IncidentViewSet(ServiceModelViewSet):
    """Incidents of the organization (shared with every member; the owning team changes them)."""

    queryset = Incident.objects.select_related("team", "postmortem").prefetch_related("services")
    serializer_class = serializers.IncidentSerializer
    filterset_fields = ["organization", "team", "severity", "status", "source", "services"]
    search_fields = ["title", "description"]
    ordering_fields = ["started_at", "severity", "created_at"]
    http_method_names = NO_DELETE

    def create_with(self, data):
        return services.incident_create(
            actor=self.request.user,
            team=data.pop("team"),
            services=data.pop("services", []),
            source=Incident.Source.API,
            **data,
        )

    def update_with(self, incident, data):
        services_ = data.pop("services", None)
        return services.incident_update(actor=self.request.user, incident=incident, services=services_, **data)


class PostmortemViewSet(ServiceModelViewSet):
    """Postmortems with their timeline, factors, links, reviews and action items.
    Drafts are visible to the team and the named reviewers; published ones to the whole org."""

    queryset = Postmortem.objects.select_related("team", "incident").prefetch_related(
        "tags",
        "authors",
        "timeline",
        "links",
        Prefetch("factors", queryset=ContributingFactor.objects.select_related("category")),
        Prefetch("reviews", queryset=PostmortemReview.objects.select_related("reviewer")),
        Prefetch("action_items", queryset=ActionItem.objects.select_related("owner")),
    )
    serializer_class = serializers.PostmortemSerializer
    filterset_fields = ["organization", "team", "status", "incident", "incident__severity"]
    ordering_fields = ["created_at", "published_at", "publish_due_on"]
    http_method_names = NO_DELETE

    def create_with(self, data):
        return services.postmortem_open(actor=self.request.user, incident=data.pop("incident"), **data)

    def update_with(self, postmortem, data):
        data.pop("incident", None)  # the serializer refuses another incident
        return services.postmortem_update(actor=self.request.user, postmortem=postmortem, **data)

    def _transition(self, request, func):
        postmortem = self.get_object()
        postmortem = func(actor=request.user, postmortem=postmortem)
        return Response(self.get_serializer(self.get_queryset().get(pk=postmortem.pk)).data)

    @extend_schema(request=None, responses=serializers.PostmortemSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Draft -> in review (needs the summary, impact, root causes, resolution and a reviewer)."""
        return self._transition(request, services.postmortem_submit)

    @extend_schema(request=None, responses=serializers.PostmortemSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """In review -> draft."""
        return self._transition(request, services.postmortem_withdraw)

    @extend_schema(request=None, responses=serializers.PostmortemSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """In review -> published, once every named reviewer approved."""
        return self._transition(request, services.postmortem_publish)

    @extend_schema(request=serializers.ReviewDecisionSerializer, responses=serializers.PostmortemSerializer)
    @action(detail=True, methods=["post"], permission_classes=[drf_permissions.IsAuthenticated])
    def review(self, request, pk=None):
        """A named reviewer approves or asks for changes (with a comment)."""
        postmortem = self.get_object()  # 404 for people who cannot read it
        body = serializers.ReviewDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.postmortem_review(actor=request.user, postmortem=postmortem, **body.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=postmortem.pk)).data)


class ActionItemViewSet(ServiceModelViewSet):
    """Action items across the org; the owning team, the postmortem's team and the owner change them."""

    queryset = ActionItem.objects.select_related("team", "owner", "postmortem")
    serializer_class = serializers.ActionItemSerializer
    filterset_fields = ["organization", "team", "owner", "status", "kind", "priority", "postmortem"]
    search_fields = ["title"]
    ordering_fields = ["due_date", "priority", "created_at"]

    created = None

    def create_with(self, data):
        item, self.created = services.action_item_create(
            actor=self.request.user, postmortem=data.pop("postmortem"), **data
        )
        return item

    def update_with(self, item, data):
        data.pop("postmortem", None)  # the serializer refuses another postmortem
        return services.action_item_update(actor=self.request.user, item=item, **data)

    def finalize_response(self, request, response, *args, **kwargs):
        if request.method == "POST" and self.created is False:  # a retried create found the same item
            response.status_code = status.HTTP_200_OK
        return super().finalize_response(request, response, *args, **kwargs)


class SearchViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Full-text search over the postmortems the user may read (published ones by default)."""

    serializer_class = serializers.SearchResultSerializer
    pagination_class = None
    filter_backends = []

    def get_queryset(self):  # for the schema; results come from search.search
        return Postmortem.objects.none()

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Words to find (websearch syntax: quotes, -exclude, or)."),
            OpenApiParameter("team", int),
            OpenApiParameter("service", int),
            OpenApiParameter("severity", int),
            OpenApiParameter("tag", str),
            OpenApiParameter("category", int, description="Contributing factor category id."),
            OpenApiParameter("since", str, description="Incident started on or after (YYYY-MM-DD)."),
            OpenApiParameter("until", str, description="Incident started on or before (YYYY-MM-DD)."),
            OpenApiParameter("status", str, description="published (default), draft, in_review or all."),
            OpenApiParameter("organization", int, description="Defaults to the current organization."),
            OpenApiParameter("limit", int, description="At most this many results (default 20, max 100)."),
        ],
        responses=serializers.SearchResultSerializer(many=True),
    )
    def list(self, request, *args, **kwargs):
        organization = requested_organization(request, unseen_is_bad_input=True)  # a search filter
        try:
            limit = max(1, min(100, int(request.query_params.get("limit", 20))))
        except ValueError as exc:
            raise DRFValidationError({"limit": "A whole number from 1 to 100."}) from exc
        results = search.search(
            user=request.user, organization=organization, filters=library_filters(request.query_params), limit=limit
        )
        return Response(self.get_serializer(results, many=True).data)
