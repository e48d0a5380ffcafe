"""Keep incident links and rollups in step with incidents written anywhere
(the postmortems UI, its API, the delivery normalizers)."""

from django.db import transaction


def _refresh(incident_id: int) -> None:
    from apps.core import permissions
    from apps.postmortems.models import Incident

    from . import services

    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is not None:
        services.incident_link_refresh(actor=permissions.SYSTEM, incident=incident)


def incident_saved(sender, instance, **kwargs):
    transaction.on_commit(lambda: _refresh(instance.pk))


def incident_services_changed(sender, instance, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear"):
        from apps.postmortems.models import Incident

        if isinstance(instance, Incident):
            transaction.on_commit(lambda: _refresh(instance.pk))


def incident_deleted(sender, instance, **kwargs):
    from apps.core import permissions

    from .rollups import utc_day
    from .services import mark_dirty

    if instance.team_id and instance.started_at:
        mark_dirty(instance.team_id, utc_day(instance.started_at), actor=permissions.SYSTEM)


def service_saved(sender, instance, **kwargs):
    """A service added, or its repository URL set or changed: the unattributed evidence the
    fallback now matches to it alone is re-attributed, by a job (a long history must not hold
    up the save)."""
    if not instance.repository_url:
        return
    from apps.core.tasks import enqueue

    from .tasks import reattribute_service_evidence

    service_id = instance.pk
    transaction.on_commit(lambda: enqueue(reattribute_service_evidence, service_id))


def integration_saved(sender, instance, **kwargs):
    """A paused integration or a rotated secret takes effect at once in this process (other
    processes reload within a few seconds)."""
    from . import source_cache

    source_cache.forget(instance.token)
