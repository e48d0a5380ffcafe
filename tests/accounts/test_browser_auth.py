"""Sign-in, two-factor, password reset and API tokens, driven through a real Chromium.

These prove the flows a person goes through end to end (allauth's pages with our
templates, sessions, Redis-backed rate limits and the API), not just the views.
"""

import json
import re
import time
import urllib.error
import urllib.request

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.contrib.auth import get_user_model
from django.core import mail

from apps.accounts.models import ApiToken
from tests.browser import TEST_PASSWORD, login, screenshot

pytestmark = pytest.mark.browser


def totp_now(secret: str) -> str:
    """The code an authenticator app shows right now (RFC 6238: SHA-1, 6 digits, 30 s)."""
    left = 30 - time.time() % 30
    if left < 3:  # do not race the window boundary: allauth accepts only the current step
        time.sleep(left + 0.2)
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def submit(page, form_selector: str = "form.allauth-form"):
    page.click(f"{form_selector} button[type=submit]")
    page.wait_for_load_state("networkidle")


def sign_out(page):
    page.click("header .dropdown-toggle")
    page.click("header form[action$='/accounts/logout/'] button")
    page.wait_for_load_state("networkidle")
    assert "/accounts/login/" in page.url


def reauthenticate_if_asked(page, password: str = TEST_PASSWORD):
    # allauth asks for the password again before security changes (e.g. turning on 2FA).
    if "/accounts/reauthenticate/" in page.url:
        page.fill("input[name=password]", password)
        submit(page)


def api_get(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local live server
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_sign_in_lands_on_the_overview_and_a_wrong_password_is_refused(page, live_server, cast):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", cast.member.email)
    page.fill("input[name=password]", "not-my-password")
    submit(page)
    assert "/accounts/login/" in page.url
    error = page.locator(".alert-danger")
    assert "not correct" in error.inner_text()
    # The form keeps Bootstrap's look with the error shown, and the email typed.
    assert page.input_value("input[name=login]") == cast.member.email
    assert "form-control" in page.get_attribute("input[name=password]", "class")
    screenshot(page, "accounts-login-error")

    page.fill("input[name=password]", TEST_PASSWORD)
    submit(page)
    assert page.url == f"{live_server.url}/"
    assert page.locator("h1").inner_text() == cast.org.name  # the overview of the member's organization
    assert page.locator("#sidebar a.nav-link.active").inner_text().strip() == "Overview"
    assert cast.team.name in page.locator(".card", has_text="My teams").inner_text()
    screenshot(page, "accounts-overview")


def test_totp_two_factor_with_recovery_codes(page, live_server, cast):
    user = cast.member
    login(page, live_server, user)
    page.goto(f"{live_server.url}/accounts/2fa/")
    assert "not active" in page.locator("#mfa-totp").inner_text()
    page.click("#mfa-totp a:has-text('Activate')")
    page.wait_for_load_state("networkidle")
    reauthenticate_if_asked(page)
    assert page.url.endswith("/accounts/2fa/totp/activate/")
    assert page.locator("img.totp-qr").get_attribute("src").startswith("data:image/svg+xml")
    secret = page.input_value("#authenticator_secret")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    screenshot(page, "accounts-totp-activate")

    # A wrong code is refused with the error under the field; nothing is turned on.
    page.fill("input[name=code]", "000000" if totp_now(secret) != "000000" else "111111")
    submit(page)
    assert "Incorrect code" in page.locator(".invalid-feedback").inner_text()
    assert not Authenticator.objects.filter(user=user).exists()

    page.fill("input[name=code]", totp_now(secret))
    submit(page)
    assert "/accounts/2fa/recovery-codes/" in page.url
    codes = page.input_value("#recovery_codes").split()
    assert len(codes) == 10 and all(re.fullmatch(r"[0-9a-f]{8}|\d{8}", c) for c in codes)
    assert set(Authenticator.objects.filter(user=user).values_list("type", flat=True)) == {"totp", "recovery_codes"}
    screenshot(page, "accounts-recovery-codes")

    # Sign out; signing in now asks for the second factor.
    sign_out(page)
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", TEST_PASSWORD)
    submit(page)
    assert "/accounts/2fa/authenticate/" in page.url
    screenshot(page, "accounts-mfa-authenticate")
    page.fill("input[name=code]", "12345678")
    submit(page)
    assert "/accounts/2fa/authenticate/" in page.url
    assert page.locator(".invalid-feedback").count() == 1
    page.fill("input[name=code]", totp_now(secret))
    submit(page)
    assert page.url == f"{live_server.url}/"

    # Once with a recovery code instead of the app: it works once, then it is spent.
    sign_out(page)
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", TEST_PASSWORD)
    submit(page)
    page.fill("input[name=code]", codes[0])
    submit(page)
    assert page.url == f"{live_server.url}/"
    page.goto(f"{live_server.url}/accounts/2fa/")
    assert "9 out of 10" in page.locator("#mfa-recovery-codes").inner_text()
    screenshot(page, "accounts-mfa-index-active")


def test_password_reset_by_email(page, live_server, cast):
    user = cast.lead
    page.goto(f"{live_server.url}/accounts/login/")
    page.click("a:has-text('Forgot your password?')")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/accounts/password/reset/")
    page.fill("input[name=email]", user.email.upper())  # addresses match case-insensitively
    submit(page)
    assert page.url.endswith("/accounts/password/reset/done/")
    screenshot(page, "accounts-password-reset-done")

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert "Reset your DevOps Maturity password" in message.subject
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+/", message.body).group(0)
    page.goto(link.replace(re.match(r"https?://[^/]+", link).group(0), live_server.url))
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Choose a new password"

    # Two different passwords: refused, and the old password still works.
    page.fill("input[name=password1]", "a-brand-new-passphrase-42")
    page.fill("input[name=password2]", "something-else-entirely-42")
    submit(page)
    assert "same password" in page.locator(".invalid-feedback").inner_text()
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)

    page.fill("input[name=password1]", "a-brand-new-passphrase-42")
    page.fill("input[name=password2]", "a-brand-new-passphrase-42")
    submit(page)
    assert page.url.endswith("/accounts/password/reset/key/done/")
    screenshot(page, "accounts-password-reset-from-key-done")
    user.refresh_from_db()
    assert user.check_password("a-brand-new-passphrase-42")

    # The link works once.
    page.goto(link.replace(re.match(r"https?://[^/]+", link).group(0), live_server.url))
    assert "no longer works" in page.locator("h1").inner_text()

    login(page, live_server, user, password="a-brand-new-passphrase-42")
    assert page.url == f"{live_server.url}/"


def test_personal_api_token_shown_once_used_and_revoked(page, live_server, cast):
    login(page, live_server, cast.member)
    page.goto(f"{live_server.url}/account/")
    page.fill("input[name=name]", "CI pipeline")
    page.click("form button:has-text('Create token')")
    page.wait_for_load_state("networkidle")
    key = page.input_value("#new-token")
    assert key.startswith("dm_")
    screenshot(page, "accounts-token-created")

    status, body = api_get(f"{live_server.url}/api/v1/teams/", key)
    assert status == 200
    names = {team["name"] for team in body["results"]}
    assert {cast.team.name, cast.other_team.name} <= names
    assert "Billing" not in names  # another organization's team stays invisible

    # Shown once: reloading the page does not show the key again.
    page.goto(f"{live_server.url}/account/")
    assert page.locator("#new-token").count() == 0
    assert key not in page.content()

    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    row = page.locator("tr", has_text="CI pipeline")
    row.locator("button:has-text('Revoke')").click()
    page.wait_for_load_state("networkidle")
    assert dialogs and "CI pipeline" in dialogs[0]  # asked before revoking
    assert "Revoked" in page.locator("tr", has_text="CI pipeline").inner_text()
    assert ApiToken.objects.get(user=cast.member).revoked_at is not None
    screenshot(page, "accounts-token-revoked")

    status, body = api_get(f"{live_server.url}/api/v1/teams/", key)
    assert status == 401
    assert "revoked" in json.dumps(body).lower()


def test_sign_up_is_closed_by_default_and_opens_with_the_setting(page, live_server, settings, db):
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.locator("a:has-text('Create an account')").count() == 0
    assert "ask yours for an invitation" in page.locator("main").inner_text()
    page.goto(f"{live_server.url}/accounts/signup/")
    assert "by invitation" in page.locator("h1").inner_text()
    assert page.locator("input[name=email]").count() == 0

    settings.SIGNUP_OPEN = True  # live_server runs in this process: the change applies at once
    page.goto(f"{live_server.url}/accounts/login/")
    page.click("a:has-text('Create an account')")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/accounts/signup/")
    page.fill("input[name=email]", "new.person@example.test")
    page.fill("input[name=password1]", "a-long-enough-passphrase-7")
    page.fill("input[name=password2]", "a-long-enough-passphrase-7")
    screenshot(page, "accounts-signup-open")
    submit(page)
    assert get_user_model().objects.filter(email="new.person@example.test").exists()
    assert "/accounts/" not in page.url or "/accounts/confirm-email/" in page.url
