"""The OpenAPI schema fuzzed with schemathesis against a running gunicorn, as each role.

For every operation of /api/schema/, schemathesis generates requests (valid and
invalid bodies, query strings and ids) and sends them over HTTP with a personal
API token of one member of the cast. Two checks must hold for every response:

- not_a_server_error: no 5xx, whatever the input;
- response_schema_conformance: the body matches the schema of its documented status.

Bounded for CI: a fixed seed, a few examples per operation (FUZZ_MAX_EXAMPLES, default 4;
set it to 25 for a deeper run), one schemathesis worker against two gunicorn workers,
and the roles in the order that keeps the most data alive for the next one (the
org admin, who may delete, goes last). A failure prints schemathesis' report with
a curl command to reproduce it.
"""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from apps.accounts.services import api_token_create
from apps.assessments import services as assessment_services
from apps.assessments.models import Framework
from apps.core import permissions
from apps.scoring import services as scoring_services
from apps.teams.models import Team
from tests.faults.conftest import Gunicorn, database_url
from tests.postmortems.factories import IncidentFactory, make_postmortem
from tests.slos.factories import make_sli, make_slo

pytestmark = pytest.mark.integration

ROLES = ("outsider", "other_member", "member", "leader", "lead", "org_admin")
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "4"))
SEED = 20261122
REPORTS = Path(__file__).resolve().parents[2] / "artifacts" / "fuzz"


def _some_records(cast):
    """A few real rows of each kind (with their empty, nullable fields) for the endpoints to serialize."""
    assessment_services.framework_load_builtin(actor=permissions.SYSTEM)
    calms = Framework.objects.get(organization=None, key="calms", version=1)
    today = timezone.localdate()
    assessment_services.campaign_open(
        organization=cast.org,
        frameworks=[calms],
        name="This quarter",
        opens_on=today - dt.timedelta(days=1),
        closes_on=today + dt.timedelta(days=14),
        teams=[cast.team, cast.other_team],
        actor=permissions.SYSTEM,
    )
    scoring_services.score_teams(
        actor=permissions.SYSTEM, teams=Team.objects.select_related("organization"), as_of=today
    )
    sli = make_sli(cast.service)
    make_slo(sli)
    start = timezone.now().replace(microsecond=0) - dt.timedelta(days=2)
    incident = IncidentFactory(team=cast.team, severity=2, started_at=start, resolved_at=start + dt.timedelta(hours=1))
    incident.services.add(cast.service)
    make_postmortem(cast, incident=incident, status="published")


def _fuzz(base_url: str, token: str, role: str) -> subprocess.CompletedProcess:
    REPORTS.mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{base_url}/api/schema/",
        "--base-url",
        base_url,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--hypothesis-max-examples",
        str(MAX_EXAMPLES),
        "--hypothesis-seed",
        str(SEED),
        "--hypothesis-deadline",
        "None",
        "--hypothesis-suppress-health-check",
        "all",
        "--hypothesis-phases",
        "explicit,generate",
        "--generation-allow-x00",
        "false",
        # One worker: schemathesis' threaded runner was seen to deadlock (all threads in futex wait).
        "--workers",
        "1",
        "--request-timeout",
        "20000",
        "--junit-xml",
        str(REPORTS / f"{role}.xml"),
        "--no-color",
        "--show-trace",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, check=False)  # noqa: S603


@pytest.mark.django_db(transaction=True)
def test_api_holds_its_schema_for_every_role(cast, tmp_path):
    _some_records(cast)
    tokens = {role: api_token_create(actor=cast.user(role), user=cast.user(role), name="fuzz")[1] for role in ROLES}
    # A real server (gunicorn, 2 workers x 4 threads) on this test's database.
    server = Gunicorn(settings.REDIS_URL, database_url(), tmp_path)
    base_url = server.url
    failures = []
    try:
        results = {role: _fuzz(base_url, tokens[role], role) for role in ROLES}
    finally:
        server.stop()
    for role, result in results.items():
        (REPORTS / f"{role}.txt").write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            failures.append(
                f"--- {role} (exit {result.returncode}) ---\n{result.stdout[-6000:]}{result.stderr[-2000:]}"
            )
    assert not failures, "\n".join(failures)
