"""Intake: verification on the raw body before anything is stored, and idempotent storage."""

import pytest

from apps.core import permissions
from apps.delivery import intake
from apps.delivery.models import Change, RawEvent
from tests.delivery import payloads as p
from tests.delivery.conftest import SECRET

pytestmark = pytest.mark.django_db

PUSH = p.github_push(commits=[("a" * 40, "Fix checkout", "2026-03-01T10:00:00Z")])


def test_github_published_test_vector():
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
    secret, body = "It's a Secret to Everybody", b"Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert intake.github_signature(secret, body) == expected
    assert intake.verify("github", secret, {"X-Hub-Signature-256": expected}, body)
    assert not intake.verify("github", secret, {"X-Hub-Signature-256": expected}, b"Hello, World?")
    assert not intake.verify("github", "It's a secret to everybody", {"X-Hub-Signature-256": expected}, body)


def test_github_signed_push_is_stored_and_answered_202(make_integration, hook):
    integration = make_integration("github")
    body = p.dumps(PUSH)
    response = hook(integration, body, p.github_headers(SECRET, body, "push", delivery="d-1"))
    assert response.status_code == 202
    event = RawEvent.objects.get()
    assert (event.delivery_id, event.event_type, event.status) == ("d-1", "push", "processed")
    # The signature is never kept with the event.
    assert not any("Signature" in name for name in event.headers)
    assert Change.objects.filter(sha="a" * 40).exists()


@pytest.mark.parametrize(
    "tamper",
    ["body", "secret", "missing", "sha1-only"],
)
def test_github_bad_signature_is_401_and_nothing_is_stored(make_integration, hook, tamper):
    integration = make_integration("github")
    body = p.dumps(PUSH)
    headers = p.github_headers(SECRET, body, "push")
    if tamper == "body":
        body = body.replace(b"Fix checkout", b"Fix checkouT")
    elif tamper == "secret":
        headers = p.github_headers("another-secret-0123456789", body, "push")
    elif tamper == "missing":
        del headers["HTTP_X_HUB_SIGNATURE_256"]
    else:
        headers["HTTP_X_HUB_SIGNATURE"] = headers.pop("HTTP_X_HUB_SIGNATURE_256").replace("sha256", "sha1")
    response = hook(integration, body, headers)
    assert response.status_code == 401
    assert RawEvent.objects.count() == 0
    assert Change.objects.count() == 0


def test_redelivery_is_200_and_stored_once(make_integration, hook):
    integration = make_integration("github")
    body = p.dumps(PUSH)
    headers = p.github_headers(SECRET, body, "push", delivery="same-delivery")
    assert hook(integration, body, headers).status_code == 202
    second = hook(integration, body, headers)
    assert second.status_code == 200
    assert second.json()["status"] == "duplicate"
    assert RawEvent.objects.count() == 1
    assert Change.objects.count() == 1


def test_body_over_one_mib_is_413(make_integration, hook):
    integration = make_integration("github")
    body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = hook(integration, body, p.github_headers(SECRET, body, "push"))
    assert response.status_code == 413
    assert RawEvent.objects.count() == 0


def test_body_of_exactly_one_mib_is_accepted(make_integration, hook):
    integration = make_integration("generic")
    record = (
        b'{"kind": "change", "repository": "acme/checkout-api", "sha": "abc", '
        b'"committed_at": "2026-03-01T10:00:00Z", "pad": "'
    )
    body = record + b"x" * (1024 * 1024 - len(record) - 2) + b'"}'
    assert len(body) == intake.MAX_BODY_BYTES
    response = hook(integration, body, p.bearer_headers(SECRET))
    assert response.status_code == 202


def test_malformed_json_is_400_after_verification(make_integration, hook):
    integration = make_integration("github")
    body = b'{"ref": "refs/heads/main",'
    assert hook(integration, body, p.github_headers(SECRET, body, "push")).status_code == 400
    # An unsigned malformed body is refused as unsigned: nothing is parsed before verification.
    assert hook(integration, body, {"HTTP_X_GITHUB_EVENT": "push"}).status_code == 401
    assert RawEvent.objects.count() == 0


def test_unknown_token_is_404_and_paused_integration_refuses(make_integration, hook, client):
    integration = make_integration("github")
    body = p.dumps(PUSH)
    assert client.post("/delivery/hooks/nope/", body, content_type="application/json").status_code == 404
    integration.is_active = False
    integration.save()
    assert hook(integration, body, p.github_headers(SECRET, body, "push")).status_code == 404


def test_intake_only_accepts_post(make_integration, client):
    integration = make_integration("github")
    assert client.get(f"/delivery/hooks/{integration.token}/").status_code == 405


def test_gitlab_token(make_integration, hook):
    integration = make_integration("gitlab")
    body = p.dumps(p.gitlab_push(commits=[("b" * 40, "Add file", "2026-03-01T10:00:00+02:00")]))
    assert hook(integration, body, p.gitlab_headers("wrong-token-0123456789", "Push Hook")).status_code == 401
    assert RawEvent.objects.count() == 0
    headers = p.gitlab_headers(SECRET, "Push Hook", uuid_="uuid-1")
    assert hook(integration, body, headers).status_code == 202
    assert hook(integration, body, headers).status_code == 200
    assert RawEvent.objects.get().delivery_id == "uuid-1"
    # The same body under a new event UUID is the same event (the UUID is not signed).
    assert hook(integration, body, p.gitlab_headers(SECRET, "Push Hook", uuid_="uuid-9")).status_code == 200
    # GitLab retries carry the same Idempotency-Key, which wins over the event UUID.
    other = p.dumps(p.gitlab_push(commits=[("c" * 40, "Add another", "2026-03-01T11:00:00+02:00")]))
    retry = p.gitlab_headers(SECRET, "Push Hook", uuid_="uuid-2", idempotency="idem-1")
    assert hook(integration, other, retry).status_code == 202
    assert hook(integration, other, {**retry, "HTTP_X_GITLAB_EVENT_UUID": "uuid-3"}).status_code == 200
    assert set(RawEvent.objects.values_list("delivery_id", flat=True)) == {"uuid-1", "idem-1"}


def test_pagerduty_signature_with_several_signatures(make_integration, hook):
    integration = make_integration("pagerduty")
    body = p.dumps(
        p.pagerduty_event(occurred_at="2026-03-01T10:00:00Z", created_at="2026-03-01T10:00:00Z", event_id="01EVT")
    )
    # During a secret rotation PagerDuty signs with the old and the new secret.
    headers = p.pagerduty_headers(["old-secret-0123456789", SECRET], body)
    assert hook(integration, body, headers).status_code == 202
    assert RawEvent.objects.get().delivery_id == "01EVT"
    tampered = body.replace(b"Checkout API", b"Checkout APl")
    assert hook(integration, tampered, headers).status_code == 401
    assert hook(integration, body, p.pagerduty_headers(["old-secret-0123456789"], body)).status_code == 401
    assert hook(integration, body, {"HTTP_X_PAGERDUTY_SIGNATURE": ""}).status_code == 401
    assert RawEvent.objects.count() == 1


@pytest.mark.parametrize("kind", ["opsgenie", "alertmanager", "generic"])
def test_bearer_token_sources(make_integration, hook, kind):
    integration = make_integration(kind)
    body = p.dumps(
        {
            "opsgenie": p.opsgenie_alert(),
            "alertmanager": p.alertmanager_notification(),
            "generic": {
                "kind": "change",
                "repository": "acme/checkout-api",
                "sha": "c" * 40,
                "committed_at": "2026-03-01T10:00:00Z",
            },
        }[kind]
    )
    for bad in ({}, p.bearer_headers("wrong-secret-0123456789"), {"HTTP_AUTHORIZATION": SECRET}):
        assert hook(integration, body, bad).status_code == 401
    assert RawEvent.objects.count() == 0
    assert hook(integration, body, p.bearer_headers(SECRET)).status_code == 202
    assert hook(integration, body, p.bearer_headers(SECRET)).status_code == 200
    assert RawEvent.objects.count() == 1


def test_delivery_ids_per_source(make_integration, hook):
    ops = make_integration("opsgenie")
    body = p.dumps(p.opsgenie_alert(action="Create", alert_id="A-1"))
    hook(ops, body, p.bearer_headers(SECRET))
    am = make_integration("alertmanager")
    body_am = p.dumps(p.alertmanager_notification())
    hook(am, body_am, p.bearer_headers(SECRET))
    ids = dict(RawEvent.objects.values_list("integration__kind", "delivery_id"))
    assert ids["opsgenie"] == "A-1:Create"
    assert ids["alertmanager"].endswith(":" + __import__("hashlib").sha256(body_am).hexdigest())


def test_secret_is_encrypted_at_rest_and_rotation_takes_effect(make_integration, hook):
    from apps.delivery import services

    integration = make_integration("github")
    assert SECRET not in integration.secret_encrypted
    new_secret = services.integration_rotate_secret(actor=permissions.SYSTEM, integration=integration)
    integration.refresh_from_db()
    assert new_secret not in integration.secret_encrypted and len(new_secret) >= 32
    body = p.dumps(PUSH)
    assert hook(integration, body, p.github_headers(SECRET, body, "push")).status_code == 401
    assert hook(integration, body, p.github_headers(new_secret, body, "push")).status_code == 202


def test_broker_down_still_stores_and_answers(make_integration, hook, monkeypatch):
    from apps.delivery import tasks

    def boom(*args, **kwargs):
        raise ConnectionError("broker away")

    monkeypatch.setattr(tasks.drain_raw_events, "delay", boom)
    integration = make_integration("github")
    body = p.dumps(PUSH)
    assert hook(integration, body, p.github_headers(SECRET, body, "push")).status_code == 202
    assert RawEvent.objects.get().status == "pending"
