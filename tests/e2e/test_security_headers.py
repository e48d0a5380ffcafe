"""Security headers on real HTTP responses (a running server), and HSTS/HTTPS under production settings.

allauth's sign-in rate limits are proven in tests/accounts/test_ratelimit.py (Redis-backed,
per account across clients, per IP); `check --deploy` runs in .ci/run.
"""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def fetch(url: str):
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers


def csp_directives(value: str) -> dict[str, list[str]]:
    parts = [p.strip().split() for p in value.split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/accounts/login/", 200),  # an HTML page
        ("/", 302),  # a redirect to sign in
        ("/api/v1/teams/", 401),  # the API without credentials
        ("/api/schema/", 200),
        ("/no-such-page/", 404),
    ],
)
def test_every_response_carries_the_security_headers(live_server, path, status):
    got, headers = fetch(live_server.url + path)
    assert got == status
    csp = csp_directives(headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no inline scripts, no CDN
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in headers  # plain HTTP in tests: HSTS only under production


def test_static_files_are_not_sniffed(client, db):
    # Through the whole middleware stack (live_server would short-circuit /static/ with its own handler).
    # WhiteNoise answers before the view middleware: Django's SecurityMiddleware (outermost) still
    # sets nosniff, Referrer-Policy and COOP. CSP and X-Frame-Options govern documents, not scripts.
    response = client.get("/static/js/app.js")
    got, headers = response.status_code, response.headers
    assert got == 200
    assert headers["Content-Type"].startswith("text/javascript")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_session_and_csrf_cookies_are_http_only_or_same_site(client, db):
    response = client.get("/accounts/login/")
    csrf = response.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["samesite"].lower() == "lax"


PRODUCTION_PROBE = """
import json, django
django.setup()
from django.test import Client
c = Client()
from django.conf import settings
# (An API route: production pages need collectstatic's manifest, which a test run does not build.)
plain = c.get("/api/v1/teams/")
secure = c.get("/api/v1/teams/", secure=True)
health = c.get("/healthz")
print(json.dumps({
    "plain": [plain.status_code, plain.headers.get("Location", "")],
    "secure": [secure.status_code, dict(secure.headers)],
    "cookies": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY],
    "health": health.status_code,
}))
"""


def test_production_settings_redirect_to_https_and_send_hsts(db):
    db_settings = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "probe-" + "x" * 60,
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"postgres://{db_settings.get('USER') or 'postgres'}@{db_settings.get('HOST') or '127.0.0.1'}:"
        f"{db_settings.get('PORT') or 5432}/{db_settings['NAME']}",
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", PRODUCTION_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-3000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["plain"] == [301, "https://testserver/api/v1/teams/"]
    status, headers = probe["secure"]
    assert status == 401
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert probe["cookies"] == [True, True, True]  # session and CSRF cookies only over HTTPS
    assert probe["health"] in (200, 503)  # the health check is exempt from the HTTPS redirect
