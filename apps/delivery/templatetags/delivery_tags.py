from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from apps.core import figures

register = template.Library()

TIER_CLASSES = {
    "elite": "text-bg-success",
    "high": "text-bg-primary",
    "medium": "text-bg-warning",
    "low": "text-bg-danger",
}
STATUS_CLASSES = {
    "success": "text-bg-success",
    "failure": "text-bg-danger",
    "canceled": "text-bg-secondary",
    "in_progress": "text-bg-info",
    "pending": "text-bg-light border",
    "processed": "text-bg-success",
    "ignored": "text-bg-light border",
    "failed": "text-bg-danger",
}


@register.simple_tag
def tier_badge(tier):
    if not tier:
        return mark_safe('<span class="badge text-bg-light border text-secondary">no data</span>')  # noqa: S308 # nosec B308
    return format_html('<span class="badge {}">{}</span>', TIER_CLASSES.get(tier, "text-bg-secondary"), tier.title())


@register.simple_tag
def status_badge(status, label=None):
    return format_html(
        '<span class="badge {}">{}</span>', STATUS_CLASSES.get(status, "text-bg-secondary"), label or status
    )


# Durations, shares and rates are written the one way every page writes them (apps/core/figures.py).
register.filter("hours", figures.duration)
register.filter("percent", figures.share)
register.filter("per_day", figures.deploy_rate)


@register.filter
def timeuntil_hours(delta):
    """A timedelta as a readable duration (45 min, 5.2 h, 3.1 d)."""
    return figures.duration(delta.total_seconds() / 3600) if delta is not None else figures.NO_DATA
