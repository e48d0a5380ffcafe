"""Webhook intake: verify a delivery on its raw body, then name it.

Each source signs differently (all checks are constant-time):

| kind         | proof                                         | delivery id                               |
|--------------|-----------------------------------------------|-------------------------------------------|
| github       | X-Hub-Signature-256: sha256=HMAC(secret, body) | X-GitHub-Delivery                         |
| gitlab       | X-Gitlab-Token equal to the secret            | Idempotency-Key, else X-Gitlab-Event-UUID |
| pagerduty    | X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...] | event.id                                  |
| opsgenie     | Authorization: Bearer <secret>                | alert.alertId + ":" + action              |
| alertmanager | Authorization: Bearer <secret>                | groupKey + ":" + sha256(body)             |
| generic      | Authorization: Bearer <secret>                | Idempotency-Key, else sha256(body)        |

HMACs are HMAC-SHA256 in lowercase hex over the exact bytes received.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import parse_qs

MAX_BODY_BYTES = 1024 * 1024


class IntakeError(Exception):
    """A delivery that is refused; `status` is the HTTP answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    event_type: str


def _header(headers, name: str) -> str:
    return (headers.get(name) or "").strip()


def _bearer(headers) -> str:
    value = _header(headers, "Authorization")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _same(a: str, b: str) -> bool:
    return bool(a) and hmac.compare_digest(a.encode(), b.encode())


def github_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def pagerduty_signature(secret: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(kind: str, secret: str, headers, body: bytes) -> bool:
    """Does this raw body carry a valid proof of `secret`?"""
    if kind == "github":
        return _same(_header(headers, "X-Hub-Signature-256"), github_signature(secret, body))
    if kind == "gitlab":
        return _same(_header(headers, "X-Gitlab-Token"), secret)
    if kind == "pagerduty":
        expected = pagerduty_signature(secret, body)
        # Several signatures are sent while a subscription's secret is being rotated.
        candidates = [s.strip() for s in _header(headers, "X-PagerDuty-Signature").split(",") if s.strip()]
        ok = False
        for candidate in candidates:
            ok |= hmac.compare_digest(candidate.encode(), expected.encode())
        return ok
    if kind in ("opsgenie", "alertmanager", "generic"):
        return _same(_bearer(headers), secret)
    return False


def _media_type(headers) -> str:
    return _header(headers, "Content-Type").split(";", 1)[0].strip().lower()


def parse_body(kind: str, headers, body: bytes):
    """The JSON a verified body carries; IntakeError(415) when it is not declared JSON.

    GitHub may send `application/x-www-form-urlencoded` with the JSON in a `payload`
    field; it signs the raw form bytes, which were verified before this is called."""
    media = _media_type(headers)
    if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        text = body
    elif kind == "github" and media == "application/x-www-form-urlencoded":
        try:
            fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise IntakeError(400, "The form-encoded body cannot be read.")
        values = fields.get("payload") or []
        if len(values) != 1:
            raise IntakeError(400, "A form-encoded delivery carries its JSON in one `payload` field.")
        text = values[0]
    else:
        raise IntakeError(
            415, f"The body must be declared JSON (Content-Type: application/json), not {media or 'nothing'}."
        )
    try:
        return json.loads(text)
    except (UnicodeDecodeError, ValueError):
        raise IntakeError(400, "The body is not valid JSON.")


def identify(kind: str, headers, body: bytes, payload) -> Delivery:
    """The delivery id and event type of a verified delivery; IntakeError(400) when they are missing."""
    body_hash = hashlib.sha256(body).hexdigest()
    if kind == "github":
        delivery_id = _header(headers, "X-GitHub-Delivery")
        event_type = _header(headers, "X-GitHub-Event")
    elif kind == "gitlab":
        delivery_id = _header(headers, "Idempotency-Key") or _header(headers, "X-Gitlab-Event-UUID")
        event_type = _header(headers, "X-Gitlab-Event") or str(payload.get("object_kind", ""))
    elif kind == "pagerduty":
        event = payload.get("event") if isinstance(payload, dict) else None
        event = event if isinstance(event, dict) else {}
        delivery_id = str(event.get("id") or "")
        event_type = str(event.get("event_type") or "")
    elif kind == "opsgenie":
        alert = payload.get("alert") if isinstance(payload, dict) else None
        alert = alert if isinstance(alert, dict) else {}
        action = str(payload.get("action") or "") if isinstance(payload, dict) else ""
        alert_id = str(alert.get("alertId") or "")
        delivery_id = f"{alert_id}:{action}" if alert_id and action else ""
        event_type = action
    elif kind == "alertmanager":
        group_key = str(payload.get("groupKey") or "") if isinstance(payload, dict) else ""
        delivery_id = f"{hashlib.sha256(group_key.encode()).hexdigest()[:32]}:{body_hash}" if group_key else ""
        event_type = str(payload.get("status") or "") if isinstance(payload, dict) else ""
    else:
        delivery_id = _header(headers, "Idempotency-Key") or body_hash
        event_type = (
            str(payload.get("kind") or payload.get("type") or "batch") if isinstance(payload, dict) else "batch"
        )
    if not delivery_id:
        raise IntakeError(400, "The delivery carries no delivery id.")
    if len(delivery_id) > 200:
        raise IntakeError(400, "The delivery id is longer than 200 characters.")
    return Delivery(delivery_id=delivery_id, event_type=event_type[:100])


# Headers worth keeping with the raw event (never Authorization, tokens or signatures).
KEPT_HEADERS = (
    "Content-Type",
    "User-Agent",
    "X-GitHub-Event",
    "X-GitHub-Delivery",
    "X-GitHub-Hook-ID",
    "X-Gitlab-Event",
    "X-Gitlab-Event-UUID",
    "X-Gitlab-Instance",
    "Idempotency-Key",
)


def kept_headers(headers) -> dict:
    return {name: headers[name][:300] for name in KEPT_HEADERS if headers.get(name)}
