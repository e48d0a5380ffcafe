"""Alert notification: the team's webhook and e-mail, once per alert event."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.utils import timezone

from apps.core import permissions

from .. import selectors
from ..models import (
    AlertSettings,
    BurnRateAlert,
)

logger = logging.getLogger(__name__)


def alert_notify(*, actor, alert_id: int, event: str) -> bool:
    """Tell the team (webhook, then email) once per alert event; True when something was sent.

    The notification job's work: only SYSTEM sends."""
    if not permissions.is_system(actor):
        raise PermissionDenied("Alert notifications are sent by the platform's jobs.")
    alert = BurnRateAlert.objects.select_related("slo__sli__service__team").get(pk=alert_id)
    field = "notified_open_at" if event == "opened" else "notified_resolved_at"
    if getattr(alert, field) is not None:
        return False
    team = alert.slo.sli.service.team
    conf = AlertSettings.objects.filter(team=team).first()
    if conf is None or (alert.severity == BurnRateAlert.Severity.TICKET and not conf.notify_tickets):
        return False
    channels, targets = selectors.alert_routing(alert, event)
    email = conf.email if "email" in channels else ""
    webhook_url = conf.webhook_url if "webhook" in channels else ""
    if not email and not webhook_url:
        return False
    payload = selectors.alert_payload(alert, event)
    if targets:
        payload["notification_targets"] = targets
    if webhook_url:
        body = json.dumps(payload).encode()
        request = urllib.request.Request(  # noqa: S310 (URLField allows http/https only)
            webhook_url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise ConnectionError(f"Webhook answered {exc.code}")
            logger.warning("Alert webhook for %s refused with %s", team, exc.code)
        except (urllib.error.URLError, OSError) as exc:
            raise ConnectionError(f"Webhook unreachable: {exc}")
    if email:
        verb = "firing" if event == "opened" else "resolved"
        send_mail(
            subject=f"[{alert.severity.upper()}] {alert.slo.name} burn rate {verb}",
            message=(
                f"SLO {alert.slo.name} ({payload['service']}): the error budget burns at "
                f"{payload['long_burn_rate']}x over {payload['long_window']} and {payload['short_burn_rate']}x over "
                f"{payload['short_window']} (threshold {alert.factor}x).\n{payload['url']}"
                + (
                    f"\nRunbook: {payload['runbook']['title']} {payload['runbook']['url']}"
                    if payload["runbook"]
                    else "\nNo runbook covers this SLO or its service."
                )
            ),
            from_email=None,
            recipient_list=[email],
        )
    BurnRateAlert.objects.filter(pk=alert.pk).update(**{field: timezone.now()})
    return True
