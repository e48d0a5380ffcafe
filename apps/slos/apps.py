from django.apps import AppConfig


class SlosConfig(AppConfig):
    name = "apps.slos"
    label = "slos"
    verbose_name = "SLOs"

    def ready(self):
        from django.db.models import Q
        from django.db.models.signals import pre_delete

        from apps.core import panels, permissions, schedules

        from . import models, signals
        from . import panels as slo_panels

        lead = permissions.EDITORS_LEAD
        permissions.register(models.SLI, org="organization", team="service__team", editors=lead)
        permissions.register(models.SLO, org="organization", team="sli__service__team", editors=lead)
        permissions.register(models.SLISample, org="sli__organization", team="sli__service__team", editors=lead)
        permissions.register(models.SLIRollup, org="sli__organization", team="sli__service__team", editors=lead)
        permissions.register(models.ErrorBudgetPolicy, org="team__organization", team="team", editors=lead)
        permissions.register(
            models.BurnRateAlert, org="slo__organization", team="slo__sli__service__team", editors=lead
        )
        # Where a team is paged is the team's (and admins' and leaders') business, not the whole org's.
        permissions.register(
            models.AlertSettings, org="team__organization", team="team", editors=lead, shared=Q(pk__isnull=True)
        )
        # OpenSLO alert policies and notification targets are org-wide; the import writes them.
        admin = permissions.EDITORS_ADMIN
        permissions.register(models.AlertPolicy, org="organization", editors=admin)
        permissions.register(models.NotificationTarget, org="organization", editors=admin)
        pre_delete.connect(signals.sli_deleting, sender=models.SLI, dispatch_uid="slos-sli-deleting")
        panels.register("team", template="slos/_team_panel.html", context=slo_panels.team_panel, order=20)
        panels.register("service", template="slos/_service_panel.html", context=slo_panels.service_panel, order=20)
        schedules.declare("slos: sync Prometheus SLIs", "apps.slos.tasks.sync_all_prometheus", every=300)
        schedules.declare("slos: evaluate burn-rate alerts", "apps.slos.tasks.evaluate_all_alerts", every=300)
