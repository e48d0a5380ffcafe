"""Production start-up the way docker/ runs it: the image's collectstatic build step, the
compose `migrate` service, then gunicorn as `web`, and a person signing in through it.
Without REDIS_URL it refuses to start with a clear message (it used to start on a database
cache whose table nobody created, and sign-in failed with "no such table: django_cache")."""

import http.client
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tests.browser import TEST_PASSWORD
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = settings.DATABASES["default"]  # the test database, so the server sees the test's rows
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{db.get('USER') or 'postgres'}@{host}/{db['NAME']}"


def production_env(tmp_path, **extra) -> dict:
    """docker/.env.example's settings, pointed at the test's PostgreSQL and Redis."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL", "SECRET_KEY")}
    for line in (ROOT / "docker" / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",  # the image's ENV
            "SECRET_KEY": "production-startup-test-" + "k" * 40,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "STATIC_ROOT": str(tmp_path / "static"),
            "CACHE_KEY_PREFIX": "prodstart",
        }
    )
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def compose_command(service: str) -> list[str]:
    import yaml

    command = yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())["services"][service]["command"]
    return shlex.split(command[-1]) if command[:2] == ["sh", "-c"] else command


def run(args, env, timeout=300):
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)  # noqa: S603


def test_production_without_redis_url_refuses_to_start(tmp_path):
    env = production_env(tmp_path)
    env.pop("REDIS_URL")
    result = run([sys.executable if a == "python" else a for a in compose_command("migrate")], env)
    assert result.returncode != 0
    assert "REDIS_URL is required in production" in result.stderr.strip().splitlines()[-1]


@pytest.mark.integration  # builds the static files (about 90 s) and runs gunicorn
@pytest.mark.django_db(transaction=True)
def test_production_starts_and_a_person_signs_in(tmp_path):
    user = UserFactory(email="prod-start@example.test")
    # Tests hash with MD5 for speed; production knows only its own hashers.
    user.password = PBKDF2PasswordHasher().encode(TEST_PASSWORD, "prodstartsalt")
    user.save(update_fields=["password"])
    # The image's build step (docker/Dockerfile): collectstatic with placeholder settings.
    build = re.search(
        r"RUN (SECRET_KEY=.*?collectstatic --noinput)", (ROOT / "docker" / "Dockerfile").read_text(), re.S
    )
    words = shlex.split(build.group(1).replace("\\\n", " "))
    build_env = dict(w.split("=", 1) for w in words if "=" in w and not w.startswith("-"))
    built = run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        production_env(tmp_path, **build_env, STATIC_ROOT=str(tmp_path / "static")),
    )
    assert built.returncode == 0, built.stderr[-2000:]
    env = production_env(tmp_path)
    migrated = run([sys.executable if a == "python" else a for a in compose_command("migrate")], env)
    assert migrated.returncode == 0, migrated.stderr[-2000:]

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # The image's CMD as written (gunicorn.conf.py's workers included), bound to a free local port.
    image_cmd = json.loads(re.search(r"^CMD (\[.*\])$", (ROOT / "docker" / "Dockerfile").read_text(), re.M).group(1))
    assert image_cmd[:2] == ["gunicorn", "config.wsgi:application"]
    command = [sys.executable, "-m", *image_cmd]
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    web = subprocess.Popen(  # noqa: S603 - the image's CMD
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        cookies = SimpleCookie()

        def request(method, path, body=None, headers=None):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            sent = {"X-Forwarded-Proto": "https", "Host": "127.0.0.1"}  # behind the TLS proxy
            if cookies:
                sent["Cookie"] = "; ".join(f"{k}={m.value}" for k, m in cookies.items())
            sent.update(headers or {})
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                cookies.load(header)
            return response.status, response.headers, response.read().decode()

        deadline = time.monotonic() + 60
        while True:
            try:
                request("GET", "/healthz")
                break
            except OSError:
                assert web.poll() is None and time.monotonic() < deadline, web.stdout.read().decode()[-3000:]
                time.sleep(0.3)

        status, _headers, page = request("GET", "/accounts/login/")
        assert status == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, headers, body = request(
            "POST",
            "/accounts/login/",
            body=urlencode({"csrfmiddlewaretoken": token, "login": user.email, "password": TEST_PASSWORD}),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": "https://127.0.0.1/accounts/login/",
            },
        )
        assert status == 302, body[-2000:]
        assert "sessionid" in cookies
        status, _headers, home = request("GET", headers["Location"])
        assert status == 200 and "Sign out" in home
    finally:
        web.terminate()
        output = web.communicate(timeout=30)[0].decode()
    assert "django_cache" not in output and "Traceback" not in output, output[-3000:]
