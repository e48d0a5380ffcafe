from django import template

from .. import markdown as md

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(value):
    """{{ text|markdown }}: Markdown rendered and sanitized (see apps.postmortems.markdown)."""
    return md.render(value)


@register.filter
def severity_class(value) -> str:
    return {1: "danger", 2: "warning", 3: "info"}.get(int(value or 0), "secondary")


@register.filter
def status_class(value) -> str:
    return {
        "draft": "secondary",
        "in_review": "info",
        "published": "success",
        "open": "danger",
        "mitigated": "warning",
        "resolved": "success",
        "in_progress": "primary",
        "done": "success",
        "wont_do": "secondary",
        "pending": "secondary",
        "approved": "success",
        "changes_requested": "warning",
    }.get(str(value), "secondary")


@register.filter
def attr_value(obj, name: str):
    """{{ obj|attr_value:"field" }} for the Markdown sections listed by the view."""
    return getattr(obj, name, "")


@register.filter
def duration(value) -> str:
    """A timedelta as "2d 5h", "3h 12m" or "42m" (— when None)."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m"
