"""Chart.js configs of the postmortems pages, built from selector data by pure functions
(data -> config dict); views turn them into the canvas attribute with apps.core.charts.chart_attr."""

from __future__ import annotations

SEVERITY_COLOURS = {1: "#dc3545", 2: "#fd7e14", 3: "#0dcaf0", 4: "#6c757d", 5: "#adb5bd"}


def incidents_per_month(by_month: dict) -> dict:
    """Incidents per month stacked by severity, from `selectors.incidents_by_month`."""
    datasets = [
        {
            "label": f"SEV{sev}",
            "data": by_month["counts"].get(sev, [0] * len(by_month["labels"])),
            "backgroundColor": colour,
            "stack": "incidents",
        }
        for sev, colour in SEVERITY_COLOURS.items()
    ]
    return {
        "type": "bar",
        "data": {"labels": by_month["labels"], "datasets": datasets},
        "options": {
            "responsive": True,
            "maintainAspectRatio": False,
            "animation": False,
            "scales": {"x": {"stacked": True}, "y": {"stacked": True, "beginAtZero": True, "ticks": {"precision": 0}}},
            "plugins": {"legend": {"position": "bottom"}},
        },
    }


def board_chart(by_team: list[dict]) -> dict | None:
    """Overdue and on-time open action items per team (the board's `by_team` rows); None when nothing is open."""
    if not by_team:
        return None
    rows = by_team[:12]
    return {
        "type": "bar",
        "data": {
            "labels": [r["team__name"] for r in rows],
            "datasets": [
                {"label": "Overdue", "data": [r["overdue"] for r in rows], "backgroundColor": "#dc3545"},
                {
                    "label": "Open, on time",
                    "data": [r["open"] - r["overdue"] for r in rows],
                    "backgroundColor": "#0d6efd",
                },
            ],
        },
        "options": {
            "indexAxis": "y",
            "responsive": True,
            "maintainAspectRatio": False,
            "animation": False,
            "scales": {"x": {"stacked": True, "beginAtZero": True, "ticks": {"precision": 0}}, "y": {"stacked": True}},
            "plugins": {"legend": {"position": "bottom"}},
        },
    }
