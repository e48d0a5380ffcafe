from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api import ScopedPrimaryKeyRelatedField
from apps.teams.models import Service, Team

from ..models import (
    MARKDOWN_FIELDS,
    ActionItem,
    ContributingFactorCategory,
    Incident,
    Postmortem,
    PostmortemReview,
    time_order_errors,
)

User = get_user_model()


class UserEmailField(serializers.SlugRelatedField):
    """A person by email (membership of the organization is checked by the service)."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="email", queryset=User.objects.filter(is_active=True), **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(str(data).strip().lower())


class TagListField(serializers.ListField):
    """Tag names in, tag names out."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=50), **kwargs)

    def get_attribute(self, instance):
        return [t.name for t in instance.tags.all()]


class PeopleListField(serializers.ListField):
    """Emails in and out; `people` reads the users from a postmortem."""

    def __init__(self, people, **kwargs):
        self.people = people
        super().__init__(child=UserEmailField(), **kwargs)

    def get_attribute(self, instance):
        return self.people(instance)


class IncidentSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:incident-detail")
    team = ScopedPrimaryKeyRelatedField(queryset=Team.objects.all())
    services = ScopedPrimaryKeyRelatedField(queryset=Service.objects.all(), many=True, required=False)
    severity_label = serializers.CharField(source="get_severity_display", read_only=True)
    postmortem = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "url",
            "organization",
            "team",
            "services",
            "title",
            "description",
            "severity",
            "severity_label",
            "status",
            "started_at",
            "detected_at",
            "mitigated_at",
            "resolved_at",
            "source",
            "external_id",
            "postmortem",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["organization", "source", "external_id", "created_at", "updated_at"]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_postmortem(self, obj) -> int | None:
        pm = getattr(obj, "postmortem", None) if hasattr(obj, "postmortem") else None
        return pm.pk if pm else None

    def validate(self, attrs):
        current = {
            name: getattr(self.instance, name, None)
            for name in ("started_at", "detected_at", "mitigated_at", "resolved_at")
        }
        errors = time_order_errors({**current, **{k: v for k, v in attrs.items() if k in current}})
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    description = serializers.CharField()


class FactorSerializer(serializers.Serializer):
    category = serializers.PrimaryKeyRelatedField(queryset=ContributingFactorCategory.objects.all())
    category_name = serializers.CharField(source="category.name", read_only=True)
    description = serializers.CharField()
    is_root_cause = serializers.BooleanField(default=False)


class LinkSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    url = serializers.URLField(max_length=500)


class ReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.EmailField(source="reviewer.email", read_only=True)

    class Meta:
        model = PostmortemReview
        fields = ["reviewer", "decision", "comment", "decided_at"]
        read_only_fields = fields


class ActionItemSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:action-item-detail")
    postmortem = ScopedPrimaryKeyRelatedField(queryset=Postmortem.objects.all())
    team = ScopedPrimaryKeyRelatedField(queryset=Team.objects.all(), required=False)
    owner = UserEmailField(required=False, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "url",
            "organization",
            "postmortem",
            "team",
            "title",
            "kind",
            "priority",
            "owner",
            "due_date",
            "status",
            "tracker_url",
            "closed_at",
            "is_overdue",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["organization", "closed_at", "created_at", "updated_at"]

    def validate(self, attrs):
        if self.instance is not None and "postmortem" in attrs and attrs["postmortem"] != self.instance.postmortem:
            raise serializers.ValidationError({"postmortem": "An action item stays with its postmortem."})
        return attrs


class ActionItemSummarySerializer(serializers.ModelSerializer):
    owner = serializers.EmailField(source="owner.email", read_only=True, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = ActionItem
        fields = ["id", "title", "kind", "priority", "team", "owner", "due_date", "status", "tracker_url", "is_overdue"]
        read_only_fields = fields


class PostmortemSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:postmortem-detail")
    incident = ScopedPrimaryKeyRelatedField(queryset=Incident.objects.all())
    tags = TagListField(required=False)
    reviewers = PeopleListField(lambda pm: [r.reviewer for r in pm.reviews.all()], required=False)
    authors = PeopleListField(lambda pm: list(pm.authors.all()), required=False)
    timeline = TimelineEntrySerializer(many=True, required=False)
    factors = FactorSerializer(many=True, required=False)
    links = LinkSerializer(many=True, required=False)
    reviews = ReviewSerializer(many=True, read_only=True)
    action_items = ActionItemSummarySerializer(many=True, read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Postmortem
        fields = [
            "id",
            "url",
            "organization",
            "team",
            "incident",
            "title",
            "status",
            "users_affected",
            *MARKDOWN_FIELDS,
            "tags",
            "authors",
            "reviewers",
            "reviews",
            "timeline",
            "factors",
            "links",
            "action_items",
            "publish_due_on",
            "is_overdue",
            "submitted_at",
            "published_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "organization",
            "team",
            "status",
            "publish_due_on",
            "submitted_at",
            "published_at",
            "created_at",
            "updated_at",
        ]

    def validate(self, attrs):
        if self.instance is not None and "incident" in attrs and attrs["incident"] != self.instance.incident:
            raise serializers.ValidationError({"incident": "A postmortem stays with its incident."})
        return attrs


class ReviewDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=[PostmortemReview.Decision.APPROVED, PostmortemReview.Decision.CHANGES_REQUESTED]
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class SearchResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="postmortem.pk")
    title = serializers.CharField(source="postmortem.title")
    status = serializers.CharField(source="postmortem.status")
    team = serializers.IntegerField(source="postmortem.team_id")
    severity = serializers.IntegerField(source="postmortem.incident.severity")
    started_at = serializers.DateTimeField(source="postmortem.incident.started_at")
    rank = serializers.FloatField()
    title_html = serializers.CharField(help_text="Title with matches in <mark>, HTML-escaped otherwise.")
    snippet_html = serializers.CharField(help_text="Excerpt with matches in <mark>, HTML-escaped otherwise.")
