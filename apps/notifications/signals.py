from django.db import transaction


def snapshots_written(sender, *, team_ids, as_of, **kwargs):
    """After a scoring run commits, tell the teams whose level changed."""
    from apps.core.tasks import enqueue

    from .tasks import notify_level_changes

    ids, day = list(team_ids), as_of.isoformat()
    # A broker outage must not fail the scoring run; the change is then not told (logged).
    transaction.on_commit(lambda: enqueue(notify_level_changes, ids, day))
