"""Formatting helpers for CALMS scores in templates."""

from django import template

register = template.Library()

# Heatmap scale: red (0) through amber (50) to green (100).
_STOPS = [(0, (254, 202, 202)), (50, (254, 240, 138)), (100, (187, 247, 208))]


def _blend(score: float) -> tuple[int, int, int]:
    score = max(0.0, min(100.0, float(score)))
    for (lo, c1), (hi, c2) in zip(_STOPS, _STOPS[1:], strict=False):
        if score <= hi:
            t = (score - lo) / (hi - lo)
            return tuple(round(a + (b - a) * t) for a, b in zip(c1, c2, strict=True))
    return _STOPS[-1][1]


@register.filter
def heat(score) -> str:
    """Inline background colour of a heatmap cell (grey when there is no score)."""
    if score is None or score == "":
        return "background-color: #f3f4f6; color: #6b7280;"
    r, g, b = _blend(score)
    return f"background-color: rgb({r}, {g}, {b});"


@register.filter
def score(value) -> str:
    if value is None or value == "":
        return "—"
    return f"{float(value):.0f}"


@register.filter
def delta(value) -> str:
    if value is None or value == "":
        return "—"
    value = float(value)
    if abs(value) < 0.05:
        return "±0"
    return f"{value:+.0f}"


@register.filter
def delta_class(value) -> str:
    if value is None or value == "" or abs(float(value)) < 0.05:
        return "text-secondary"
    return "text-success" if float(value) > 0 else "text-danger"


@register.filter
def level_label(level) -> str:
    return {0: "Absent", 1: "Ad hoc", 2: "Repeatable", 3: "Standard", 4: "Optimising"}.get(level, "")


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None
