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
