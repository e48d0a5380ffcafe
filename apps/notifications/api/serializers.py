from rest_framework import serializers

from .. import kinds
from ..models import Preference, Target


class TargetSerializer(serializers.ModelSerializer):
    address = serializers.CharField(source="address_display", read_only=True)

    class Meta:
        model = Target
        fields = [
            "id",
            "organization",
            "team",
            "name",
            "channel",
            "address",
            "kinds",
            "active",
            "health",
            "last_attempt_at",
            "last_success_at",
            "last_error",
            "consecutive_failures",
        ]
        read_only_fields = fields


class PreferenceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=kinds.choices())
    label = serializers.CharField(read_only=True)
    enabled = serializers.BooleanField()


__all__ = ["PreferenceSerializer", "TargetSerializer", "Preference"]
