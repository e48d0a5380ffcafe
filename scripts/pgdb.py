"""PostgreSQL databases of the benchmark and load scripts: created when missing, or
recreated empty. The name comes from our own configuration (BENCH_*_DATABASE_URL)."""

from urllib.parse import urlparse


def _server_and_name(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    return parsed._replace(path="/postgres").geturl(), parsed.path.lstrip("/")


def ensure_database(url: str) -> None:
    import psycopg

    server, name = _server_and_name(url)
    with psycopg.connect(server, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def recreate_database(url: str) -> None:
    import psycopg

    server, name = _server_and_name(url)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def recreate_migrated(url: str, env: dict) -> None:
    """Recreate the database empty and migrate it, with `env` naming its settings."""
    import subprocess
    import sys
    from pathlib import Path

    recreate_database(url)
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=root, env=env, check=True)  # noqa: S603
