"""Chart.js configs of the assessment pages: pure functions from selector data to a config dict
(no queries; views turn them into the template attribute with apps.core.charts.chart_attr)."""

from __future__ import annotations

CURRENT_COLOUR = "79, 70, 229"
PREVIOUS_COLOUR = "148, 163, 184"
# The SRE practices profile beside CALMS on the team page.
SECOND_COLOUR = "13, 148, 136"
DEPARTMENT_COLOURS = (
    "rgba(14, 165, 233, 0.6)",
    "rgba(16, 185, 129, 0.6)",
    "rgba(245, 158, 11, 0.6)",
    "rgba(236, 72, 153, 0.6)",
)
# Dimension colours on trend charts, in the framework's order.
PALETTE = (
    "rgb(236, 72, 153)",
    "rgb(14, 165, 233)",
    "rgb(245, 158, 11)",
    "rgb(16, 185, 129)",
    "rgb(139, 92, 246)",
    "rgb(239, 68, 68)",
    "rgb(100, 116, 139)",
    "rgb(20, 184, 166)",
)
CALMS_DIMENSIONS = [(k, k.capitalize()) for k in ("culture", "automation", "lean", "measurement", "sharing")]
_RADAR_SCALE = {"r": {"min": 0, "max": 100, "ticks": {"stepSize": 25, "backdropColor": "transparent"}}}


def campaign_averages(overview) -> dict | None:
    """Bar chart of the organization's and each department's average per dimension of one
    framework of a campaign (`selectors.campaign_overview`); None when nothing is submitted."""
    if not overview.organization.team_count:
        return None
    departments = overview.departments
    return {
        "type": "bar",
        "data": {
            "labels": [d.name for d in overview.dimensions],
            "datasets": [
                {
                    "label": f"{overview.campaign.organization.name} average",
                    "data": overview.organization.cells,
                    "backgroundColor": f"rgba({CURRENT_COLOUR}, 0.7)",
                    "borderRadius": 4,
                }
            ]
            + [
                {
                    "label": dep.label,
                    "data": dep.cells,
                    "backgroundColor": DEPARTMENT_COLOURS[i % len(DEPARTMENT_COLOURS)],
                    "borderRadius": 4,
                }
                for i, dep in enumerate(departments)
            ],
        },
        "options": {
            "responsive": True,
            "maintainAspectRatio": False,
            "scales": {"y": {"min": 0, "max": 100, "ticks": {"stepSize": 25}}},
            "plugins": {"legend": {"position": "bottom"}},
        },
    }


def _radar_dataset(label: str, data: list, colour: str, *, dashed: bool = False) -> dict:
    dataset = {
        "label": label,
        "data": data,
        "backgroundColor": f"rgba({colour}, {0.15 if dashed else 0.2})",
        "borderColor": f"rgb({colour})",
        "pointBackgroundColor": f"rgb({colour})",
        "borderWidth": 2,
    }
    if dashed:
        dataset["borderDash"] = [6, 4]
    return dataset


def _radar(labels: list[str], datasets: list[dict], *, legend: bool = True) -> dict:
    return {
        "type": "radar",
        "data": {"labels": labels, "datasets": datasets},
        "options": {
            "responsive": True,
            "maintainAspectRatio": False,
            "spanGaps": True,
            "scales": _RADAR_SCALE,
            "plugins": {"legend": {"display": legend, "position": "bottom"}},
        },
    }


def result_radar(result) -> dict:
    """Radar of one assessment's dimension scores, with the previous cycle's dashed when there is
    one (`selectors.assessment_result`)."""
    datasets = [_radar_dataset(result.assessment.campaign.name, [r.score for r in result.dimensions], CURRENT_COLOUR)]
    if result.previous is not None:
        datasets.append(
            _radar_dataset(
                result.previous.campaign.name, [r.previous for r in result.dimensions], PREVIOUS_COLOUR, dashed=True
            )
        )
    return _radar([r.dimension.name for r in result.dimensions], datasets)


def profile_radar(name: str, dimensions: list[tuple[str, float | None]], *, second: bool = False) -> dict | None:
    """Radar of a team's latest profile of one framework (team page): `dimensions` is
    [(dimension name, score or None)]; None when no dimension has a score."""
    if not any(score is not None for _name, score in dimensions):
        return None
    colour = SECOND_COLOUR if second else CURRENT_COLOUR
    dataset = _radar_dataset(name, [score for _name, score in dimensions], colour)
    return _radar([label for label, _score in dimensions], [dataset], legend=False)


def team_trend(history, dimensions=None) -> dict | None:
    """Line chart of a team's submitted cycles of one framework, oldest first (overall and each
    dimension; `dimensions` is [(key, name)], CALMS' five when not given). None below two cycles."""
    cycles = list(reversed(list(history)))
    if len(cycles) < 2:
        return None
    if dimensions is None:
        dimensions = CALMS_DIMENSIONS
    datasets = [
        {
            "label": "Overall",
            "data": [a.overall_score for a in cycles],
            "borderColor": f"rgb({CURRENT_COLOUR})",
            "backgroundColor": f"rgba({CURRENT_COLOUR}, 0.15)",
            "borderWidth": 3,
            "tension": 0.25,
        }
    ] + [
        {
            "label": name,
            "data": [(a.dimension_scores or {}).get(key) for a in cycles],
            "borderColor": PALETTE[i % len(PALETTE)],
            "backgroundColor": PALETTE[i % len(PALETTE)],
            "borderWidth": 1.5,
            "borderDash": [4, 3],
            "tension": 0.25,
        }
        for i, (key, name) in enumerate(dimensions)
    ]
    return {
        "type": "line",
        "data": {"labels": [a.campaign.name for a in cycles], "datasets": datasets},
        "options": {
            "responsive": True,
            "maintainAspectRatio": False,
            "spanGaps": True,
            "scales": {"y": {"min": 0, "max": 100, "ticks": {"stepSize": 25}}},
            "plugins": {"legend": {"position": "bottom"}},
        },
    }
