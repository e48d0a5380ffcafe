"""The embedded default: SQLite, a filesystem broker, console email."""

from pathlib import Path

from .base import *  # noqa: F401,F403
from .base import CELERY_BROKER_TRANSPORT_OPTIONS, VAR_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-development-only-not-secret")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

VAR_DIR.mkdir(exist_ok=True)
# Kombu's filesystem transport expects its folders to exist.
for folder in ("data_folder_in", "processed_folder", "control_folder"):
    if folder in CELERY_BROKER_TRANSPORT_OPTIONS:
        Path(CELERY_BROKER_TRANSPORT_OPTIONS[folder]).mkdir(parents=True, exist_ok=True)
