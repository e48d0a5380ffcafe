"""The webhook intake's short path: `POST /delivery/hooks/<token>/` is answered here, right after
SecurityMiddleware, before sessions, CSRF, auth, messages, allauth, htmx and the organization
switcher run (a source sends no cookie and is proved by its signature alone). The answer is the
intake view's, status for status; every other request goes the usual way."""

from __future__ import annotations

import re

from apps.core.middleware import short_path

HOOK_PATH = re.compile(r"^/delivery/hooks/([^/]+)/$")


class IntakeFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST":
            match = HOOK_PATH.match(request.path_info)
            if match:
                from .views.intake import receive

                return short_path(request, receive, match[1])
        return self.get_response(request)
