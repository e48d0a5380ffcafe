from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core import permissions
from apps.teams.models import Service

from .. import services


def _service_for(user, pk, *, lead_only=False):
    service = permissions.get_for_user(user, Service.objects.select_related("team"), pk=pk)
    role = permissions.team_role(user, service.team_id)
    allowed = role == permissions.TEAM_LEAD if lead_only else role is not None
    if not (allowed or permissions.is_org_admin(user, service.team.organization_id)):
        raise PermissionDenied(
            "Only the service's team may do this." if not lead_only else "Only a team lead may override."
        )
    return service


def _bad(exc: ValidationError):
    return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)


GATE_REQUEST = inline_serializer(
    "GateRequest",
    {
        "kind": serializers.ChoiceField(choices=["feature", "fix"], default="feature"),
        "ref": serializers.CharField(required=False, allow_blank=True),
    },
)
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
OVERRIDE_REQUEST = inline_serializer(
    "GateOverrideRequest", {"reason": serializers.CharField(), "hours": serializers.IntegerField()}
)
OVERRIDE_CREATED = inline_serializer(
    "GateOverride",
    {"id": serializers.IntegerField(), "expires_at": serializers.DateTimeField(), "reason": serializers.CharField()},
)


class GateView(APIView):
    """POST /api/v1/sre/gate/<service>/ {kind: feature|fix, ref}: 200 with allow or deny and the reason."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=GATE_REQUEST, responses={200: GATE_DECISION})
    def post(self, request, pk):
        service = _service_for(request.user, pk)
        try:
            d = services.gate_decide(
                service=service,
                user=request.user,
                kind=str(request.data.get("kind") or "feature"),
                ref=str(request.data.get("ref") or ""),
            )
        except ValidationError as exc:
            return _bad(exc)
        return Response(
            {
                "decision": "allow" if d.allowed else "deny",
                "allowed": d.allowed,
                "reason": d.reason,
                "kind": d.kind,
                "id": d.pk,
                "slos": d.slos,
            }
        )


class OverrideView(APIView):
    """POST /api/v1/sre/gate/<service>/override/ {reason, hours}: a lead lets deploys through for a set time."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=OVERRIDE_REQUEST, responses={201: OVERRIDE_CREATED})
    def post(self, request, pk):
        service = _service_for(request.user, pk, lead_only=True)
        try:
            o = services.gate_override_create(
                service=service,
                user=request.user,
                reason=str(request.data.get("reason") or ""),
                hours=request.data.get("hours"),
            )
        except ValidationError as exc:
            return _bad(exc)
        return Response({"id": o.pk, "expires_at": o.expires_at, "reason": o.reason}, status=status.HTTP_201_CREATED)
