from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api import ScopedPrimaryKeyRelatedField
from apps.teams.models import Organization, Team

from ..models import MAX_LEVEL, MIN_LEVEL, Answer, Assessment, Campaign, Dimension, Framework, Question


class CalmsQuestionSerializer(serializers.ModelSerializer):
    levels = serializers.ListField(source="level_descriptors", child=serializers.CharField(), read_only=True)
    min_level = serializers.SerializerMethodField()
    max_level = serializers.IntegerField(read_only=True)

    class Meta:
        model = Question
        fields = ["id", "key", "text", "guidance", "weight", "order", "min_level", "max_level", "levels"]

    def get_min_level(self, obj) -> int:
        return MIN_LEVEL


class CalmsDimensionSerializer(serializers.ModelSerializer):
    questions = CalmsQuestionSerializer(many=True, read_only=True)

    class Meta:
        model = Dimension
        fields = ["id", "key", "name", "description", "weight", "order", "questions"]


class CalmsFrameworkSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)
    in_use = serializers.SerializerMethodField()

    class Meta:
        model = Framework
        fields = ["id", "organization", "key", "version", "name", "label", "description", "in_use", "created_at"]

    def get_in_use(self, obj) -> bool:
        count = getattr(obj, "campaign_count", None)  # annotated by the viewset
        return obj.is_in_use() if count is None else count > 0


class CalmsFrameworkDetailSerializer(CalmsFrameworkSerializer):
    dimensions = CalmsDimensionSerializer(many=True, read_only=True)

    class Meta(CalmsFrameworkSerializer.Meta):
        fields = CalmsFrameworkSerializer.Meta.fields + ["dimensions"]


class VisibleFrameworkField(serializers.PrimaryKeyRelatedField):
    """Built-in versions and those of the requester's organizations; others are "does not exist"."""

    def get_queryset(self):
        from ..selectors import frameworks_for_user

        request = self.context.get("request")
        return frameworks_for_user(request.user) if request else Framework.objects.none()


class CalmsCampaignSerializer(serializers.ModelSerializer):
    organization = ScopedPrimaryKeyRelatedField(queryset=Organization.objects.all())
    frameworks = VisibleFrameworkField(
        many=True,
        allow_empty=False,
        help_text="Framework version ids (at least one, one version per family, e.g. CALMS v1 and SRE practices "
        "v1). Every team in scope answers each. On update: the full list; adding one gives every team an "
        "assessment of it, and one teams have answered cannot leave.",
    )
    teams = ScopedPrimaryKeyRelatedField(
        queryset=Team.objects.all(),
        many=True,
        write_only=True,
        required=False,
        help_text="Teams in scope; each gets an assessment. On update, teams are only added.",
    )
    phase = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "organization",
            "frameworks",
            "name",
            "opens_on",
            "closes_on",
            "teams",
            "phase",
            "progress",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        # Uniqueness of the name is checked by the service (an identical retry is not an error).
        validators = []

    def get_phase(self, obj) -> str:
        return obj.current_phase

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "not_started": {"type": "integer"},
                "in_progress": {"type": "integer"},
                "submitted": {"type": "integer"},
            },
        }
    )
    def get_progress(self, obj) -> dict:
        counts = dict.fromkeys(Assessment.Status.values, 0)
        for assessment in obj.assessments.all():  # prefetched by the viewset
            counts[assessment.status] += 1
        return counts

    def validate(self, attrs):
        if self.instance is not None:
            if "organization" in attrs and attrs["organization"].pk != self.instance.organization_id:
                raise serializers.ValidationError({"organization": "A campaign cannot move to another organization."})
        elif not attrs.get("teams"):
            raise serializers.ValidationError({"teams": "Choose at least one team."})
        return attrs


class CalmsAssessmentSerializer(serializers.ModelSerializer):
    progress_percent = serializers.IntegerField(read_only=True)
    dimension_scores = serializers.DictField(child=serializers.FloatField(allow_null=True), read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)
    campaign_name = serializers.CharField(source="campaign.name", read_only=True)
    framework_key = serializers.CharField(source="framework.key", read_only=True)
    framework_name = serializers.CharField(source="framework.label", read_only=True)
    submitted_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)

    class Meta:
        model = Assessment
        fields = [
            "id",
            "campaign",
            "campaign_name",
            "team",
            "team_name",
            "framework",
            "framework_key",
            "framework_name",
            "status",
            "answered_count",
            "question_count",
            "progress_percent",
            "overall_score",
            "dimension_scores",
            "submitted_at",
            "submitted_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CalmsAnswerSerializer(serializers.ModelSerializer):
    question_key = serializers.CharField(source="question.key", read_only=True)
    dimension = serializers.CharField(source="question.dimension.key", read_only=True)
    answered_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)

    class Meta:
        model = Answer
        fields = [
            "id",
            "question",
            "question_key",
            "dimension",
            "level",
            "not_applicable",
            "comment",
            "evidence_url",
            "answered_by",
            "updated_at",
        ]
        read_only_fields = fields


class CalmsAnswerItemSerializer(serializers.Serializer):
    """One answer of a bulk write. Omitted fields keep their stored value."""

    question = serializers.IntegerField(help_text="Question id of the assessment's framework version.")
    level = serializers.IntegerField(
        required=False, allow_null=True, help_text=f"{MIN_LEVEL}-{MAX_LEVEL}, or null to clear."
    )
    not_applicable = serializers.BooleanField(required=False, help_text="true: N/A (left out of the score).")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=4000, trim_whitespace=True)
    evidence_url = serializers.CharField(required=False, allow_blank=True, max_length=500)


class CalmsAnswersBulkSerializer(serializers.Serializer):
    answers = CalmsAnswerItemSerializer(many=True, allow_empty=False)


class CalmsAnswersWrittenSerializer(serializers.Serializer):
    assessment = CalmsAssessmentSerializer()
    answers = CalmsAnswerSerializer(many=True)


class CalmsDimensionResultSerializer(serializers.Serializer):
    key = serializers.CharField(source="dimension.key")
    name = serializers.CharField(source="dimension.name")
    weight = serializers.DecimalField(source="dimension.weight", max_digits=5, decimal_places=2)
    score = serializers.FloatField(allow_null=True)
    previous = serializers.FloatField(allow_null=True)
    change = serializers.FloatField(allow_null=True)


class CalmsNextStepSerializer(serializers.Serializer):
    question = serializers.IntegerField(source="question.pk")
    question_key = serializers.CharField(source="question.key")
    text = serializers.CharField(source="question.text")
    dimension = serializers.CharField(source="dimension.key")
    level = serializers.IntegerField()
    next_level = serializers.IntegerField()
    next_descriptor = serializers.CharField(source="next")


class CalmsResultSerializer(serializers.Serializer):
    assessment = CalmsAssessmentSerializer()
    previous_assessment = serializers.SerializerMethodField()
    overall_change = serializers.FloatField(allow_null=True)
    dimensions = CalmsDimensionResultSerializer(many=True)
    next_steps = CalmsNextStepSerializer(many=True)

    @extend_schema_field(OpenApiTypes.INT)
    def get_previous_assessment(self, obj):
        return obj.previous.pk if obj.previous else None


class CalmsHeatRowSerializer(serializers.Serializer):
    assessment = serializers.IntegerField(source="assessment.pk")
    team = serializers.IntegerField(source="assessment.team_id")
    team_name = serializers.CharField(source="assessment.team.name")
    department = serializers.CharField(source="assessment.team.department.name", default=None, allow_null=True)
    status = serializers.CharField(source="assessment.status")
    answered_count = serializers.IntegerField(source="assessment.answered_count")
    question_count = serializers.IntegerField(source="assessment.question_count")
    overall = serializers.FloatField(allow_null=True)
    dimensions = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DictField(child=serializers.FloatField(allow_null=True)))
    def get_dimensions(self, obj):
        keys = self.context["dimension_keys"]
        return dict(zip(keys, obj.cells, strict=True))


class CalmsAverageSerializer(serializers.Serializer):
    label = serializers.CharField()
    team_count = serializers.IntegerField()
    overall = serializers.FloatField(allow_null=True)
    dimensions = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DictField(child=serializers.FloatField(allow_null=True)))
    def get_dimensions(self, obj):
        keys = self.context["dimension_keys"]
        return dict(zip(keys, obj.cells, strict=True))


class CalmsCampaignResultsSerializer(serializers.Serializer):
    campaign = CalmsCampaignSerializer()
    framework = serializers.IntegerField(source="framework.pk", help_text="The framework these results are of.")
    framework_key = serializers.CharField(source="framework.key")
    counts = serializers.DictField(child=serializers.IntegerField())
    teams = CalmsHeatRowSerializer(source="rows", many=True)
    departments = CalmsAverageSerializer(many=True)
    organization = CalmsAverageSerializer()
