"""Periodic jobs, declared in code by each app and kept in django-celery-beat.

An app calls `declare(...)` in its AppConfig.ready(). After `migrate`, missing
schedules are created; existing ones are left alone, so an operator who edits
a schedule in the admin does not see it reset on the next deploy.
"""

_declared: dict[str, dict] = {}


def declare(name: str, task: str, *, every: int | None = None, crontab: dict | None = None) -> None:
    """`every` in seconds, or `crontab` as keyword arguments of CrontabSchedule."""
    if (every is None) == (crontab is None):
        raise ValueError("declare() takes exactly one of every= or crontab=")
    _declared[name] = {"task": task, "every": every, "crontab": crontab}


def declared() -> dict[str, dict]:
    return dict(_declared)


def sync_periodic_tasks(sender=None, **kwargs):
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    for name, spec in _declared.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        if spec["every"] is not None:
            interval, _ = IntervalSchedule.objects.get_or_create(every=spec["every"], period=IntervalSchedule.SECONDS)
            PeriodicTask.objects.create(name=name, task=spec["task"], interval=interval)
        else:
            cron, _ = CrontabSchedule.objects.get_or_create(**spec["crontab"])
            PeriodicTask.objects.create(name=name, task=spec["task"], crontab=cron)
