"""Inputs and rubric helpers for scoring tests (hand-made, JSON-shaped like the selectors' output)."""

from apps.scoring.pillars import CheckSpec


def dora(df=None, lt=None, cfr=None, ttr=None, *, per_day=None, lead=None, rate=None, restore=None):
    return {
        "deployment_frequency": {"per_day": per_day, "tier": df},
        "lead_time_hours": {"median": lead, "tier": lt},
        "change_failure_rate": {"value": rate, "tier": cfr},
        "recovery_time_hours": {"median": restore, "tier": ttr},
    }


def reliability(services=0, with_slo=0, tiers=None, slos=0, meeting=0, attainment=None, budget=None):
    return {
        "services": services,
        "services_with_slo": with_slo,
        "coverage_by_tier": {"1": None, "2": None, "3": None, **(tiers or {})},
        "slos": slos,
        "slos_meeting_target": meeting,
        "attainment": attainment,
        "budget_remaining_avg": budget,
    }


def learning(incidents=0, published=0, share=None, days=None, due=0, on_time=0, closed_share=None):
    return {
        "sev12_incidents": incidents,
        "sev12_with_published_pm": published,
        "published_share": share,
        "median_days_to_publish": days,
        "action_items_due": due,
        "action_items_closed_on_time": on_time,
        "closed_on_time_share": closed_share,
    }


def assessment(overall=None, **dims):
    return {
        "overall": overall,
        "dimensions": {d: dims.get(d) for d in ("culture", "automation", "lean", "measurement", "sharing")},
        "assessment_id": 1,
        "submitted_at": "2026-11-01T10:00:00+00:00",
    }


def inputs(*, as_of="2026-11-22", a=None, d=None, r=None, lr=None):
    return {
        "as_of": as_of,
        "assessment": a,
        "dora": d or dora(),
        "reliability": r or reliability(),
        "learning": lr or learning(),
    }


def spec(key, level, metric, operator, value, *, id=None, when_missing="fail", hint="do it"):
    return CheckSpec(
        id=id,
        key=key,
        level=level,
        name=key,
        metric=metric,
        operator=operator,
        value=value,
        hint=hint,
        when_missing=when_missing,
    )


WEIGHTS = {"self_assessment": 20, "delivery": 30, "reliability": 30, "learning": 20}
