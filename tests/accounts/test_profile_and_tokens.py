import pytest

from apps.accounts.models import ApiToken, hash_token
from apps.accounts.services import api_token_create

pytestmark = pytest.mark.django_db


def test_profile_creates_a_token_shown_once(cast, client_for):
    client = client_for("member")
    response = client.post("/account/", {"name": "deploy script"})
    assert response.status_code == 200
    raw = response.context["new_key"]
    assert raw.startswith("dm_") and raw in response.content.decode()
    token = ApiToken.objects.get(user=cast.member)
    assert token.key_hash == hash_token(raw)
    # Never again: the next view of the page does not contain it.
    assert raw not in client.get("/account/").content.decode()


def test_token_form_errors(cast, client_for):
    response = client_for("member").post("/account/", {"name": "", "expires_at": "2001-01-01T00:00"})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"name", "expires_at"}
    assert not ApiToken.objects.exists()


def test_revoking_someone_elses_token_is_a_404(cast, client_for):
    token, _ = api_token_create(actor=cast.lead, user=cast.lead, name="lead's")
    assert client_for("member").post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert client_for("lead").post(f"/account/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_profile_requires_sign_in(client):
    assert client.get("/account/").status_code == 302


def test_signup_is_closed_by_default_and_can_be_opened(client, settings):
    page = client.get("/accounts/signup/").content.decode()
    assert "closed" in page.lower()
    response = client.post(
        "/accounts/signup/", {"email": "x@example.test", "password1": "Zx9!long-pass", "password2": "Zx9!long-pass"}
    )
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(email="x@example.test").exists()
    settings.SIGNUP_OPEN = True
    response = client.post(
        "/accounts/signup/", {"email": "x@example.test", "password1": "Zx9!long-pass", "password2": "Zx9!long-pass"}
    )
    assert response.status_code == 302
    assert get_user_model().objects.filter(email="x@example.test").exists()


def test_password_login_and_reset_email(cast, client, mailoutbox):
    response = client.post("/accounts/login/", {"login": "member@example.test", "password": "correct-horse-battery"})
    assert response.status_code == 302
    client.logout()
    response = client.post("/accounts/login/", {"login": "member@example.test", "password": "wrong"})
    assert response.status_code == 200 and "not correct" in response.content.decode()
    client.post("/accounts/password/reset/", {"email": "member@example.test"})
    assert len(mailoutbox) == 1 and "/accounts/password/reset/key/" in mailoutbox[0].body


def test_people_an_admin_creates_can_turn_on_two_factor(cast, client):
    """Their address is recorded as verified, so allauth lets them activate TOTP."""
    from allauth.account.models import EmailAddress

    from apps.accounts.services import user_get_or_create
    from apps.core.permissions import SYSTEM

    user, created = user_get_or_create(
        actor=SYSTEM, email="Invited@Example.test", name="Invited", password="correct-horse-battery"
    )
    assert created
    assert EmailAddress.objects.get(user=user).verified
    client.force_login(user)
    client.get("/accounts/email/")  # allauth must not add an unverified duplicate on first visit
    assert not EmailAddress.objects.filter(user=user, verified=False).exists()
    from allauth.mfa.internal.flows.add import validate_can_add_authenticator

    validate_can_add_authenticator(user)  # raises when allauth would refuse
    EmailAddress.objects.create(user=user, email="second@example.test", verified=False)
    with pytest.raises(Exception, match="verified your email"):
        validate_can_add_authenticator(user)
