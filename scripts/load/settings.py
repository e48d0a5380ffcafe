"""Production settings as they run behind a TLS-terminating proxy, load-tested over plain HTTP on localhost.

Only what plain HTTP needs changes: no redirect to HTTPS, no HSTS, cookies without
the Secure flag (a client over http:// would not send them back). Everything else,
including DEBUG=False, the manifest static storage and the Redis cache, is production's.
"""

from config.settings.production import *  # noqa: F401,F403

SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
