"""Digests on hand-checked data, sent to a real local SMTP server (aiosmtpd) and a local webhook receiver."""

import datetime as dt
import json
import socket
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.utils import timezone

from apps.assessments import services as assessment_services
from apps.assessments.models import Assessment, Campaign, Framework
from apps.core import permissions
from apps.core.permissions import SYSTEM
from apps.notifications import kinds, messages, selectors, services, tasks
from apps.notifications.models import Delivery, Target
from apps.postmortems.models import ActionItem, Postmortem
from apps.scoring.models import Snapshot
from apps.slos.models import BurnRateAlert
from tests.postmortems.factories import make_postmortem
from tests.slos.factories import make_sli, make_slo

AS_OF = dt.date(2026, 11, 30)  # a Monday, ISO week 2026-W49


def snap(team, day, level, overall):
    return Snapshot.objects.create(organization=team.organization, team=team, date=day, level=level, overall=overall)


@pytest.fixture
def week(cast):
    """Checkout: level 2 (61) a week ago, level 3 (72.5) now; one overdue and one due action item, one
    due in 9 days (outside the week) and one done. Search: 40 → 40. No other team is measured."""
    snap(cast.team, AS_OF - dt.timedelta(days=7), 2, 61.0)
    snap(cast.team, AS_OF, 3, 72.5)
    snap(cast.other_team, AS_OF - dt.timedelta(days=8), 1, 40.0)
    snap(cast.other_team, AS_OF - dt.timedelta(days=1), 1, 40.0)
    pm = make_postmortem(cast)
    Postmortem.objects.filter(pk=pm.pk).update(publish_due_on=AS_OF - dt.timedelta(days=2))
    for title, due, status in [
        ("Add pool alarm", AS_OF - dt.timedelta(days=3), "open"),
        ("Raise pool size", AS_OF + dt.timedelta(days=5), "in_progress"),
        ("Load test", AS_OF + dt.timedelta(days=9), "open"),
        ("Roll back faster", AS_OF - dt.timedelta(days=1), "done"),
    ]:
        ActionItem.objects.create(
            organization=cast.org, postmortem=pm, team=cast.team, title=title, due_date=due, status=status
        )
    # A campaign open on AS_OF: Checkout's assessment waits, Search's is submitted.
    assessment_services.framework_load_builtin(actor=permissions.SYSTEM)
    calms = Framework.objects.get(organization=None, key="calms", version=1)
    campaign = Campaign.objects.create(
        organization=cast.org, name="Q4 CALMS",
        opens_on=AS_OF - dt.timedelta(days=10), closes_on=AS_OF + dt.timedelta(days=4),
    )  # fmt: skip
    campaign.frameworks.set([calms])
    Assessment.objects.create(campaign=campaign, team=cast.team, framework=calms, status="in_progress")
    Assessment.objects.create(campaign=campaign, team=cast.other_team, framework=calms, status="submitted")
    # One open and one resolved burn-rate alert on Checkout's SLO.
    slo = make_slo(make_sli(cast.service, name="Checkout availability"), name="Checkout 99.9")
    opened = timezone.make_aware(dt.datetime(2026, 11, 29, 14, 5))
    for resolved, window in ((None, 3600), (opened, 21600)):
        BurnRateAlert.objects.create(
            slo=slo, severity="page", long_window=window, short_window=300, factor=14.4, opened_at=opened,
            resolved_at=resolved, long_burn_rate=20, short_burn_rate=22, peak_burn_rate=25,
        )  # fmt: skip
    return pm


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback; Django's SMTP backend pointed at it."""
    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield received
    controller.stop()


class Receiver:
    """Local webhook receiver on loopback: /ok answers 200, /broken answers 500."""

    def __init__(self):
        self.posts: list[tuple[str, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((self.path, json.loads(body)))
                self.send_response(500 if self.path.startswith("/broken") else 200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path):
        return f"https://127.0.0.1:{self.port}{path}"


@pytest.fixture
def receiver(monkeypatch):
    r = Receiver()
    # Targets must be https (checked when saved); the local receiver speaks plain http on loopback.
    real = services.urllib.request.Request

    def to_http(url, *args, **kwargs):
        return real(url.replace("https://127.0.0.1", "http://127.0.0.1"), *args, **kwargs)

    monkeypatch.setattr(services.urllib.request, "Request", to_http)
    yield r
    r.server.shutdown()


def test_team_digest_contents(cast, week):
    d = selectors.team_digests(teams=cast.org.teams.all(), as_of=AS_OF)
    checkout = d[cast.team.pk]
    assert (checkout.level, checkout.previous_level, checkout.level_change) == (3, 2, 1)
    assert checkout.overall_change == 11.5  # 72.5 - 61.0
    assert [i.title for i in checkout.action_items] == ["Add pool alarm", "Raise pool size"]
    msg = messages.team_digest_message(checkout)
    assert msg.title == "Checkout: weekly digest, 2026-W49"
    text = msg.text()
    assert "Level up from 2 to 3; overall 61 → 72 (+11.5)." in text  # 72.5 shows as 72 (round half to even)
    assert "Action item “Add pool alarm”: overdue since 27 Nov" in text
    assert "Action item “Raise pool size”: due 05 Dec" in text
    assert "Load test" not in text and "Roll back faster" not in text
    assert "Assessment “Q4 CALMS” (CALMS) waiting (in progress), closes 04 Dec" in text
    assert "Page burn-rate alert on Checkout 99.9 (checkout-api), open since 29 Nov 14:05" in text
    assert text.count("Page burn-rate alert") == 1  # the resolved one is not listed
    search = d[cast.other_team.pk]
    assert search.change_text == "Level unchanged at 1; overall 40 → 40 (+0.0)."
    search_text = messages.team_digest_message(search).text()
    assert "Nothing due in the next 7 days." in search_text and "No open alerts." in search_text


def test_unmeasured_team_is_not_shown_as_zero(cast):
    d = selectors.team_digests(teams=cast.org.teams.all(), as_of=AS_OF)[cast.team.pk]
    text = messages.team_digest_message(d).text()
    assert "Checkout is not measured yet." in text
    assert "Not measured yet: no scoring run has covered this team." in text
    assert "level 0" not in text.lower() and " 0 " not in text


def test_leader_digest_contents(cast, week):
    board = selectors.leader_digest(organization=cast.org, as_of=AS_OF)
    assert [m.team.name for m in board.movers] == ["Checkout"]  # Search did not move
    assert board.unmeasured == []
    assert [p.pk for p in board.overdue_postmortems] == [week.pk]
    text = messages.leader_digest_message(board).text()
    assert "2 of 2 teams measured; 1 postmortems overdue." in text
    assert "Checkout: overall 61 → 72 (+11.5), level 2 → 3" in text
    assert f"Checkout: “{week.title}” was due 28 Nov" in text


def test_weekly_job_sends_to_smtp_and_webhooks_once(cast, week, smtp_server, receiver):
    slack = Target.objects.create(
        organization=cast.org, team=cast.team, name="#checkout", channel="slack",
        address=receiver.url("/ok/slack"), kinds=[kinds.TEAM_DIGEST],
    )  # fmt: skip
    teams_hook = Target.objects.create(
        organization=cast.org, team=None, name="Leaders channel", channel="teams",
        address=receiver.url("/ok/teams"), kinds=[kinds.LEADER_DIGEST],
    )  # fmt: skip
    tasks.send_weekly_digests(AS_OF.isoformat())
    # Team digests: lead + member of Checkout, other_member of Search; leader digest: org admin + leader.
    got = sorted((e.rcpt_tos[0], message_from_bytes(e.content)["Subject"]) for e in smtp_server)
    assert got == [
        ("lead@example.test", "Checkout: weekly digest, 2026-W49"),
        ("leader@example.test", "Acme: leader digest, 2026-W49"),
        ("member@example.test", "Checkout: weekly digest, 2026-W49"),
        ("org_admin@example.test", "Acme: leader digest, 2026-W49"),
        ("other_member@example.test", "Search: weekly digest, 2026-W49"),
        # The other organization's lead and admin (one person) gets its own two, and nothing of Acme's.
        ("outsider@example.test", "Billing: weekly digest, 2026-W49"),
        ("outsider@example.test", "Initech: leader digest, 2026-W49"),
    ]
    body = message_from_bytes(smtp_server[0].content)
    assert body.is_multipart()  # text and HTML
    paths = sorted(p for p, _ in receiver.posts)
    assert paths == ["/ok/slack", "/ok/teams"]
    slack_body = dict(receiver.posts)["/ok/slack"]
    assert slack_body["text"].startswith("Checkout: weekly digest, 2026-W49")
    assert slack_body["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Checkout: weekly digest, 2026-W49"},
    }
    card = dict(receiver.posts)["/ok/teams"]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["body"][0]["text"] == "Acme: leader digest, 2026-W49"
    slack.refresh_from_db()
    teams_hook.refresh_from_db()
    assert slack.health == teams_hook.health == Target.Health.OK

    # The job retried (acks late, a worker lost): nothing is sent twice.
    tasks.send_weekly_digests(AS_OF.isoformat())
    assert len(smtp_server) == 7 and len(receiver.posts) == 2
    assert Delivery.objects.filter(status="sent").count() == 9


def test_failing_target_is_retried_with_backoff_and_others_get_theirs(cast, week, receiver):
    broken = Target.objects.create(
        organization=cast.org, team=cast.team, name="broken", channel="slack",
        address=receiver.url("/broken"), kinds=[kinds.TEAM_DIGEST],
    )  # fmt: skip
    fine = Target.objects.create(
        organization=cast.org, team=cast.team, name="fine", channel="teams",
        address=receiver.url("/ok"), kinds=[kinds.TEAM_DIGEST],
    )  # fmt: skip
    tasks.send_weekly_digests(AS_OF.isoformat())
    assert len(mail.outbox) == 7
    failed = Delivery.objects.get(target=broken)
    assert failed.status == Delivery.Status.RETRYING and failed.attempts == 1
    assert failed.last_error == "The webhook answered HTTP 500."
    assert Delivery.objects.get(target=fine).status == Delivery.Status.SENT
    broken.refresh_from_db()
    assert broken.health == Target.Health.FAILING and broken.consecutive_failures == 1

    # Not due yet: the retry job leaves it alone; after the backoff (60 s, then 120 s) it tries again.
    assert tasks.retry_due_deliveries() == 0
    Delivery.objects.filter(pk=failed.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    assert tasks.retry_due_deliveries() == 1
    failed.refresh_from_db()
    assert failed.attempts == 2
    assert 119 <= (failed.next_attempt_at - failed.updated_at).total_seconds() <= 121
    assert [p for p, _ in receiver.posts].count("/broken") == 2 and [p for p, _ in receiver.posts].count("/ok") == 1
    # Gives up after MAX_ATTEMPTS.
    for _ in range(services.MAX_ATTEMPTS - 2):
        Delivery.objects.filter(pk=failed.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
        tasks.retry_due_deliveries()
    failed.refresh_from_db()
    assert failed.status == Delivery.Status.FAILED and failed.attempts == services.MAX_ATTEMPTS
    assert tasks.retry_due_deliveries() == 0


def test_preference_off_means_nothing_sent(cast, week):
    services.preference_set(actor=cast.member, user=cast.member, kind=kinds.TEAM_DIGEST, enabled=False)
    services.preference_set(actor=cast.leader, user=cast.leader, kind=kinds.LEADER_DIGEST, enabled=False)
    tasks.send_weekly_digests(AS_OF.isoformat())
    to = sorted(m.to[0] for m in mail.outbox)
    assert to == [
        "lead@example.test",
        "org_admin@example.test",
        "other_member@example.test",
        "outsider@example.test",
        "outsider@example.test",
    ]
    assert not Delivery.objects.filter(user__in=[cast.member, cast.leader]).exists()


def test_unknown_kind_is_refused(cast):
    with pytest.raises(services.ValidationError):
        services.preference_set(actor=cast.member, user=cast.member, kind="nope", enabled=False)


def test_level_change_message_after_scoring(cast):
    today = timezone.localdate()
    snap(cast.team, today - dt.timedelta(days=1), 2, 60.0)
    snap(cast.other_team, today - dt.timedelta(days=1), 1, 30.0)
    snap(cast.team, today, 3, 75.0)
    snap(cast.other_team, today, 1, 31.0)
    services.preference_set(actor=cast.member, user=cast.member, kind=kinds.LEVEL_CHANGE, enabled=False)
    assert tasks.notify_level_changes([cast.team.pk, cast.other_team.pk], today.isoformat()) == 1
    assert [(m.to[0], m.subject) for m in mail.outbox] == [
        ("lead@example.test", "Checkout moved up to level 3 (Defined)")
    ]
    assert "went from level 2" in mail.outbox[0].body
    tasks.notify_level_changes([cast.team.pk, cast.other_team.pk], today.isoformat())
    assert len(mail.outbox) == 1  # retried: not sent twice


def test_old_snapshots_tell_no_one(cast):
    old = timezone.localdate() - dt.timedelta(days=30)
    snap(cast.team, old - dt.timedelta(days=1), 2, 60.0)
    snap(cast.team, old, 3, 75.0)
    assert tasks.notify_level_changes([cast.team.pk], old.isoformat()) == 0
    assert mail.outbox == []


def test_scoring_run_queues_level_changes(cast, django_capture_on_commit_callbacks, monkeypatch):
    from apps.scoring import services as scoring_services

    seen = []
    monkeypatch.setattr(tasks.notify_level_changes, "delay", lambda ids, day: seen.append((sorted(ids), day)))
    with django_capture_on_commit_callbacks(execute=True):
        scoring_services.scoring_run(actor=permissions.SYSTEM, organization=cast.org)
    assert seen == [(sorted([cast.team.pk, cast.other_team.pk]), timezone.localdate().isoformat())]


def test_a_worker_lost_mid_send_never_sends_twice(cast, week):
    """A job killed after claiming (rows "sending") and retried: the retry sends none of them again;
    after 30 minutes they are marked failed, with the reason, and still not resent."""
    services.digests_plan(actor=SYSTEM, organization=cast.org, as_of=AS_OF)
    claimed = services._claim(selectors.pending_ids(organization=cast.org), timezone.now())
    assert len(claimed) == 5
    tasks.send_weekly_digests(AS_OF.isoformat())
    assert [m.to[0] for m in mail.outbox] == ["outsider@example.test"] * 2  # only the other org's, never claimed
    Delivery.objects.filter(pk__in=claimed).update(updated_at=timezone.now() - dt.timedelta(minutes=31))
    tasks.retry_due_deliveries()
    assert set(Delivery.objects.filter(pk__in=claimed).values_list("status", flat=True)) == {"failed"}
    assert Delivery.objects.get(pk=claimed[0]).last_error.startswith("The worker stopped while sending")
    tasks.retry_due_deliveries()
    assert len(mail.outbox) == 2


def test_a_target_paused_after_planning_is_not_sent_to(cast, week, receiver):
    hook = Target.objects.create(
        organization=cast.org, team=cast.team, name="#checkout", channel="slack",
        address=receiver.url("/ok"), kinds=[kinds.TEAM_DIGEST],
    )  # fmt: skip
    services.digests_plan(actor=SYSTEM, organization=cast.org, as_of=AS_OF)
    Target.objects.filter(pk=hook.pk).update(active=False)
    tasks.send_weekly_digests(AS_OF.isoformat())
    assert receiver.posts == []
    delivery = Delivery.objects.get(target=hook)
    assert (delivery.status, delivery.last_error) == ("failed", "The target was paused; not sent.")
