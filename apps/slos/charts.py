"""Chart.js configs of the SLO pages: pure functions from data to a config dict
(turned into the template attribute with apps.core.charts.chart_attr)."""

from __future__ import annotations


def budget_burndown(series: dict) -> dict:
    """Error budget left (%) over the SLO's window, from `selectors.slo_series`."""
    return {
        "type": "line",
        "data": {
            "labels": series["labels"],
            "datasets": [
                {
                    "label": "Error budget left (%)",
                    "data": series["remaining"],
                    "borderColor": "#0d6efd",
                    "backgroundColor": "rgba(13,110,253,.08)",
                    "fill": True,
                    "pointRadius": 0,
                    "spanGaps": True,
                    "tension": 0.1,
                }
            ],
        },
        "options": {
            "maintainAspectRatio": False,
            "interaction": {"intersect": False, "mode": "index"},
            "scales": {"x": {"ticks": {"maxTicksLimit": 8}}, "y": {"title": {"display": True, "text": "%"}}},
        },
    }


def sli_against_target(series: dict) -> dict:
    """The SLI (%) per step with the target as a dashed line, from `selectors.slo_series`."""
    return {
        "type": "line",
        "data": {
            "labels": series["labels"],
            "datasets": [
                {
                    "label": "SLI (%)",
                    "data": series["sli"],
                    "borderColor": "#198754",
                    "pointRadius": 0,
                    "spanGaps": False,
                    "borderWidth": 1.5,
                },
                {
                    "label": "Target (%)",
                    "data": [series["target_percent"]] * len(series["labels"]),
                    "borderColor": "#dc3545",
                    "borderDash": [6, 4],
                    "pointRadius": 0,
                    "borderWidth": 1,
                },
            ],
        },
        "options": {
            "maintainAspectRatio": False,
            "interaction": {"intersect": False, "mode": "index"},
            "scales": {"x": {"ticks": {"maxTicksLimit": 8}}},
        },
    }
