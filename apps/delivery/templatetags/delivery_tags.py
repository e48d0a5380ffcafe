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
    "unattributed": "text-bg-warning",
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


# Every DORA figure links to the records behind it. Both the four-keys names and the DORA
# 2024 names are accepted, so a page can be renamed without touching its links.
FIGURE_PAGES = {
    "deployment_frequency": ("delivery:deployments", {}),
    "lead_time": ("delivery:commits", {}),
    "lead_time_hours": ("delivery:commits", {}),
    "change_failure_rate": ("delivery:deployments", {"failures": "1"}),
    "failed_deployment_recovery_time": ("delivery:deployments", {"failures": "1"}),
    "failed_deployment_recovery_time_hours": ("delivery:deployments", {"failures": "1"}),
    "recovery_time": ("delivery:deployments", {"failures": "1"}),
    "recovery_time_hours": ("delivery:deployments", {"failures": "1"}),
    "rework_rate": ("delivery:deployments", {"rework": "1"}),
    "deployment_rework_rate": ("delivery:deployments", {"rework": "1"}),
    "time_to_restore": ("delivery:incidents", {}),
    "time_to_restore_hours": ("delivery:incidents", {}),
    "incidents": ("delivery:incidents", {}),
}


@register.simple_tag
def evidence_url(figure, team=None, service=None, window=90, until=None):
    """The URL of the records behind `figure` for a team or service over the `window` days
    ending `until` (default today): {% evidence_url "lead_time_hours" team=team window=window %}."""
    from urllib.parse import urlencode

    from django.urls import reverse

    from apps.delivery.selectors import window_bounds

    name, extra = FIGURE_PAGES[figure]
    since, end = window_bounds(int(window or 90), until)
    query = {}
    # An include that does not pass one leaves it "" (an unknown template variable).
    if team not in (None, ""):
        query["team"] = getattr(team, "pk", team)
    if service not in (None, ""):
        query["service"] = getattr(service, "pk", service)
    query.update({"since": since.isoformat(), "until": end.isoformat(), **extra})
    return f"{reverse(name)}?{urlencode(query)}"


@register.filter
def seconds_as_hours(value):
    """A duration in seconds, readable like the figures (45 min, 5.2 h, 3.1 d)."""
    return figures.duration(value / 3600) if value is not None else figures.NO_DATA


@register.filter
def minus(end, start):
    """end - start (two datetimes), or None when either is missing."""
    return end - start if end is not None and start is not None else None
