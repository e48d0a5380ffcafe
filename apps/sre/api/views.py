from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core import permissions
from apps.teams.models import Service

from .. import services
from ..models import GateDecision


class GateRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=GateDecision.Kind.values, default=GateDecision.Kind.FEATURE)
    ref = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=GateDecision._meta.get_field("ref").max_length
    )


class OverrideRequestSerializer(serializers.Serializer):
    reason = serializers.CharField()
    hours = serializers.FloatField()


def gate_answer(d) -> dict:
    return {
        "decision": "allow" if d.allowed else "deny",
        "allowed": d.allowed,
        "reason": d.reason,
        "kind": d.kind,
        "id": d.pk,
        "slos": d.slos,
    }


def _bad(exc: ValidationError):
    return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)


GATE_DECISION = inline_serializer(
    "GateDecision",
    {
        "decision": serializers.ChoiceField(choices=["allow", "deny"]),
        "allowed": serializers.BooleanField(),
        "reason": serializers.CharField(),
        "kind": serializers.CharField(),
        "id": serializers.IntegerField(),
        "slos": serializers.ListField(child=serializers.DictField()),
    },
)
OVERRIDE_CREATED = inline_serializer(
    "GateOverride",
    {"id": serializers.IntegerField(), "expires_at": serializers.DateTimeField(), "reason": serializers.CharField()},
)


class GateView(APIView):
    """POST /api/v1/sre/gate/<service>/ {kind: feature|fix, ref}: 200 with allow or deny and the reason."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=GateRequestSerializer, responses={200: GATE_DECISION})
    def post(self, request, pk):
        body = GateRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = services.gate_decide(service_id=pk, actor=request.user, **body.validated_data)
        return Response(gate_answer(d))


class OverrideView(APIView):
    """POST /api/v1/sre/gate/<service>/override/ {reason, hours}: a lead lets deploys through for a set time."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=OverrideRequestSerializer, responses={201: OVERRIDE_CREATED})
    def post(self, request, pk):
        service = permissions.get_for_user(request.user, Service.objects.all(), pk=pk)
        body = OverrideRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            o = services.gate_override_create(service=service, actor=request.user, **body.validated_data)
        except ValidationError as exc:
            return _bad(exc)
        return Response({"id": o.pk, "expires_at": o.expires_at, "reason": o.reason}, status=status.HTTP_201_CREATED)
