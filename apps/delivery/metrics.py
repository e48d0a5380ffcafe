"""The DORA metrics (the 2024 set) and their tiers (DESIGN.md), as pure functions over daily facts.

Throughput: deployment frequency, lead time for changes, failed deployment recovery
time. Instability: change failure rate, deployment rework rate (DORA gives no tiers
for rework rate, so it has none here).

Tiers, as the 2023 DORA benchmark is commonly encoded:

| metric               | elite                      | high                 | medium                 | low              |
|----------------------|----------------------------|----------------------|------------------------|------------------|
| deployment frequency | deploys on most days:      | >= 1 deploy day in   | >= 1 deploy day in the | less than that   |
|                      | median >= 4 days/week      | the median week      | median 30-day month    |                  |
| lead time            | < 24 h                     | 24 h - 168 h (1 wk)  | > 168 h - 720 h (30 d) | > 720 h          |
| recovery time        | < 1 h                      | 1 h - < 24 h         | 24 h - 168 h           | > 168 h          |
| change failure rate  | <= 5 %                     | <= 10 %              | <= 15 %                | > 15 %           |

Weeks and months are consecutive 7- and 30-day blocks ending on the window's
last day (a window shorter than a block counts as one block).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import date, timedelta

ELITE, HIGH, MEDIUM, LOW = "elite", "high", "medium", "low"
TIERS = (ELITE, HIGH, MEDIUM, LOW)
TIER_RANK = {ELITE: 4, HIGH: 3, MEDIUM: 2, LOW: 1}

THROUGHPUT = ("deployment_frequency", "lead_time_hours", "recovery_time_hours")
INSTABILITY = ("change_failure_rate", "deployment_rework_rate")
GROUPS = {"throughput": THROUGHPUT, "instability": INSTABILITY}
# The keys DORA gives tiers for.
TIERED = ("deployment_frequency", "lead_time_hours", "recovery_time_hours", "change_failure_rate")

HOUR = 3600
DAY_H, WEEK_H, MONTH_H = 24, 24 * 7, 24 * 30


def median(values: Iterable[float]) -> float | None:
    values = list(values)
    return float(statistics.median(values)) if values else None


def lead_time_tier(hours: float | None) -> str | None:
    if hours is None:
        return None
    if hours < DAY_H:
        return ELITE
    if hours <= WEEK_H:
        return HIGH
    if hours <= MONTH_H:
        return MEDIUM
    return LOW


def recovery_tier(hours: float | None) -> str | None:
    if hours is None:
        return None
    if hours < 1:
        return ELITE
    if hours < DAY_H:
        return HIGH
    if hours <= WEEK_H:
        return MEDIUM
    return LOW


def failure_rate_tier(failed: int, total: int) -> str | None:
    """Integer comparisons, so 1 in 20 is exactly 5 % (elite), 3 in 20 exactly 15 % (medium)."""
    if not total:
        return None
    if failed * 100 <= total * 5:
        return ELITE
    if failed * 100 <= total * 10:
        return HIGH
    if failed * 100 <= total * 15:
        return MEDIUM
    return LOW


def blocks(window_end: date, window_days: int, size: int) -> list[tuple[date, date]]:
    """Consecutive [start, end] blocks of `size` days ending on window_end (at least one)."""
    count = max(1, window_days // size)
    size = min(size, window_days) if count == 1 and window_days < size else size
    out = []
    for i in range(count):
        end = window_end - timedelta(days=i * size)
        out.append((end - timedelta(days=size - 1), end))
    return out


def frequency_tier(deploy_days: set[date], window_end: date, window_days: int) -> tuple[str, float, float]:
    """(tier, median deploy days per week, median deploy days per month) from the days with a deployment."""

    def median_days(size):
        return float(
            statistics.median(
                sum(1 for d in deploy_days if start <= d <= end) for start, end in blocks(window_end, window_days, size)
            )
        )

    per_week = median_days(7)
    per_month = median_days(30)
    if per_week >= 4:
        tier = ELITE
    elif per_week >= 1:
        tier = HIGH
    elif per_month >= 1:
        tier = MEDIUM
    else:
        tier = LOW
    return tier, per_week, per_month


def dora_keys(rows: Iterable[dict], *, window_end: date, window_days: int) -> dict:
    """The five DORA metrics from daily rollup rows (dicts with day, deployments, successful,
    failed, lead_times, lead_times_estimated, recovery_times, rework) of one team or service
    inside the window."""
    deployments = successful = failed = estimated = rework = 0
    lead: list[float] = []
    recovery: list[float] = []
    deploy_days: set[date] = set()
    for row in rows:
        deployments += row["deployments"]
        successful += row["successful"]
        failed += row["failed"]
        estimated += row["lead_times_estimated"]
        rework += row["rework"]
        lead.extend(row["lead_times"] or ())
        recovery.extend(row["recovery_times"] or ())
        if row["successful"]:
            deploy_days.add(row["day"])
    if deployments:
        tier, per_week, per_month = frequency_tier(deploy_days, window_end, window_days)
        frequency = {
            "per_day": successful / window_days,
            "tier": tier,
            "deployments": successful,
            "days_per_week": per_week,
            "days_per_month": per_month,
        }
    else:
        frequency = {"per_day": None, "tier": None, "deployments": 0, "days_per_week": None, "days_per_month": None}
    lead_h = median(lead)
    lead_h = lead_h / HOUR if lead_h is not None else None
    recovery_h = median(recovery)
    recovery_h = recovery_h / HOUR if recovery_h is not None else None
    return {
        "deployment_frequency": frequency,
        "lead_time_hours": {
            "median": lead_h,
            "tier": lead_time_tier(lead_h),
            "changes": len(lead),
            "estimated": estimated,
        },
        "recovery_time_hours": {
            "median": recovery_h,
            "tier": recovery_tier(recovery_h),
            "recoveries": len(recovery),
        },
        "change_failure_rate": {
            "value": failed / deployments if deployments else None,
            "tier": failure_rate_tier(failed, deployments),
            "failed": failed,
            "deployments": deployments,
        },
        "deployment_rework_rate": {
            "value": rework / deployments if deployments else None,
            "tier": None,
            "rework": rework,
            "deployments": deployments,
        },
    }
