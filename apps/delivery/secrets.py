"""Integration secrets at rest: Fernet-encrypted with a key derived from SECRET_KEY.

Signature checks (GitHub, PagerDuty) need the secret itself, so it cannot be
hashed; it is encrypted instead, and SECRET_KEY_FALLBACKS keep decrypting
after a SECRET_KEY rotation. Secrets never appear in logs, reprs or the admin.
"""

import base64
import hashlib
import secrets as _secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

_SALT = b"apps.delivery.integration-secret.v1:"


def _fernet_for(secret_key: str) -> Fernet:
    digest = hashlib.sha256(_SALT + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


_cache: dict[tuple, MultiFernet] = {}


def _multi() -> MultiFernet:
    keys = (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", []))
    fernet = _cache.get(keys)
    if fernet is None:
        fernet = _cache[keys] = MultiFernet([_fernet_for(k) for k in keys])
    return fernet


def encrypt(secret: str) -> str:
    return _multi().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext secret; raises ValueError when it cannot be decrypted with any known key."""
    try:
        return _multi().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("Integration secret cannot be decrypted (SECRET_KEY changed without a fallback?)") from exc


def generate_secret() -> str:
    return _secrets.token_urlsafe(32)


def generate_token() -> str:
    return _secrets.token_urlsafe(24)
