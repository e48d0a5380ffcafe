"""The inputs gatherer: the evidence selectors (the four pillars', toil, runbooks and the release
gate), each called once for all the teams.

The query count is that of the selectors, whatever the number of teams.
For a date in the past (historical snapshots) every input is what was known at the
end of that day: the delivery and learning windows end on it, SLO budgets are
computed as of its end, and the self-assessment is the latest submitted by then.
For today (the current view) the SLO budgets are the stored statuses
(`SLOStatusRecord`, kept current by the jobs that change SLO data), not recomputed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

from . import pillars

DORA_WINDOW_DAYS = 90  # the DORA window; switch here when apps/delivery names its own


def window_end(as_of: date) -> datetime:
    """The exclusive end of the day `as_of` (UTC)."""
    return datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=UTC)


def gather(*, team_ids, as_of: date) -> dict[int, dict]:
    """{team_id: JSON-safe inputs} for every team, as of the end of `as_of`."""
    from apps.assessments.selectors import latest_submitted_scores
    from apps.delivery.selectors import team_dora
    from apps.postmortems.selectors import team_learning
    from apps.servicechecks.selectors import team_facts as team_service_checks
    from apps.slos.selectors import team_reliability
    from apps.sre.selectors import team_gate, team_runbooks, team_toil

    team_ids = list(team_ids)
    if not team_ids:
        return {}
    until = window_end(as_of)
    from apps.postmortems.selectors import learning_window

    since, _until = learning_window(as_of)
    assessments = latest_submitted_scores(team_ids=team_ids, submitted_before=until)
    current = as_of >= timezone.localdate()
    # Today: the stored statuses (as of their last refresh); a past day: computed for its end.
    reliability = team_reliability(team_ids=team_ids, now=None if current else until)
    learning = team_learning(team_ids=team_ids, since=since, until=until)
    dora = team_dora(team_ids=team_ids, window_days=DORA_WINDOW_DAYS, until=as_of)
    toil = team_toil(team_ids=team_ids, until=until)
    runbooks = team_runbooks(team_ids=team_ids, until=until)
    gate = team_gate(team_ids=team_ids, until=until)
    service_checks = team_service_checks(team_ids=team_ids, today=as_of)
    windows = {
        "dora_days": DORA_WINDOW_DAYS,
        "dora_until": as_of,
        "learning_since": since,
        "learning_until": until,
        "slo_as_of": "stored" if current else until,
        "toil_proxy_days": next(iter(toil.values()))["window_days"],
    }
    return {
        tid: pillars.jsonable(
            {
                "as_of": as_of,
                "assessment": assessments.get(tid),
                "dora": dora.get(tid) or {},
                "reliability": reliability.get(tid) or {},
                "learning": learning.get(tid) or {},
                "toil": toil.get(tid) or {},
                "runbooks": runbooks.get(tid) or {},
                "gate": gate.get(tid) or {},
                "services": service_checks.get(tid) or {},
                "windows": windows,
            }
        )
        for tid in team_ids
    }
