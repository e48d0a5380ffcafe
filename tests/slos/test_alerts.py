"""Multiwindow, multi-burn-rate alerts: thresholds, scaling, open/resolve history, notifications."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail

from apps.core import permissions
from apps.slos import services
from apps.slos.models import BurnRateAlert

from .factories import NOW, NOW_TS, fill, make_sli, make_slo

pytestmark = pytest.mark.django_db
DAY = 86400


def _last_hour(sli, good):
    """3 clean days, then the last hour at `good` of 10,000 per 5 minutes."""
    fill(sli, start_ts=NOW_TS - 3 * DAY, end_ts=NOW_TS - 3600, good=10_000, total=10_000)
    fill(sli, start_ts=NOW_TS - 3600, end_ts=NOW_TS, good=good, total=10_000)


def test_page_alert_at_the_threshold_does_not_fire_and_just_above_does(cast):
    sli = make_sli(cast.service)
    slo = make_slo(sli, target="0.999", window_days=30)
    # error ratio 1.44% / 0.1% = exactly 14.4 in both the 1h and 5m windows: not faster than 14.4.
    _last_hour(sli, 9_856)
    assert services.alerts_evaluate(actor=permissions.SYSTEM, slos=[slo], now=NOW) == []
    # 1.45% -> 14.5: the page (1h / 5m) fires, and only it (6h burns 2.4 < 6, 1d 0.6 < 3, 3d 0.2 < 1).
    _last_hour(sli, 9_855)
    events = services.alerts_evaluate(actor=permissions.SYSTEM, slos=[slo], now=NOW)
    assert [(a.severity, a.long_window, a.short_window, e) for a, e in events] == [("page", 3600, 300, "opened")]
    alert = events[0][0]
    assert alert.factor == 14.4 and alert.long_burn_rate == pytest.approx(14.5)
    # Evaluating again changes nothing: no second alert, no event.
    assert services.alerts_evaluate(actor=permissions.SYSTEM, slos=[slo], now=NOW) == []
    assert BurnRateAlert.objects.filter(slo=slo).count() == 1


def test_short_window_resolves_the_alert_and_keeps_history(cast):
    sli = make_sli(cast.service)
    slo = make_slo(sli, target="0.999", window_days=30)
    _last_hour(sli, 9_800)  # burn 20
    services.alerts_evaluate(actor=permissions.SYSTEM, slos=[slo], now=NOW)
    # The last 5 minutes are clean again: the long window still burns, the short one does not.
    fill(sli, start_ts=NOW_TS - 300, end_ts=NOW_TS, good=10_000, total=10_000)
    events = services.alerts_evaluate(actor=permissions.SYSTEM, slos=[slo], now=NOW + timedelta(minutes=1))
    assert [(a.severity, e) for a, e in events] == [("page", "resolved")]
    # Burning again opens a new alert; the old one stays in the history.
    fill(sli, start_ts=NOW_TS - 300, end_ts=NOW_TS, good=9_000, total=10_000)
    services.alerts_evaluate(actor=permissions.SYSTEM, slos=[slo], now=NOW + timedelta(minutes=2))
    history = list(BurnRateAlert.objects.filter(slo=slo).order_by("opened_at"))
    assert len(history) == 2 and history[0].resolved_at is not None and history[1].resolved_at is None


def test_factor_is_scaled_to_the_slo_period(cast):
    sli = make_sli(cast.service)
    weekly = make_slo(sli, name="weekly", target="0.999", window_days=7)  # page factor 2 x 168 / 100 = 3.36
    monthly = make_slo(sli, name="monthly", target="0.999", window_days=30)  # 14.4
    _last_hour(sli, 9_960)  # burn 4.0
    events = services.alerts_evaluate(actor=permissions.SYSTEM, slos=[weekly, monthly], now=NOW)
    fired = {(a.slo.name, a.long_window, a.factor) for a, _ in events}
    assert ("weekly", 3600, 3.36) in fired
    assert not any(name == "monthly" for name, _, _ in fired)


def test_slow_burn_opens_a_ticket(cast):
    sli = make_sli(cast.service)
    slo = make_slo(sli, target="0.99", window_days=30)
    # 3 days at 1.2% errors: burn 1.2 > 1 over 3d and 6h; 1.2 < 3 over 1d.
    fill(sli, start_ts=NOW_TS - 3 * DAY, end_ts=NOW_TS, good=988, total=1000)
    events = services.alerts_evaluate(actor=permissions.SYSTEM, slos=[slo], now=NOW)
    assert [(a.severity, a.long_window, a.short_window) for a, _ in events] == [("ticket", 3 * DAY, 6 * 3600)]


def test_no_data_and_disabled_alerting_never_fire(cast):
    empty = make_slo(make_sli(cast.service, name="no samples"), name="empty", target="0.999")
    sli = make_sli(cast.service)
    muted = make_slo(sli, name="muted", target="0.999", alerting=False)
    loud = make_slo(sli, name="loud", target="0.999")
    _last_hour(sli, 0)
    fired = {
        a.slo.name for a, _ in services.alerts_evaluate(actor=permissions.SYSTEM, slos=[empty, muted, loud], now=NOW)
    }
    assert fired == {"loud"}


@pytest.fixture
def webhook():
    received = []

    class Handler(BaseHTTPRequestHandler):
        status = 200

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(Handler.status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}/hook", "received": received, "handler": Handler}
    server.shutdown()


def test_notifications_by_email_and_webhook_once(cast, webhook, django_capture_on_commit_callbacks):
    services.alert_settings_set(
        actor=permissions.SYSTEM, team=cast.team, email="oncall@example.test", webhook_url=webhook["url"]
    )
    sli = make_sli(cast.service)
    slo = make_slo(sli, name="Checkout", target="0.999")
    _last_hour(sli, 9_000)
    with django_capture_on_commit_callbacks(execute=True):
        events = services.alerts_evaluate(actor=permissions.SYSTEM, slos=[slo], now=NOW)
    assert {e for _, e in events} == {"opened"}
    pages = [a for a, _ in events if a.severity == "page"]
    assert len(mail.outbox) == len(events) and mail.outbox[0].to == ["oncall@example.test"]
    assert "[PAGE] Checkout burn rate firing" in {m.subject for m in mail.outbox}
    hooks = webhook["received"]
    assert len(hooks) == len(events)
    first = next(h for h in hooks if h["long_window"] == "1h")
    assert first["event"] == "opened" and first["severity"] == "page" and first["slo"]["slug"] == slo.slug
    assert first["factor"] == 14.4 and first["long_burn_rate"] == pytest.approx(100.0)
    # Delivering the same event again (a retried task) sends nothing.
    assert services.alert_notify(actor=permissions.SYSTEM, alert_id=pages[0].pk, event="opened") is False
    assert len(mail.outbox) == len(events)


def test_ticket_notifications_can_be_muted_and_webhook_errors_retry(cast, webhook):
    services.alert_settings_set(
        actor=permissions.SYSTEM, team=cast.team, webhook_url=webhook["url"], notify_tickets=False
    )
    sli = make_sli(cast.service)
    slo = make_slo(sli, target="0.99")
    ticket = BurnRateAlert.objects.create(
        slo=slo,
        severity="ticket",
        long_window=3 * DAY,
        short_window=6 * 3600,
        factor=1,
        opened_at=NOW,
        long_burn_rate=2,
        short_burn_rate=2,
        peak_burn_rate=2,
    )
    assert services.alert_notify(actor=permissions.SYSTEM, alert_id=ticket.pk, event="opened") is False
    page = BurnRateAlert.objects.create(
        slo=slo,
        severity="page",
        long_window=3600,
        short_window=300,
        factor=14.4,
        opened_at=NOW,
        long_burn_rate=20,
        short_burn_rate=20,
        peak_burn_rate=20,
    )
    webhook["handler"].status = 503
    with pytest.raises(ConnectionError):
        services.alert_notify(actor=permissions.SYSTEM, alert_id=page.pk, event="opened")
    page.refresh_from_db()
    assert page.notified_open_at is None  # not marked: the retry sends it
    webhook["handler"].status = 200
    assert services.alert_notify(actor=permissions.SYSTEM, alert_id=page.pk, event="opened") is True


def test_periodic_evaluation_resolves_when_data_stops(cast):
    from apps.core import schedules

    assert schedules.declared()["slos: evaluate burn-rate alerts"]["task"] == "apps.slos.tasks.evaluate_all_alerts"
    sli = make_sli(cast.service)
    slo = make_slo(sli, target="0.999")
    muted = make_slo(sli, name="muted", target="0.999")
    _last_hour(sli, 9_000)
    assert services.alerts_evaluate_all(actor=permissions.SYSTEM, now=NOW) > 0
    assert BurnRateAlert.objects.filter(slo=slo, resolved_at__isnull=True).exists()
    muted.alerting = False
    muted.save()
    # Ten minutes later no sample has arrived: the 5-minute window has no data, the page resolves;
    # the muted SLO's alerts resolve too.
    services.alerts_evaluate_all(actor=permissions.SYSTEM, now=NOW + timedelta(minutes=10))
    assert not BurnRateAlert.objects.filter(
        slo=slo, severity="page", long_window=3600, resolved_at__isnull=True
    ).exists()
    assert not BurnRateAlert.objects.filter(slo=muted, resolved_at__isnull=True).exists()
