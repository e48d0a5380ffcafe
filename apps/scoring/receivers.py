"""What the scoring app does when other apps write: a new organization gets its scorecard (the
default rubric) at once, so no page or API read ever has to create one."""

from __future__ import annotations

from apps.core import permissions


def organization_created(sender, instance, created, raw=False, **kwargs):
    if not created or raw:
        return
    from .services import scorecard_ensure

    # In the creating transaction: the org and its rubric exist together or not at all.
    scorecard_ensure(actor=permissions.SYSTEM, organization=instance)
