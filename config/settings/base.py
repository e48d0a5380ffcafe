"""Settings shared by every environment. Everything that differs between
machines comes from environment variables (see docker/.env.example)."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

TIME_ZONE = "UTC"
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = True

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded default runs web, worker and beat on one SQLite file. WAL lets readers
    # and a writer work at once; a writer waits up to 20 s for the lock (busy timeout)
    # instead of failing with "database is locked"; IMMEDIATE transactions take the write
    # lock at BEGIN, so two read-then-write transactions queue instead of deadlocking
    # (SQLite refuses the second one at once, whatever the timeout).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
# The release gate's per-call statements are prepared once per connection (apps/core/db.py). Turn
# this off behind a pooler in transaction mode that cannot keep prepared statements (PgBouncer
# before 1.21, or without max_prepared_statements); Django's own queries never prepare.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
# Default Prometheus HTTP API for SLIs that do not name their own.
PROMETHEUS_URL = env("PROMETHEUS_URL", default="")

DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
]
THIRD_PARTY_APPS = [
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "import_export",
]
LOCAL_APPS = [
    "apps.core",
    "apps.accounts",
    "apps.teams",
    "apps.assessments",
    "apps.slos",
    "apps.postmortems",
    "apps.delivery",
    "apps.scoring",
    "apps.sre",
    "apps.notifications",
    "apps.servicechecks",
    "apps.initiatives",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Signed webhook deliveries are answered here, before the session and page middleware.
    "apps.delivery.fastpath.IntakeFastPathMiddleware",
    # CI calls to the release gate with an API token are answered here, before the page middleware.
    "apps.sre.fastpath.GateFastPathMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "apps.core.middleware.SecurityHeadersMiddleware",
    "apps.teams.middleware.CurrentOrganizationMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.teams.context_processors.organization",
            ],
        },
    }
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# --- allauth -------------------------------------------------------------
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PRESERVE_USERNAME_CASING = False
# Admins create or invite users; set SIGNUP_OPEN=true to let anyone register.
SIGNUP_OPEN = env.bool("SIGNUP_OPEN", default=False)
# allauth counts attempts in the default cache (Redis in production): the
# limits hold across every web process, not per process.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "signup": "20/m/ip",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", default="DevOps Maturity")

# --- email ---------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="DevOps Maturity <noreply@example.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- caches --------------------------------------------------------------
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env("REDIS_CACHE_URL", default=REDIS_URL),
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="dm"),
        }
    }
else:
    # A database cache is shared by every process (web, worker), unlike locmem,
    # so rate limits and the worker heartbeat work on the embedded default too.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
        }
    }

# --- static files (npm packages are collected from node_modules) ----------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/chart.js", NODE_MODULES / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

MESSAGE_TAGS = {40: "danger"}

# --- REST API ------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.StandardPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "user": "6000/min"},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DevOps Maturity API",
    "DESCRIPTION": "Teams, services, assessments, SLOs, postmortems, delivery metrics and scores.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # 137 operations: a filter box (by tag) and links to one operation (#/tag/operationId).
    "SWAGGER_UI_SETTINGS": {"filter": True, "deepLinking": True},
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Several models have a "status" or "kind"; name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "ServiceTierEnum": "apps.teams.models.Service.Tier",
        "OrgRoleEnum": "apps.teams.models.OrgMembership.Role",
        "TeamRoleEnum": "apps.teams.models.TeamMembership.Role",
        "AssessmentStatusEnum": "apps.assessments.models.Assessment.Status",
        "IncidentStatusEnum": "apps.postmortems.models.Incident.Status",
        "IncidentSeverityEnum": "apps.postmortems.models.Incident.Severity",
        "IncidentSourceEnum": "apps.postmortems.models.Incident.Source",
        "PostmortemStatusEnum": "apps.postmortems.models.Postmortem.Status",
        "PostmortemEventKindEnum": "apps.postmortems.models.PostmortemEvent.Kind",
        "ActionItemStatusEnum": "apps.postmortems.models.ActionItem.Status",
        "ActionItemKindEnum": "apps.postmortems.models.ActionItem.Kind",
        "RawEventStatusEnum": "apps.delivery.models.RawEvent.Status",
        "DeploymentStatusEnum": "apps.delivery.models.Deployment.Status",
        "IntegrationKindEnum": "apps.delivery.models.Integration.Kind",
        "IntegrationKindValueEnum": ["github", "gitlab", "pagerduty", "opsgenie", "alertmanager", "generic"],
        "DoraTierEnum": ["elite", "high", "medium", "low"],
        "SLIKindEnum": "apps.slos.models.SLI.Kind",
        "SLISourceEnum": "apps.slos.models.SLI.Source",
        "BurnRateAlertSeverityEnum": "apps.slos.models.BurnRateAlert.Severity",
        "ExemptionStatusEnum": "apps.scoring.models.Exemption.Status",
        "ScoringRunStatusEnum": "apps.scoring.models.ScoringRun.Status",
    },
}

# --- Celery --------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # The filesystem transport needs no server: the embedded default runs web,
    # worker and beat on one machine with nothing else installed.
    _broker_dir = VAR_DIR / "celery-broker"
    CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TIMEZONE = TIME_ZONE
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
# Tasks are idempotent: acknowledge after the work and re-deliver on worker loss.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Hard limit well under the broker's one-hour visibility timeout, so a stuck
# task is killed (and retried) before Redis hands it to a second worker.
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Periodic jobs are declared in code by each app (apps.core.schedules.declare).

# --- security headers -----------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Everything is served from our own origin; Swagger UI needs inline styles.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)

IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_ACTION_EXPORT_UI = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact_secret_paths": {"()": "apps.core.logging.RedactSecretPaths"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secret_paths"]}
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
