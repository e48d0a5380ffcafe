from django.conf import settings


def add_security_headers(response):
    """Content-Security-Policy and Permissions-Policy, unless the response set its own."""
    response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    return response


def short_path(request, answer, *args):
    """`answer(request, *args)` for a route answered before the rest of the middleware (the webhook
    intake, the release gate): the host check CommonMiddleware would make (a disallowed Host is a
    400 before anything runs) and the headers SecurityHeadersMiddleware would add."""
    request.get_host()
    return add_security_headers(answer(request, *args))


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response.

    All scripts and styles are served from our own origin (npm packages go
    through staticfiles), so the policy needs no CDN allowances.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return add_security_headers(self.get_response(request))
