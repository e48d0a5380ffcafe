"""How every figure is written: one rounding per kind of figure, used by pages, print, CSV and API.

A figure is stored (snapshot columns, API fields) and exported (CSV) at its stored precision;
pages show it with the display rounding below, applied to that stored value, so a number
read on a page is always the CSV's number rounded the same way (88.5 in the CSV is 89 on
every page, never 88). Rounding is half up on the decimal value ("88.5" -> 89), not Python's
round-half-even. "No data" is a word, never 0 or 100.

Precision of stored/exported values:
- scores (0-100): 1 decimal        -> shown as a whole number ("89")
- shares (0-1):   3 decimals       -> shown as a whole percent ("75%")
- hours:          1 decimal        -> shown as minutes, hours or days (see `duration`)
- deployments per day: 3 decimals  -> shown per day, week or month (see `deploy_rate`)
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

NO_DATA = "no data"
NO_DEPLOYMENTS = "no deployments"

SCORE_DIGITS = 1
SHARE_DIGITS = 3
HOURS_DIGITS = 1
RATE_DIGITS = 3


def stored(value, digits: int):
    """The value at its stored/exported precision (None stays None)."""
    return None if value is None else round(float(value), digits)


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def half_up(value, digits: int = 0) -> Decimal:
    """`value` rounded half up to `digits` decimals, computed on its decimal text (no float artefacts)."""
    quantum = Decimal(1).scaleb(-digits)
    return _decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)


def _fixed(value, digits: int) -> str:
    text = f"{half_up(value, digits):f}"
    return "0" if text in ("-0", "-0.0") and digits == 0 else text


def score(value) -> str:
    """A 0-100 score: '89' (from the stored 88.5), or 'no data'."""
    if value is None:
        return NO_DATA
    return _fixed(stored(value, SCORE_DIGITS), 0)


def score_number(value) -> int | None:
    """The shown score as a number (for charts and sorting by what people read)."""
    return None if value is None else int(half_up(stored(value, SCORE_DIGITS), 0))


def average(value, digits: int = 1) -> str:
    """An average level or similar small number: '2.4', or 'no data'."""
    return NO_DATA if value is None else _fixed(value, digits)


def share(value) -> str:
    """A share 0-1 as a whole percent: '75%' (from the stored 0.745 it is 75%), or 'no data'."""
    if value is None:
        return NO_DATA
    return f"{_fixed(_decimal(stored(value, SHARE_DIGITS)) * 100, 0)}%"


def duration(hours) -> str:
    """A duration given in hours: '45 min' under an hour, '50.2 h' under two days, '3.1 d' beyond."""
    if hours is None:
        return NO_DATA
    hours = stored(hours, HOURS_DIGITS)
    if hours < 1:
        return f"{_fixed(hours * 60, 0)} min"
    if hours < 48:
        return f"{_fixed(hours, 1)} h"
    return f"{_fixed(hours / 24, 1)} d"


def days(value) -> str:
    """A number of days: '3.5 d', '12 d'."""
    if value is None:
        return NO_DATA
    return f"{_fixed(value, 0)} d" if value >= 10 else f"{_fixed(value, 1)} d"


def deploy_rate(per_day) -> str:
    """Production deployments per day, written in the unit that reads best:
    '1.4/day' from one a day, '3.0/week' from one a week, '2.0/month' below; none is 'no deployments'."""
    if per_day is None:
        return NO_DATA
    per_day = stored(per_day, RATE_DIGITS)
    if per_day <= 0:
        return NO_DEPLOYMENTS
    if per_day >= 1:
        return f"{_fixed(per_day, 1)}/day"
    if per_day * 7 >= 1:
        return f"{_fixed(per_day * 7, 1)}/week"
    return f"{_fixed(per_day * 30, 1)}/month"


def count(value) -> str:
    return NO_DATA if value is None else _fixed(value, 0)


def of(part, whole, *, none: str = NO_DATA) -> str:
    """'1 of 2'; with nothing to count ('of 0') the figure is `none`."""
    if not whole:
        return none
    return f"{int(part or 0)} of {int(whole)}"
