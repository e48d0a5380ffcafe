"""Shared read-side vocabulary of the scoring pages: DORA figures in words, score bands, labels, links."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from apps.core import figures
from apps.delivery import metrics as delivery_metrics

from .. import metrics
from ..models import PILLARS

MAX_COMPARE = 6
PERIODS = {7: "week", 30: "month", 90: "quarter"}
TREND_WEEKS = 26
PILLAR_LABELS = dict(PILLARS)
DORA_LABELS = {
    "deployment_frequency": "Deployment frequency",
    "lead_time_hours": "Lead time",
    "change_failure_rate": "Change failure rate",
    "recovery_time_hours": "Failed deployment recovery time",
    "deployment_rework_rate": "Deployment rework rate",
}
# Throughput and instability are always shown together, each key with its own tier (never one
# DORA "overall" tier): DORA 2024's five metrics, grouped as apps.delivery.metrics.GROUPS says.
DORA_GROUPS = (
    ("Throughput", delivery_metrics.THROUGHPUT),
    ("Instability", delivery_metrics.INSTABILITY),
)
DORA_METRIC = {
    "deployment_frequency": "dora.deploys_per_day",
    "lead_time_hours": "dora.lead_time_hours",
    "change_failure_rate": "dora.change_failure_rate",
    "recovery_time_hours": "dora.time_to_restore_hours",
    "deployment_rework_rate": "dora.deployment_rework_rate",
}


def dora_figures(dora: dict | None) -> list[tuple[str, str, str, str | None]]:
    """(group, label, shown value, tier) of each key, throughput first then instability."""
    dora = dora or {}
    out = []
    for group, keys in DORA_GROUPS:
        for key in keys:
            entry = dora.get(key) or {}
            value = entry.get("per_day", entry.get("median", entry.get("value")))
            if key == "deployment_frequency" and value is None:
                value = 0.0  # no production deployment in the window: "no deployments"
            out.append((group, DORA_LABELS[key], metrics.format_value(DORA_METRIC[key], value), entry.get("tier")))
    return out


def _url(name: str, *args) -> str | None:
    """The URL of another app's page, or None while that page does not exist."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def score_band(value: float | None) -> str:
    """A colour band for heatmap cells and bars."""
    if value is None:
        return "none"
    if value >= 80:
        return "5"
    if value >= 65:
        return "4"
    if value >= 45:
        return "3"
    if value >= 25:
        return "2"
    return "1"


COVERAGE_LABEL = "SLO coverage (tier-weighted)"


def window_label(inputs: dict) -> str:
    """The learning window a snapshot's postmortem figures cover, in words ("last 90 days")."""
    from apps.postmortems.selectors import LEARNING_WINDOW_DAYS

    return f"last {LEARNING_WINDOW_DAYS} days"


def _fmt_score(value) -> str:
    return "no answer" if value is None else figures.score(value)
