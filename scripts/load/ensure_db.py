"""Create the PostgreSQL database named by DATABASE_URL if it does not exist (used by run.sh and bench.sh)."""

import os
from urllib.parse import urlparse

import psycopg

url = urlparse(os.environ["DATABASE_URL"])
name = url.path.lstrip("/")
server = f"postgresql://{url.username or 'postgres'}@{url.hostname or '127.0.0.1'}:{url.port or 5432}/postgres"
with psycopg.connect(server, autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        conn.execute(f'CREATE DATABASE "{name}"')  # the name comes from our own configuration
