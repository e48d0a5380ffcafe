"""apps.core.db.fetchone_prepared: the hot paths' prepared statements, on the real PostgreSQL."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.core.db import fetchone_prepared

pytestmark = pytest.mark.django_db

SQL = "SELECT %(a)s::int + %(b)s::int, %(a)s::text"


def _prepared_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


def test_rows_come_back_and_postgresql_keeps_one_plan_for_the_statement():
    before = _prepared_names()
    assert fetchone_prepared(SQL, {"a": 2, "b": 3}) == (5, "2")
    assert fetchone_prepared(SQL, {"a": 40, "b": 2}) == (42, "40")
    # Prepared once on this connection, re-used by the second call.
    assert len(_prepared_names() - before) == 1
    assert fetchone_prepared("SELECT 1 WHERE %s", [False]) is None


def test_django_cursors_on_the_same_connection_still_bind_on_the_client():
    fetchone_prepared(SQL, {"a": 1, "b": 1})
    before = _prepared_names()
    for n in range(10):  # past psycopg's usual threshold of 5: Django's queries are not prepared
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s::int", [n])
    assert _prepared_names() == before


def test_query_counts_and_debug_logs_see_it():
    with CaptureQueriesContext(connection) as queries:
        fetchone_prepared(SQL, {"a": 1, "b": 2})
    assert [q["sql"] for q in queries.captured_queries] == [SQL]


def test_errors_are_djangos_and_the_connection_recovers():
    with pytest.raises(DatabaseError), transaction.atomic():  # its savepoint rolls back, as a request's would
        fetchone_prepared("SELECT 1 / %s::int", [0])
    assert fetchone_prepared(SQL, {"a": 1, "b": 1}) == (2, "1")


@pytest.mark.django_db(transaction=True)
def test_a_closed_connection_is_opened_again():
    connection.close()
    assert fetchone_prepared(SQL, {"a": 3, "b": 4}) == (7, "3")


def test_behind_a_pooler_that_cannot_keep_them_nothing_is_prepared(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    before = _prepared_names()
    for n in range(3):  # a statement no other test runs, so it cannot have been prepared already
        assert fetchone_prepared("SELECT %(a)s::int * 2", {"a": n}) == (n * 2,)
    assert _prepared_names() == before
