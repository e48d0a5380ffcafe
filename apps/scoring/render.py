"""HTML of the ranking table, built in Python.

The leadership pages list every team of an organization (hundreds of rows of ten
cells); Django's template engine (and even `format_html`) spends most of the
request on that loop, so the rows are assembled here with f-strings. Every value
that comes from data (names, gap texts) goes through `html.escape`; everything
else is a number or a fixed class name. The markup matches templates/scoring/.
"""

from html import escape

from django.utils.safestring import SafeString, mark_safe

from apps.core import figures

from .models import PILLAR_KEYS
from .selectors import Row


def _movement(row: Row) -> str:
    m = row.movement
    if m is None:
        return '<span class="movement-flat small" title="No score a period ago">new</span>'
    if m > 0:
        return f'<span class="movement-up" title="Up {m}"><i class="bi bi-arrow-up"></i>{m}</span>'
    if m < 0:
        return f'<span class="movement-down" title="Down {-m}"><i class="bi bi-arrow-down"></i>{-m}</span>'
    return '<span class="movement-flat" title="Same place"><i class="bi bi-dash"></i></span>'


def _level(row: Row) -> str:
    level = int(row.snapshot.level)
    badge = (
        f'<span class="level-badge level-sm level-{level}" title="Level {level} · {escape(row.snapshot.level_name)}">'
        f'<span class="level-number">{level}</span></span>'
    )
    will = int(row.level_when_applied)
    if will != level:
        css = "movement-down" if will < level else "movement-up"
        badge += (
            f' <span class="small {css}" data-figure="level-when-applied" title="Level {will} once its'
            f' {int(row.pending_count)} pending check(s) apply">→ {will}</span>'
        )
    change = row.level_change
    if change and change > 0:
        return (
            f'{badge} <i class="bi bi-caret-up-fill movement-up" title="Up from level {int(row.previous.level)}"></i>'
        )
    if change and change < 0:
        return (
            f'{badge} <i class="bi bi-caret-down-fill movement-down" title="Down from level {int(row.previous.level)}">'
            "</i>"
        )
    return badge


def _exemption_rate(row: Row) -> str:
    shown = figures.share(row.exemption_rate)
    change = row.exemption_rate_change
    if row.exemption_rate_rising:
        trend = (
            f'<div class="small movement-down" title="Rising: was {figures.share(row.previous.exemption_rate)}'
            f' a period ago"><i class="bi bi-arrow-up"></i> rising</div>'
        )
    elif change is not None and change < 0:
        trend = '<div class="small movement-up"><i class="bi bi-arrow-down"></i> falling</div>'
    else:
        trend = ""
    return f'<td class="cell" data-figure="exemption-rate">{shown}{trend}</td>'


def _overall(row: Row) -> str:
    delta = row.score_change
    measured = row.snapshot.measured
    rests_on = (
        f'<div class="small fw-normal text-secondary" title="{row.snapshot.coverage_label}">'
        f"{measured} of 4 pillars</div>"
        if measured < 4
        else ""
    )
    if not delta:
        return f'<td class="cell" data-figure="overall">{row.overall_display}{rests_on}</td>'
    css, sign = ("movement-up", "+") if delta > 0 else ("movement-down", "")
    return (
        f'<td class="cell" data-figure="overall">{row.overall_display}'
        f'<div class="small fw-normal {css}">{sign}{delta}</div>{rests_on}</td>'
    )


def ranking_rows(rows: list[Row], *, compact: bool = False) -> SafeString:
    """<tr> elements of the ranking/heatmap table. `compact` (the print report) shows every column,
    the department in its own cell and gaps as words; the dashboard hides pillars on narrow screens."""
    hide_md = "" if compact else " d-none d-md-table-cell"
    hide_lg = "" if compact else " d-none d-lg-table-cell"
    out = []
    for row in rows:
        team = row.team
        name = escape(team.name)
        department = escape(team.department.name) if team.department else ("—" if compact else "No department")
        cells = "".join(
            f'<td class="cell band-{band}{hide_md}" title="{escape(label)}" data-figure="{key}">{shown}</td>'
            for key, (label, shown, band) in zip(PILLAR_KEYS, row.cells, strict=True)
        )
        gap_list = row.snapshot.gaps or []
        if compact:
            gaps = escape(", ".join(g.get("label", "") for g in gap_list)) or "—"
        elif gap_list:
            gaps = "".join(
                f'<span class="badge text-bg-warning me-1" title="{escape(g.get("why", ""))}">'
                f"{escape(g.get('label', ''))}</span>"
                for g in gap_list
            )
        else:
            gaps = '<span class="text-secondary">—</span>'
        if compact:
            team_cells = f'<td>{name}</td><td class="small">{department}</td>'
        else:
            team_cells = (
                f'<td><a class="fw-semibold text-decoration-none" href="{escape(row.url)}">{name}</a>'
                f'<div class="small text-secondary">{department}</div></td>'
            )
        out.append(
            f'<tr data-team="{int(team.pk)}"><td class="text-end fw-semibold">{int(row.rank)}</td>'
            f"<td>{_movement(row)}</td>{team_cells}"
            f"<td>{_level(row)}</td>{_exemption_rate(row)}{_overall(row)}{cells}"
            f'<td class="small{hide_lg}">{gaps}</td></tr>'
        )
    return mark_safe("\n".join(out))  # noqa: S308 - data values above are escaped one by one # nosec B308, B703
