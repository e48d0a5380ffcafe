"""The team score as pure functions of JSON-safe inputs (no database).

Inputs of one team (what a snapshot stores in `inputs`):

    {"as_of": "2026-11-22",
     "assessment": latest_submitted_scores()[team] or None,
     "dora": team_dora()[team],
     "reliability": team_reliability()[team],
     "learning": team_learning()[team],
     "toil": apps.sre.selectors.team_toil()[team]}

Every formula is in DESIGN.md's terms; docs/scoring.md repeats them with a worked example.
Recomputing a stored snapshot's inputs gives the stored numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.core.serializers.json import DjangoJSONEncoder

from . import metrics

PILLAR_KEYS = ("self_assessment", "delivery", "reliability", "learning")
DIMENSIONS = ("culture", "automation", "lean", "measurement", "sharing")
DIMENSION_LABELS = {d: d.capitalize() for d in DIMENSIONS}
TIER_POINTS = {"elite": 100.0, "high": 75.0, "medium": 50.0, "low": 25.0}
TOIL_GUIDELINE = 0.5  # the SRE book's: toil at most half of the team's time (apps.sre.selectors)
DORA_KEYS = ("deployment_frequency", "lead_time_hours", "change_failure_rate", "recovery_time_hours")

# Reliability: a tier-1 service counts three times a tier-3 one in coverage.
TIER_WEIGHTS = {1: 3.0, 2: 2.0, 3: 1.0}
RELIABILITY_PARTS = {"coverage": 0.4, "attainment": 0.4, "budget": 0.2}
# Learning: postmortems published for SEV1-2, how fast, action items closed on time.
LEARNING_PARTS = {"published": 0.5, "speed": 0.2, "follow_through": 0.3}
PUBLISH_FAST_DAYS, PUBLISH_SLOW_DAYS = 5.0, 30.0
MAX_LEVEL = 5


def jsonable(value):
    """Inputs as they will be stored (dates to ISO strings, int keys to strings)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _weighted(parts: dict[str, float | None], weights: dict[str, float]) -> float | None:
    """Weighted mean of the parts that have a value (weights renormalised); None if none has."""
    present = [(weights[k], v) for k, v in parts.items() if v is not None and weights.get(k, 0) > 0]
    total = sum(w for w, _ in present)
    if not total:
        return None
    return sum(w * v for w, v in present) / total


# --- the four pillars ----------------------------------------------------------


def self_assessment_pillar(assessment: dict | None) -> float | None:
    """The CALMS overall score (0-100) of the latest submitted self-assessment."""
    if not assessment or assessment.get("overall") is None:
        return None
    return _round(float(assessment["overall"]))


def delivery_pillar(dora: dict | None) -> float | None:
    """Mean of the four keys' tier points (elite 100, high 75, medium 50, low 25) over the keys with a tier."""
    tiers = [((dora or {}).get(k) or {}).get("tier") for k in DORA_KEYS]
    points = [TIER_POINTS[t] for t in tiers if t in TIER_POINTS]
    return _round(sum(points) / len(points)) if points else None


def reliability_parts(rel: dict | None) -> dict[str, float | None] | None:
    """coverage (tier-weighted share of services with an SLO), attainment, budget left (clamped 0-1).

    None when the team owns no service. A part without data (no SLO, or no SLO with data)
    is None, not 0: it says "no data" and is left out of the pillar (weights renormalised)."""
    if not rel or not rel.get("services"):
        return None
    by_tier = {int(k): v for k, v in (rel.get("coverage_by_tier") or {}).items()}
    coverage = _weighted({str(t): v for t, v in by_tier.items()}, {str(t): w for t, w in TIER_WEIGHTS.items()})
    if coverage is None:  # tiers unknown: plain share of services
        coverage = (rel.get("services_with_slo") or 0) / rel["services"]
    attainment = rel.get("attainment")
    budget = rel.get("budget_remaining_avg")
    return {
        "coverage": coverage,
        "attainment": None if attainment is None else float(attainment),
        "budget": None if budget is None else min(1.0, max(0.0, float(budget))),
    }


def reliability_pillar(rel: dict | None) -> float | None:
    """100 x the weighted mean of coverage (0.4), attainment (0.4) and budget left (0.2) over the parts
    with data. No data while no SLO of the team has data: coverage alone would score a team on SLOs
    it has not measured yet (the level checks still require SLOs to climb)."""
    parts = reliability_parts(rel)
    if parts is None or parts["attainment"] is None:
        return None
    return _round(100 * _weighted(parts, RELIABILITY_PARTS))


def publish_speed(median_days: float | None) -> float | None:
    """1 when postmortems are published within 5 days, 0 after 30 or more, linear between."""
    if median_days is None:
        return None
    if median_days <= PUBLISH_FAST_DAYS:
        return 1.0
    if median_days >= PUBLISH_SLOW_DAYS:
        return 0.0
    return (PUBLISH_SLOW_DAYS - median_days) / (PUBLISH_SLOW_DAYS - PUBLISH_FAST_DAYS)


def learning_parts(learning: dict | None) -> dict[str, float | None]:
    learning = learning or {}
    return {
        "published": learning.get("published_share"),
        "speed": publish_speed(learning.get("median_days_to_publish")),
        "follow_through": learning.get("closed_on_time_share"),
    }


def learning_pillar(learning: dict | None) -> float | None:
    """Weighted mean of published share (0.5), publishing speed (0.2) and action items
    closed on time (0.3) over the parts with data; None with no SEV1-2 incident and nothing due."""
    value = _weighted(learning_parts(learning), LEARNING_PARTS)
    return None if value is None else _round(100 * value)


def measured_count(pillars: dict[str, float | None]) -> int:
    """How many of the four pillars have data ("2 of 4 pillars measured")."""
    return sum(1 for k in PILLAR_KEYS if pillars.get(k) is not None)


def pillar_scores(inputs: dict) -> dict[str, float | None]:
    return {
        "self_assessment": self_assessment_pillar(inputs.get("assessment")),
        "delivery": delivery_pillar(inputs.get("dora")),
        "reliability": reliability_pillar(inputs.get("reliability")),
        "learning": learning_pillar(inputs.get("learning")),
    }


def overall_score(pillars: dict[str, float | None], weights: dict[str, float]) -> float | None:
    """Weighted mean of the pillars that have data (weights renormalised over them)."""
    return _round(_weighted(pillars, weights))


# --- perception gaps -------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "no data" if value is None else f"{value * 100:.0f}%"


def dimension_evidence(inputs: dict) -> dict[str, tuple[float | None, str]]:
    """What the evidence says of each CALMS dimension (0-100, or None) and why, in words."""
    dora = inputs.get("dora") or {}
    rel = inputs.get("reliability") or {}
    learning = inputs.get("learning") or {}
    out: dict[str, tuple[float | None, str]] = {}

    def tier_points(key):
        return TIER_POINTS.get((dora.get(key) or {}).get("tier"))

    # Automation: deploying often and with short lead times. No deployment in the window is a measured 0.
    freq = tier_points("deployment_frequency") or 0.0
    lead = tier_points("lead_time_hours")
    freq_tier = (dora.get("deployment_frequency") or {}).get("tier") or "no deployments"
    delivery_points = freq if lead is None else (freq + lead) / 2
    why = f"deployment frequency is {freq_tier}" + (f", lead time {dora['lead_time_hours']['tier']}" if lead else "")
    # Toil, when measured: the share of the team's time left for other work counts half.
    toil = inputs.get("toil") or {}
    toil_share = toil.get("share") if toil.get("measured") else None
    if toil_share is not None:
        toil_points = 100 * max(0.0, 1 - toil_share)
        out["automation"] = (
            (delivery_points + toil_points) / 2,
            f"{why}; toil takes {toil_share * 100:.0f}% of the team's time"
            + (" (above the 50% guideline)" if toil_share > TOIL_GUIDELINE else ""),
        )
    else:
        out["automation"] = (delivery_points, why)
    # Lean: small batches that flow: lead time and change failure rate.
    lean = [p for p in (lead, tier_points("change_failure_rate")) if p is not None]
    out["lean"] = (
        sum(lean) / len(lean) if lean else None,
        "lead time and change failure rate tiers" if lean else "no lead time or change failure data",
    )
    # Measurement: SLOs on the team's services.
    if not rel.get("services"):
        out["measurement"] = (None, "the team owns no service")
    elif not rel.get("slos"):
        out["measurement"] = (0.0, f"none of its {rel['services']} services has an SLO")
    else:
        out["measurement"] = (
            reliability_pillar(rel),
            f"{rel.get('services_with_slo', 0)} of {rel['services']} services have an SLO, "
            f"{_pct(rel.get('attainment'))} of SLOs meet their target",
        )
    # Sharing: postmortems published for SEV1-2 incidents.
    share = learning.get("published_share")
    out["sharing"] = (
        None if share is None else 100 * share,
        f"{learning.get('sev12_with_published_pm', 0)} of {learning.get('sev12_incidents', 0)} SEV1-2 incidents "
        "have a published postmortem",
    )
    # Culture: blameless learning that is followed through.
    culture = [v for v in (share, learning.get("closed_on_time_share")) if v is not None]
    out["culture"] = (
        100 * sum(culture) / len(culture) if culture else None,
        f"postmortems published {_pct(share)}, action items closed on time "
        f"{_pct(learning.get('closed_on_time_share'))}",
    )
    return out


def perception_gaps(inputs: dict, threshold: float) -> list[dict]:
    """CALMS dimensions self-rated at least `threshold` points above their evidence, largest first."""
    dims = ((inputs.get("assessment") or {}).get("dimensions")) or {}
    gaps = []
    for dim, (evidence, why) in dimension_evidence(inputs).items():
        rated = dims.get(dim)
        if rated is None or evidence is None:
            continue
        gap = rated - evidence
        if gap >= threshold:
            gaps.append(
                {
                    "dimension": dim,
                    "label": DIMENSION_LABELS[dim],
                    "self_rated": _round(rated),
                    "evidence": _round(evidence),
                    "gap": _round(gap),
                    "why": f"{DIMENSION_LABELS[dim]} is self-rated {rated:.0f} but the evidence shows "
                    f"{evidence:.0f}: {why}.",
                }
            )
    return sorted(gaps, key=lambda g: -g["gap"])


# --- checks, level and recommendations ---------------------------------------------

OPS = {
    "gte": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
    "lte": lambda a, b: a <= b,
    "lt": lambda a, b: a < b,
    "eq": lambda a, b: abs(a - b) < 1e-9,
}
OP_SYMBOLS = {"gte": "≥", "gt": ">", "lte": "≤", "lt": "<", "eq": "="}


@dataclass(frozen=True)
class CheckSpec:
    """A level check as data (a `models.Check` row, or a default-rubric entry)."""

    id: int | None
    key: str
    level: int
    name: str
    metric: str
    operator: str
    value: float
    hint: str
    when_missing: str = "fail"
    # Grace period: until this day (ISO date, exclusive) the check is shown but blocks no level.
    informational_until: str | None = None


def pending_until(spec: CheckSpec, as_of: str | None) -> str | None:
    """The day a check in its grace period starts to count, or None when it counts on `as_of`."""
    if spec.informational_until is None or as_of is None:
        return None
    return spec.informational_until if str(as_of) < spec.informational_until else None


def check_target(spec: CheckSpec) -> str:
    return f"{OP_SYMBOLS[spec.operator]} {metrics.format_value(spec.metric, spec.value)}"


def evaluate_checks(
    specs, facts: dict, exemptions: dict[int | str, str] | None = None, as_of: str | None = None
) -> list[dict]:
    """Each check with its actual value and outcome. `exemptions` maps a check id (or key)
    to the date its granted exemption runs until; an exempted failing check counts as passed.
    A check in its grace period on `as_of` carries `pending_until` (it does not count for the level)."""
    exemptions = exemptions or {}
    as_of = as_of if as_of is not None else facts.get("as_of")
    results = []
    for spec in sorted(specs, key=lambda s: (s.level, s.key)):
        metric = metrics.METRICS.get(spec.metric)
        actual = metric.fn(facts) if metric else None
        met = (spec.when_missing == "pass") if actual is None else OPS[spec.operator](float(actual), float(spec.value))
        exempt_until = exemptions.get(spec.id) or exemptions.get(spec.key)
        status = "passed" if met else ("exempt" if exempt_until else "failed")
        results.append(
            {
                "id": spec.id,
                "key": spec.key,
                "level": spec.level,
                "name": spec.name,
                "metric": spec.metric,
                "operator": spec.operator,
                "value": spec.value,
                "target": check_target(spec),
                "actual": None if actual is None else round(float(actual), 4),
                "actual_display": metrics.format_value(spec.metric, actual),
                "no_data": actual is None,
                "passed": status != "failed",
                "status": status,
                "exempt_until": exempt_until if status == "exempt" else None,
                "pending_until": pending_until(spec, as_of),
                "hint": spec.hint,
                "evidence": metric.evidence if metric else "",
            }
        )
    return results


STORED_CHECK_FIELDS = (
    "id",
    "key",
    "level",
    "name",
    "metric",
    "operator",
    "value",
    "actual",
    "status",
    "exempt_until",
    "pending_until",
    "hint",
)


def stored_checks(results: list[dict]) -> list[dict]:
    """Check results as a snapshot keeps them: what was tested and the outcome; the rest is derived on read."""
    return [{k: r[k] for k in STORED_CHECK_FIELDS} for r in results]


def present_check(stored: dict) -> dict:
    """A stored check result with its display values (target, shown value, pass flag, evidence)."""
    metric = metrics.METRICS.get(stored["metric"])
    spec = CheckSpec(
        id=stored.get("id"),
        key=stored["key"],
        level=stored["level"],
        name=stored.get("name", stored["key"]),
        metric=stored["metric"],
        operator=stored["operator"],
        value=stored["value"],
        hint=stored.get("hint", ""),
    )
    return {
        **stored,
        "target": check_target(spec),
        "actual_display": metrics.format_value(stored["metric"], stored.get("actual")),
        "no_data": stored.get("actual") is None,
        "passed": stored["status"] != "failed",
        "evidence": metric.evidence if metric else "",
    }


def level_from_checks(results: list[dict], *, with_pending: bool = False) -> int:
    """1 + the number of consecutive levels from 2 up whose checks all pass (exempt counts as passed).

    The one level rule. Checks in their grace period (`pending_until`) are left out, unless
    `with_pending`: then it is the level the team will hold once they apply (docs/scoring.md)."""
    failed_levels = {
        r["level"] for r in results if r["status"] == "failed" and (with_pending or not r.get("pending_until"))
    }
    level = 1
    for candidate in range(2, MAX_LEVEL + 1):
        if candidate in failed_levels:
            break
        level = candidate
    return level


def _shortfall(result: dict) -> float:
    """How far a failed check is from passing, relative to its target (0 = almost there)."""
    if result["actual"] is None:
        return float("inf")
    actual, target = result["actual"], result["value"]
    scale = max(abs(target), 1e-9)
    return abs(target - actual) / scale


def pending_checks(results: list[dict]) -> list[dict]:
    """The checks in their grace period, soonest to apply first."""
    pending = [r for r in results if r.get("pending_until")]
    return sorted(pending, key=lambda r: (r["pending_until"], r["level"], r["key"]))


def exemption_rate(results: list[dict]) -> float | None:
    """Share (0-1) of a team's applicable checks that pass only by exemption.

    Applicable: the checks that count for the level on the snapshot's day (those in a grace period do
    not). None ("no data") when the team has no applicable check. Defined here only (docs/scoring.md)."""
    applicable = [r for r in results if not r.get("pending_until")]
    if not applicable:
        return None
    return sum(1 for r in applicable if r["status"] == "exempt") / len(applicable)


def recommendations(results: list[dict], level: int, limit: int = 3) -> list[dict]:
    """The failed checks that stand between the team and the next levels, the ones that
    unlock the nearest level first, and within a level the closest to passing."""
    failed = [r for r in results if r["status"] == "failed" and r["level"] > level]
    per_level: dict[int, int] = {}
    for r in failed:
        per_level[r["level"]] = per_level.get(r["level"], 0) + 1
    failed.sort(key=lambda r: (r["level"], _shortfall(r), r["key"]))
    return [
        {
            "check": r["key"],
            "id": r["id"],
            "name": r["name"],
            "level": r["level"],
            "hint": r["hint"],
            "actual": r["actual_display"],
            "target": r["target"],
            "evidence": r["evidence"],
            "remaining_at_level": per_level[r["level"]],
        }
        for r in failed[:limit]
    ]


# --- one team ----------------------------------------------------------------------------


@dataclass
class TeamScore:
    overall: float | None
    level: int
    pillars: dict[str, float | None]
    checks: list[dict]
    gaps: list[dict]
    recommendations: list[dict]
    inputs: dict = field(default_factory=dict)
    # The level once the checks in their grace period apply (== level when none is pending).
    level_when_applied: int | None = None

    @property
    def stored_checks(self) -> list[dict]:
        return stored_checks(self.checks)


def score_team(
    inputs: dict,
    *,
    weights: dict[str, float],
    checks,
    gap_threshold: float,
    exemptions: dict | None = None,
    as_of=None,
) -> TeamScore:
    """Score one team from its (JSON-safe) inputs against a scorecard, on `as_of` (default: the inputs' day)."""
    pillars = pillar_scores(inputs)
    overall = overall_score(pillars, weights)
    facts = {**inputs, "pillars": pillars, "overall": overall}
    day = as_of.isoformat() if hasattr(as_of, "isoformat") else (as_of or inputs.get("as_of"))
    results = evaluate_checks(checks, facts, exemptions, as_of=day)
    level = level_from_checks(results)
    return TeamScore(
        overall=overall,
        level=level,
        pillars=pillars,
        checks=results,
        gaps=perception_gaps(inputs, gap_threshold),
        recommendations=recommendations(results, level),
        inputs=inputs,
        level_when_applied=level_from_checks(results, with_pending=True),
    )
