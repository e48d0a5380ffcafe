"""Sample ingest on PostgreSQL: appends COPYed in, rewrites merged, rollups exact, races safe.

The samples table has no database foreign key (see SLISample.sli); these tests hold
the ingest and delete paths to what the key would have guaranteed."""

import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction

from apps.core import permissions
from apps.slos import services
from apps.slos.models import SLI, SLIRollup, SLISample

from .factories import NOW_TS, fill, make_sli

HOUR = 3600


def rollups_of(sli):
    return sorted(SLIRollup.objects.filter(sli=sli).values_list("hour", "good", "total"))


def sums_of_samples(sli):
    """What every rollup must hold: the hourly sums of the stored samples, in SQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT bucket - bucket %% 3600, SUM(good), SUM(total) FROM slos_slisample WHERE sli_id = %s "
            "GROUP BY 1 ORDER BY 1",
            [sli.pk],
        )
        return [tuple(row) for row in cursor.fetchall()]


@pytest.mark.django_db
def test_a_batch_of_rewrites_and_appends_keeps_every_rollup_exact(cast):
    sli = make_sli(cast.service)
    # Stored: 10:00-11:30, so 11:00 is a half-full hour (the latest stored bucket is 11:25).
    fill(sli, start_ts=NOW_TS - 2 * HOUR, end_ts=NOW_TS - HOUR // 2, good=9, total=10)
    batch = [
        (sli.pk, NOW_TS - 2 * HOUR + 300, 1.0, 10.0),  # rewrites a bucket of a full hour
        (sli.pk, NOW_TS - HOUR // 2 - 300, 2.0, 10.0),  # rewrites the latest bucket
        (sli.pk, NOW_TS - HOUR // 2, 5.0, 10.0),  # appends to the half-full hour
        *[(sli.pk, NOW_TS + k * 300, 7.0, 10.0) for k in range(30)],  # appends 2.5 new hours
    ]
    assert services.samples_upsert(batch, actor=permissions.SYSTEM) == len(batch)
    assert SLISample.objects.filter(sli=sli).count() == 18 + 1 + 30
    assert rollups_of(sli) == sums_of_samples(sli)
    assert rollups_of(sli) == [
        (NOW_TS - 2 * HOUR, 11 * 9.0 + 1.0, 120.0),
        (NOW_TS - HOUR, 5 * 9.0 + 2.0 + 5.0, 70.0),
        (NOW_TS, 12 * 7.0, 120.0),
        (NOW_TS + HOUR, 12 * 7.0, 120.0),
        (NOW_TS + 2 * HOUR, 6 * 7.0, 60.0),
    ]
    before = list(SLISample.objects.filter(sli=sli).order_by("bucket").values_list("bucket", "good", "total"))
    services.samples_upsert(batch, actor=permissions.SYSTEM)  # the same batch again changes nothing
    assert list(SLISample.objects.filter(sli=sli).order_by("bucket").values_list("bucket", "good", "total")) == before
    assert rollups_of(sli) == sums_of_samples(sli)


@pytest.mark.django_db
def test_a_failing_row_leaves_nothing_written(cast):
    sli = make_sli(cast.service)
    fill(sli, start_ts=NOW_TS - HOUR, end_ts=NOW_TS, good=9, total=10)
    batch = [(sli.pk, NOW_TS + k * 300, 7.0, 10.0) for k in range(5)] + [(sli.pk, NOW_TS + 1500, 11.0, 10.0)]
    with pytest.raises(Exception, match="sli_sample_counts_valid"), transaction.atomic():
        services.samples_upsert(batch, actor=permissions.SYSTEM)  # good > total: the database's check refuses the COPY
    assert SLISample.objects.filter(sli=sli).count() == 12
    assert rollups_of(sli) == [(NOW_TS - HOUR, 108.0, 120.0)]


@pytest.mark.django_db
def test_samples_for_an_sli_that_does_not_exist_are_refused_whole(cast):
    sli = make_sli(cast.service)
    gone = make_sli(cast.service, name="Gone")
    gone_id = gone.pk
    gone.delete()
    batch = [(sli.pk, NOW_TS, 1.0, 1.0), (gone_id, NOW_TS, 1.0, 1.0)]
    with pytest.raises(IntegrityError, match=f"do not exist: {gone_id}"), transaction.atomic():
        services.samples_upsert(batch, actor=permissions.SYSTEM)
    assert not SLISample.objects.filter(sli_id__in=[sli.pk, gone_id]).exists()


@pytest.mark.django_db
def test_deleting_an_sli_or_its_service_deletes_its_samples_and_rollups(cast):
    sli = make_sli(cast.service)
    fill(sli, start_ts=NOW_TS - HOUR, end_ts=NOW_TS, good=9, total=10)
    sli_id = sli.pk
    cast.service.delete()
    assert not SLI.objects.filter(pk=sli_id).exists()
    assert not SLISample.objects.filter(sli_id=sli_id).exists()
    assert not SLIRollup.objects.filter(sli_id=sli_id).exists()


def run_together(first_body, second_body, hold_seconds=0.5):
    """Run two transactions on two connections: the first does its work and holds its
    transaction open while the second starts; returns the exceptions raised."""
    first_has_written, second_started = threading.Event(), threading.Event()
    errors = []

    def first():
        try:
            with transaction.atomic():
                first_body()
                first_has_written.set()
                second_started.wait(5)
                threading.Event().wait(hold_seconds)  # the second now runs into this transaction
        except Exception as exc:  # noqa: BLE001 (returned to the test)
            errors.append(exc)
            first_has_written.set()
        finally:
            connections.close_all()

    def second():
        try:
            first_has_written.wait(5)
            second_started.set()
            with transaction.atomic():
                second_body()
        except Exception as exc:  # noqa: BLE001 (returned to the test)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    return errors


@pytest.mark.django_db(transaction=True)
def test_an_sli_deleted_while_a_batch_is_written_keeps_no_samples(cast):
    """The delete waits for the batch, then removes its samples too: none is orphaned."""
    sli = make_sli(cast.service)
    sli_id = sli.pk
    rows = [(sli_id, NOW_TS + k * 300, 8.0, 10.0) for k in range(24)]
    errors = run_together(
        lambda: services.samples_upsert(rows, actor=permissions.SYSTEM), lambda: SLI.objects.get(pk=sli_id).delete()
    )
    assert errors == []
    assert not SLI.objects.filter(pk=sli_id).exists()
    assert not SLISample.objects.filter(sli_id=sli_id).exists()
    assert not SLIRollup.objects.filter(sli_id=sli_id).exists()


@pytest.mark.django_db(transaction=True)
def test_a_batch_arriving_while_its_sli_is_deleted_is_refused(cast):
    sli = make_sli(cast.service)
    sli_id = sli.pk
    rows = [(sli_id, NOW_TS + k * 300, 8.0, 10.0) for k in range(24)]
    errors = run_together(
        lambda: SLI.objects.get(pk=sli_id).delete(), lambda: services.samples_upsert(rows, actor=permissions.SYSTEM)
    )
    assert [type(e) for e in errors] == [IntegrityError]
    assert not SLISample.objects.filter(sli_id=sli_id).exists()


@pytest.mark.django_db(transaction=True)
def test_two_batches_appending_the_same_buckets_at_once_both_land(cast):
    """The second batch waits on the first's lock, then finds its rows stored: a merge, not
    a duplicate key. Without the lock it would read the same latest bucket and its COPY
    would hit the first batch's rows."""
    sli = make_sli(cast.service)
    fill(sli, start_ts=NOW_TS - HOUR, end_ts=NOW_TS, good=9, total=10)
    rows = [(sli.pk, NOW_TS + k * 300, 8.0, 10.0) for k in range(24)]
    errors = run_together(
        lambda: services.samples_upsert(rows, actor=permissions.SYSTEM),
        lambda: services.samples_upsert(rows, actor=permissions.SYSTEM),
    )
    assert errors == []
    assert SLISample.objects.filter(sli=sli).count() == 12 + 24
    assert (
        rollups_of(sli)
        == sums_of_samples(sli)
        == [
            (NOW_TS - HOUR, 108.0, 120.0),
            (NOW_TS, 96.0, 120.0),
            (NOW_TS + HOUR, 96.0, 120.0),
        ]
    )
