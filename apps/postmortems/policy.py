"""The publish-by policy: which template covers a severity and how many working days a team has to
publish. Reads and date arithmetic only; services apply them when an incident changes."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from .models import PostmortemTemplate


def add_business_days(start: dt.date, days: int) -> dt.date:
    """`days` working days (Monday-Friday) after `start`."""
    current, left = start, days
    while left > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def template_for(*, organization, severity: int) -> PostmortemTemplate | None:
    """The org's own template covering the severity, else the default one."""
    candidates = PostmortemTemplate.objects.filter(
        Q(organization=organization) | Q(organization__isnull=True),
        min_severity__lte=severity,
        max_severity__gte=severity,
    )
    # Org templates first (NULL organization sorts last), the narrowest range first.
    return (
        sorted(candidates, key=lambda t: (t.organization_id is None, t.max_severity - t.min_severity, t.pk))[0]
        if candidates
        else None
    )
