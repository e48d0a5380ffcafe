"""An initiative as CSV: one row per item in scope and check, as the initiative page shows it today,
plus the stored daily progress points as a second CSV."""

from __future__ import annotations

import csv
import io

from .selectors import Scope, Standing

SCOPE_HEADER = ["team", "item", "item_kind", "check", "status", "actual", "target", "evidence"]
PROGRESS_HEADER = ["day", "passing", "total", "share", "target_line"]


def _safe(cell):
    """Cells that start like a formula are neutralised for spreadsheet apps."""
    return "'" + cell if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@") else cell


def _csv(header, rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(c) for c in row])
    return out.getvalue()


def scope_csv(scope: Scope, *, base_url: str = "") -> str:
    rows = []
    for item in scope.items:
        for o in item.outcomes:
            link = f"{base_url}{o.link}" if o.link and o.link.startswith("/") else (o.link or "")
            rows.append([item.team.name, item.label, item.kind, o.check.name, o.status, o.actual, o.target, link])
    return _csv(SCOPE_HEADER, rows)


def progress_csv(standing: Standing) -> str:
    from . import progress

    i = standing.initiative
    rows = []
    for day, share in standing.points:
        line = progress.target_share(day, start=i.start_date, target=i.target_date, base=standing.base)
        rows.append(
            [day.isoformat(), *_counts(standing, day), "" if share is None else round(share, 4), round(line, 4)]
        )
    return _csv(PROGRESS_HEADER, rows)


def _counts(standing: Standing, day) -> tuple:
    point = standing.counts.get(day)
    return point if point else ("", "")
