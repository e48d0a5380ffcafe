from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from django.db.models import Q

        from apps.core import permissions, schedules
        from apps.scoring.signals import snapshots_written

        from . import models, signals

        # Where a team's messages go is the team's (and admins' and leaders') business; org-wide
        # targets (no team) only org admins change.
        permissions.register(
            models.Target, org="organization", team="team", editors=permissions.EDITORS_LEAD, shared=Q(pk__isnull=True)
        )
        permissions.register(
            models.Delivery,
            org="organization",
            team="team",
            editors=permissions.EDITORS_ADMIN,
            shared=Q(pk__isnull=True),
        )
        snapshots_written.connect(signals.snapshots_written, dispatch_uid="notifications-level-changes")
        schedules.declare(
            "notifications: weekly digests",
            "apps.notifications.tasks.send_weekly_digests",
            crontab={"minute": "0", "hour": "7", "day_of_week": "1"},
        )
        schedules.declare(
            "notifications: retry failed deliveries", "apps.notifications.tasks.retry_due_deliveries", every=60
        )
