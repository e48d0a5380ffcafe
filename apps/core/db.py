"""Statements the hot paths run thousands of times a second, prepared once per connection.

Django's psycopg cursors bind parameters on the client (the values are written into the SQL
text), so PostgreSQL parses and plans every call afresh: for the release gate's call statement
that is about 0.5 ms of planning against 0.1 ms of execution. A psycopg cursor with
`prepare=True` sends the text once per connection and then only the values, and PostgreSQL
keeps the plan (0.12 ms of the server's CPU a call against 0.85 ms, measured on that statement).
On other databases (the embedded SQLite default), or with DATABASE_PREPARED_STATEMENTS off (a
transaction-mode pooler that cannot keep them), this is Django's own cursor."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections


def fetchone_prepared(sql: str, params) -> tuple | None:
    """The first row of `sql` (psycopg placeholders, %s or %(name)s) run with `params`, or None."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each attribute read through django.db.connection costs a lookup
    if db.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    import psycopg

    db.ensure_connection()
    raw = db.connection
    if raw.prepare_threshold is None:
        # Django turns preparing off for the whole connection (for poolers in transaction mode;
        # PgBouncer 1.21+ with max_prepared_statements keeps protocol-level prepares working). A
        # threshold no statement reaches prepares only what asks for it; Django's own cursors bind
        # on the client and never prepare.
        raw.prepare_threshold = 2**31
    started = time.monotonic()
    # Errors go through Django's wrapper, so a broken connection is marked and closed at the
    # request's end as with any other query.
    with db.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        cursor.execute(sql, params, prepare=True)
        row = cursor.fetchone()
    # DEBUG and the tests' query counts see it like any other query; hooks added with
    # connection.execute_wrapper() do not (it bypasses Django's cursor wrapper).
    if db.queries_logged:
        db.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return row
