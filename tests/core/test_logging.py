import logging

from apps.core.logging import RedactSecretPaths


def test_webhook_tokens_are_redacted_from_log_lines():
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Unauthorized: %s", ("/delivery/hooks/AbC123xyz/",), None
    )
    assert RedactSecretPaths().filter(record)
    assert record.getMessage() == "Unauthorized: /delivery/hooks/<redacted>/"
    plain = logging.LogRecord("x", logging.INFO, __file__, 1, "GET %s", ("/teams/",), None)
    RedactSecretPaths().filter(plain)
    assert plain.getMessage() == "GET /teams/"


def test_the_filter_is_on_the_console_handler(settings):
    assert "redact_secret_paths" in settings.LOGGING["handlers"]["console"]["filters"]


def test_gunicorn_access_log_redacts_webhook_tokens(tmp_path):
    """A real gunicorn started from the repository root, as in the image."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    access = tmp_path / "access.log"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--access-logfile", access],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        token = "tok_ShouldNeverBeLogged42"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/delivery/hooks/{token}/", timeout=2)  # noqa: S310
            except urllib.error.HTTPError:
                break  # answered (a GET on the intake is refused): the request was logged
            except OSError:
                time.sleep(0.2)
        for _ in range(50):
            if access.exists() and "/delivery/hooks/" in access.read_text():
                break
            time.sleep(0.1)
        logged = access.read_text()
        assert "/delivery/hooks/<redacted>/" in logged
        assert token not in logged
    finally:
        server.terminate()
        server.wait(20)
