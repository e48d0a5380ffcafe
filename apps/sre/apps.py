from django.apps import AppConfig


class SreConfig(AppConfig):
    name = "apps.sre"
    label = "sre"
    verbose_name = "SRE practices"

    def ready(self):
        from apps.core import panels, permissions

        from . import models, views

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

        # Toil: any member of the team logs and edits it; the lead records the cycle's review.
        permissions.register(models.ToilItem, org="team__organization", team="team", editors=permissions.EDITORS_MEMBER)
        permissions.register(models.ToilReview, org="team__organization", team="team", editors=permissions.EDITORS_LEAD)

        panels.register("team", template="sre/_toil_panel.html", context=views.team_panel, order=40)
        panels.register("service", template="sre/_gate_panel.html", context=views.service_panel, order=25)
        panels.register("slo", template="sre/_gate_panel.html", context=views.slo_panel, order=25)
