"""Production: PostgreSQL via DATABASE_URL, Redis via REDIS_URL, HTTPS only."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import REDIS_URL, env

# Redis is the Celery broker and the shared cache (sign-in rate limits, the worker
# heartbeat) of every web and worker process. Without it the embedded default's fallbacks
# (a filesystem broker, a database cache) would start silently and fail on first use.
if not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_URL is required in production: it is the Celery broker and the cache shared by every "
        "process. Set it, e.g. REDIS_URL=redis://redis:6379/0 (see docker/.env.example)."
    )

DEBUG = False
# No default: starting without a real secret key is a configuration error.
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="smtp://localhost:25")
vars().update(EMAIL_CONFIG)
