from django.apps import AppConfig


class SreConfig(AppConfig):
    name = "apps.sre"
    label = "sre"
    verbose_name = "SRE practices"

    def ready(self):
        from apps.core import permissions

        from . import models

        # Decisions are an audit trail: the whole org reads them; only the gate writes them.
        permissions.register(
            models.GateDecision,
            org="service__team__organization",
            team="service__team",
            editors=permissions.EDITORS_ADMIN,
        )
        # Overrides: a team lead of the service's team sets them.
        permissions.register(
            models.GateOverride,
            org="service__team__organization",
            team="service__team",
            editors=permissions.EDITORS_LEAD,
        )
