from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    name = "apps.postmortems"
    label = "postmortems"
    verbose_name = "Postmortems"

    def ready(self):
        from apps.core import permissions

        from . import models

        # Incidents are shared with the whole org; any member of the owning team records them.
        permissions.register(models.Incident, org="organization", team="team", editors=permissions.EDITORS_MEMBER)
