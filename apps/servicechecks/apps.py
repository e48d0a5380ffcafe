from django.apps import AppConfig


class ServicechecksConfig(AppConfig):
    name = "apps.servicechecks"
    label = "servicechecks"
    verbose_name = "Service checks"

    def ready(self):
        from apps.core import panels as core_panels

        from . import panels

        core_panels.register("service", template="servicechecks/_service_panel.html", context=panels.service, order=15)
        core_panels.register("team", template="servicechecks/_team_panel.html", context=panels.team, order=35)
