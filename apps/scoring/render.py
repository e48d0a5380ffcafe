"""HTML of the ranking table, built in Python.

The leadership pages list every team of an organization (hundreds of rows of ten
cells); Django's template engine spends most of the request on that loop, so the
rows are assembled here with `format_html` (every value escaped) and the template
inserts them. The markup matches the rest of templates/scoring/.
"""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from .selectors import Row


def _movement(row: Row) -> SafeString:
    m = row.movement
    if m is None:
        return mark_safe('<span class="movement-flat small" title="No score a period ago">new</span>')
    if m > 0:
        return format_html('<span class="movement-up" title="Up {0}"><i class="bi bi-arrow-up"></i>{0}</span>', m)
    if m < 0:
        return format_html(
            '<span class="movement-down" title="Down {0}"><i class="bi bi-arrow-down"></i>{0}</span>', -m
        )
    return mark_safe('<span class="movement-flat" title="Same place"><i class="bi bi-dash"></i></span>')


def _level(row: Row) -> SafeString:
    s = row.snapshot
    badge = format_html(
        '<span class="level-badge level-sm level-{0}" title="Level {0} · {1}">'
        '<span class="level-number">{0}</span></span>',
        s.level,
        s.level_name,
    )
    change = row.level_change
    if change and change > 0:
        return format_html(
            '{} <i class="bi bi-caret-up-fill movement-up" title="Up from level {}"></i>', badge, row.previous.level
        )
    if change and change < 0:
        return format_html(
            '{} <i class="bi bi-caret-down-fill movement-down" title="Down from level {}"></i>',
            badge,
            row.previous.level,
        )
    return badge


def _overall(row: Row) -> SafeString:
    delta = row.score_change
    if not delta:
        return format_html('<td class="cell">{}</td>', row.overall_display)
    css = "movement-up" if delta > 0 else "movement-down"
    return format_html(
        '<td class="cell">{}<div class="small fw-normal {}">{}{}</div></td>',
        row.overall_display,
        css,
        "+" if delta > 0 else "",
        delta,
    )


def ranking_rows(rows: list[Row], *, compact: bool = False) -> SafeString:
    """<tr> elements of the ranking/heatmap table. `compact` (the print report) shows every column
    and the department in its own cell; the dashboard hides pillars on narrow screens."""
    hide_md = "" if compact else " d-none d-md-table-cell"
    hide_lg = "" if compact else " d-none d-lg-table-cell"
    out = []
    for row in rows:
        team = row.team
        department = team.department.name if team.department else ("—" if compact else "No department")
        cells = format_html_join("", '<td class="cell band-{2}' + hide_md + '" title="{0}">{1}</td>', row.cells)
        gaps = (
            format_html_join(
                "",
                '<span class="badge text-bg-warning me-1" title="{}">{}</span>',
                ((g.get("why", ""), g.get("label", "")) for g in row.snapshot.gaps),
            )
            if row.snapshot.gaps
            else mark_safe('<span class="text-secondary">—</span>')
        )
        if compact:
            name = format_html('<td>{}</td><td class="small">{}</td>', team.name, department)
        else:
            name = format_html(
                '<td><a class="fw-semibold text-decoration-none" href="{}">{}</a>'
                '<div class="small text-secondary">{}</div></td>',
                row.url,
                team.name,
                department,
            )
        out.append(
            format_html(
                '<tr><td class="text-end fw-semibold">{}</td><td>{}</td>{}<td>{}</td>{}{}'
                '<td class="small{}">{}</td></tr>',
                row.rank,
                _movement(row),
                name,
                _level(row),
                _overall(row),
                cells,
                hide_lg,
                gaps,
            )
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every part above is built with format_html
