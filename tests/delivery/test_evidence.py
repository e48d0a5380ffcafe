"""No evidence lost in silence: declared content types, one event per signed body,
and a fallback match that does not guess between two services."""

from urllib.parse import urlencode

import pytest

from apps.delivery.models import Change, RawEvent
from tests.delivery import payloads as p
from tests.delivery.conftest import SECRET
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

PUSH = p.github_push(commits=[("b" * 40, "Fix cart", "2026-03-01T10:00:00Z")])


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", ""])
def test_a_body_not_declared_json_is_415_and_nothing_is_stored(make_integration, hook, content_type):
    integration = make_integration("github")
    body = p.dumps(PUSH)
    response = hook(integration, body, p.github_headers(SECRET, body, "push"), content_type=content_type)
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    assert RawEvent.objects.count() == 0


def test_json_with_a_charset_parameter_is_accepted(make_integration, hook):
    integration = make_integration("github")
    body = p.dumps(PUSH)
    headers = p.github_headers(SECRET, body, "push")
    assert hook(integration, body, headers, content_type="application/json; charset=utf-8").status_code == 202


def test_github_form_encoded_delivery_is_verified_on_the_form_bytes_and_parsed_from_payload(make_integration, hook):
    integration = make_integration("github")
    # GitHub signs the form body exactly as sent, not the JSON inside it.
    body = urlencode({"payload": p.dumps(PUSH).decode()}).encode()
    response = hook(
        integration, body, p.github_headers(SECRET, body, "push"), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 202
    event = RawEvent.objects.get()
    assert event.payload["repository"]["full_name"] == "acme/checkout-api"
    assert event.status == "processed"
    assert Change.objects.filter(sha="b" * 40).exists()


def test_form_encoded_signature_over_the_inner_json_is_refused(make_integration, hook):
    integration = make_integration("github")
    inner = p.dumps(PUSH)
    body = urlencode({"payload": inner.decode()}).encode()
    headers = p.github_headers(SECRET, inner, "push")
    response = hook(integration, body, headers, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 401
    assert RawEvent.objects.count() == 0


def test_form_encoded_without_payload_field_is_400(make_integration, hook):
    integration = make_integration("github")
    body = urlencode({"data": "{}"}).encode()
    response = hook(
        integration, body, p.github_headers(SECRET, body, "push"), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert "payload" in response.json()["detail"]
    assert RawEvent.objects.count() == 0


def test_only_github_may_send_form_encoded(make_integration, hook):
    integration = make_integration("generic")
    body = urlencode({"payload": "{}"}).encode()
    response = hook(integration, body, p.bearer_headers(SECRET), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_a_captured_body_resent_under_a_new_delivery_id_is_one_event(make_integration, hook, kind):
    integration = make_integration(kind)
    if kind == "github":
        body = p.dumps(PUSH)
        first = p.github_headers(SECRET, body, "push", delivery="d-1")
        second = p.github_headers(SECRET, body, "push", delivery="d-2-replayed")
    else:
        body = p.dumps(p.gitlab_push(commits=[("c" * 40, "Fix", "2026-03-01T10:00:00Z")]))
        first = p.gitlab_headers(SECRET, "Push Hook", uuid_="u-1")
        second = p.gitlab_headers(SECRET, "Push Hook", uuid_="u-2-replayed")
    assert hook(integration, body, first).status_code == 202
    again = hook(integration, body, second)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    # The answer names the event that was kept.
    assert again.json()["delivery_id"] in ("d-1", "u-1")
    assert RawEvent.objects.count() == 1
    assert len(RawEvent.objects.get().body_sha256) == 64


def test_a_different_body_under_a_new_delivery_id_is_a_new_event(make_integration, hook):
    integration = make_integration("github")
    one = p.dumps(PUSH)
    two = p.dumps(p.github_push(commits=[("d" * 40, "Other", "2026-03-01T11:00:00Z")]))
    assert hook(integration, one, p.github_headers(SECRET, one, "push", delivery="x-1")).status_code == 202
    assert hook(integration, two, p.github_headers(SECRET, two, "push", delivery="x-2")).status_code == 202
    assert RawEvent.objects.count() == 2


def test_the_same_body_on_two_integrations_is_two_events(make_integration, hook):
    a = make_integration("github", name="A")
    b = make_integration("github", name="B")
    body = p.dumps(PUSH)
    assert hook(a, body, p.github_headers(SECRET, body, "push", delivery="same")).status_code == 202
    assert hook(b, body, p.github_headers(SECRET, body, "push", delivery="same")).status_code == 202
    assert RawEvent.objects.count() == 2


def test_fallback_by_name_does_not_guess_between_two_services(cast, make_integration, hook):
    # Two services of the org have a repository URL ending in acme/shop (GitHub and a GitLab mirror).
    ServiceFactory(team=cast.team, name="shop-web", repository_url="https://github.com/acme/shop")
    ServiceFactory(team=cast.other_team, name="shop-legacy", repository_url="https://gitlab.example.com/acme/shop")
    integration = make_integration("github", team=None)
    body = p.dumps(p.github_push(repo="acme/shop", commits=[("e" * 40, "Fix", "2026-03-01T10:00:00Z")]))
    assert hook(integration, body, p.github_headers(SECRET, body, "push")).status_code == 202
    change = Change.objects.get(sha="e" * 40)
    assert change.service is None
    assert change.team is None
    event = RawEvent.objects.get()
    assert event.status == "processed"
    assert "acme/shop: ambiguous: shop-legacy, shop-web" in event.note


def test_fallback_picks_the_one_service_that_matches(cast, make_integration, hook):
    service = ServiceFactory(team=cast.team, name="shop-web", repository_url="https://github.com/acme/shop")
    ServiceFactory(team=cast.other_team, name="basket", repository_url="https://github.com/acme/basket")
    integration = make_integration("github", team=None)
    body = p.dumps(p.github_push(repo="acme/shop", commits=[("f" * 40, "Fix", "2026-03-01T10:00:00Z")]))
    assert hook(integration, body, p.github_headers(SECRET, body, "push")).status_code == 202
    assert Change.objects.get(sha="f" * 40).service == service
    assert "no service" not in RawEvent.objects.get().note


def test_a_repository_no_service_claims_says_no_mapping(cast, make_integration, hook):
    integration = make_integration("github", team=None)
    body = p.dumps(p.github_push(repo="acme/unknown", commits=[("1" * 40, "Fix", "2026-03-01T10:00:00Z")]))
    assert hook(integration, body, p.github_headers(SECRET, body, "push")).status_code == 202
    assert "no service for acme/unknown: no mapping" in RawEvent.objects.get().note


def test_an_explicit_mapping_settles_an_ambiguous_key(cast, make_integration, hook):
    web = ServiceFactory(team=cast.team, name="shop-web", repository_url="https://github.com/acme/shop")
    ServiceFactory(team=cast.other_team, name="shop-legacy", repository_url="https://gitlab.example.com/acme/shop")
    integration = make_integration("github", team=None, mappings={"acme/shop": web})
    body = p.dumps(p.github_push(repo="acme/shop", commits=[("2" * 40, "Fix", "2026-03-01T10:00:00Z")]))
    assert hook(integration, body, p.github_headers(SECRET, body, "push")).status_code == 202
    assert Change.objects.get(sha="2" * 40).service == web
