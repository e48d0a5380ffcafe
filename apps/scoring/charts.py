"""Chart.js configs of the scoring pages: pure functions (data -> config), turned into the
`data-chart` attribute by apps.core.charts.chart_attr (None: no chart)."""

from __future__ import annotations

from apps.core.charts import chart_attr

from .models import LEVEL_NAMES, PILLARS

PALETTE = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#64748b"]
LEVEL_COLOURS = {1: "#ef4444", 2: "#f59e0b", 3: "#eab308", 4: "#10b981", 5: "#4f46e5"}


def team_trend_chart(history) -> str | None:
    """A team's overall, pillar scores and level over its snapshots (at least two)."""
    if len(history) < 2:
        return None
    labels = [s.date.isoformat() for s in history]
    datasets = [
        {
            "label": "Overall",
            "data": [s.overall for s in history],
            "borderColor": "#1e1b4b",
            "backgroundColor": "#1e1b4b",
            "borderWidth": 3,
            "tension": 0.25,
            "spanGaps": True,
        }
    ]
    for i, (key, label) in enumerate(PILLARS):
        datasets.append(
            {
                "label": label,
                "data": [getattr(s, key) for s in history],
                "borderColor": PALETTE[i + 1],
                "backgroundColor": PALETTE[i + 1],
                "borderWidth": 1.5,
                "borderDash": [4, 3],
                "tension": 0.25,
                "spanGaps": True,
                "pointRadius": 0,
            }
        )
    datasets.append(
        {
            "label": "Level",
            "data": [s.level for s in history],
            "yAxisID": "level",
            "stepped": True,
            "borderColor": "#f59e0b",
            "backgroundColor": "rgba(245,158,11,.12)",
            "fill": True,
            "pointRadius": 0,
        }
    )
    return chart_attr(
        {
            "type": "line",
            "data": {"labels": labels, "datasets": datasets},
            "options": {
                "responsive": True,
                "maintainAspectRatio": False,
                "interaction": {"mode": "index", "intersect": False},
                "scales": {
                    "y": {"min": 0, "max": 100, "title": {"display": True, "text": "Score"}},
                    "level": {
                        "position": "right",
                        "min": 0,
                        "max": 5,
                        "ticks": {"stepSize": 1},
                        "grid": {"drawOnChartArea": False},
                        "title": {"display": True, "text": "Level"},
                    },
                },
                "plugins": {"legend": {"position": "bottom"}},
            },
        }
    )


def levels_chart(departments) -> str | None:
    """Teams per level in each department (stacked bars)."""
    if not departments:
        return None
    return chart_attr(
        {
            "type": "bar",
            "data": {
                "labels": [d.label for d in departments],
                "datasets": [
                    {
                        "label": f"Level {lvl} · {LEVEL_NAMES[lvl]}",
                        "data": [d.levels[lvl] for d in departments],
                        "backgroundColor": LEVEL_COLOURS[lvl],
                    }
                    for lvl in range(1, 6)
                ],
            },
            "options": {
                "indexAxis": "y",
                "responsive": True,
                "maintainAspectRatio": False,
                "scales": {
                    "x": {"stacked": True, "beginAtZero": True, "ticks": {"precision": 0}},
                    "y": {"stacked": True},
                },
                "plugins": {"legend": {"position": "bottom"}},
            },
        }
    )


def org_trend_chart(days: list, overall: dict, by_department: dict[str, dict]) -> str | None:
    """The organization's average overall score per snapshot day, and each department's."""
    if len(days) < 2:
        return None
    datasets = [
        {
            "label": "Organization",
            "data": [round(overall[d], 1) for d in days],
            "borderColor": "#1e1b4b",
            "backgroundColor": "#1e1b4b",
            "borderWidth": 3,
            "tension": 0.25,
        }
    ]
    for i, (name, series) in enumerate(sorted(by_department.items())):
        datasets.append(
            {
                "label": name,
                "data": [round(series[d], 1) if d in series else None for d in days],
                "borderColor": PALETTE[(i + 1) % len(PALETTE)],
                "backgroundColor": PALETTE[(i + 1) % len(PALETTE)],
                "borderWidth": 1.5,
                "tension": 0.25,
                "spanGaps": True,
                "pointRadius": 0,
            }
        )
    return chart_attr(
        {
            "type": "line",
            "data": {"labels": [d.isoformat() for d in days], "datasets": datasets},
            "options": {
                "responsive": True,
                "maintainAspectRatio": False,
                "interaction": {"mode": "index", "intersect": False},
                "scales": {"y": {"min": 0, "max": 100, "title": {"display": True, "text": "Average overall score"}}},
                "plugins": {"legend": {"position": "bottom"}},
            },
        }
    )


def radar_chart(columns) -> str | None:
    """The compared teams' four pillars (a team without a pillar score has a gap there, never a 0)."""
    if not columns:
        return None
    return chart_attr(
        {
            "type": "radar",
            "data": {
                "labels": [label for _, label in PILLARS],
                "datasets": [
                    {
                        "label": c.team.name,
                        "data": [getattr(c.snapshot, key) for key, _ in PILLARS],
                        "spanGaps": False,
                        "borderColor": c.colour,
                        "backgroundColor": c.colour + "22",
                        "pointBackgroundColor": c.colour,
                    }
                    for c in columns
                ],
            },
            "options": {
                "responsive": True,
                "maintainAspectRatio": False,
                "scales": {"r": {"min": 0, "max": 100, "ticks": {"stepSize": 20}}},
                "plugins": {"legend": {"position": "bottom"}},
            },
        }
    )


def calms_chart(columns, dimension_labels: list[str]) -> str | None:
    """The compared teams' CALMS dimensions side by side."""
    if not columns:
        return None
    return chart_attr(
        {
            "type": "bar",
            "data": {
                "labels": dimension_labels,
                "datasets": [
                    {"label": c.team.name, "data": [v for _, v in c.calms], "backgroundColor": c.colour}
                    for c in columns
                ],
            },
            "options": {
                "responsive": True,
                "maintainAspectRatio": False,
                "scales": {"y": {"min": 0, "max": 100}},
                "plugins": {"legend": {"position": "bottom"}},
            },
        }
    )
