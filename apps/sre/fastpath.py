"""The release gate's short path: CI calls with a personal API token skip the page middleware.

`POST /api/v1/sre/gate/<id>/` with `Authorization: Bearer dm_…` and a JSON (or empty) body is
answered here, before sessions, messages, allauth, htmx and the organization switcher run, and
without DRF's dispatch. A warm call is two statements: one SELECT reads the token's validity
(hash, not revoked, not expired, active user), the caller's roles on the service
(`permissions.service_roles_sql`, turned into a `ServiceAccess` by `permissions.access_from_roles`)
and the service's active override; then the decision's INSERT. The verdicts come from the cache,
and `services.gate_decide` decides, as it does for the API view (`api.views.GateView`), status for
status. Every other request (session callers, the override route) goes the usual way.
"""

from __future__ import annotations

import json
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404, JsonResponse

from apps.accounts.models import ApiToken
from apps.core.db import fetchone_prepared
from apps.core.middleware import short_path

from .models import GateDecision

GATE_PATH = re.compile(r"^/api/v1/sre/gate/(\d+)/$")
# The model's own rules, read once: the body check below takes plain bodies without the serializer.
KINDS = tuple(GateDecision.Kind.values)
REF_MAX = GateDecision._meta.get_field("ref").max_length


def _error(status: int, detail, **headers) -> JsonResponse:
    body = detail if isinstance(detail, dict) else {"detail": detail}
    response = JsonResponse(body, status=status)
    for k, v in headers.items():
        response[k] = v
    return response


_call_sql: list[str] = []


def call_sql() -> str:
    """The one statement of a call: a row when the token is valid, with the service's columns NULL when
    there is no such service and the override's NULL when none is active."""
    if not _call_sql:
        from apps.accounts.models import User
        from apps.core import permissions
        from apps.teams.models import Service

        from .models import GateOverride

        roles = permissions.service_roles_sql(service="s", user="u.id")
        _call_sql.append(
            "SELECT t.id, t.last_used_at, u.id, u.is_superuser, s.id, s.team_id, s.organization_id, "  # noqa: S608 (model tables, placeholders)
            f"{roles}, o.id, o.expires_at, o.reason "
            f"FROM {ApiToken._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id "
            f"LEFT JOIN {Service._meta.db_table} s ON s.id = %(service)s "
            f"LEFT JOIN LATERAL (SELECT g.id, g.expires_at, g.reason FROM {GateOverride._meta.db_table} g "
            "WHERE g.service_id = s.id AND g.expires_at > %(now)s ORDER BY g.expires_at DESC LIMIT 1) o ON true "
            "WHERE t.key_hash = %(hash)s AND t.revoked_at IS NULL "
            "AND (t.expires_at IS NULL OR t.expires_at > %(now)s) AND u.is_active"
        )
    return _call_sql[0]


def _body(raw: bytes) -> dict | JsonResponse:
    """The validated body ({kind, ref}) or the 400 answer. Plain bodies (a kind of the list, an ASCII ref
    without surrounding spaces that fits) are taken as they are; anything else goes through the API
    view's serializer, so its answers and errors are the view's."""
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return _error(400, "JSON parse error.")
    if not isinstance(data, dict):
        return _error(400, "Send a JSON object.")
    kind, ref = data.get("kind", "feature"), data.get("ref", "")
    if (
        kind in KINDS
        and type(kind) is str
        and type(ref) is str
        and len(ref) <= REF_MAX
        and ref.isascii()
        and ref.isprintable()
        and ref == ref.strip()
    ):
        return {"kind": kind, "ref": ref}
    from .api.views import GateRequestSerializer

    body = GateRequestSerializer(data=data)
    if not body.is_valid():
        return _error(400, {k: [str(m) for m in v] for k, v in body.errors.items()})
    return body.validated_data


def answer(request, service_id: int) -> JsonResponse:
    from django.utils import timezone

    from apps.accounts.authentication import TOKEN_REFUSED, note_token_use
    from apps.accounts.models import User, hash_token
    from apps.core import permissions

    from . import services
    from .api.views import gate_answer
    from .models import GateOverride

    raw = request.META["HTTP_AUTHORIZATION"].split(None, 1)[1].strip()
    now = timezone.now()
    row = fetchone_prepared(call_sql(), {"hash": hash_token(raw), "service": service_id, "now": now})
    if row is None:
        return _error(401, TOKEN_REFUSED, **{"WWW-Authenticate": 'Bearer realm="api"'})
    token_id, last_used, user_id, superuser, sid, team_id, org_id, org, team, in_org, oid, expires, why = row
    note_token_use(token_id, last_used, now)
    body = _body(request.body)
    if isinstance(body, JsonResponse):
        return body
    access = None
    if sid is not None:
        access = permissions.access_from_roles(
            service_id=sid,
            team_id=team_id,
            organization_id=org_id,
            org=org,
            team=team,
            in_org=in_org,
            is_superuser=superuser,
        )
    override = None
    if oid is not None:

        def override():
            return GateOverride(pk=oid, service_id=service_id, expires_at=expires, reason=why)

    actor = User(pk=user_id, is_active=True, is_superuser=superuser)
    try:
        if access is None:
            raise Http404("No such service.")
        decision = services.gate_decide(service_id=service_id, actor=actor, access=access, override=override, **body)
    except Http404:
        return _error(404, "No such service.")
    except PermissionDenied as exc:
        return _error(403, str(exc))
    except ValidationError as exc:
        return _error(400, exc.message_dict)
    return JsonResponse(gate_answer(decision))


class GateFastPathMiddleware:
    """Right after SecurityMiddleware: token-authenticated JSON gate calls are answered before the rest runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST":
            match = GATE_PATH.match(request.path_info)
            if match:
                auth = request.META.get("HTTP_AUTHORIZATION", "")
                scheme, _, key = auth.partition(" ")
                # JSON, or no body at all (whatever type it claims).
                empty = request.META.get("CONTENT_LENGTH") in (None, "", "0")
                json_body = empty or request.content_type == "application/json"
                if (
                    json_body
                    and scheme.lower() in ("bearer", "token")
                    and key.strip().startswith(ApiToken.PREFIX)
                    and connection.vendor == "postgresql"  # its one statement is PostgreSQL's (LATERAL)
                ):
                    return short_path(request, answer, int(match[1]))
        return self.get_response(request)
