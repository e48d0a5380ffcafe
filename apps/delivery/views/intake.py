"""The webhook endpoint: no session, no CSRF; the signature is the proof."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.core import permissions

from .. import intake, services


def receive(request, token: str) -> JsonResponse:
    """The webhook endpoint of one integration: verify, store, answer (202 new, 200 seen before).

    Called straight from apps.delivery.fastpath for every POST (no session, CSRF or auth
    middleware); `intake_view` below is the same through the URL route."""
    length = request.META.get("CONTENT_LENGTH")
    try:
        if length and int(length) > intake.MAX_BODY_BYTES:
            return JsonResponse({"detail": "The body is larger than 1 MiB."}, status=413)
    except ValueError:
        return JsonResponse({"detail": "Bad Content-Length."}, status=400)
    body = request.read(intake.MAX_BODY_BYTES + 1)
    try:
        event, created = services.raw_event_receive(
            actor=permissions.SYSTEM, token=token, headers=request.headers, body=body
        )
    except intake.IntakeError as exc:
        return JsonResponse({"detail": exc.message}, status=exc.status)
    return JsonResponse(
        {"status": "accepted" if created else "duplicate", "delivery_id": event.delivery_id},
        status=202 if created else 200,
    )


intake_view = csrf_exempt(require_POST(receive))
