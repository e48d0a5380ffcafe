from django.db import transaction


def snapshots_written(sender, *, team_ids, as_of, **kwargs):
    """After a scoring run commits, record the day's progress of the organizations' initiatives."""
    from apps.core.tasks import enqueue
    from apps.teams.models import Team

    from .tasks import record_progress

    org_ids = sorted(set(Team.objects.filter(pk__in=list(team_ids)).values_list("organization_id", flat=True)))
    day = as_of.isoformat()
    transaction.on_commit(lambda: enqueue(record_progress, day, org_ids))
