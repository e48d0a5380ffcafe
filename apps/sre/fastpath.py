"""The release gate's short path: CI calls with a personal API token skip the page middleware.

`POST /api/v1/sre/gate/<id>/` with `Authorization: Bearer dm_…` and a JSON (or empty) body is
answered here, before sessions, messages, allauth, htmx and the organization switcher run, and
without DRF's dispatch: one query for the token, one for the caller's roles on the service, the
cached verdicts, the override when a budget is spent, and the decision's INSERT. Answers are the
API view's (`api.views.GateView`), status for status; every other request (session callers, the
override route) goes the usual way.
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse

from apps.accounts.models import ApiToken

GATE_PATH = re.compile(r"^/api/v1/sre/gate/(\d+)/$")


def _error(status: int, detail, **headers) -> JsonResponse:
    body = detail if isinstance(detail, dict) else {"detail": detail}
    response = JsonResponse(body, status=status)
    for k, v in headers.items():
        response[k] = v
    return response


def answer(request, service_id: int) -> JsonResponse:
    from apps.accounts.authentication import TOKEN_REFUSED, token_for_key

    from . import services
    from .api.views import GateRequestSerializer, gate_answer

    raw = request.META["HTTP_AUTHORIZATION"].split(None, 1)[1].strip()
    token = token_for_key(raw)
    if token is None:
        return _error(401, TOKEN_REFUSED, **{"WWW-Authenticate": 'Bearer realm="api"'})
    try:
        data = json.loads(request.body) if request.body else {}
    except ValueError:
        return _error(400, "JSON parse error.")
    if not isinstance(data, dict):
        return _error(400, "Send a JSON object.")
    body = GateRequestSerializer(data=data)
    if not body.is_valid():
        return _error(400, {k: [str(m) for m in v] for k, v in body.errors.items()})
    try:
        decision = services.gate_decide(service_id=service_id, actor=token.user, **body.validated_data)
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
                json_body = request.content_type == "application/json" or not request.META.get("CONTENT_LENGTH")
                if json_body and scheme.lower() in ("bearer", "token") and key.strip().startswith(ApiToken.PREFIX):
                    response = answer(request, int(match[1]))
                    # What apps.core.middleware.SecurityHeadersMiddleware adds to every other response.
                    response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
                    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
                    return response
        return self.get_response(request)
