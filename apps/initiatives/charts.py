"""Chart configs of the initiatives pages, pure (data -> Chart.js config); templates get them
through apps.core.charts.chart_attr."""

from __future__ import annotations

from datetime import date, timedelta

from . import progress


def burnup(
    points: list[tuple[date, float | None]], *, start: date, target: date, base: float, today: date
) -> dict | None:
    """Share of scope passing per stored day (%) against the straight target line; None without points."""
    if not points:
        return None
    first = min(start, min(day for day, _ in points))
    last = max(target, max(day for day, _ in points))
    by_day = dict(points)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    actual = [None if by_day.get(d) is None else round(100 * by_day[d], 1) for d in days]
    line = [
        round(100 * progress.target_share(d, start=start, target=target, base=base), 1) if d >= start else None
        for d in days
    ]
    return {
        "type": "line",
        "data": {
            "labels": [d.isoformat() for d in days],
            "datasets": [
                {
                    "label": "Scope passing (%)",
                    "data": actual,
                    "borderColor": "#0d6efd",
                    "backgroundColor": "rgba(13,110,253,.15)",
                    "fill": True,
                    "spanGaps": True,
                    "pointRadius": 3,
                },
                {
                    "label": "Target line (%)",
                    "data": line,
                    "borderColor": "#adb5bd",
                    "borderDash": [6, 4],
                    "pointRadius": 0,
                    "fill": False,
                },
            ],
        },
        "options": {
            "responsive": True,
            "maintainAspectRatio": False,
            "animation": False,
            "scales": {"y": {"min": 0, "max": 100, "title": {"display": True, "text": "% of scope passing"}}},
            "plugins": {"legend": {"position": "bottom"}},
        },
    }
