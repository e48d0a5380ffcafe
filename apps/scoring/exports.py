"""CSV export of the leadership ranking (the same numbers as the page, at stored precision)."""

from __future__ import annotations

import csv

from apps.core import figures

from . import metrics, pillars

CSV_HEADER = [
    "rank",
    "movement",
    "team",
    "department",
    "level",
    "level_name",
    "overall",
    "self_assessment",
    "delivery",
    "reliability",
    "learning",
    "deployment_frequency_tier",
    "lead_time_tier",
    "change_failure_rate_tier",
    "time_to_restore_tier",
    "slo_coverage_tier_weighted",
    "services_with_slo_share",
    "slo_attainment",
    "postmortems_published_share",
    "perception_gaps",
    "failed_checks",
    "pillars_measured",
    "snapshot_date",
    "exemption_rate",
    "exemption_rate_previous",
    "level_when_pending_checks_apply",
]


def csv_rows(board) -> list[list]:
    """The rows of a `selectors.Dashboard` (loaded with full=True) under CSV_HEADER."""
    rows = []
    for r in board.rows:
        s = r.snapshot
        inputs = s.inputs or {}
        dora = inputs.get("dora") or {}
        rel = inputs.get("reliability") or {}
        learning = inputs.get("learning") or {}
        rparts = pillars.reliability_parts(rel) or {}
        rows.append(
            [
                r.rank,
                "" if r.movement is None else r.movement,
                r.team.name,
                r.team.department.name if r.team.department else "",
                s.level,
                s.level_name,
                _csv_num(s.overall),
                *(_csv_num(getattr(s, k)) for k in pillars.PILLAR_KEYS),
                *((dora.get(k) or {}).get("tier") or "" for k in pillars.DORA_KEYS),
                _csv_num(rparts.get("coverage"), figures.SHARE_DIGITS),
                _csv_num(metrics.METRICS["slo.coverage"].fn({"reliability": rel}), figures.SHARE_DIGITS),
                _csv_num(rel.get("attainment"), figures.SHARE_DIGITS),
                _csv_num(learning.get("published_share"), figures.SHARE_DIGITS),
                "; ".join(g["label"] for g in s.gaps),
                sum(1 for c in s.checks if c["status"] == "failed"),
                s.measured,
                s.date.isoformat(),
                _csv_num(r.exemption_rate, figures.SHARE_DIGITS),
                _csv_num(r.previous.exemption_rate if r.previous else None, figures.SHARE_DIGITS),
                r.level_when_applied,
            ]
        )
    # Teams without evidence are listed too, unranked and without figures.
    blank = [""] * (len(CSV_HEADER) - 11)
    for team, snap in board.unmeasured:
        department = team.department.name if team.department else ""
        rows.append(
            [
                "",
                "",
                team.name,
                department,
                "",
                "not yet measured",
                *blank,
                0,
                snap.date.isoformat() if snap else "",
                "",
                "",
                "",
            ]
        )
    return rows


def _csv_num(value, digits: int = figures.SCORE_DIGITS):
    """The stored precision (apps/core/figures.py): pages show this value rounded, never another."""
    return "" if value is None else figures.stored(value, digits)


def _safe_cell(cell):
    """Cells that start like a formula are neutralised for spreadsheet apps."""
    return "'" + cell if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@") else cell


def write_csv(out, board) -> None:
    """Write the header and the rows of `board` to a file-like `out` (an HttpResponse)."""
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in csv_rows(board):
        writer.writerow([_safe_cell(c) for c in row])
