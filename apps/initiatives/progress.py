"""The burn-up's numbers as pure functions (no database): the target line and the "behind" rule.

The target line runs from the baseline share on the start date to 100% on the target date,
straight. The baseline is the share of the latest stored point on or before the start date
(what the initiative started from), else 0. An initiative is behind on a day when its share
that day is below the target line (a share equal to the line is on track). No share (nothing in
scope, or never measured) is neither: "no data".
"""

from __future__ import annotations

from datetime import date


def share(passing: int, total: int) -> float | None:
    return passing / total if total else None


def baseline(points: list[tuple[date, float | None]], start: date) -> float:
    """The share the line starts from: the latest point on or before `start` with a share, else 0."""
    before = [s for day, s in sorted(points) if day <= start and s is not None]
    return before[-1] if before else 0.0


def target_share(day: date, *, start: date, target: date, base: float = 0.0) -> float:
    """Where the line is on `day`: `base` until the start, 1.0 from the target date on, linear between."""
    span = (target - start).days
    if span <= 0 or day >= target:
        return 1.0
    if day <= start:
        return base
    return base + (1.0 - base) * (day - start).days / span


def is_behind(current: float | None, day: date, *, start: date, target: date, base: float = 0.0) -> bool | None:
    """Below the target line on `day` (None when there is no share to compare)."""
    if current is None:
        return None
    return current < target_share(day, start=start, target=target, base=base) - 1e-9


def status_word(behind: bool | None, current: float | None) -> str:
    if current is not None and current >= 1.0 - 1e-9:
        return "done"
    if behind is None:
        return "no data"
    return "behind" if behind else "on track"
