from django.apps import AppConfig


class SreConfig(AppConfig):
    name = "apps.sre"
    label = "sre"
    verbose_name = "SRE practices"

    def ready(self):
        from apps.core import panels, permissions

        from . import models
        from . import panels as app_panels

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

        # Runbooks: the owning team's members keep them; the whole org reads them.
        permissions.register(models.Runbook, org="team__organization", team="team", editors=permissions.EDITORS_MEMBER)
        # Which runbook an incident used: set by whoever may change the incident.
        permissions.register(
            models.IncidentRunbook,
            org="incident__organization",
            team="incident__team",
            editors=permissions.EDITORS_MEMBER,
        )

        from django.db.models.signals import post_delete, post_save

        from . import selectors

        def _forget(sender, instance, **kwargs):
            selectors.forget_override(instance.service_id)

        post_save.connect(_forget, sender=models.GateOverride, weak=False, dispatch_uid="sre-forget-override-save")
        post_delete.connect(_forget, sender=models.GateOverride, weak=False, dispatch_uid="sre-forget-override-delete")

        panels.register("team", template="sre/_toil_panel.html", context=app_panels.team_panel, order=40)
        panels.register("service", template="sre/_gate_panel.html", context=app_panels.service_panel, order=25)
        panels.register(
            "service", template="sre/_runbooks_panel.html", context=app_panels.service_runbooks_panel, order=26
        )
        panels.register(
            "incident", template="sre/_incident_runbook_panel.html", context=app_panels.incident_runbook_panel, order=35
        )
        panels.register("slo", template="sre/_gate_panel.html", context=app_panels.slo_panel, order=25)
