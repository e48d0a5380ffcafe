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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


CALENDAR_MONTHS = {"month": 1, "quarter": 3, "year": 12}
CALENDAR_UNITS = ("week", *CALENDAR_MONTHS)


def default_anchor(unit: str) -> datetime:
    """Where calendar periods start when the SLO names no start (local wall-clock time):
    weeks on Monday 00:00, months on the 1st, quarters in January/April/July/October, years on 1 January."""
    return datetime(2020, 1, 6) if unit == "week" else datetime(2020, 1, 1)


def is_default_anchor(anchor: datetime, unit: str) -> bool:
    """True when periods starting at `anchor` (naive, local) are those of `default_anchor(unit)`."""
    if (anchor.hour, anchor.minute, anchor.second, anchor.microsecond) != (0, 0, 0, 0):
        return False
    if unit == "week":
        return anchor.weekday() == 0
    return anchor.day == 1 and (anchor.month - 1) % CALENDAR_MONTHS[unit] == 0


def _zone(tz: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"Unknown time zone {tz!r}.") from exc


def _add_months(anchor: datetime, months: int) -> datetime:
    """`anchor` moved by whole months, its day clipped to the target month's length."""
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    return anchor.replace(year=year, month=month + 1, day=min(anchor.day, days_in_month(year, month + 1)))


def _local_start(anchor: datetime, unit: str, k: int) -> datetime:
    """Start (naive, local) of the k-th period after the one starting at `anchor`."""
    if unit == "week":
        return anchor + timedelta(days=7 * k)
    return _add_months(anchor, k * CALENDAR_MONTHS[unit])


def _to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    # fold=0: an ambiguous wall time (autumn) is its first occurrence; a time inside a spring
    # gap is read with the offset before the gap, i.e. the period starts when the gap ends.
    return local.replace(tzinfo=zone).astimezone(UTC)


def calendar_period(
    now: datetime, unit: str, tz: str | None = "UTC", anchor: datetime | None = None
) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the calendar period containing `now`: periods follow each other
    from `anchor` (naive wall-clock time in `tz`; default `default_anchor(unit)`), their
    boundaries taken in that zone, so a period over a DST change is an hour shorter or longer."""
    if unit not in CALENDAR_UNITS:
        raise ValueError(f"Unknown calendar unit {unit!r}.")
    zone = _zone(tz)
    anchor = (anchor or default_anchor(unit)).replace(tzinfo=None)
    local = now.astimezone(zone).replace(tzinfo=None)
    if unit == "week":
        k = (local - anchor) // timedelta(days=7)
    else:
        k = ((local.year - anchor.year) * 12 + local.month - anchor.month) // CALENDAR_MONTHS[unit]
    # The estimate is off by at most one period (day of month, time of day, DST): settle it in UTC.
    while _to_utc(_local_start(anchor, unit, k), zone) > now:
        k -= 1
    while _to_utc(_local_start(anchor, unit, k + 1), zone) <= now:
        k += 1
    return _to_utc(_local_start(anchor, unit, k), zone), _to_utc(_local_start(anchor, unit, k + 1), zone)


def calendar_period_start(now: datetime, unit: str, tz: str | None = "UTC", anchor: datetime | None = None):
    """Start (UTC) of the calendar period containing `now`: where the budget resets."""
    return calendar_period(now, unit, tz, anchor)[0]


def calendar_period_end(start: datetime, unit: str, tz: str | None = "UTC", anchor: datetime | None = None):
    """End (UTC) of the calendar period that starts at `start`."""
    return calendar_period(start, unit, tz, anchor)[1]


def window_bounds(
    *,
    kind: str,
    days: int | None = None,
    unit: str | None = None,
    now: datetime,
    tz: str | None = "UTC",
    anchor: datetime | None = None,
) -> tuple[datetime, datetime]:
    """[start, end) of the SLO window that ends at `now`."""
    if kind == "rolling":
        if not days or days < 1:
            raise ValueError("A rolling window needs a positive number of days.")
        return now - timedelta(days=days), now
    if kind == "calendar":
        return calendar_period_start(now, unit or "", tz, anchor), now
    raise ValueError(f"Unknown window kind {kind!r}.")


def period_hours(
    *,
    kind: str,
    days: int | None = None,
    unit: str | None = None,
    now: datetime,
    tz: str | None = "UTC",
    anchor: datetime | None = None,
) -> float:
    """Length of the SLO period in hours (a calendar period: the one containing `now`, in real
    elapsed hours, so 743 or 745 for a month with a DST change)."""
    if kind == "rolling":
        return float(days) * 24
    start, end = calendar_period(now, unit or "", tz, anchor)
    return (end - start).total_seconds() / HOUR


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


SAMPLE_SECONDS = 300  # samples are kept per 5 minutes (models.BUCKET_SECONDS)


def supported_slice(seconds: int) -> int:
    """The slice length the platform evaluates for a requested one: the nearest multiple of
    the 5-minute sample, at least one sample (1m -> 5m, 7m -> 5m, 8m -> 10m; halfway goes up)."""
    if seconds <= 0:
        raise ValueError("A slice length is positive.")
    return max(SAMPLE_SECONDS, (seconds + SAMPLE_SECONDS // 2) // SAMPLE_SECONDS * SAMPLE_SECONDS)


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
