# Read by gunicorn from the directory it starts in (the image's /app, the repository root).
# Webhook intake URLs carry a token: gunicorn's own logs redact it as Django's do.
logger_class = "apps.core.logging.GunicornLogger"
