"""Burn-rate alert evaluation and the stored status (SLOStatusRecord) it writes."""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from apps.core import permissions

from .. import maths, selectors
from ..models import (
    SLO,
    BurnRateAlert,
    SLOStatusRecord,
)

logger = logging.getLogger(__name__)

# --- alerts ---------------------------------------------------------------------------


def _require_job(actor) -> None:
    """Recomputing many SLOs at once is the jobs' work (and an organization-wide superuser's)."""
    if not (permissions.is_system(actor) or getattr(actor, "is_superuser", False)):
        raise PermissionDenied("Only the platform's jobs recompute every SLO.")


def alerts_evaluate(*, actor, slos: list[SLO], now: datetime | None = None) -> list[tuple[BurnRateAlert, str]]:
    """`_alerts_evaluate` for a caller with the right to change each SLO (the jobs pass SYSTEM)."""
    if not permissions.is_system(actor):
        for slo in SLO.objects.filter(pk__in=[s.pk for s in slos]).select_related("sli__service__team"):
            permissions.require_change(actor, slo, "You may not evaluate this SLO's alerts.")
    return _alerts_evaluate(slos=slos, now=now)


@transaction.atomic
def _alerts_evaluate(*, slos: list[SLO], now: datetime | None = None) -> list[tuple[BurnRateAlert, str]]:
    """Open and resolve burn-rate alerts for these SLOs and store their status
    (`SLOStatusRecord`, with the alerts left open); returns [(alert, "opened"|"resolved")].

    Running it twice at the same instant changes nothing the second time.
    """
    now = now or timezone.now()
    if not slos:
        return []
    ids = [s.pk for s in slos]
    # Lock the SLOs (not their SLIs) so two evaluations of one SLO take turns.
    slos = list(SLO.objects.select_for_update(of=("self",)).select_related("sli").filter(pk__in=ids).order_by("pk"))
    policies = selectors.slo_alert_policies(ids)
    statuses = selectors.slo_statuses(slos, now=now)
    open_alerts = {
        (a.slo_id, a.long_window, a.short_window): a
        for a in BurnRateAlert.objects.filter(slo_id__in=ids, resolved_at__isnull=True)
    }
    events = []
    still_open: dict[int, list[str]] = {}
    for slo in slos:
        st = statuses[slo.pk]
        severities = still_open.setdefault(slo.pk, [])
        rules = selectors.slo_alert_rules(slo, policies.get(slo.pk, []), st.period_hours)
        for rule in rules:
            long_burn, short_burn = st.burn_rates.get(rule.long_window), st.burn_rates.get(rule.short_window)
            fires = slo.alerting and maths.alert_fires(rule, long_burn, short_burn)
            alert = open_alerts.pop((slo.pk, rule.long_window, rule.short_window), None)
            if fires and alert is None:
                alert = BurnRateAlert.objects.create(
                    slo=slo,
                    severity=rule.severity,
                    long_window=rule.long_window,
                    short_window=rule.short_window,
                    factor=rule.factor,
                    opened_at=now,
                    long_burn_rate=long_burn,
                    short_burn_rate=short_burn,
                    peak_burn_rate=long_burn,
                )
                events.append((alert, "opened"))
                severities.append(rule.severity)
            elif fires:
                severities.append(rule.severity)
                if long_burn > alert.peak_burn_rate:
                    alert.peak_burn_rate = long_burn
                    alert.save(update_fields=["peak_burn_rate", "updated_at"])
            elif alert is not None:
                alert.resolved_at = now
                alert.save(update_fields=["resolved_at", "updated_at"])
                events.append((alert, "resolved"))
    for alert in open_alerts.values():  # its rule is gone (the SLO's alert policies changed)
        alert.resolved_at = now
        alert.save(update_fields=["resolved_at", "updated_at"])
        events.append((alert, "resolved"))
    _status_store(slos, statuses, still_open, now)
    if events:
        pending = [(a.pk, e) for a, e in events]
        transaction.on_commit(lambda: _queue_notifications(pending))
    return events


STATUS_FIELDS = (
    "as_of",
    "state",
    "window_start",
    "window_end",
    "good",
    "total",
    "sli",
    "consumed",
    "remaining",
    "burn_rates",
    "period_hours",
    "burn_end",
    "open_alerts",
    "alert_severity",
)
SEVERITY_RANK = {BurnRateAlert.Severity.TICKET: 1, BurnRateAlert.Severity.PAGE: 2}
# The periodic tick's interval (apps.py): a status stored less than this ago is not due again.


def _status_store(slos, statuses, open_severities: dict[int, list[str]], now: datetime) -> None:
    """Upsert the SLOs' computed statuses with their open alerts (one statement per 1,000)."""
    records = []
    for slo in slos:
        st = statuses[slo.pk]
        severities = open_severities.get(slo.pk, [])
        st.alert_severity = max(severities, key=SEVERITY_RANK.get, default="")
        st.open_alerts, st.as_of = len(severities), now
        records.append(
            SLOStatusRecord(
                slo_id=slo.pk,
                as_of=now,
                state=st.state,
                window_start=st.window_start,
                window_end=st.window_end,
                good=st.good,
                total=st.total,
                sli=st.sli,
                consumed=st.consumed,
                remaining=st.remaining,
                burn_rates={str(w): v for w, v in st.burn_rates.items()},
                period_hours=st.period_hours,
                burn_end=st.burn_end,
                open_alerts=st.open_alerts,
                alert_severity=st.alert_severity,
            )
        )
    SLOStatusRecord.objects.bulk_create(
        records, update_conflicts=True, unique_fields=["slo"], update_fields=STATUS_FIELDS, batch_size=1000
    )


def slo_status_refresh(*, actor, slo_ids=None, sli_ids=None, now: datetime | None = None, chunk: int = 1000) -> int:
    """Recompute and store the status (and alerts) of these SLOs, or of the SLOs on these
    SLIs, in chunks (one transaction each). Returns the number of SLOs refreshed.

    A job's work (after a push, a sync, an import, a deploy): SYSTEM or a superuser."""
    _require_job(actor)
    return _status_refresh(slo_ids=slo_ids, sli_ids=sli_ids, now=now, chunk=chunk)


def _status_refresh(*, slo_ids=None, sli_ids=None, now: datetime | None = None, chunk: int = 1000) -> int:
    now = now or timezone.now()
    qs = SLO.objects.all()
    if slo_ids is not None:
        qs = qs.filter(pk__in=list(slo_ids))
    if sli_ids is not None:
        qs = qs.filter(sli_id__in=list(sli_ids))
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    for i in range(0, len(ids), chunk):
        _alerts_evaluate(slos=[SLO(pk=pk) for pk in ids[i : i + chunk]], now=now)
    return len(ids)


def alerts_evaluate_all(*, actor, now: datetime | None = None, chunk: int = 1000) -> int:
    """The periodic tick: refresh the status and alerts of the SLOs that are due; returns the events."""
    _require_job(actor)
    now = now or timezone.now()
    ids = list(selectors.slo_statuses_due(now=now).order_by("pk").values_list("pk", flat=True))
    events = 0
    for i in range(0, len(ids), chunk):
        events += len(_alerts_evaluate(slos=[SLO(pk=pk) for pk in ids[i : i + chunk]], now=now))
    return events


def slo_status_refresh_all(*, actor, now: datetime | None = None, chunk: int = 1000) -> int:
    """Full recompute of every SLO's stored status (a job, e.g. after a deploy); returns the count."""
    _require_job(actor)
    return _status_refresh(now=now, chunk=chunk)


def _queue_notifications(pending):
    from ..tasks import notify_alert

    for alert_id, event in pending:
        notify_alert.delay(alert_id, event)
