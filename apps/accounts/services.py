"""Writes to people and their API tokens. A person makes and revokes their own tokens; people are
added by an organization admin (the admin, the membership import) or by `permissions.SYSTEM`."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from apps.core import permissions

from .models import ApiToken, User, hash_token


def _require_self(actor, user: User, message: str) -> None:
    if permissions.is_system(actor) or getattr(actor, "is_superuser", False):
        return
    if getattr(actor, "pk", None) is None or actor.pk != user.pk:
        raise PermissionDenied(message)


def _require_people_admin(actor) -> None:
    """Adding a person or vouching for an address: an org admin, a superuser or the system."""
    if permissions.is_system(actor) or getattr(actor, "is_superuser", False):
        return
    if not permissions.admin_org_ids(actor):
        raise PermissionDenied("Only an organization admin adds people.")


@transaction.atomic
def api_token_create(*, actor, user: User, name: str, expires_at=None) -> tuple[ApiToken, str]:
    """Create a token; returns it with the raw key, which is never stored."""
    _require_self(actor, user, "You may only make tokens for yourself.")
    raw = ApiToken.generate_key()
    token = ApiToken.objects.create(
        user=user,
        name=name.strip() or "API token",
        key_prefix=raw[:10],
        key_hash=hash_token(raw),
        expires_at=expires_at,
    )
    return token, raw


def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    _require_self(actor, token.user, "You may only revoke your own tokens.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
    return token


def email_address_trust(*, actor, user: User) -> None:
    """An admin vouched for this address: record it as allauth's verified primary email.

    Without it allauth treats the address as unverified and refuses to turn on
    two-factor authentication for people an admin created.
    """
    from allauth.account.models import EmailAddress

    _require_people_admin(actor)
    EmailAddress.objects.filter(user=user).exclude(email__iexact=user.email).update(primary=False)
    EmailAddress.objects.update_or_create(
        user=user, email__iexact=user.email, defaults={"email": user.email, "verified": True, "primary": True}
    )


def user_get_or_create(*, actor, email: str, name: str = "", password: str | None = None) -> tuple[User, bool]:
    _require_people_admin(actor)
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user:
        return user, False
    user = User.objects.create_user(email=email, password=password, name=name)
    if password is None:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    email_address_trust(actor=actor, user=user)
    return user, True
