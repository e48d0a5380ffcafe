"""The intake's outbox: stored raw events are pending until a drain processes them; intake wakes
the drain at most once per gate interval instead of queuing one task per delivery."""

import concurrent.futures
from datetime import UTC, datetime, timedelta

import pytest
from celery.signals import after_task_publish
from django.db import OperationalError

from apps.delivery import tasks
from apps.delivery.models import Change, RawEvent
from apps.delivery.services import _jobs
from apps.delivery.services import intake as intake_services
from tests.delivery import payloads as p
from tests.delivery.conftest import SECRET
from tests.delivery.test_live_intake import post, wait_for, worker  # noqa: F401 - the worker fixture


def push(n: int) -> tuple[bytes, dict]:
    at = (datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = p.dumps(p.github_push(commits=[(f"{n:040x}", f"Change {n}", at)]))
    return body, p.github_headers(SECRET, body, "push", delivery=f"outbox-{n}")


@pytest.fixture
def wakes(monkeypatch):
    """The drains intake queues, recorded and not run (a worker that has not picked them up yet)."""
    queued = []
    monkeypatch.setattr(tasks.drain_raw_events, "delay", lambda: queued.append(1))
    return queued


def test_a_burst_wakes_one_drain_which_processes_every_event_once(make_integration, hook, wakes, monkeypatch):
    monkeypatch.setattr(_jobs, "DRAIN_GATE_MS", 60_000)  # the whole burst falls in one gate interval
    integration = make_integration("github")
    for n in range(120):
        assert hook(integration, *push(n)).status_code == 202
    assert len(wakes) == 1
    assert RawEvent.objects.filter(status="pending").count() == 120

    # One drain (three batches of 50, 50, 20) processes all of them, oldest first.
    assert tasks.drain_raw_events.run() == 120
    assert set(RawEvent.objects.values_list("status", "attempts")) == {("processed", 1)}
    assert Change.objects.count() == 120
    assert tasks.drain_raw_events.run() == 0  # a second drain finds nothing to do
    assert set(RawEvent.objects.values_list("attempts", flat=True)) == {1}

    # The drain opened the gate before its last look: the next delivery wakes a new drain.
    assert hook(integration, *push(120)).status_code == 202
    assert len(wakes) == 2


def test_deliveries_within_the_gate_interval_rely_on_the_queued_drain(make_integration, hook, wakes):
    integration = make_integration("github")
    for n in range(5):
        assert hook(integration, *push(n)).status_code == 202
    # Five requests in well under a second: at most one wake per 200 ms interval.
    assert 1 <= len(wakes) < 5
    assert tasks.drain_raw_events.run() == 5


def test_a_crash_between_store_and_drain_leaves_the_event_to_the_sweeper(make_integration, hook, monkeypatch):
    def lost():
        raise ConnectionError("broker away")

    monkeypatch.setattr(tasks.drain_raw_events, "delay", lost)
    integration = make_integration("github")
    assert hook(integration, *push(1)).status_code == 202
    event = RawEvent.objects.get()
    assert event.status == "pending"
    # The failed wake opened the gate again: the next delivery tries to wake a drain itself.
    client, key = _jobs._gate()
    assert client.get(key) is None
    monkeypatch.undo()

    assert tasks.sweep_raw_events() == 0  # too recent
    RawEvent.objects.update(received_at=datetime.now(UTC) - timedelta(minutes=5))
    assert tasks.sweep_raw_events() == 1
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 1)
    assert Change.objects.count() == 1


def test_a_drain_that_dies_mid_batch_commits_nothing_and_the_next_one_does_it_all(
    make_integration, hook, wakes, monkeypatch
):
    integration = make_integration("github")
    for n in range(6):
        hook(integration, *push(n))
    real = intake_services.apply_parsed
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    monkeypatch.setattr(intake_services, "apply_parsed", flaky)
    with pytest.raises(OperationalError):
        intake_services.raw_events_drain(actor=intake_services.permissions.SYSTEM)
    # The batch's transaction was rolled back whole: nothing processed, nothing counted.
    assert set(RawEvent.objects.values_list("status", "attempts")) == {("pending", 0)}
    assert Change.objects.count() == 0

    assert tasks.drain_raw_events.run() == 6
    assert set(RawEvent.objects.values_list("status", "attempts")) == {("processed", 1)}
    assert Change.objects.count() == 6


def test_an_event_that_fails_outside_the_normalizer_does_not_block_the_drain(
    make_integration, hook, wakes, monkeypatch
):
    integration = make_integration("github")
    for n in range(3):
        hook(integration, *push(n))
    poison = RawEvent.objects.get(delivery_id="outbox-1").pk
    real = intake_services._process_locked

    def process(actor, event):
        if event.pk == poison:
            raise RuntimeError("a bug after the normalizer")
        return real(actor, event)

    monkeypatch.setattr(intake_services, "_process_locked", process)
    assert tasks.drain_raw_events.run() == 3
    statuses = dict(RawEvent.objects.values_list("delivery_id", "status"))
    assert statuses == {"outbox-0": "processed", "outbox-1": "failed", "outbox-2": "processed"}
    assert "a bug after the normalizer" in RawEvent.objects.get(pk=poison).error
    assert tasks.drain_raw_events.run() == 0


def test_redeliveries_are_not_stored_woken_or_processed_again(make_integration, hook, wakes):
    integration = make_integration("github")
    body, headers = push(7)
    assert hook(integration, body, headers).status_code == 202
    assert len(wakes) == 1
    _jobs._open_gate()
    assert hook(integration, body, headers).status_code == 200  # the same delivery id
    again = {**headers, "HTTP_X_GITHUB_DELIVERY": "another-id"}
    assert hook(integration, body, again).status_code == 200  # the same body under another id
    assert len(wakes) == 1  # nothing new was stored: no drain woken
    assert tasks.drain_raw_events.run() == 1
    assert tasks.drain_raw_events.run() == 0
    event = RawEvent.objects.get()
    assert (event.status, event.attempts) == ("processed", 1)
    assert Change.objects.count() == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_burst_over_http_wakes_a_few_drains_and_a_worker_processes_each_once(
    make_integration,
    live_server,
    worker,  # noqa: F811
):
    published = []

    def count(sender=None, **kwargs):
        published.append(sender)

    after_task_publish.connect(count, weak=False)
    try:
        integration = make_integration("github")
        url = f"{live_server.url}/delivery/hooks/{integration.token}/"
        deliveries = [push(n) for n in range(80)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda d: post(url, *d), deliveries))
        assert codes == [202] * 80
        assert wait_for(lambda: not RawEvent.objects.filter(status="pending").exists(), 60)
    finally:
        after_task_publish.disconnect(count)
    assert set(RawEvent.objects.values_list("status", "attempts")) == {("processed", 1)}
    assert Change.objects.count() == 80
    drains = published.count(tasks.drain_raw_events.name)
    assert published.count(tasks.process_raw_event.name) == 0
    # One task per delivery before the outbox; now a drain per gate interval the burst spans.
    assert 1 <= drains <= 20, drains
