"""Reads for the release gate."""

from django.db.models import QuerySet

from apps.delivery.models import Deployment

from .models import GateDecision, GateOverride


def decisions_for_service(*, service_id: int, limit: int = 20) -> list[GateDecision]:
    return list(GateDecision.objects.filter(service_id=service_id).select_related("override")[:limit])


def active_override(*, service_id: int, now) -> GateOverride | None:
    return GateOverride.objects.filter(service_id=service_id, expires_at__gt=now).order_by("-expires_at").first()


def deployments_while_denied(*, service_id: int) -> QuerySet:
    """Deployments that started after a deny and before the next allow: they count against the policy."""
    from django.db.models import OuterRef, Subquery

    last = GateDecision.objects.filter(service_id=service_id, decided_at__lte=OuterRef("finished_at")).order_by(
        "-decided_at"
    )
    return (
        Deployment.objects.filter(service_id=service_id, is_production=True, finished_at__isnull=False)
        .annotate(gate_allowed=Subquery(last.values("allowed")[:1]))
        .filter(gate_allowed=False)
    )
