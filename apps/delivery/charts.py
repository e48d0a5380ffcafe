"""Chart.js configurations of the delivery pages: pure functions, data in, config dict out
(pages turn them into the data-chart attribute with apps.core.charts.chart_attr)."""

from __future__ import annotations

from .selectors import KEY_NAMES

KEY_LABELS = ["Deployment frequency", "Lead time", "Recovery time", "Change failure rate"]


def _week_labels(points: list[dict]) -> list[str]:
    return [p["week_start"].strftime("%d %b") for p in points]


def _trend(points, key, label, color, kind="line", suffix="", span=True) -> dict:
    return {
        "type": kind,
        "data": {
            "labels": _week_labels(points),
            "datasets": [
                {
                    "label": label,
                    "data": [p[key] for p in points],
                    "borderColor": color,
                    "backgroundColor": color + "55",
                    "spanGaps": span,
                    "tension": 0.25,
                }
            ],
        },
        "options": {
            "maintainAspectRatio": False,
            "plugins": {"legend": {"display": False}},
            "scales": {"y": {"beginAtZero": True, "title": {"display": bool(suffix), "text": suffix}}},
        },
    }


def trend_configs(points: list[dict]) -> dict[str, dict]:
    """The team page's four weekly trends (selectors.team_trend points, oldest first)."""
    return {
        "deployments": _trend(points, "deployments", "Deployments per week", "#4f46e5", "bar", "deployments"),
        # Weeks without deployments have no value: leave the gap rather than draw a line across it.
        "lead_time": _trend(
            points, "lead_time_hours", "Median lead time (hours)", "#0891b2", suffix="hours", span=False
        ),
        "failure_rate": _trend(
            points, "change_failure_rate", "Change failure rate (%)", "#dc2626", suffix="%", span=False
        ),
        "recovery": _trend(points, "recovery_time_hours", "Median recovery time (hours)", "#d97706", "bar", "hours"),
    }


def tier_counts_config(counts: dict[str, dict[str, int]], tier_colors: dict[str, str]) -> dict:
    """How many teams sit in each tier, per key (selectors.org_tier_counts), stacked."""
    return {
        "type": "bar",
        "data": {
            "labels": KEY_LABELS,
            "datasets": [
                {
                    "label": tier.title(),
                    "data": [counts[key][tier] for key in KEY_NAMES],
                    "backgroundColor": color,
                }
                for tier, color in tier_colors.items()
            ],
        },
        "options": {
            "indexAxis": "y",
            "maintainAspectRatio": False,
            "scales": {"x": {"stacked": True, "title": {"display": True, "text": "teams"}}, "y": {"stacked": True}},
        },
    }


def deployments_spark_config(points: list[dict]) -> dict:
    """The team panel's bar of deployments per week."""
    return {
        "type": "bar",
        "data": {
            "labels": _week_labels(points),
            "datasets": [
                {
                    "label": "Deployments per week",
                    "data": [p["deployments"] for p in points],
                    "backgroundColor": "#4f46e5",
                }
            ],
        },
        "options": {"maintainAspectRatio": False, "plugins": {"legend": {"display": False}}},
    }
