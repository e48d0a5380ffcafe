"""The metrics a level check can test, each a pure function of a team's facts.

`facts` is what `pillars.score_team` builds from the JSON inputs of a snapshot:
{"overall", "pillars": {key: score}, "assessment": {...}|None, "dora": {...},
"reliability": {...}, "learning": {...}, "toil": {...}, "as_of": "YYYY-MM-DD"}.
A metric returns a float, or None when the team has no data for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from apps.core import figures

TIER_RANK = {"elite": 4, "high": 3, "medium": 2, "low": 1}
RANK_TIER = {rank: tier for tier, rank in TIER_RANK.items()}


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str  # score | ratio | hours | days | per_day | per_week | rank | count
    fn: Callable[[dict], float | None]
    evidence: str = ""  # the app whose pages show the evidence


def _get(d: dict | None, *path):
    for part in path:
        if d is None:
            return None
        d = d.get(part)
    return d


def _days_since(facts: dict) -> float | None:
    submitted = _get(facts, "assessment", "submitted_at")
    if not submitted:
        return None
    if isinstance(submitted, str):
        submitted = datetime.fromisoformat(submitted)
    as_of = facts["as_of"]
    as_of = date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    return float(max(0, (as_of - submitted.date()).days))


def _rank(key: str) -> Callable[[dict], float | None]:
    def fn(facts):
        tier = _get(facts, "dora", key, "tier")
        return float(TIER_RANK[tier]) if tier in TIER_RANK else None

    return fn


def _coverage(facts: dict) -> float | None:
    services = _get(facts, "reliability", "services")
    if not services:
        return None
    return _get(facts, "reliability", "services_with_slo") / services


def _tier_coverage(tier: int) -> Callable[[dict], float | None]:
    def fn(facts):
        by_tier = _get(facts, "reliability", "coverage_by_tier") or {}
        return by_tier.get(str(tier), by_tier.get(tier))

    return fn


def _slo_count(facts: dict) -> float | None:
    # A team without services has nothing to put an SLO on: no data, not zero.
    if not _get(facts, "reliability", "services"):
        return None
    return float(_get(facts, "reliability", "slos") or 0)


def _deploys_per_day(facts: dict) -> float | None:
    value = _get(facts, "dora", "deployment_frequency", "per_day")
    # No production deployment in the window is a measured zero.
    return 0.0 if value is None else value


_METRICS = [
    Metric("score.overall", "Overall score", "score", lambda f: f.get("overall")),
    Metric("score.self_assessment", "Self-assessment pillar", "score", lambda f: f["pillars"].get("self_assessment")),
    Metric("score.delivery", "Delivery pillar", "score", lambda f: f["pillars"].get("delivery")),
    Metric("score.reliability", "Reliability pillar", "score", lambda f: f["pillars"].get("reliability")),
    Metric("score.learning", "Learning pillar", "score", lambda f: f["pillars"].get("learning")),
    Metric(
        "calms.days_since_submitted",
        "Days since the last submitted self-assessment",
        "days",
        _days_since,
        "assessments",
    ),
    Metric(
        "calms.overall",
        "CALMS overall (self-rated)",
        "score",
        lambda f: _get(f, "assessment", "overall"),
        "assessments",
    ),
    Metric(
        "calms.culture",
        "CALMS Culture",
        "score",
        lambda f: _get(f, "assessment", "dimensions", "culture"),
        "assessments",
    ),
    Metric(
        "calms.automation",
        "CALMS Automation",
        "score",
        lambda f: _get(f, "assessment", "dimensions", "automation"),
        "assessments",
    ),
    Metric("calms.lean", "CALMS Lean", "score", lambda f: _get(f, "assessment", "dimensions", "lean"), "assessments"),
    Metric(
        "calms.measurement",
        "CALMS Measurement",
        "score",
        lambda f: _get(f, "assessment", "dimensions", "measurement"),
        "assessments",
    ),
    Metric(
        "calms.sharing",
        "CALMS Sharing",
        "score",
        lambda f: _get(f, "assessment", "dimensions", "sharing"),
        "assessments",
    ),
    Metric("dora.deploys_per_day", "Production deployments per day", "per_day", _deploys_per_day, "delivery"),
    Metric(
        "dora.deployment_frequency_rank", "Deployment frequency tier", "rank", _rank("deployment_frequency"), "delivery"
    ),
    Metric(
        "dora.lead_time_hours",
        "Lead time for changes (median hours)",
        "hours",
        lambda f: _get(f, "dora", "lead_time_hours", "median"),
        "delivery",
    ),
    Metric("dora.lead_time_rank", "Lead time tier", "rank", _rank("lead_time_hours"), "delivery"),
    Metric(
        "dora.change_failure_rate",
        "Change failure rate",
        "ratio",
        lambda f: _get(f, "dora", "change_failure_rate", "value"),
        "delivery",
    ),
    Metric("dora.change_failure_rank", "Change failure rate tier", "rank", _rank("change_failure_rate"), "delivery"),
    Metric(
        "dora.time_to_restore_hours",
        "Time to restore (median hours)",
        "hours",
        lambda f: _get(f, "dora", "recovery_time_hours", "median"),
        "delivery",
    ),
    Metric("dora.time_to_restore_rank", "Time to restore tier", "rank", _rank("recovery_time_hours"), "delivery"),
    Metric(
        "dora.deployment_rework_rate",
        "Deployment rework rate",
        "ratio",
        lambda f: _get(f, "dora", "deployment_rework_rate", "value"),
        "delivery",
    ),
    Metric("slo.count", "SLOs defined", "count", _slo_count, "slos"),
    Metric("slo.coverage", "Services with an SLO", "ratio", _coverage, "slos"),
    Metric("slo.coverage_tier1", "Tier-1 services with an SLO", "ratio", _tier_coverage(1), "slos"),
    Metric("slo.coverage_tier2", "Tier-2 services with an SLO", "ratio", _tier_coverage(2), "slos"),
    Metric(
        "slo.attainment", "SLOs meeting their target", "ratio", lambda f: _get(f, "reliability", "attainment"), "slos"
    ),
    Metric(
        "slo.budget_remaining",
        "Average error budget left",
        "ratio",
        lambda f: _get(f, "reliability", "budget_remaining_avg"),
        "slos",
    ),
    Metric(
        "pm.sev12_incidents",
        "SEV1-2 incidents",
        "count",
        lambda f: _get(f, "learning", "sev12_incidents"),
        "postmortems",
    ),
    Metric(
        "pm.published_share",
        "SEV1-2 incidents with a published postmortem",
        "ratio",
        lambda f: _get(f, "learning", "published_share"),
        "postmortems",
    ),
    Metric(
        "pm.median_days_to_publish",
        "Median days to publish a postmortem",
        "days",
        lambda f: _get(f, "learning", "median_days_to_publish"),
        "postmortems",
    ),
    Metric(
        "pm.closed_on_time_share",
        "Action items closed on time",
        "ratio",
        lambda f: _get(f, "learning", "closed_on_time_share"),
        "postmortems",
    ),
]


# Toil (apps/sre): the share and hours need a toil list or a review ("measured"); the proxies come
# from the team's tools over the last four weeks.
def _toil(key: str) -> Callable[[dict], float | None]:
    def fn(facts):
        toil = facts.get("toil") or {}
        return toil.get(key) if toil.get("measured") else None

    return fn


def _toil_proxy(key: str) -> Callable[[dict], float | None]:
    return lambda facts: _get(facts, "toil", "proxies", key)


_METRICS += [
    Metric("toil.share", "Toil share of the team's time", "ratio", _toil("share"), "sre"),
    Metric("toil.hours", "Toil hours a week", "hours", _toil("hours"), "sre"),
    Metric("toil.saved_hours", "Hours a week saved by automating toil", "hours", _toil("saved_hours"), "sre"),
    Metric("toil.pages_per_week", "Pages a week (4 weeks)", "per_week", _toil_proxy("pages_per_week"), "sre"),
    Metric("toil.off_hours_share", "Pages off hours (4 weeks)", "ratio", _toil_proxy("off_hours_share"), "sre"),
    Metric(
        "toil.unautomated_deploy_share",
        "Production deployments without an automation signal (4 weeks)",
        "ratio",
        _toil_proxy("unautomated_deploy_share"),
        "sre",
    ),
    Metric(
        "toil.alerts_without_postmortem_share",
        "Burn-rate alerts without a postmortem (4 weeks)",
        "ratio",
        _toil_proxy("alerts_without_followup_share"),
        "sre",
    ),
]

_METRICS.append(
    Metric(
        "runbook.tier1_coverage",
        "Tier-1 services with a runbook reviewed in the last 180 days",
        "ratio",
        lambda f: _get(f, "runbooks", "tier1_coverage"),
        "runbooks",
    )
)


def _deploys_while_denied(facts: dict) -> float | None:
    gate = facts.get("gate") or {}
    # A team whose pipelines never asked the gate in the window has no data, not a clean record.
    return float(gate["deploys_while_denied"]) if gate.get("decisions") else None


_METRICS.append(
    Metric(
        "gate.deploys_while_denied",
        "Production deployments made while the release gate denied (90 days)",
        "count",
        _deploys_while_denied,
        "sre",
    )
)


def _service_check(key: str) -> Callable[[dict], float | None]:
    """Share of the team's services that pass service check `key`, of those it applies to (None: none)."""

    def fn(facts):
        entry = _get(facts, "services", key) or {}
        applicable = entry.get("applicable")
        return entry["passing"] / applicable if applicable else None

    return fn


def _service_check_metrics() -> list[Metric]:
    from apps.servicechecks import registry  # pure definitions: no queries at import

    return [
        Metric(
            f"services.{c.key}",
            f"Services passing: {c.label.lower()} ({c.applies_to})",
            "ratio",
            _service_check(c.key),
            "servicechecks",
        )
        for c in registry.CHECKS.values()
    ]


_METRICS += _service_check_metrics()

METRICS: dict[str, Metric] = {m.key: m for m in _METRICS}


def choices() -> list[tuple[str, str]]:
    return [(m.key, m.label) for m in _METRICS]


def format_value(metric_key: str, value) -> str:
    """A metric value as every page writes it (apps/core/figures.py: "80%", "50.2 h", "3.0/week", "high")."""
    if value is None:
        return figures.NO_DATA
    metric = METRICS.get(metric_key)
    unit = metric.unit if metric else ""
    if unit == "ratio":
        return figures.share(value)
    if unit == "hours":
        return figures.duration(value)
    if unit == "days":
        return figures.days(value)
    if unit == "per_day":
        return figures.deploy_rate(value)
    if unit == "per_week":
        return f"{figures.average(value, 1)}/week"
    if unit == "rank":
        return RANK_TIER.get(round(value), f"{value:g}")
    if unit == "count":
        return figures.count(value)
    return figures.score(value)
