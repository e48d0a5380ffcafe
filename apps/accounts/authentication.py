from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken, hash_token

TOKEN_REFUSED = "Invalid, expired or revoked token."


def token_for_key(raw: str) -> ApiToken | None:
    """The active token (with its active user) for a raw key, or None; notes its use at most once a minute."""
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(raw)).first()
    if token is None or not token.is_active or not token.user.is_active:
        return None
    note_token_use(token.pk, token.last_used_at, timezone.now())
    return token


def note_token_use(token_id: int, last_used_at, now) -> None:
    """Record a token's use at most once a minute: no write per request under load."""
    if last_used_at is None or now - last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <key>` (or `Token <key>`) with a personal API token."""

    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="ignore") not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid Authorization header: expected '<scheme> <key>'.")
        raw = header[1].decode(errors="ignore")
        if not raw.startswith(ApiToken.PREFIX):
            return None  # someone else's bearer scheme (e.g. a webhook secret)
        token = token_for_key(raw)
        if token is None:
            raise exceptions.AuthenticationFailed(TOKEN_REFUSED)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
