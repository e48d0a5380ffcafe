from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        from . import schedules

        schedules.declare("worker heartbeat", "apps.core.tasks.heartbeat", every=60)
        post_migrate.connect(schedules.sync_periodic_tasks, sender=self)
