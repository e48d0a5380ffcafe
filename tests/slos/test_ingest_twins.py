"""The samples upsert exists twice: the PostgreSQL path (COPY for appends, a temp table and one
INSERT ... ON CONFLICT for rewrites, rollups added up in Python or summed again in SQL) and the
SQLite path of the embedded default (one prepared upsert per row). This property test holds
them equal: any sequence of batches leaves the same samples and the same hourly rollups."""

import pytest
from django.db import transaction
from django.db.backends.sqlite3.base import DatabaseWrapper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core import permissions
from apps.slos import services
from apps.slos.models import BUCKET_SECONDS, SLIRollup, SLISample

from .factories import NOW_TS, make_sli

pytestmark = pytest.mark.django_db
START = NOW_TS - 86400


def _sqlite():
    lite = DatabaseWrapper(
        {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            "OPTIONS": {},
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            "TEST": {},
            "USER": "",
            "PASSWORD": "",
            "HOST": "",
            "PORT": "",
        },
        alias="slos_sqlite_twin",
    )
    with lite.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {SLISample._meta.db_table} (sli_id integer, bucket integer, good real, total real, "
            "UNIQUE (sli_id, bucket))"
        )
        cursor.execute(
            f"CREATE TABLE {SLIRollup._meta.db_table} (sli_id integer, hour integer, good real, total real, "
            "UNIQUE (sli_id, hour))"
        )
    return lite


def _batch(sli_count: int):
    # Whole counts: sums are exact whatever order each database adds them in.
    row = st.tuples(st.integers(0, sli_count - 1), st.integers(0, 40), st.integers(0, 1000), st.integers(0, 1000)).map(
        lambda r: (r[0], r[1], float(min(r[2], r[3])), float(r[3]))
    )
    return st.lists(row, min_size=1, max_size=30, unique_by=lambda r: (r[0], r[1]))


@pytest.fixture
def two_slis(cast):
    return [make_sli(cast.service, name="twin a").pk, make_sli(cast.service, name="twin b").pk]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(_batch(2), min_size=1, max_size=5))
def test_postgresql_and_sqlite_upserts_store_the_same(two_slis, batches):
    lite = _sqlite()
    try:
        with transaction.atomic():
            for batch in batches:
                # 40 buckets from START span four hours: appends, rewrites and hours summed again.
                rows = [(two_slis[s], START + b * BUCKET_SECONDS, g, t) for s, b, g, t in batch]
                services.samples_upsert(rows, actor=permissions.SYSTEM)
                services._samples_upsert_sqlite(rows, using=lite)
            samples = SLISample.objects.filter(sli_id__in=two_slis)
            rollups = SLIRollup.objects.filter(sli_id__in=two_slis)
            pg_samples = set(samples.values_list("sli_id", "bucket", "good", "total"))
            pg_rollups = set(rollups.values_list("sli_id", "hour", "good", "total"))
            transaction.set_rollback(True)
        with lite.cursor() as cursor:
            cursor.execute(f"SELECT sli_id, bucket, good, total FROM {SLISample._meta.db_table}")  # noqa: S608
            lite_samples = set(cursor.fetchall())
            cursor.execute(f"SELECT sli_id, hour, good, total FROM {SLIRollup._meta.db_table}")  # noqa: S608
            lite_rollups = set(cursor.fetchall())
    finally:
        lite.close()
    assert pg_samples == lite_samples
    assert pg_rollups == lite_rollups
    # The last write of a (sli, bucket) wins, and each hour sums its buckets.
    last = {}
    for batch in batches:
        for s, b, g, t in batch:
            last[(two_slis[s], START + b * BUCKET_SECONDS)] = (g, t)
    assert pg_samples == {(k[0], k[1], *v) for k, v in last.items()}
