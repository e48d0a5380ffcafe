"""Chart configs of the sre pages: pure functions from figures to a Chart.js config (None: no chart).
Views turn them into the template attribute with apps.core.charts.chart_attr."""


def toil_trend_chart(trend: list[dict]) -> dict | None:
    """Toil and saved hours a week over the review cycles; one point is no trend, so no chart."""
    if len(trend) < 2:
        return None
    return {
        "type": "line",
        "data": {
            "labels": [p["day"].isoformat() for p in trend],
            "datasets": [
                {"label": "Toil hours a week", "data": [p["hours"] for p in trend]},
                {"label": "Hours a week saved", "data": [p["saved_hours"] for p in trend]},
            ],
        },
        "options": {"scales": {"y": {"beginAtZero": True}}},
    }
