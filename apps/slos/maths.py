"""The numbers of DESIGN.md, as pure functions (no database, no Django).

Occurrences: SLI = sum(good) / sum(total). Timeslices: a slice is good when its
ratio meets the slice target; SLI = good slices / slices with data. Ratio
timeslices: SLI = the mean of the slices' ratios, over slices with data.
Budget = 1 - target; consumed = (1 - SLI) / (1 - target); remaining = 1 -
consumed (may go below 0). Burn rate over w = error ratio(w) / (1 - target).
No data is `None`, never 100%.

Multiwindow, multi-burn-rate alerts (Google SRE workbook) for a 30-day period:
page 2% (1h / 5m), page 5% (6h / 30m), ticket 10% (1d / 2h), ticket 10% (3d / 6h).
For another period, factor = budget% x period hours / 100 / long-window hours.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HOUR = 3600
DAY = 24 * HOUR


@dataclass(frozen=True)
class Budget:
    sli: float
    consumed: float
    remaining: float


@dataclass(frozen=True)
class AlertRule:
    severity: str
    budget_percent: float
    long_window: int  # seconds
    short_window: int  # seconds
    factor: float
    op: str = "gt"  # "gte": a burn exactly at the factor fires too (OpenSLO AlertCondition op)

    @property
    def label(self) -> str:
        return f"{duration_label(self.long_window)} / {duration_label(self.short_window)}"


# (severity, budget spent %, long window s, short window s): the workbook's table for 30 days.
ALERT_TABLE = (
    ("page", 2.0, 1 * HOUR, 5 * 60),
    ("page", 5.0, 6 * HOUR, 30 * 60),
    ("ticket", 10.0, 1 * DAY, 2 * HOUR),
    ("ticket", 10.0, 3 * DAY, 6 * HOUR),
)
# Every window an evaluation needs, shortest first.
BURN_WINDOWS = tuple(sorted({w for row in ALERT_TABLE for w in row[2:4]}))


def ratio(good: float, total: float) -> float | None:
    """good / total, or None when there is no data (total 0)."""
    if not total:
        return None
    return good / total


def budget(sli: float | None, target: float) -> Budget | None:
    """Consumed and remaining error budget for an SLI value; None for no data."""
    _check_target(target)
    if sli is None:
        return None
    consumed = (1.0 - sli) / (1.0 - target)
    return Budget(sli=sli, consumed=consumed, remaining=1.0 - consumed)


def occurrences_budget(good: float, total: float, target: float) -> Budget | None:
    return budget(ratio(good, total), target)


def slice_is_good(good: float, total: float, slice_target: float) -> bool | None:
    """A slice meets its target when good/total >= slice target; None when it has no data."""
    r = ratio(good, total)
    if r is None:
        return None
    return r >= slice_target


def timeslices_sli(slices: list[tuple[float, float]], slice_target: float) -> float | None:
    """SLI = good slices / slices with data, from [(good, total), ...] per slice."""
    verdicts = [v for v in (slice_is_good(g, t, slice_target) for g, t in slices) if v is not None]
    if not verdicts:
        return None
    return sum(verdicts) / len(verdicts)


def slice_value(good: float, total: float, slice_target: float | None) -> float | None:
    """What a slice counts for: 1 or 0 against a slice target (Timeslices), or its ratio when
    there is none (RatioTimeslices); None when it has no data."""
    if slice_target is None:
        return ratio(good, total)
    verdict = slice_is_good(good, total, slice_target)
    return None if verdict is None else float(verdict)


def ratio_timeslices_sli(slices: list[tuple[float, float]]) -> float | None:
    """SLI = mean of good/total over the slices with data, from [(good, total), ...] per slice."""
    ratios = [r for r in (ratio(g, t) for g, t in slices) if r is not None]
    if not ratios:
        return None
    return sum(ratios) / len(ratios)


def burn_rate(bad_ratio: float | None, target: float) -> float | None:
    """Error ratio over a window / (1 - target); None when the window has no data."""
    _check_target(target)
    if bad_ratio is None:
        return None
    return bad_ratio / (1.0 - target)


def burn_rate_from_counts(good: float, total: float, target: float) -> float | None:
    r = ratio(good, total)
    return burn_rate(None if r is None else 1.0 - r, target)


def alert_rules(period_hours: float) -> list[AlertRule]:
    """The alert table scaled to an SLO period: factor = budget% x period h / 100 / long-window h."""
    if period_hours <= 0:
        raise ValueError("The SLO period must be positive.")
    return [
        AlertRule(
            severity=severity,
            budget_percent=pct,
            long_window=long_s,
            short_window=short_s,
            factor=round(pct * period_hours / 100.0 / (long_s / HOUR), 6),
        )
        for severity, pct, long_s, short_s in ALERT_TABLE
    ]


# Burn rates are ratios of float sums; a rate equal to the factor in exact arithmetic may
# come out a few ULPs above it. "Faster than" means above the factor by more than that noise.
_RELATIVE_EPSILON = 1e-9


def alert_fires(rule: AlertRule, long_burn: float | None, short_burn: float | None) -> bool:
    """Both windows burn faster than the factor (strictly); no data in either window never fires."""
    if long_burn is None or short_burn is None:
        return False
    if rule.op == "gte":
        threshold = rule.factor * (1 - _RELATIVE_EPSILON)
        return long_burn >= threshold and short_burn >= threshold
    threshold = rule.factor * (1 + _RELATIVE_EPSILON)
    return long_burn > threshold and short_burn > threshold


# --- windows -------------------------------------------------------------------


def floor_to(ts: int, step: int) -> int:
    return ts - ts % step


def calendar_period_start(now: datetime, unit: str) -> datetime:
    """Start (UTC) of the calendar month or quarter containing `now`: where the budget resets."""
    now = now.astimezone(UTC)
    if unit == "month":
        return datetime(now.year, now.month, 1, tzinfo=UTC)
    if unit == "quarter":
        return datetime(now.year, 3 * ((now.month - 1) // 3) + 1, 1, tzinfo=UTC)
    raise ValueError(f"Unknown calendar unit {unit!r}.")


def calendar_period_end(start: datetime, unit: str) -> datetime:
    months = 1 if unit == "month" else 3
    month = start.month - 1 + months
    return datetime(start.year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def window_bounds(
    *, kind: str, days: int | None = None, unit: str | None = None, now: datetime
) -> tuple[datetime, datetime]:
    """[start, end) of the SLO window that ends at `now`."""
    if kind == "rolling":
        if not days or days < 1:
            raise ValueError("A rolling window needs a positive number of days.")
        return now - timedelta(days=days), now
    if kind == "calendar":
        return calendar_period_start(now, unit or ""), now
    raise ValueError(f"Unknown window kind {kind!r}.")


def period_hours(*, kind: str, days: int | None = None, unit: str | None = None, now: datetime) -> float:
    """Length of the SLO period in hours (a calendar month or quarter: the one containing `now`)."""
    if kind == "rolling":
        return float(days) * 24
    start = calendar_period_start(now, unit or "")
    return (calendar_period_end(start, unit or "") - start).total_seconds() / HOUR


def days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def bucket_range(start: datetime, end: datetime, step: int) -> tuple[int, int]:
    """Bucket starts in [lo, hi) that lie inside [start, end): a bucket counts when it starts in the window."""
    lo = int(start.timestamp())
    lo = lo if lo % step == 0 else floor_to(lo, step) + step
    hi = int(end.timestamp())
    return lo, hi


# --- durations (OpenSLO "5m", "28d", "1M") and policy steps ----------------------

_UNITS = {"s": 1, "m": 60, "h": HOUR, "d": DAY, "w": 7 * DAY}


def parse_duration(text: str) -> int:
    """'5m' -> 300 seconds. Months and quarters are calendar units, not durations."""
    text = str(text).strip()
    if len(text) < 2 or text[-1] not in _UNITS or not text[:-1].isdigit() or int(text[:-1]) <= 0:
        raise ValueError(f"{text!r} is not a duration like 5m, 1h or 28d.")
    return int(text[:-1]) * _UNITS[text[-1]]


def duration_label(seconds: int) -> str:
    for unit, size in (("w", 7 * DAY), ("d", DAY), ("h", HOUR), ("m", 60)):
        if seconds % size == 0 and seconds >= size and not (unit == "w" and seconds < 14 * DAY):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def validate_policy_steps(steps) -> list[dict]:
    """[{"consumed_percent": number > 0, "action": non-empty text}] in increasing order."""
    if not isinstance(steps, list) or not steps:
        raise ValueError("Give at least one step: a list of {consumed_percent, action}.")
    clean, last = [], None
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            raise ValueError(f"Step {i + 1} is not an object.")
        pct, action = step.get("consumed_percent"), step.get("action")
        if isinstance(pct, bool) or not isinstance(pct, int | float) or pct <= 0 or pct > 1000:
            raise ValueError(f"Step {i + 1}: consumed_percent is a number between 0 and 1000.")
        if not isinstance(action, str) or not action.strip():
            raise ValueError(f"Step {i + 1}: say what action the team takes.")
        if last is not None and pct <= last:
            raise ValueError(f"Step {i + 1}: thresholds go up from one step to the next.")
        last = pct
        clean.append({"consumed_percent": pct, "action": action.strip()})
    return clean


def policy_steps_reached(steps: list[dict], consumed: float | None) -> list[dict]:
    """The steps whose threshold the consumed budget (a fraction) has reached."""
    if consumed is None:
        return []
    return [s for s in steps if consumed * 100 >= s["consumed_percent"]]


def _check_target(target: float) -> None:
    if not 0 < target < 1:
        raise ValueError("The target is strictly between 0 and 1.")
