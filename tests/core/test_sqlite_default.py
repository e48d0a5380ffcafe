"""The embedded default's SQLite file is shared by web, worker and beat: WAL, a busy timeout
and IMMEDIATE transactions, so concurrent writers queue instead of "database is locked"."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRAGMAS = """
import django; django.setup()
from django.db import connection
with connection.cursor() as c:
    print(*[c.execute(f"PRAGMA {name}").fetchone()[0] for name in ("journal_mode", "busy_timeout")])
"""

# Each process: 60 transactions that read, pause, then write (how services work: select, then upsert).
WRITER = """
import time, django; django.setup()
from django.db import connection, transaction
with connection.cursor() as c:
    c.execute("CREATE TABLE IF NOT EXISTS contention (n integer)")
for i in range(60):
    with transaction.atomic(), connection.cursor() as c:
        c.execute("SELECT count(*) FROM contention")
        time.sleep(0.005)
        c.execute("INSERT INTO contention VALUES (1)")
print("ok")
"""


def _env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.local", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"})
    return env


def test_sqlite_uses_wal_and_a_busy_timeout(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PRAGMAS], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["wal", "20000"], result.stderr[-2000:]


def test_concurrent_read_then_write_transactions_do_not_lock(tmp_path):
    env = _env(tmp_path)
    subprocess.run([sys.executable, "-c", WRITER.replace("range(60)", "range(0)")], cwd=ROOT, env=env, check=True)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    outputs = [w.communicate(timeout=120) for w in writers]
    for writer, (out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0 and out.decode().strip() == "ok", err.decode()[-2000:]
    counted = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.db import connection; c = connection.cursor();"
            "print(c.execute('SELECT count(*) FROM contention').fetchone()[0])",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert counted.stdout.strip() == "180"  # every write of every process, none lost


# A CI call to the release gate on the embedded default: the short path is PostgreSQL's, so the API
# view answers, and the decision is recorded in SQLite's own JSON text.
GATE_CALL = """
import json, django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0); call_command("createcachetable")
from django.test import Client
from apps.accounts.models import User
from apps.accounts.services import api_token_create
from apps.core.permissions import SYSTEM
from apps.sre.models import GateDecision
from apps.teams import services as ts
org = ts.organization_upsert(actor=SYSTEM, name="O", slug="o")
team = ts.team_upsert(actor=SYSTEM, organization=org, name="T", slug="t")
service = ts.service_upsert(actor=SYSTEM, organization=org, team=team, name="api")
ci = User.objects.create_user(email="ci@example.test", password="gate-password-2026")
ts.team_membership_set(actor=SYSTEM, team=team, user=ci, role="member")
_, key = api_token_create(actor=ci, user=ci, name="ci")
answer = Client(HTTP_HOST="localhost").post(
    f"/api/v1/sre/gate/{service.pk}/", {"kind": "fix", "ref": "v1"}, content_type="application/json",
    HTTP_AUTHORIZATION=f"Bearer {key}",
)
stored = GateDecision.objects.get()
print(json.dumps([answer.status_code, answer.json(), stored.pk, stored.kind, stored.ref, stored.slos, stored.allowed]))
"""


def test_release_gate_answers_and_records_on_sqlite(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", GATE_CALL], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    status, answer, pk, kind, ref, slos, allowed = json.loads(result.stdout.strip().splitlines()[-1])
    assert status == 200
    assert answer["decision"] == "allow" and answer["id"] == pk and answer["slos"] == []
    assert (kind, ref, slos, allowed) == ("fix", "v1", [], True)
