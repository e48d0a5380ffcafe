from django.contrib.auth import get_user_model
from rest_framework import serializers

from apps.core import figures, permissions
from apps.core.api import ScopedPrimaryKeyRelatedField
from apps.scoring.models import LEVEL_NAMES
from apps.teams.models import Organization, Service, Team

from ..models import Initiative, InitiativeCheck, InitiativeProgress


class InitiativeCheckSerializer(serializers.ModelSerializer):
    class Meta:
        model = InitiativeCheck
        fields = ["id", "kind", "name", "metric", "operator", "value", "when_missing", "service_check", "hint", "order"]
        read_only_fields = ["id"]
        extra_kwargs = {"name": {"required": False}}


class ProgressPointSerializer(serializers.ModelSerializer):
    share = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = InitiativeProgress
        fields = ["day", "passing", "total", "share"]


class PeerField(serializers.PrimaryKeyRelatedField):
    """A person who shares an organization with the requester: anyone else reads as "does not exist"
    (no probing for user ids); the service then checks they belong to the initiative's organization."""

    def get_queryset(self):
        from django.db.models import Q

        request = self.context.get("request")
        if request is None:
            return get_user_model().objects.none()
        orgs = permissions.org_ids(request.user)
        return (
            get_user_model()
            .objects.filter(Q(org_memberships__organization__in=orgs) | Q(teams__organization__in=orgs))
            .distinct()
        )


class InitiativeSerializer(serializers.ModelSerializer):
    organization = ScopedPrimaryKeyRelatedField(queryset=Organization.objects.all())
    owner = PeerField(required=False, allow_null=True)
    teams = ScopedPrimaryKeyRelatedField(queryset=Team.objects.all(), many=True, required=False)
    services = ScopedPrimaryKeyRelatedField(queryset=Service.objects.all(), many=True, required=False)
    checks = InitiativeCheckSerializer(many=True, required=False)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Initiative
        fields = [
            "id",
            "organization",
            "name",
            "reason",
            "owner",
            "start_date",
            "target_date",
            "status",
            "teams",
            "services",
            "checks",
            "progress",
            "graduated_at",
            "graduated_level",
        ]
        read_only_fields = ["id", "graduated_at", "graduated_level"]

    def get_progress(self, obj) -> dict:
        """Where it stands today from the stored points: share passing (0-1, null without data),
        the target line's share today, behind (null without data)."""
        standing = self.context.get("standings", {}).get(obj.pk)
        if standing is None:
            from .. import selectors

            standing = selectors.standings([obj])[obj.pk]
        return {
            "share": standing.share,
            "share_display": figures.share(standing.share),
            "target_today": round(standing.target_today, 4),
            "behind": standing.behind,
            "status": standing.status_word,
            "passing": standing.latest.passing if standing.latest else None,
            "total": standing.latest.total if standing.latest else None,
            "as_of": standing.latest.day if standing.latest else None,
        }

    def validate(self, attrs):
        if (
            self.instance is not None
            and "organization" in attrs
            and attrs["organization"] != self.instance.organization
        ):
            raise serializers.ValidationError({"organization": "An initiative cannot move to another organization."})
        return attrs


class GraduateSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=[n for n in LEVEL_NAMES if n >= 2])
