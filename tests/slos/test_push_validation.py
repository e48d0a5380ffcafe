"""Push validation has a fast path for well-formed batches and a careful one that names
every failure; the fast one must never accept what the careful one would refuse."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from apps.core import permissions
from apps.slos import services
from apps.slos.models import SLI

from .factories import make_sli

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())


@pytest.fixture
def setting(cast):
    pushed = make_sli(cast.service, name="Pushed")
    scraped = make_sli(cast.service, name="Scraped", source=SLI.Source.PROMETHEUS, good_query="a", total_query="b")
    theirs = make_sli(cast.other_service, name="Theirs")  # visible to the lead, not theirs to change
    user = cast.lead
    visible = {s.pk: s for s in permissions.viewable(user, SLI.objects.all())}
    pushable = {pk for pk, s in visible.items() if s.source == SLI.Source.PUSH and permissions.can_change(user, s)}
    assert pushable == {pushed.pk} and theirs.pk in visible
    return {"user": user, "visible": visible, "pushable": pushable, "ids": [pushed.pk, scraped.pk, theirs.pk]}


def _iso(moment: datetime, style: int) -> str:
    return [
        moment.isoformat(),
        moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        moment.replace(tzinfo=None).isoformat(),  # no timezone: refused
        moment.astimezone(timezone(timedelta(hours=-5))).isoformat(),
        moment.strftime("%Y-%m-%d %H:%M:%S+00:00"),
        "yesterday",
    ][style]


def fast_path(items, pushable):
    """What validate_push takes from the fast loop: its rows, if every SLI is pushable."""
    well_formed = services._well_formed_rows(items, NOW_TS)
    if well_formed is None or not well_formed[1] <= pushable:
        return None
    return well_formed[0]


@st.composite
def batches(draw, ids):
    """A well-formed batch for the pushable SLI, then (or not) one item bent out of shape
    with a value from the edges: the fast path sees both kinds often. Returns (items, bent)."""
    pushed = ids[0]
    slots = draw(st.lists(st.integers(min_value=1, max_value=800), min_size=1, max_size=6, unique=True))
    items = []
    for slot in slots:
        moment = NOW - timedelta(seconds=300 * slot - draw(st.integers(min_value=0, max_value=299)))
        total = draw(st.one_of(st.integers(min_value=0, max_value=10**6), st.floats(min_value=0, max_value=1e9)))
        good = draw(st.one_of(st.integers(min_value=0, max_value=int(total)), st.just(total)))
        stamp = draw(
            st.one_of(
                st.builds(_iso, st.just(moment), st.sampled_from([0, 1, 3, 4])),
                st.just(int(moment.timestamp())),
                st.just(moment.timestamp() + 0.25),
            )
        )
        items.append({"sli": pushed, "timestamp": stamp, "good": good, "total": total})
    if draw(st.booleans()):
        return items, False
    victim = draw(st.integers(min_value=0, max_value=len(items) - 1))
    odd_numbers = [-1, -0.0, True, "1", None, float("nan"), float("inf"), 1e400, 10**30, 2**63, 2**63 + 1, 3.5]
    field, value = draw(
        st.one_of(
            st.tuples(st.just("sli"), st.sampled_from([ids[1], ids[2], True, str(pushed), None, 10**9])),
            st.tuples(st.just("good"), st.sampled_from(odd_numbers + [10**7])),
            st.tuples(st.just("total"), st.sampled_from(odd_numbers + [0])),
            st.tuples(
                st.just("timestamp"),
                st.one_of(
                    st.sampled_from([float("nan"), 1e400, -1e400, None, True, "yesterday", 2**63, -(2**63)]),
                    st.builds(_iso, st.just(NOW + timedelta(minutes=3)), st.sampled_from([0, 1])),  # future
                    st.builds(_iso, st.just(NOW - timedelta(hours=2)), st.just(2)),  # no timezone
                    st.just(items[0]["timestamp"]),  # the same bucket as the first item
                ),
            ),
            st.tuples(st.just("extra"), st.just(1)),
            st.tuples(st.sampled_from(["missing"]), st.sampled_from(["sli", "timestamp", "good", "total"])),
            st.tuples(st.just("replace"), st.sampled_from(["not an object", ["a", "list"], 7])),
        )
    )
    if field == "missing":
        del items[victim][value]
    elif field == "replace":
        items[victim] = value
    else:
        items[victim][field] = value
    return items, True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_fast_path_accepts_nothing_the_careful_one_refuses(setting, data):
    items, bent = data.draw(batches(setting["ids"]))
    fast = fast_path(items, setting["pushable"])
    event("fast path" if fast is not None else "careful path")
    if fast is None:
        assert bent, "a well-formed batch missed the fast path"
        return
    assert services._checked_rows(items, setting["visible"], setting["user"], NOW_TS) == fast


def test_a_well_formed_batch_takes_the_fast_path(setting):
    sli = setting["ids"][0]
    items = [
        {"sli": sli, "timestamp": _iso(NOW - timedelta(minutes=5 * k), k % 2), "good": 9, "total": 10.0}
        for k in range(1, 200)
    ]
    fast = fast_path(items, setting["pushable"])
    assert fast is not None and len(fast) == 199
    assert fast == services._checked_rows(items, setting["visible"], setting["user"], NOW_TS)
    assert fast[0] == (sli, NOW_TS - 300, 9.0, 10.0)


@pytest.mark.parametrize(
    ("order", "fast"),
    [
        ([(0, 3), (0, 2), (0, 1)], True),  # one run per SLI, rising buckets: no set needed
        ([(0, 3), (1, 3), (0, 1)], True),  # the SLI comes back for other buckets: the set says no repeat
        ([(0, 1), (0, 3), (0, 1)], False),  # a bucket twice within the SLI's items
        ([(0, 2), (1, 2), (0, 2)], False),  # the same bucket again after another SLI's
        ([(0, 2), (0, 2)], False),  # twice in a row
    ],
)
def test_a_bucket_twice_is_found_in_any_order(cast, order, fast):
    slis = [make_sli(cast.service, name="One"), make_sli(cast.service, name="Two")]
    items = [
        {"sli": slis[which].pk, "timestamp": _iso(NOW - timedelta(minutes=5 * slot), 0), "good": 1, "total": 2}
        for which, slot in order
    ]
    well_formed = services._well_formed_rows(items, NOW_TS)
    assert (well_formed is not None) is fast
    visible = {sli.pk: sli for sli in slis}
    if fast:
        assert well_formed[0] == services._checked_rows(items, visible, cast.lead, NOW_TS)
    else:
        with pytest.raises(ValidationError) as refused:
            services._checked_rows(items, visible, cast.lead, NOW_TS)
        assert "Same SLI and 5-minute bucket" in str(refused.value)


@pytest.mark.parametrize(
    "change",
    [
        {"sli": True},  # a boolean is not SLI 1
        {"timestamp": 1e400},  # JSON's 1e400 arrives as infinity
        {"timestamp": "2026-04-15T11:00:00"},
        {"good": 11},
        {"extra": 1},
    ],
)
def test_anything_odd_goes_to_the_careful_path_and_is_named(setting, change):
    item = {"sli": setting["ids"][0], "timestamp": NOW_TS - 600, "good": 1, "total": 10, **change}
    assert fast_path([item], setting["pushable"]) is None
    with pytest.raises(ValidationError) as refused:
        services._checked_rows([item], setting["visible"], setting["user"], NOW_TS)
    assert any(key.startswith("samples[0]") for key in refused.value.message_dict)
