"""The webhook intake's short path: `POST /delivery/hooks/<token>/` is answered here, right after
SecurityMiddleware, before sessions, CSRF, auth, messages, allauth, htmx and the organization
switcher run (a source sends no cookie and is proved by its signature alone). The answer is the
intake view's, status for status; every other request goes the usual way."""

from __future__ import annotations

import re

from django.conf import settings

HOOK_PATH = re.compile(r"^/delivery/hooks/([^/]+)/$")


class IntakeFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST":
            match = HOOK_PATH.match(request.path_info)
            if match:
                from .views.intake import receive

                request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware checks it (DisallowedHost: 400)
                response = receive(request, match[1])
                # What apps.core.middleware.SecurityHeadersMiddleware adds to every other response.
                response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
                response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
                return response
        return self.get_response(request)
