from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.teams.models import Service


class ServiceCheckResultSerializer(serializers.Serializer):
    passed = serializers.BooleanField(allow_null=True, help_text="true pass, false fail, null not applicable")
    reason = serializers.CharField()
    link = serializers.CharField(allow_null=True, help_text="Where the evidence is or the fix is made.")


class ServiceChecksSerializer(serializers.ModelSerializer):
    """One service with every check's result (the results are judged for the whole page in one query)."""

    results = serializers.SerializerMethodField()
    passing = serializers.SerializerMethodField()
    applicable = serializers.SerializerMethodField()

    class Meta:
        model = Service
        fields = ["id", "name", "team", "tier", "lifecycle", "passing", "applicable", "results"]

    def _mine(self, service):
        from apps.servicechecks import registry

        results = self.context["results"]
        return {key: results[(key, service.pk)] for key in registry.KEYS}

    @extend_schema_field(serializers.DictField(child=ServiceCheckResultSerializer(), help_text="By check key."))
    def get_results(self, service):
        return {key: {"passed": r.passed, "reason": r.reason, "link": r.link} for key, r in self._mine(service).items()}

    def get_passing(self, service) -> int:
        return sum(1 for r in self._mine(service).values() if r.passed)

    def get_applicable(self, service) -> int:
        return sum(1 for r in self._mine(service).values() if r.passed is not None)
