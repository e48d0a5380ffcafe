"""A short smoke version of the load run (scripts/load/run.sh): the same locustfile, 8 seconds, zero errors.

The real run (40 users, a minute, demo data, figures in docs/quality.md) is not a test; this
keeps its locustfile working against the current pages, API and webhook intake.
"""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from apps.accounts.services import api_token_create
from apps.core import permissions
from apps.delivery import services as delivery_services
from tests.browser import TEST_PASSWORD
from tests.faults.conftest import Gunicorn, database_url

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_the_load_mix_runs_without_errors(cast, tmp_path):
    _, key = api_token_create(actor=cast.leader, user=cast.leader, name="load smoke")
    secret = "load-smoke-secret-0123456789abcdef"
    integration, _ = delivery_services.integration_create(
        actor=permissions.SYSTEM, organization=cast.org, team=cast.team, name="GitHub", kind="github", secret=secret
    )
    server = Gunicorn(settings.REDIS_URL, database_url(), tmp_path)
    env = {
        **os.environ,
        "LOAD_EMAIL": cast.leader.email,
        "LOAD_PASSWORD": TEST_PASSWORD,
        "LOAD_API_TOKEN": key,
        "LOAD_HOOK_SECRET": secret,
        "LOAD_HOOK_PATH": f"/delivery/hooks/{integration.token}/",
    }
    try:
        result = subprocess.run(  # noqa: S603
            [
                str(Path(sys.executable).with_name("locust")),
                "-f",
                str(ROOT / "scripts" / "load" / "locustfile.py"),
                "--headless",
                "--host",
                server.url,
                "--users",
                "6",
                "--spawn-rate",
                "6",
                "--run-time",
                "8s",
                "--csv",
                str(tmp_path / "smoke"),
                "--only-summary",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        server.stop()
    rows = {row["Name"]: row for row in csv.DictReader((tmp_path / "smoke_stats.csv").read_text().splitlines())}
    total = rows["Aggregated"]
    failures = (tmp_path / "smoke_failures.csv").read_text()
    assert int(total["Failure Count"]) == 0, failures + result.stderr[-3000:]
    assert int(total["Request Count"]) > 20
    # Every kind of user did its work: pages after signing in, API reads, webhook deliveries.
    assert {"/accounts/login/ [POST]", "/scoring/", "/api/v1/teams/", "/delivery/hooks/<token>/"} <= set(rows)
