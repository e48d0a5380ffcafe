"""Reads of the SLO catalog. Every batch read runs a fixed number of queries:
window sums and burn rates for any number of SLOs are aggregated in SQL
(one scan per query over `slos_slisample`), never one query per SLO.

Public helpers other apps use:
- `slo_budget_spent(slo=, start=, end=)`: error budget consumed by the bad events in [start, end).
- `slos_for_services(service_ids=)`: the SLOs measuring those services.
- `team_reliability(team_ids=)`: coverage, attainment and budget left per team.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from apps.core import permissions
from apps.teams.models import Service

from . import maths
from .models import (
    BUCKET_SECONDS,
    SLI,
    SLO,
    AlertPolicy,
    BurnRateAlert,
    ErrorBudgetPolicy,
    SLIRollup,
    SLISample,
    SLOStatusRecord,
)

HOUR = 3600

STATUS_HEALTHY = "healthy"
STATUS_AT_RISK = "at_risk"
STATUS_BURNING = "burning"
STATUS_EXHAUSTED = "exhausted"
STATUS_NO_DATA = "no_data"
STATUS_LABELS = {
    STATUS_HEALTHY: "Healthy",
    STATUS_AT_RISK: "At risk",
    STATUS_BURNING: "Alert open",
    STATUS_EXHAUSTED: "Budget exhausted",
    STATUS_NO_DATA: "No data",
}
# Remaining budget below this share is "at risk".
AT_RISK_BELOW = 0.25
# SLOs per aggregate query (keeps the parameter count well under the databases' limits).
CHUNK = 2000


def status_state(remaining: float | None, alert_severity: str = "") -> str:
    """The one definition of an SLO's status: no data, then budget exhausted, then an open
    burn-rate alert (never "Healthy" beside one), then at risk, else healthy."""
    if remaining is None:
        return STATUS_NO_DATA
    if remaining <= 0:
        return STATUS_EXHAUSTED
    if alert_severity:
        return STATUS_BURNING
    if remaining < AT_RISK_BELOW:
        return STATUS_AT_RISK
    return STATUS_HEALTHY


@dataclass
class SLOStatus:
    window_start: datetime
    window_end: datetime
    good: float = 0.0  # events, or good slices for timeslices
    total: float = 0.0  # events, or slices with data for timeslices
    budget: maths.Budget | None = None
    burn_rates: dict[int, float | None] = field(default_factory=dict)
    period_hours: float = 0.0
    burn_end: int = 0  # Unix s: burn-rate windows are [burn_end - w, burn_end)
    # Set from the open alerts when the status is stored (slo_statuses alone does not read them).
    alert_severity: str = ""
    open_alerts: int = 0
    as_of: datetime | None = None

    @property
    def sli(self) -> float | None:
        return self.budget.sli if self.budget else None

    @property
    def remaining(self) -> float | None:
        return self.budget.remaining if self.budget else None

    @property
    def consumed(self) -> float | None:
        return self.budget.consumed if self.budget else None

    @property
    def state(self) -> str:
        return status_state(self.remaining, self.alert_severity)

    @property
    def state_label(self) -> str:
        return STATUS_LABELS[self.state]

    @property
    def meets_target(self) -> bool | None:
        return None if self.budget is None else self.budget.remaining >= 0

    @classmethod
    def from_record(cls, record: SLOStatusRecord | None) -> SLOStatus | None:
        """The stored figures (`SLOStatusRecord`) as a status; None when none is stored yet."""
        if record is None:
            return None
        budget = None
        if record.sli is not None:
            budget = maths.Budget(sli=record.sli, consumed=record.consumed, remaining=record.remaining)
        return cls(
            window_start=record.window_start,
            window_end=record.window_end,
            good=record.good,
            total=record.total,
            budget=budget,
            burn_rates={int(w): v for w, v in record.burn_rates.items()},
            period_hours=record.period_hours,
            burn_end=record.burn_end,
            alert_severity=record.alert_severity,
            open_alerts=record.open_alerts,
            as_of=record.as_of,
        )


def slo_window(slo: SLO, now: datetime) -> tuple[datetime, datetime]:
    return maths.window_bounds(now=now, **_window_args(slo))


def slo_period_hours(slo: SLO, now: datetime) -> float:
    return maths.period_hours(now=now, **_window_args(slo))


def _window_args(slo: SLO) -> dict:
    return {
        "kind": slo.window_kind,
        "days": slo.window_days,
        "unit": slo.calendar_unit,
        "tz": slo.calendar_timezone,
        "anchor": slo.calendar_anchor,
    }


def _values_cte(name: str, columns: list[str], rows: list[tuple]) -> tuple[str, list]:
    placeholders = ", ".join("(" + ", ".join(["%s"] * len(columns)) + ")" for _ in rows)
    params = [v for row in rows for v in row]
    return f"{name}({', '.join(columns)}) AS (VALUES {placeholders})", params


def burn_end(slo: SLO, now: datetime) -> int:
    """Where the SLO's burn-rate windows end: the last complete bucket before `now`, or, for a
    Prometheus SLI, its sync cursor when that is earlier (the buckets after it are not fetched yet).

    Reads `slo.sli` only when it is already loaded (select_related), never with a query."""
    end = maths.floor_to(int(now.timestamp()), BUCKET_SECONDS)
    sli = slo._state.fields_cache.get("sli")
    if sli is not None and sli.source == SLI.Source.PROMETHEUS and sli.sync_cursor is not None:
        end = min(end, maths.floor_to(int(sli.sync_cursor.timestamp()), BUCKET_SECONDS))
    return end


def slo_statuses(slos, *, now: datetime | None = None, raw: bool = False) -> dict[int, SLOStatus]:
    """{slo.pk: SLOStatus} for the given SLOs: window SLI, budget and every burn-rate window.

    Two queries at most (one for occurrences, one for timeslices) whatever the number of
    SLOs and samples (on SQLite, one per 2,000 SLOs). On PostgreSQL the occurrence sums
    read the hourly rollups for whole hours and the 5-minute samples only at the window
    edges; `raw=True` reads the samples only (the two agree; see the tests).
    """
    now = now or timezone.now()
    slos = list(slos)
    hi = int(now.timestamp())
    result: dict[int, SLOStatus] = {}
    occ_rows, slice_rows = [], []
    longest = max(maths.BURN_WINDOWS)
    for slo in slos:
        start, end = slo_window(slo, now)
        lo, _ = maths.bucket_range(start, end, BUCKET_SECONDS)
        bhi = burn_end(slo, now)
        result[slo.pk] = SLOStatus(
            window_start=start, window_end=end, period_hours=slo_period_hours(slo, now), burn_end=bhi
        )
        if slo.timeslice_seconds and slo.budgeting != SLO.Budgeting.OCCURRENCES:
            step = slo.timeslice_seconds
            # Whole slices only: the window starts at the first slice boundary inside it.
            slice_lo = lo if lo % step == 0 else maths.floor_to(lo, step) + step
            scan_lo = min(slice_lo, maths.floor_to(bhi - longest, step))
            slice_rows.append((slo.pk, slo.sli_id, slice_lo, scan_lo, step, _slice_target(slo), bhi))
        else:
            occ_rows.append((slo.pk, slo.sli_id, lo, min(lo, bhi - longest), bhi))

    use_rollups = connection.vendor == "postgresql" and not raw
    with _no_jit():
        occ = _occurrence_sums_rollup(occ_rows, hi) if use_rollups else _occurrence_sums_raw(occ_rows, hi)
        slices = _timeslice_counts(slice_rows, hi, lateral=use_rollups)
    for slo_id, (good, total, burns) in [*occ.items(), *slices.items()]:
        st = result[slo_id]
        st.good, st.total, st.burn_rates = good, total, burns

    for slo in slos:
        st = result[slo.pk]
        target = float(slo.target)
        st.budget = maths.occurrences_budget(st.good, st.total, target)
        st.burn_rates = {
            w: maths.burn_rate_from_counts(*st.burn_rates.get(w, (0.0, 0.0)), target) for w in maths.BURN_WINDOWS
        }
    return result


_WINDOW_COLS = ["slo_id", "sli_id", "lo", "scan_lo", "bhi"]


def _occurrence_sums_raw(rows, hi: int) -> dict[int, tuple]:
    """Window and burn-window sums straight from the 5-minute samples (any database)."""
    windows = list(maths.BURN_WINDOWS)
    out = {}
    with connection.cursor() as cursor:
        for i in range(0, len(rows), CHUNK):
            cte, params = _values_cte("p", _WINDOW_COLS, rows[i : i + CHUNK])
            # Burn windows: [bhi - w, bhi), bhi being the end of the SLO's complete data.
            burn_cols = ", ".join(
                "SUM(CASE WHEN s.bucket >= p.bhi - %s AND s.bucket < p.bhi THEN s.good ELSE 0 END), "
                "SUM(CASE WHEN s.bucket >= p.bhi - %s AND s.bucket < p.bhi THEN s.total ELSE 0 END)"
                for _ in windows
            )
            sql = (
                f"WITH {cte} SELECT p.slo_id, "  # noqa: S608 (only placeholders and the model's table)
                "SUM(CASE WHEN s.bucket >= p.lo THEN s.good ELSE 0 END), "
                "SUM(CASE WHEN s.bucket >= p.lo THEN s.total ELSE 0 END), "
                f"{burn_cols} FROM p JOIN {SLISample._meta.db_table} s ON s.sli_id = p.sli_id "
                "AND s.bucket >= p.scan_lo AND s.bucket < %s GROUP BY p.slo_id"
            )
            cursor.execute(sql, params + [w for w in windows for _ in (0, 1)] + [hi])
            for row in cursor.fetchall():
                burns = {w: (float(row[3 + 2 * j] or 0), float(row[4 + 2 * j] or 0)) for j, w in enumerate(windows)}
                out[row[0]] = (float(row[1] or 0), float(row[2] or 0), burns)
    return out


@contextmanager
def _no_jit():
    """PostgreSQL's JIT compiles these wide aggregates for longer than they run (1.4 s of
    3.5 s for 1,000 SLOs): switch it off for the transaction."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        yield


def _ceil_hour(ts: int) -> int:
    return ts if ts % HOUR == 0 else maths.floor_to(ts, HOUR) + HOUR


def _occurrence_sums_rollup(rows, hi: int) -> dict[int, tuple]:
    """The same sums on PostgreSQL from the hourly rollups for whole hours plus the
    5-minute samples at the edges of each window: ~12x fewer rows than the samples.

    One query: the SLOs arrive as arrays (unnest), each SLO reads its own rollup rows
    and edge samples through LATERAL subqueries on the (sli, hour/bucket) indexes.
    """
    if not rows:
        return {}
    hour_windows = [w for w in maths.BURN_WINDOWS if w % HOUR == 0]
    short_windows = [w for w in maths.BURN_WINDOWS if w % HOUR]
    cols = {k: [] for k in ("slo", "sli", "lo", "lo_h", "hi_h", "bhi", "bhi_h", "bhi_c")}
    hi_h = maths.floor_to(hi, HOUR)
    for slo_id, sli_id, lo, _scan_lo, bhi in rows:
        cols["slo"].append(slo_id)
        cols["sli"].append(sli_id)
        cols["lo"].append(lo)
        cols["lo_h"].append(_ceil_hour(lo))
        cols["hi_h"].append(hi_h)
        cols["bhi"].append(bhi)
        cols["bhi_h"].append(maths.floor_to(bhi, HOUR))
        cols["bhi_c"].append(_ceil_hour(bhi))
    longest = max(maths.BURN_WINDOWS)
    r_cols, r_params, e_cols, e_params, e_where, e_where_params = [], [], [], [], [], []
    for col in ("good", "total"):
        e_cols.append(
            f"SUM(CASE WHEN (s.bucket >= p.lo AND s.bucket < p.lo_h) OR s.bucket >= p.hi_h THEN s.{col} ELSE 0 END)"
        )
    for w in hour_windows:
        for col in ("good", "total"):
            r_cols.append(f"SUM(CASE WHEN r.hour >= p.bhi_c - %s AND r.hour < p.bhi_h THEN r.{col} ELSE 0 END)")
            r_params.append(w)
            e_cols.append(
                f"SUM(CASE WHEN (s.bucket >= p.bhi - %s AND s.bucket < p.bhi_c - %s) "
                f"OR (s.bucket >= p.bhi_h AND s.bucket < p.bhi) THEN s.{col} ELSE 0 END)"
            )
            e_params += [w, w]
        e_where.append("(s.bucket >= p.bhi - %s AND s.bucket < p.bhi_c - %s)")
        e_where_params += [w, w]
    for w in short_windows:
        for col in ("good", "total"):
            e_cols.append(f"SUM(CASE WHEN s.bucket >= p.bhi - %s AND s.bucket < p.bhi THEN s.{col} ELSE 0 END)")
            e_params.append(w)
    e_where.append("(s.bucket >= p.bhi - %s AND s.bucket < p.bhi)")
    e_where_params.append(max(short_windows + [0]))
    rollups, samples = SLIRollup._meta.db_table, SLISample._meta.db_table
    sql = (
        "SELECT p.slo, rw.*, r.*, e.* FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], "  # noqa: S608
        "%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) AS p(slo, sli, lo, lo_h, hi_h, bhi, bhi_h, bhi_c) "
        # The window's whole hours: a plain sum over its rollups (720 rows for 30 days). The
        # burn windows' whole hours: the conditional sums, over the last 3 days' rollups only
        # (one scan with every CASE over the window's rows cost 2-3x more CPU).
        f"CROSS JOIN LATERAL (SELECT SUM(r.good), SUM(r.total) FROM {rollups} r WHERE r.sli_id = p.sli "
        "AND r.hour >= p.lo_h AND r.hour < p.hi_h) rw "
        f"CROSS JOIN LATERAL (SELECT {', '.join(r_cols)} FROM {rollups} r WHERE r.sli_id = p.sli "
        "AND r.hour >= p.bhi_c - %s AND r.hour < p.bhi_h) r "
        # The edge samples come from two index ranges: the window's first hour, and the
        # recent stretch holding every burn window's edges and the window's last hour.
        # One range over both would read the SLI's whole window (8,640 rows for 30
        # days) to keep ~100. The ranges do not overlap: the first stops where the
        # recent one starts.
        f"CROSS JOIN LATERAL (SELECT {', '.join(e_cols)} FROM ("
        f"SELECT bucket, good, total FROM {samples} WHERE sli_id = p.sli "
        "AND bucket >= p.lo AND bucket < LEAST(p.lo_h, p.bhi - %s, p.hi_h) "
        f"UNION ALL SELECT bucket, good, total FROM {samples} WHERE sli_id = p.sli "
        "AND bucket >= LEAST(p.bhi - %s, p.hi_h) AND bucket < GREATEST(%s, p.bhi)) s WHERE "
        "(s.bucket >= p.lo AND s.bucket < p.lo_h) OR (s.bucket >= p.hi_h AND s.bucket < %s) "
        "OR (s.bucket >= p.bhi_h AND s.bucket < p.bhi) OR " + " OR ".join(e_where) + ") e"
    )
    params = [cols[k] for k in ("slo", "sli", "lo", "lo_h", "hi_h", "bhi", "bhi_h", "bhi_c")]
    params += r_params + [longest] + e_params + [longest, longest, hi, hi] + e_where_params
    out = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        n_r = 2 + len(r_cols)
        for row in cursor.fetchall():
            r, e = [float(v or 0) for v in row[1 : 1 + n_r]], [float(v or 0) for v in row[1 + n_r :]]
            burns = {}
            for j, w in enumerate(hour_windows):
                burns[w] = (r[2 + 2 * j] + e[2 + 2 * j], r[3 + 2 * j] + e[3 + 2 * j])
            base = 2 + 2 * len(hour_windows)
            for j, w in enumerate(short_windows):
                burns[w] = (e[base + 2 * j], e[base + 2 * j + 1])
            out[row[0]] = (r[0] + e[0], r[1] + e[1], burns)
    return out


# What a slice with data counts for (maths.slice_value): 1/0 against the slice target, or its
# ratio for RatioTimeslices, which pass a slice target of -1.
_SLICE_VALUE = "CASE WHEN tgt < 0 THEN g * 1.0 / t WHEN g * 1.0 / t >= tgt THEN 1 ELSE 0 END"


def _slice_target(slo: SLO) -> float:
    return -1.0 if slo.budgeting == SLO.Budgeting.RATIO_TIMESLICES else float(slo.timeslice_target)


def _timeslice_counts(rows, hi: int, *, lateral: bool) -> dict[int, tuple]:
    """(good slices, slices with data, {w: (good slices, slices)}) per timeslices SLO
    (for RatioTimeslices "good slices" is the sum of the slices' ratios)."""
    windows = list(maths.BURN_WINDOWS)
    table = SLISample._meta.db_table
    out = {}
    # A slice is in a burn window when it starts in it (the window start rounded down to a slice).
    burn_cols = ", ".join(
        "SUM(CASE WHEN st >= (bhi - %s) - ((bhi - %s) %% step) AND st < bhi THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN st >= (bhi - %s) - ((bhi - %s) %% step) AND st < bhi THEN {_SLICE_VALUE} ELSE 0 END)"
        for _ in windows
    )
    burn_params = [w for w in windows for _ in range(4)]
    outer = (
        f"SUM(CASE WHEN st >= lo THEN 1 ELSE 0 END), SUM(CASE WHEN st >= lo THEN {_SLICE_VALUE} ELSE 0 END), "
        f"{burn_cols}"
    )
    with connection.cursor() as cursor:
        if lateral and rows:
            # PostgreSQL: each SLO groups its own SLI's samples into slices through the index.
            # Two groupings per SLO: the window's slices with only its two sums, and the last
            # 3 days' slices with the burn windows' conditional sums (one grouping carrying
            # every CASE over the window's 2,880 slices cost 2-3x more CPU).
            arrays = [list(col) for col in zip(*rows, strict=True)]
            slices = (
                "SELECT s.bucket - (s.bucket %% p.step) AS st, p.lo AS lo, p.tgt AS tgt, p.step AS step, "  # noqa: S608 (the model's table, placeholders)
                f"p.bhi AS bhi, SUM(s.good) AS g, SUM(s.total) AS t FROM {table} s WHERE s.sli_id = p.sli_id "
                "AND s.bucket >= {lo} AND s.bucket < %s GROUP BY 1"
            )
            burn_lo = "(p.bhi - %s) - ((p.bhi - %s) %% p.step)"
            sql = (
                "SELECT p.slo_id, x.*, y.* FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], "  # noqa: S608
                "%s::bigint[], %s::bigint[], %s::float8[], %s::bigint[]) "
                "AS p(slo_id, sli_id, lo, scan_lo, step, tgt, bhi) "
                f"CROSS JOIN LATERAL (SELECT SUM(1), SUM({_SLICE_VALUE}) "
                f"FROM ({slices.format(lo='p.lo')}) sl WHERE t > 0) x "
                f"CROSS JOIN LATERAL (SELECT {burn_cols} FROM ({slices.format(lo=burn_lo)}) sl WHERE t > 0) y"
            )
            longest = max(windows)
            cursor.execute(sql, arrays + [hi] + burn_params + [longest, longest, hi])
            results = [
                (row[0], row[1] or 0, row[2] or 0, *row[3:])
                for row in cursor.fetchall()
                if row[1] is not None or any(v is not None for v in row[3:])
            ]
        else:
            results = []
            for i in range(0, len(rows), CHUNK):
                cols = ["slo_id", "sli_id", "lo", "scan_lo", "step", "tgt", "bhi"]
                cte, params = _values_cte("p", cols, rows[i : i + CHUNK])
                sql = (
                    f"WITH {cte}, sl AS ("  # noqa: S608 (only placeholders and the model's table)
                    "SELECT p.slo_id AS slo_id, s.bucket - (s.bucket %% p.step) AS st, MAX(p.lo) AS lo, "
                    "MAX(p.tgt) AS tgt, MAX(p.step) AS step, MAX(p.bhi) AS bhi, SUM(s.good) AS g, SUM(s.total) AS t "
                    f"FROM p JOIN {table} s ON s.sli_id = p.sli_id "
                    "AND s.bucket >= p.scan_lo AND s.bucket < %s "
                    "GROUP BY p.slo_id, s.bucket - (s.bucket %% p.step)) "
                    f"SELECT slo_id, {outer} FROM sl WHERE t > 0 GROUP BY slo_id"
                )
                cursor.execute(sql, params + [hi] + burn_params)
                results += cursor.fetchall()
    for row in results:
        if row[1] is None:
            continue  # no slice with data
        # burn windows: (good slices, slices)
        burns = {w: (float(row[4 + 2 * j] or 0), float(row[3 + 2 * j] or 0)) for j, w in enumerate(windows)}
        out[row[0]] = (float(row[2] or 0), float(row[1] or 0), burns)
    return out


def slo_status(slo: SLO, *, now: datetime | None = None) -> SLOStatus:
    return slo_statuses([slo], now=now)[slo.pk]


# --- for other apps --------------------------------------------------------------


def _range_counts(slo: SLO, lo: int, hi: int) -> tuple[float, float]:
    """(good, total) events, or (good slices, slices with data), for buckets in [lo, hi)."""
    qs = SLISample.objects.filter(sli_id=slo.sli_id, bucket__gte=lo, bucket__lt=hi)
    if slo.budgeting == SLO.Budgeting.OCCURRENCES:
        from django.db.models import Sum

        agg = qs.aggregate(g=Sum("good"), t=Sum("total"))
        return float(agg["g"] or 0), float(agg["t"] or 0)
    step = slo.timeslice_seconds
    target = None if slo.budgeting == SLO.Budgeting.RATIO_TIMESLICES else float(slo.timeslice_target)
    slices: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for bucket, good, total in qs.values_list("bucket", "good", "total"):
        acc = slices[maths.floor_to(bucket, step)]
        acc[0] += good
        acc[1] += total
    verdicts = [maths.slice_value(g, t, target) for g, t in slices.values()]
    verdicts = [v for v in verdicts if v is not None]
    return float(sum(verdicts)), float(len(verdicts))


def slo_budget_spent(*, slo: SLO, start: datetime, end: datetime) -> float | None:
    """Fraction of the SLO's error budget consumed by the bad events in [start, end).

    The budget is that of the SLO window ending at `end` (its calendar period for
    calendar SLOs): (1 - target) x events (or slices) in that window. 1.0 means
    the range alone spent the whole budget. None when the window or the range has no data.
    """
    if end <= start:
        raise ValueError("end must be after start")
    w_start, w_end = slo_window(slo, end)
    w_lo, w_hi = maths.bucket_range(w_start, w_end, BUCKET_SECONDS)
    _, window_total = _range_counts(slo, w_lo, w_hi)
    lo, hi = maths.bucket_range(start, end, BUCKET_SECONDS)
    good, total = _range_counts(slo, lo, hi)
    if not window_total or not total:
        return None
    return (total - good) / ((1.0 - float(slo.target)) * window_total)


def slos_for_services(*, service_ids) -> QuerySet:
    """SLOs whose SLI measures one of these services (not scoped: callers scope the services)."""
    return (
        SLO.objects.filter(sli__service_id__in=list(service_ids))
        .select_related("sli__service__team", "owner")
        .order_by("sli__service__name", "name")
    )


def team_reliability(*, team_ids, now: datetime | None = None) -> dict[int, dict]:
    """Per team: services, SLO coverage by tier, attainment and average budget left.

    coverage_by_tier[t] = services of tier t with at least one SLO / services of tier t (None if none).
    attainment = SLOs meeting their target / SLOs with data (None if none has data).
    budget_remaining_avg = mean remaining budget of SLOs with data (None if none).
    Without `now`, the stored statuses (`SLOStatusRecord`); with `now` (a past day, e.g.
    scoring), computed for that instant. A fixed number of queries whatever the number of teams.
    """
    team_ids = list(team_ids)
    out = {
        tid: {
            "services": 0,
            "services_with_slo": 0,
            "coverage_by_tier": {1: None, 2: None, 3: None},
            "slos": 0,
            "slos_meeting_target": 0,
            "attainment": None,
            "budget_remaining_avg": None,
        }
        for tid in team_ids
    }
    services = (
        Service.objects.filter(team_id__in=team_ids)
        .annotate(slo_count=Count("slis__slos"))
        .values_list("team_id", "tier", "slo_count")
    )
    tiers: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for team_id, tier, slo_count in services:
        row = out[team_id]
        row["services"] += 1
        row["services_with_slo"] += bool(slo_count)
        tiers[team_id][tier][0] += 1
        tiers[team_id][tier][1] += bool(slo_count)
    for team_id, by_tier in tiers.items():
        for tier, (count, covered) in by_tier.items():
            out[team_id]["coverage_by_tier"][tier] = covered / count if count else None
    slos = SLO.objects.filter(sli__service__team_id__in=team_ids).select_related("sli__service")
    if now is None:
        slos = list(slos.select_related("status_record"))
        statuses = stored_statuses(slos)
    else:
        slos = list(slos)
        statuses = slo_statuses(slos, now=now)
    remaining: dict[int, list[float]] = defaultdict(list)
    for slo in slos:
        team_id = slo.sli.service.team_id
        row, st = out[team_id], statuses[slo.pk]
        row["slos"] += 1
        if st is not None and st.budget is not None:
            remaining[team_id].append(st.budget.remaining)
            row["slos_meeting_target"] += bool(st.meets_target)
    for team_id, values in remaining.items():
        out[team_id]["attainment"] = out[team_id]["slos_meeting_target"] / len(values)
        out[team_id]["budget_remaining_avg"] = sum(values) / len(values)
    return out


# --- pages ---------------------------------------------------------------------------

SORTS = {
    "budget": "Budget left",
    "name": "Name",
    "service": "Service",
    "target": "Target",
}


@dataclass
class CatalogRow:
    slo: SLO
    status: SLOStatus
    open_alerts: int


def stored_statuses(slos) -> dict[int, SLOStatus | None]:
    """{slo.pk: the stored status} for SLOs loaded with select_related("status_record");
    None for an SLO whose status is not stored yet."""
    out = {}
    for slo in slos:
        try:
            record = slo.status_record
        except SLOStatusRecord.DoesNotExist:
            record = None
        out[slo.pk] = SLOStatus.from_record(record)
    return out


def ensure_stored(qs) -> int:
    """Compute and store the status of the SLOs in `qs` that have none yet (created by a path
    that skipped the services, or before statuses were stored). One query when none is missing."""
    missing = list(qs.filter(status_record__isnull=True).order_by().values_list("pk", flat=True))
    if missing:
        from .services import slo_status_refresh

        slo_status_refresh(actor=permissions.SYSTEM, slo_ids=missing)
    return len(missing)


def catalog_queryset(
    *,
    user,
    organization,
    team=None,
    service=None,
    tier=None,
    status: str | None = None,
    sort: str = "budget",
) -> QuerySet:
    """The SLOs the user may see, filtered and sorted in SQL on their stored status, so a page
    of the catalog costs the same for 100 or 10,000 SLOs."""
    ensure_stored(SLO.objects.filter(organization=organization))
    qs = permissions.viewable(user, SLO.objects.filter(organization=organization)).select_related(
        "sli__service__team", "owner", "status_record"
    )
    if team:
        qs = qs.filter(sli__service__team=team)
    if service:
        qs = qs.filter(sli__service=service)
    if tier:
        qs = qs.filter(sli__service__tier=tier)
    if status:
        qs = qs.filter(status_record__state=status)
    name = Lower("name")
    if sort == "name":
        order = [name, "pk"]
    elif sort == "service":
        order = ["sli__service__name", name, "pk"]
    elif sort == "target":
        order = ["-target", name, "pk"]
    else:
        # Least budget left first; no data after every measured SLO.
        order = [F("status_record__remaining").asc(nulls_last=True), name, "pk"]
    return qs.order_by(*order)


def catalog_counts(qs) -> dict[str, int]:
    """{state: SLOs} over a catalog queryset (one query)."""
    counts = dict.fromkeys(STATUS_LABELS, 0)
    for state, n in qs.order_by().values_list("status_record__state").annotate(n=Count("pk")):
        if state in counts:
            counts[state] = n
    return counts


def catalog_page_slos(ids) -> list[SLO]:
    """The SLOs of one catalog page, in the page's order, with what a row shows.

    The page's ids come from a narrow query (ordered and cut in SQL over the stored status),
    the rows from one by primary key: sorting every SLO of a 10,000-SLO catalog joined with
    its SLI, service, team and owner before keeping 100 took most of the page's time."""
    ids = list(ids)
    by_pk = SLO.objects.filter(pk__in=ids).select_related("sli__service__team", "owner", "status_record").in_bulk()
    return [by_pk[pk] for pk in ids if pk in by_pk]


def catalog_rows(slos) -> list[CatalogRow]:
    statuses = stored_statuses(slos)
    return [CatalogRow(slo=s, status=statuses[s.pk], open_alerts=statuses[s.pk].open_alerts) for s in slos]


def catalog(**filters) -> list[CatalogRow]:
    """Every catalog row the user may see (the page reads one page of `catalog_queryset`)."""
    return catalog_rows(list(catalog_queryset(**filters)))


def slo_detail(*, user, pk: int) -> SLO:
    qs = SLO.objects.select_related("sli__service__team", "sli__service__organization", "owner", "organization")
    return permissions.get_for_user(user, qs, pk=pk)


def sli_detail(*, user, pk: int) -> SLI:
    qs = SLI.objects.select_related("service__team", "organization").prefetch_related("slos")
    return permissions.get_for_user(user, qs, pk=pk)


def sli_list(*, user, organization) -> QuerySet:
    return permissions.viewable(user, SLI.objects.filter(organization=organization)).select_related("service__team")


def policy_for(slo: SLO) -> ErrorBudgetPolicy | None:
    """The SLO's own policy, else its team's default (one query)."""
    policies = list(ErrorBudgetPolicy.objects.filter(Q(slo=slo) | Q(team_id=slo.sli.service.team_id, slo__isnull=True)))
    own = [p for p in policies if p.slo_id == slo.pk]
    return (own or policies or [None])[0]


def alert_history(*, slo: SLO, limit: int = 50) -> list[BurnRateAlert]:
    return list(slo.alerts.order_by("-opened_at")[:limit])


def slo_series(slo: SLO, *, now: datetime | None = None) -> dict:
    """Points for the SLO page: SLI per step and remaining budget over the window (burn-down)."""
    now = now or timezone.now()
    start, end = slo_window(slo, now)
    lo, hi = maths.bucket_range(start, end, BUCKET_SECONDS)
    span = hi - lo
    step = 3600 if span <= 8 * 86400 else 6 * 3600 if span <= 35 * 86400 else 86400
    sliced = slo.budgeting != SLO.Budgeting.OCCURRENCES
    if sliced:
        step = max(step, slo.timeslice_seconds)
        step = maths.floor_to(step, slo.timeslice_seconds) or slo.timeslice_seconds
    rows = SLISample.objects.filter(sli_id=slo.sli_id, bucket__gte=lo, bucket__lt=hi).values_list(
        "bucket", "good", "total"
    )
    target = float(slo.target)
    per_step: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])  # good, total, good sl, slices
    if sliced:
        slice_target = None if slo.budgeting == SLO.Budgeting.RATIO_TIMESLICES else float(slo.timeslice_target)
        slices: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for bucket, good, total in rows:
            acc = slices[maths.floor_to(bucket, slo.timeslice_seconds)]
            acc[0] += good
            acc[1] += total
        for slice_start, (g, t) in slices.items():
            verdict = maths.slice_value(g, t, slice_target)
            acc = per_step[maths.floor_to(slice_start, step)]
            acc[0] += g
            acc[1] += t
            if verdict is not None:
                acc[2] += verdict
                acc[3] += 1
    else:
        for bucket, good, total in rows:
            acc = per_step[maths.floor_to(bucket, step)]
            acc[0] += good
            acc[1] += total
            acc[2] += good
            acc[3] += total
    total_units = sum(v[3] for v in per_step.values())
    budget_units = (1 - target) * total_units
    labels, sli_points, remaining_points = [], [], []
    bad_so_far = 0.0
    for ts in range(maths.floor_to(lo, step), hi, step):
        acc = per_step.get(ts)
        labels.append(datetime.fromtimestamp(ts, UTC).strftime("%b %d %H:%M"))
        if acc and acc[1]:
            sli_points.append(round(acc[0] / acc[1] * 100, 4))
        else:
            sli_points.append(None)
        if acc:
            bad_so_far += acc[3] - acc[2]
        remaining_points.append(round((1 - bad_so_far / budget_units) * 100, 3) if budget_units else None)
    return {
        "labels": labels,
        "sli": sli_points,
        "remaining": remaining_points,
        "target_percent": target * 100,
        "step": step,
    }


def open_alerts_by_team(*, team_ids) -> dict[int, list[BurnRateAlert]]:
    """{team id: the open burn-rate alerts of its services' SLOs}, one query (for notifications)."""
    alerts = (
        BurnRateAlert.objects.filter(resolved_at__isnull=True, slo__sli__service__team_id__in=list(team_ids))
        .select_related("slo__sli__service")
        .order_by("opened_at", "pk")
    )
    by_team: dict[int, list[BurnRateAlert]] = defaultdict(list)
    for alert in alerts:
        by_team[alert.slo.sli.service.team_id].append(alert)
    return dict(by_team)


# --- what the jobs and alerts read (the services write from these) ------------------------


def prometheus_slis_due():
    """Prometheus SLIs the periodic job syncs (those with a query error wait for a fix)."""
    return SLI.objects.filter(source=SLI.Source.PROMETHEUS).exclude(sync_state=SLI.SyncState.ERROR)


def prometheus_url_for(sli: SLI) -> str:
    return sli.prometheus_url or settings.PROMETHEUS_URL


def slo_alert_policies(slo_ids) -> dict[int, list[AlertPolicy]]:
    """The OpenSLO alert policies of these SLOs (one query), by SLO id."""
    out: dict[int, list[AlertPolicy]] = {}
    through = SLO.alert_policies.through
    rows = through.objects.filter(slo_id__in=list(slo_ids)).select_related("alertpolicy")
    for row in rows.prefetch_related("alertpolicy__targets").order_by("alertpolicy__slug"):
        out.setdefault(row.slo_id, []).append(row.alertpolicy)
    return out


def slo_alert_rules(slo: SLO, policies: list[AlertPolicy], period_hours: float) -> list[maths.AlertRule]:
    """The SLO's own alert policies (those alerting when breaching), else the platform's scaled table."""
    if not policies:
        return maths.alert_rules(period_hours)
    rules, seen = [], set()
    for p in policies:
        key = (p.lookback_window, p.alert_after or p.lookback_window)
        if not p.alert_when_breaching or key in seen:
            continue
        seen.add(key)
        rules.append(
            maths.AlertRule(
                severity=p.severity,
                budget_percent=round(p.threshold * (key[0] / 3600) / period_hours * 100, 6) if period_hours else 0,
                long_window=key[0],
                short_window=key[1],
                factor=p.threshold,
                op=p.op,
            )
        )
    return rules


TICK_SECONDS = 300
# A status whose data has not changed is recomputed this often for its moving windows (an
# open alert: every tick, so it resolves when the data stops).
MOVING_WINDOW_SECONDS = 3600


def slo_statuses_due(*, now: datetime) -> QuerySet:
    """The SLOs whose stored status the periodic tick recomputes.

    - no status stored yet, or data written at or after the instant it was computed for
      (the push or sync's own refresh was lost);
    - an open alert, not refreshed within the last tick: it must resolve when data stops;
    - a window with data, not refreshed within the hour: the window moves even when no
      data arrives (pushes and syncs refresh their SLOs themselves, so a steadily fed SLO
      is not recomputed here). A window without data stays without data until data
      arrives, which marks it stale.
    - a status computed for an instant after `now` (the clock stepped back).
    """
    tick_ago = now - timedelta(seconds=TICK_SECONDS - 30)
    hour_ago = now - timedelta(seconds=MOVING_WINDOW_SECONDS - 30)
    record = "status_record__"
    alert_open = Q(**{f"{record}open_alerts__gt": 0, f"{record}as_of__lt": tick_ago})
    window_moved = ~Q(**{f"{record}state": STATUS_NO_DATA}) & Q(**{f"{record}as_of__lt": hour_ago})
    return SLO.objects.filter(
        Q(status_record__isnull=True)
        | Q(sli__data_changed_at__gte=F("status_record__as_of"))
        | alert_open
        | window_moved
        | Q(status_record__as_of__gt=now)
    )


def alert_payload(alert: BurnRateAlert, event: str) -> dict:
    from apps.sre.selectors import runbook_for_alert

    slo = alert.slo
    return {
        "event": event,
        "severity": alert.severity,
        "slo": {"id": slo.pk, "slug": slo.slug, "name": slo.name, "target": float(slo.target)},
        "service": slo.sli.service.slug,
        "team": slo.sli.service.team.slug,
        "url": settings.SITE_URL.rstrip("/") + slo.get_absolute_url(),
        "long_window": maths.duration_label(alert.long_window),
        "short_window": maths.duration_label(alert.short_window),
        "factor": alert.factor,
        "long_burn_rate": round(alert.long_burn_rate, 4),
        "short_burn_rate": round(alert.short_burn_rate, 4),
        "opened_at": alert.opened_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        # {"title", "url"} of the runbook that answers this alert (apps.sre), or None.
        "runbook": runbook_for_alert(slo),
    }


def alert_routing(alert: BurnRateAlert, event: str) -> tuple[set[str], list[str]]:
    """Which of the team's channels hear of this alert event, and the notification targets named.

    Without OpenSLO alert policies: both channels. With them, the policies whose condition
    raised the alert decide: a resolve is told only if one of them has alertWhenResolved;
    their targets pick the channels ("email" targets the e-mail, others the webhook); a
    policy without targets uses both.
    """
    policies = [
        p
        for p in AlertPolicy.objects.filter(slos=alert.slo_id).prefetch_related("targets")
        if p.severity == alert.severity
        and p.lookback_window == alert.long_window
        and (p.alert_after or p.lookback_window) == alert.short_window
    ]
    if not policies:
        return {"email", "webhook"}, []
    if event == "resolved":
        policies = [p for p in policies if p.alert_when_resolved]
    channels, targets = set(), []
    for p in policies:
        ts = list(p.targets.all())
        if not ts:
            channels |= {"email", "webhook"}
        for t in ts:
            channels.add(t.channel)
            if t.slug not in targets:
                targets.append(t.slug)
    return channels, targets
