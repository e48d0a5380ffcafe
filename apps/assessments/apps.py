from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "apps.assessments"
    label = "assessments"
    verbose_name = "CALMS assessments"

    def ready(self):
        from django.db.models import Q

        from apps.core import panels, permissions

        from . import models
        from . import panels as app_panels

        # Campaigns are org records: the whole org reads them, only org admins change them.
        permissions.register(models.Campaign, org="organization", editors=permissions.EDITORS_ADMIN)
        # A team's drafts are its own (members edit, the lead submits); submitted results are shared.
        permissions.register(
            models.Assessment,
            org="team__organization",
            team="team",
            editors=permissions.EDITORS_MEMBER,
            shared=Q(status=models.Assessment.Status.SUBMITTED),
        )
        permissions.register(
            models.Answer,
            org="assessment__team__organization",
            team="assessment__team",
            editors=permissions.EDITORS_MEMBER,
            shared=Q(assessment__status=models.Assessment.Status.SUBMITTED),
        )
        panels.register("team", template="assessments/_team_panel.html", context=app_panels.team_panel, order=10)
