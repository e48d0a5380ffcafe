from django.apps import AppConfig


class InitiativesConfig(AppConfig):
    name = "apps.initiatives"
    label = "initiatives"
    verbose_name = "Initiatives"

    def ready(self):
        from apps.core import panels, permissions, schedules
        from apps.scoring.signals import snapshots_written

        from . import models, selectors, signals

        # An initiative is the organization's: everyone in it reads it; org admins and leaders change it
        # (issue 18: "an org admin or leader picks checks"), teams never do (they are what it measures).
        def leader(obj, user) -> bool:
            return permissions.org_role(user, permissions.organization_of(obj)) == permissions.ORG_LEADER

        permissions.register(
            models.Initiative, org="organization", editors=permissions.EDITORS_ADMIN, extra_editor=leader
        )
        permissions.register(
            models.InitiativeCheck,
            org="initiative__organization",
            editors=permissions.EDITORS_ADMIN,
            extra_editor=leader,
        )
        permissions.register(
            models.InitiativeProgress, org="initiative__organization", editors=permissions.EDITORS_ADMIN
        )

        panels.register("team", template="initiatives/_team_panel.html", context=selectors.team_panel, order=7)
        panels.register("home", template="initiatives/_home_panel.html", context=selectors.home_panel, order=10)
        snapshots_written.connect(signals.snapshots_written, dispatch_uid="initiatives-progress")
        schedules.declare(
            "initiatives: daily progress",
            "apps.initiatives.tasks.record_progress",
            crontab={"minute": "15", "hour": "5"},
        )
        # The "initiative deadline a week away" message is planned and sent by the notifications app.
        schedules.declare(
            "initiatives: deadline reminders",
            "apps.notifications.tasks.send_initiative_deadlines",
            crontab={"minute": "30", "hour": "7"},
        )
