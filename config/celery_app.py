"""Celery application.

Every task in this project is written to be idempotent (it loads rows by id and
upserts), so we acknowledge late and re-queue on worker loss: a killed worker
means the task runs again, never that it is lost.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("devops_maturity")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
