"""Writes for the error-budget release gate."""

from datetime import timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.slos import selectors as slo_selectors
from apps.slos.maths import policy_steps_reached

from .models import GateDecision, GateOverride
from .selectors import active_override

# A reached policy step at or above this consumed share freezes feature deploys.
FREEZE_AT_PERCENT = 100
MAX_OVERRIDE_HOURS = 72
# Budgets move in 5-minute buckets: a CI call may reuse the verdicts of the last minute.
VERDICT_CACHE_SECONDS = 60


def _slo_verdicts(service, now) -> list[dict]:
    slos = list(slo_selectors.slos_for_services(service_ids=[service.pk]))
    statuses = slo_selectors.slo_statuses(slos, now=now) if slos else {}
    out = []
    for slo in slos:
        st = statuses.get(slo.pk)
        consumed = st.consumed if st else None
        policy = slo_selectors.policy_for(slo)
        reached = policy_steps_reached(policy.steps, consumed) if policy else []
        freeze = any(s["consumed_percent"] >= FREEZE_AT_PERCENT for s in reached)
        out.append(
            {
                "slo": slo.pk,
                "name": slo.name,
                "consumed": consumed,
                "policy": policy.name if policy else None,
                "freeze": freeze,
            }
        )
    return out


@transaction.atomic
def gate_decide(*, service, user, kind: str = GateDecision.Kind.FEATURE, ref: str = "", now=None) -> GateDecision:
    """Allow or deny a production deploy of `service` and record the answer."""
    if kind not in GateDecision.Kind.values:
        raise ValidationError({"kind": f"kind is one of {', '.join(GateDecision.Kind.values)}."})
    if now is None:
        now = timezone.now()
        key = f"sre:gate:verdicts:{service.pk}"
        verdicts = cache.get(key)
        if verdicts is None:
            verdicts = _slo_verdicts(service, now)
            cache.set(key, verdicts, VERDICT_CACHE_SECONDS)
    else:  # an explicit time (tests, replays) always computes
        verdicts = _slo_verdicts(service, now)
    frozen = [v for v in verdicts if v["freeze"]]
    override = None
    if not frozen:
        allowed = True
        if not verdicts:
            reason = "No SLO measures this service: nothing to gate on."
        elif all(v["consumed"] is None for v in verdicts):
            reason = "No SLO data in the window yet: nothing to gate on."
        else:
            reason = "Error budget left on every SLO."
    else:
        names = ", ".join(f"{v['name']} ({v['consumed'] * 100:.0f}% of budget spent)" for v in frozen)
        override = active_override(service_id=service.pk, now=now)
        if kind == GateDecision.Kind.FIX:
            allowed, reason = True, f"Fix allowed during the freeze: {names}."
        elif override is not None:
            allowed = True
            reason = f"Override until {override.expires_at:%Y-%m-%d %H:%M} UTC: {override.reason} (frozen: {names})."
        else:
            allowed, reason = False, f"Feature deploys frozen by the error budget policy: {names}."
    return GateDecision.objects.create(
        service=service,
        decided_at=now,
        allowed=allowed,
        kind=kind,
        ref=ref[:200],
        reason=reason,
        override=override if allowed and kind != GateDecision.Kind.FIX else None,
        requested_by=user,
        slos=verdicts,
    )


@transaction.atomic
def gate_override_create(*, service, user, reason: str, hours: float, now=None) -> GateOverride:
    now = now or timezone.now()
    errors = {}
    if not (reason or "").strip():
        errors["reason"] = "Say why the gate is overridden."
    try:
        hours = float(hours)
    except (TypeError, ValueError):
        hours = None
    if hours is None or not (0 < hours <= MAX_OVERRIDE_HOURS):
        errors["hours"] = f"An override lasts between 0 and {MAX_OVERRIDE_HOURS} hours."
    if errors:
        raise ValidationError(errors)
    return GateOverride.objects.create(
        service=service, reason=reason.strip(), created_by=user, expires_at=now + timedelta(hours=hours)
    )
