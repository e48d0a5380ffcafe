from django.db import transaction


def snapshots_written(sender, *, team_ids, as_of, **kwargs):
    """After a scoring run commits, tell the teams whose level changed."""
    from .tasks import notify_level_changes

    ids, day = list(team_ids), as_of.isoformat()
    transaction.on_commit(lambda: notify_level_changes.delay(ids, day))
