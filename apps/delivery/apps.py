from django.apps import AppConfig


def _feeds_led_team(user):
    """A team lead reads (not changes) the org-wide integrations that feed their team:
    one maps a key to a service of the team, or has delivered a deployment of the team."""
    from django.db.models import Exists, OuterRef, Q

    from apps.core import permissions

    from .models import Deployment

    led = permissions.team_ids(user, roles=(permissions.TEAM_LEAD,))
    if not led:
        return Q(pk__in=[])
    deployed = Deployment.objects.filter(integration=OuterRef("pk"), team_id__in=led)
    return Q(team__isnull=True) & (Q(mappings__service__team_id__in=led) | Q(Exists(deployed)))


class DeliveryConfig(AppConfig):
    name = "apps.delivery"
    label = "delivery"
    verbose_name = "Delivery metrics"

    def ready(self):
        from django.db.models import Q
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from apps.core import panels, permissions, schedules
        from apps.postmortems.models import Incident
        from apps.teams.models import Service

        from . import models, signals
        from . import panels as own_panels

        # Integrations hold configuration: the owning team, admins and leaders see them;
        # a team lead changes their team's, only org admins the org-wide ones.
        nobody = Q(pk__in=[])
        permissions.register(
            models.Integration, org="organization", team="team", shared=nobody, extra_viewers=_feeds_led_team
        )
        permissions.register(
            models.ServiceMapping, org="integration__organization", team="integration__team", shared=nobody
        )
        permissions.register(
            models.RawEvent,
            org="organization",
            team="integration__team",
            editors=permissions.EDITORS_ADMIN,
            shared=nobody,
        )
        # Keys that matched no service: seen like the integration that sent them.
        permissions.register(
            models.UnattributedKey,
            org="organization",
            team="integration__team",
            shared=nobody,
            extra_viewers=lambda user: Q(integration__in=models.Integration.objects.filter(_feeds_led_team(user))),
        )
        # Delivery evidence is shared with the whole org and written by the sources, not by hand.
        permissions.register(models.Change, org="organization", team="team", editors=permissions.EDITORS_ADMIN)
        permissions.register(models.Deployment, org="organization", team="team", editors=permissions.EDITORS_ADMIN)
        permissions.register(models.DailyRollup, org="organization", team="team", editors=permissions.EDITORS_ADMIN)
        # The incident's team lead (or an org admin) says which deployment caused it.
        permissions.register(models.IncidentDeploymentLink, org="incident__organization", team="incident__team")

        panels.register("team", template="delivery/_team_panel.html", context=own_panels.team_panel, order=30)
        panels.register("service", template="delivery/_service_panel.html", context=own_panels.service_panel, order=30)
        panels.register(
            "incident", template="delivery/_incident_panel.html", context=own_panels.incident_panel, order=30
        )

        schedules.declare("delivery: sweep raw events", "apps.delivery.tasks.sweep_raw_events", every=120)
        schedules.declare("delivery: refresh rollups", "apps.delivery.tasks.refresh_rollups", every=300)
        schedules.declare(
            "delivery: rebuild rollups", "apps.delivery.tasks.rebuild_rollups", crontab={"minute": "17", "hour": "3"}
        )

        post_save.connect(
            signals.integration_saved, sender=models.Integration, dispatch_uid="delivery-integration-saved"
        )
        post_delete.connect(
            signals.integration_saved, sender=models.Integration, dispatch_uid="delivery-integration-deleted"
        )
        post_save.connect(signals.service_saved, sender=Service, dispatch_uid="delivery-service-saved")
        post_save.connect(signals.incident_saved, sender=Incident, dispatch_uid="delivery-incident-saved")
        post_delete.connect(signals.incident_deleted, sender=Incident, dispatch_uid="delivery-incident-deleted")
        m2m_changed.connect(
            signals.incident_services_changed, sender=Incident.services.through, dispatch_uid="delivery-incident-svc"
        )
