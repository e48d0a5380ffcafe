"""A postmortem as a Markdown document (the authors' Markdown kept as written)."""

from django.utils import timezone

from . import selectors
from .models import Postmortem

SECTIONS = [
    ("Summary", "summary"),
    ("Impact", "impact"),
    ("Root causes", "root_causes"),
    ("Trigger", "trigger"),
    ("Detection", "detection"),
    ("Resolution", "resolution"),
]
LESSONS = [("What went well", "went_well"), ("What went wrong", "went_wrong"), ("Where we got lucky", "got_lucky")]


def _time(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z") if value else "—"


def _cell(text: str) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def to_markdown(pm: Postmortem) -> str:
    incident = pm.incident
    authors = ", ".join(a.name or a.email for a in pm.authors.all()) or "—"
    lines = [
        f"# {pm.title}",
        "",
        f"- **Status:** {pm.get_status_display()}" + (f" ({_time(pm.published_at)})" if pm.published_at else ""),
        f"- **Incident:** {incident.get_severity_display()} · {incident.title}",
        f"- **Team:** {pm.team.name}",
        f"- **Services:** {', '.join(s.name for s in incident.services.all()) or '—'}",
        f"- **Started:** {_time(incident.started_at) if incident.started_at else 'not known yet'}",
        f"- **Detected:** {_time(incident.detected_at)}",
        f"- **Mitigated:** {_time(incident.mitigated_at)}",
        f"- **Resolved:** {_time(incident.resolved_at)}",
        f"- **Authors:** {authors}",
    ]
    if pm.users_affected is not None:
        lines.append(f"- **Users affected:** {pm.users_affected}")
    tags = [t.name for t in pm.tags.all()]
    if tags:
        lines.append(f"- **Tags:** {', '.join(tags)}")
    for heading, name in SECTIONS:
        lines += ["", f"## {heading}", "", getattr(pm, name).strip() or "_Not written._"]
    factors = list(pm.factors.all())
    if factors:
        lines += ["", "## Contributing factors", ""]
        for f in factors:
            root = " (root cause)" if f.is_root_cause else ""
            lines.append(f"- **{f.category.name}**{root}: {_cell(f.description)}")
    lines += ["", "## Timeline", ""]
    lines += ["| Time | Event |", "|---|---|"]
    lines += [f"| {_time(e.at)} | {_cell(e.description)} |" for e in selectors.timeline(pm)]
    lines += ["", "## Lessons learned"]
    for heading, name in LESSONS:
        lines += ["", f"### {heading}", "", getattr(pm, name).strip() or "_Nothing noted._"]
    lines += ["", "## Action items", ""]
    items = list(pm.action_items.all())
    if items:
        lines += [
            "| Title | Type | Priority | Owner | Team | Due | Status | Tracker |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for i in items:
            owner = (i.owner.name or i.owner.email) if i.owner else "—"
            lines.append(
                f"| {_cell(i.title)} | {i.get_kind_display()} | P{i.priority} | {_cell(owner)} | {_cell(i.team.name)} "
                f"| {i.due_date or '—'} | {i.get_status_display()} | {i.tracker_url or '—'} |"
            )
    else:
        lines.append("_None._")
    links = list(pm.links.all())
    if links:
        lines += ["", "## Supporting links", ""]
        lines += [f"- [{_cell(link.title)}]({link.url})" for link in links]
    return "\n".join(lines) + "\n"
