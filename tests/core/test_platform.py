"""Settings, jobs and demo data of the platform as a whole."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, env_extra=None):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage(
        "check",
        "--settings=config.settings.production",
        env_extra={"ALLOWED_HOSTS": "x.example.com", "DATABASE_URL": "sqlite:////tmp/x.sqlite3"},
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_check_deploy_is_clean():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        "--settings=config.settings.production",
        env_extra={
            "SECRET_KEY": "x" * 20 + "-Qm3Vq9Zk1Lp0Wr8Ty7Ux6Sd5Fg4Hj2Kl",
            "ALLOWED_HOSTS": "x.example.com",
            "DATABASE_URL": os.environ.get("DATABASE_URL", "sqlite:////tmp/x.sqlite3"),
            "REDIS_URL": "redis://127.0.0.1:6379/14",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_celery_is_configured_for_idempotent_tasks():
    from config.celery_app import app

    conf = app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.task_time_limit < conf.broker_transport_options["visibility_timeout"]
    assert conf.broker_url.startswith("redis://")
    assert conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


@pytest.mark.django_db
def test_schedules_are_created_after_migrate_and_admin_edits_stick():
    from django_celery_beat.models import PeriodicTask

    from apps.core.schedules import sync_periodic_tasks

    sync_periodic_tasks()
    task = PeriodicTask.objects.get(name="worker heartbeat")
    assert task.task == "apps.core.tasks.heartbeat" and task.interval.every == 60
    task.enabled = False
    task.save()
    sync_periodic_tasks()
    assert PeriodicTask.objects.get(name="worker heartbeat").enabled is False


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_runs_the_heartbeat(settings):
    """Queue through Redis and let a real worker thread execute the task."""
    from celery.contrib.testing.worker import start_worker
    from django.core.cache import cache

    from apps.core.tasks import HEARTBEAT_KEY, heartbeat
    from config.celery_app import app

    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="INFO"):
            import time

            heartbeat.delay()

            deadline = time.monotonic() + 20
            while cache.get(HEARTBEAT_KEY) is None and time.monotonic() < deadline:
                time.sleep(0.2)
    finally:
        app.conf.task_always_eager = True
    assert cache.get(HEARTBEAT_KEY) is not None


@pytest.mark.django_db
def test_seed_demo_is_idempotent(capsys):
    from django.contrib.auth import get_user_model

    from apps.teams.models import Department, Organization, OrgMembership, Service, Team, TeamMembership

    models = [Organization, Department, Team, Service, OrgMembership, TeamMembership, get_user_model()]
    call_command("seed_demo", "--quiet-logins")
    first = {m.__name__: m.objects.count() for m in models}
    snapshot = sorted(Service.objects.values_list("slug", "team__slug", "tier", "lifecycle"))
    delivered = _demo_delivery_counts()
    call_command("seed_demo")
    assert {m.__name__: m.objects.count() for m in models} == first
    assert _demo_delivery_counts() == delivered  # the intake deduped every re-sent delivery
    assert sorted(Service.objects.values_list("slug", "team__slug", "tier", "lifecycle")) == snapshot
    north = Organization.objects.get(slug="northwind")
    assert north.departments.count() == 3 and north.teams.count() == 12
    assert 35 <= north.services.count() <= 45
    roles = set(north.memberships.values_list("role", flat=True))
    assert roles == {"admin", "leader", "member"}
    assert "Demo sign-ins" in capsys.readouterr().out


def _demo_delivery_counts() -> dict:
    """The demo's last two weeks arrived as signed deliveries through the intake (each
    deployment has its raw events, none failed), the months before are marked imported, and
    one push chain runs through both: every commit has its parent but each repository's first."""
    from apps.delivery.models import Change, Deployment, Integration, RawEvent
    from apps.postmortems.models import Incident

    github = Integration.objects.get(organization__slug="northwind", name="GitHub (demo)")
    pagerduty = Integration.objects.get(organization__slug="northwind", name="PagerDuty (demo)")
    assert github.last_delivery_at is not None and pagerduty.last_delivery_at is not None
    events = RawEvent.objects.filter(integration__in=[github, pagerduty])
    assert not events.exclude(status=RawEvent.Status.PROCESSED).exists()
    delivered = Deployment.objects.filter(integration=github)
    assert delivered.count() == events.filter(event_type="deployment_status").count() > 20
    assert events.filter(event_type="push").count() == delivered.count()
    assert Deployment.objects.filter(organization__slug="northwind", source="import").count() > 1000
    changes = Change.objects.filter(organization__slug="northwind")
    assert set(changes.values_list("source", flat=True)) == {"github", "import"}
    repositories = changes.values("repository").distinct().count()
    assert changes.filter(parent_sha="").count() == repositories > 10
    paged = Incident.objects.filter(organization__slug="northwind", source="pagerduty", external_id__startswith="demo-")
    assert paged.count() == events.filter(event_type="incident.triggered").count() > 0
    return {"events": events.count(), "deployments": delivered.count(), "changes": changes.count()}


def test_the_default_settings_need_no_server():
    """The embedded default: SQLite and a filesystem broker."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings.local';"
            "django.setup(); from django.conf import settings as s;"
            "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.CACHES['default']['BACKEND'])",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")},
    )
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "filesystem://",
        "django.core.cache.backends.db.DatabaseCache",
    ], result.stderr
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")  # while tests use the real Redis


def test_the_embedded_default_migrates_and_seeds_the_demo(tmp_path):
    """What `make run` does before it starts the processes, on a fresh SQLite file: the
    SLO samples' upserts need their (sli, bucket) key there too (they once lacked it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.local", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"})
    for args in (["migrate", "--noinput", "-v0"], ["createcachetable"], ["seed_demo", "--quiet-logins"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, (args, result.stderr[-2000:])
    counted = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.db.models import Sum;"
            "from apps.slos.models import SLISample, SLIRollup, SLO;"
            "print(SLO.objects.count(), SLISample.objects.count(), SLISample.objects.aggregate(t=Sum('total'))['t'],"
            "SLIRollup.objects.aggregate(t=Sum('total'))['t'])",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    slos, samples, sampled_events, rolled_up_events = map(float, counted.stdout.split())
    assert slos >= 10 and samples >= slos * 8000 and sampled_events == rolled_up_events > 0, counted.stdout
