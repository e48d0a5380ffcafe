"""Signals other apps listen to (scoring never imports them)."""

from django.dispatch import Signal

# Sent after score_teams upserts the snapshots of `team_ids` for the day `as_of`
# (inside the caller's transaction: receivers queue work with transaction.on_commit).
snapshots_written = Signal()
