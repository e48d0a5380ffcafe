"""The embedded default's SQLite file is shared by web, worker and beat: WAL, a busy timeout
and IMMEDIATE transactions, so concurrent writers queue instead of "database is locked"."""

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
