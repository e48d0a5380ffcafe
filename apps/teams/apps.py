from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "apps.teams"
    label = "teams"
    verbose_name = "Organization"

    def ready(self):
        from apps.core import permissions

        from . import models

        permissions.register(models.Organization, org="self", editors=permissions.EDITORS_ADMIN)
        permissions.register(models.OrgMembership, org="organization", editors=permissions.EDITORS_ADMIN)
        permissions.register(models.Department, org="organization", editors=permissions.EDITORS_ADMIN)
        permissions.register(models.Team, org="organization", editors=permissions.EDITORS_ADMIN)
        permissions.register(
            models.TeamMembership, org="team__organization", team="team", editors=permissions.EDITORS_ADMIN
        )
        permissions.register(models.Service, org="organization", team="team", editors=permissions.EDITORS_LEAD)
