"""What intake needs of an integration, by its token, cached per process for a few seconds.

Reads only. Saving an integration drops its entry in this process (a signal registered in
apps.py); other processes reload within SOURCE_CACHE_SECONDS, and a failed signature check
reloads once (a secret rotated elsewhere)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from . import secrets as secret_store
from .models import Integration

logger = logging.getLogger("apps.delivery.services")


@dataclass
class _Source:
    """What intake needs of an integration, cached per process for a few seconds."""

    pk: int
    kind: str
    organization_id: int
    secret: str
    last_delivery_at: datetime | None
    loaded: float


_SOURCES: dict[str, _Source] = {}
SOURCE_CACHE_SECONDS = 5.0


def source_for(token: str, *, fresh: bool = False) -> _Source | None:
    """The active integration behind an intake token (None when unknown or paused).

    Cached for SOURCE_CACHE_SECONDS per process so a burst of deliveries does not read the row
    and decrypt the secret every time; saving an integration drops its entry in this process,
    and a failed signature check reloads once (a secret rotated in another process)."""
    if not token:
        return None
    cached = _SOURCES.get(token)
    if cached is not None and not fresh and time.monotonic() - cached.loaded < SOURCE_CACHE_SECONDS:
        return cached
    row = (
        Integration.objects.filter(token=token, is_active=True)
        .order_by()
        .values_list("pk", "kind", "organization_id", "secret_encrypted", "last_delivery_at")
        .first()
    )
    if row is None:
        _SOURCES.pop(token, None)
        return None
    pk, kind, organization_id, encrypted, last_delivery_at = row
    try:
        secret = secret_store.decrypt(encrypted)
    except ValueError:
        logger.error("delivery: secret of integration %s cannot be decrypted", pk)
        return None
    source = _Source(pk, kind, organization_id, secret, last_delivery_at, time.monotonic())
    _SOURCES[token] = source
    return source


def forget(token: str) -> None:
    _SOURCES.pop(token, None)
