"""allauth's sign-in rate limits, counted in the real Redis cache.

The counters live in the shared cache, not in a process or a session, so a
block holds for every client and every web process (settings.ACCOUNT_RATE_LIMITS:
`login_failed` 5 per 5 minutes per account, `login` 30 per minute per IP).
"""

import pytest
from django.conf import settings
from django.test import Client

from tests.browser import TEST_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
TOO_MANY = "Too many failed login attempts"


def attempt(client, email, password):
    return client.post(LOGIN, {"login": email, "password": password})


def test_the_cache_is_redis():
    # The limit is only shared across processes when the cache is; locmem would not be.
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


def test_failed_logins_for_one_account_are_blocked_across_clients(cast):
    # Two browsers on two addresses: the per-account limit adds both up.
    first, second = Client(REMOTE_ADDR="192.0.2.10"), Client(REMOTE_ADDR="198.51.100.20")
    for client in (first, second, first, second, first):
        response = attempt(client, cast.member.email, "guess")
        assert response.status_code == 200 and TOO_MANY not in response.content.decode()
        assert "_auth_user_id" not in client.session

    # Sixth attempt, from the second client and with the right password: refused.
    response = attempt(second, cast.member.email, TEST_PASSWORD)
    assert TOO_MANY in response.content.decode()
    assert "_auth_user_id" not in second.session
    # A third, fresh client is refused too (the email's case does not matter).
    third = Client(REMOTE_ADDR="203.0.113.30")
    response = attempt(third, cast.member.email.upper(), TEST_PASSWORD)
    assert TOO_MANY in response.content.decode()
    assert "_auth_user_id" not in third.session

    # Another account from the same addresses is not affected.
    response = attempt(first, cast.lead.email, TEST_PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"


def test_failures_under_the_limit_do_not_block_the_right_password(cast):
    client = Client(REMOTE_ADDR="192.0.2.11")
    for _ in range(4):
        attempt(client, cast.member.email, "guess")
    response = attempt(client, cast.member.email, TEST_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(cast.member.pk)


def test_too_many_sign_in_posts_from_one_address_get_429_for_every_client(cast):
    # 30 sign-in posts a minute per IP; two clients behind the same address share them.
    first, second = Client(REMOTE_ADDR="192.0.2.99"), Client(REMOTE_ADDR="192.0.2.99")
    emails = [f"nobody{i}@example.test" for i in range(30)]  # unknown accounts: no per-account block
    for i, email in enumerate(emails):
        response = attempt(first if i % 2 else second, email, "guess")
        assert response.status_code == 200, i
    for client in (first, second):
        response = attempt(client, cast.member.email, TEST_PASSWORD)
        assert response.status_code == 429
        assert "Too many attempts" in response.content.decode()  # templates/429.html, in the site's look
        assert "_auth_user_id" not in client.session
    # Another address still signs in.
    assert attempt(Client(REMOTE_ADDR="192.0.2.100"), cast.member.email, TEST_PASSWORD).status_code == 302
