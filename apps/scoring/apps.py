from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "apps.scoring"
    label = "scoring"
    verbose_name = "Scoring"

    def ready(self):
        from django.db.models.signals import post_save

        from apps.core import panels, permissions, schedules
        from apps.teams.models import Organization

        from . import models, receivers
        from . import panels as scoring_panels

        # The rubric is the org's: everyone in it reads it, only org admins change it.
        permissions.register(models.Scorecard, org="organization", editors=permissions.EDITORS_ADMIN)
        permissions.register(models.Check, org="scorecard__organization", editors=permissions.EDITORS_ADMIN)
        # Scores are shared with the whole org and written only by the job.
        permissions.register(models.Snapshot, org="organization", team="team", editors=permissions.EDITORS_ADMIN)
        # A lead asks (services check that), only org admins decide; the whole org sees them on the scorecard.
        permissions.register(models.Exemption, org="team__organization", team="team", editors=permissions.EDITORS_ADMIN)
        permissions.register(
            models.ExemptionEvent,
            org="exemption__team__organization",
            team="exemption__team",
            editors=permissions.EDITORS_ADMIN,
        )
        permissions.register(models.ScoringRun, org="organization", editors=permissions.EDITORS_ADMIN)

        panels.register("team", template="scoring/_team_panel.html", context=scoring_panels.team_panel, order=5)
        post_save.connect(receivers.organization_created, sender=Organization, dispatch_uid="scoring_org_scorecard")
        schedules.declare(
            "scoring: daily scores", "apps.scoring.tasks.score_all", crontab={"minute": "30", "hour": "4"}
        )
