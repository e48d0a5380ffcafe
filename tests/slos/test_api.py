"""REST API: role matrix on every object route, push validation, 413, idempotency."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.urls import reverse

from apps.core import permissions
from apps.slos.models import SLO, SLISample
from apps.slos.services import alerts_evaluate
from tests.roles import API_SHARED_READ, assert_matrix

from .factories import make_sli

pytestmark = pytest.mark.django_db

API_EDIT = {
    "org_admin": 200,
    "leader": 403,
    "lead": 200,
    "member": 403,
    "other_member": 403,
    "outsider": 404,
    "anonymous": 401,
}
API_LIST = {**dict.fromkeys(API_EDIT, 200), "anonymous": 401}


def test_sli_routes(api_for, catalog):
    sli = catalog["sli"]
    assert_matrix(api_for, reverse("api:sli-list"), API_LIST)
    assert_matrix(api_for, reverse("api:sli-detail", args=[sli.pk]), API_SHARED_READ)
    assert_matrix(
        api_for, reverse("api:sli-detail", args=[sli.pk]), API_EDIT, method="patch", data={"description": "x"}
    )
    assert_matrix(
        api_for,
        reverse("api:sli-sync", args=[sli.pk]),
        {**API_EDIT, "org_admin": 400, "lead": 400},  # a pushed SLI is not synced
        method="post",
    )


def test_sli_create_derives_slug_and_checks_the_team(api_for, cast):
    data = {"service": cast.service.pk, "name": "Checkout latency", "kind": "latency", "source": "push"}
    response = api_for("lead").post(reverse("api:sli-list"), data, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["slug"] == "checkout-latency" and response.json()["organization"] == cast.org.pk
    assert api_for("member").post(reverse("api:sli-list"), data, format="json").status_code == 403
    assert api_for("leader").post(reverse("api:sli-list"), data, format="json").status_code == 403
    # Another org's service is "does not exist".
    response = api_for("outsider").post(reverse("api:sli-list"), data, format="json")
    assert response.status_code == 400 and "service" in response.json()
    bad = {**data, "source": "prometheus", "good_query": "", "total_query": ""}
    response = api_for("lead").post(reverse("api:sli-list"), bad, format="json")
    assert response.status_code == 400 and "good_query" in response.json()


def test_slo_routes_and_budget(api_for, catalog):
    slo = catalog["slo"]
    assert_matrix(api_for, reverse("api:slo-list"), API_LIST)
    assert_matrix(api_for, reverse("api:slo-detail", args=[slo.pk]), API_SHARED_READ)
    assert_matrix(api_for, reverse("api:slo-detail", args=[slo.pk]), API_EDIT, method="patch", data={"name": "n"})
    body = api_for("member").get(reverse("api:slo-detail", args=[slo.pk])).json()
    assert body["budget"]["state"] in ("healthy", "at_risk", "exhausted")
    assert set(body["budget"]["burn_rates"]) == {"5m", "30m", "1h", "2h", "6h", "1d", "3d"}
    listed = api_for("member").get(reverse("api:slo-list")).json()["results"]
    no_data = next(r for r in listed if r["id"] == catalog["other_slo"].pk)
    assert no_data["budget"]["state"] == "no_data" and no_data["budget"]["sli"] is None


def test_slo_create_and_validation(api_for, catalog):
    url = reverse("api:slo-list")
    data = {
        "sli": catalog["sli"].pk,
        "name": "Quarterly",
        "target": "0.995",
        "window_kind": "calendar",
        "calendar_unit": "quarter",
        "budgeting": "occurrences",
    }
    response = api_for("lead").post(url, data, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["slug"] == "quarterly"
    response = api_for("lead").post(url, {**data, "target": "1"}, format="json")
    assert response.status_code == 400 and "target" in response.json()
    response = api_for("lead").post(url, {**data, "budgeting": "timeslices", "timeslice_seconds": 100}, format="json")
    assert response.status_code == 400 and "timeslice_seconds" in response.json()
    assert api_for("lead").post(url, {**data, "sli": catalog["other_sli"].pk}, format="json").status_code == 403
    assert SLO.objects.filter(name="Quarterly").count() == 1


def test_slo_calendar_in_a_time_zone(api_for, catalog):
    url = reverse("api:slo-list")
    data = {
        "sli": catalog["sli"].pk,
        "name": "Weekly Paris",
        "target": "0.99",
        "window_kind": "calendar",
        "calendar_unit": "week",
        "calendar_timezone": "Europe/Paris",
        "budgeting": "occurrences",
    }
    response = api_for("lead").post(url, {**data, "calendar_timezone": "Europe/Atlantis"}, format="json")
    assert response.status_code == 400 and "calendar_timezone" in response.json()
    response = api_for("lead").post(url, data, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["calendar_unit"], body["calendar_timezone"], body["calendar_start"]) == ("week", "Europe/Paris", None)
    assert SLO.objects.get(name="Weekly Paris").window_label == "calendar week (Europe/Paris)"


def test_policy_routes(api_for, cast, catalog):
    response = api_for("lead").post(
        reverse("api:errorbudgetpolicy-list"),
        {
            "team": cast.team.pk,
            "slo": catalog["slo"].pk,
            "name": "P",
            "steps": [{"consumed_percent": 100, "action": "Freeze"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert_matrix(api_for, reverse("api:errorbudgetpolicy-detail", args=[pk]), API_SHARED_READ)
    assert_matrix(
        api_for,
        reverse("api:errorbudgetpolicy-detail", args=[pk]),
        API_EDIT,
        method="patch",
        data={"steps": [{"consumed_percent": 90, "action": "Freeze"}]},
    )
    response = api_for("lead").patch(
        reverse("api:errorbudgetpolicy-detail", args=[pk]),
        {"steps": [{"consumed_percent": -1, "action": "x"}]},
        format="json",
    )
    assert response.status_code == 400 and "steps" in response.json()
    response = api_for("lead").post(
        reverse("api:errorbudgetpolicy-list"),
        {
            "team": cast.team.pk,
            "slo": catalog["other_slo"].pk,
            "name": "P",
            "steps": [{"consumed_percent": 100, "action": "Freeze"}],
        },
        format="json",
    )
    assert response.status_code == 400 and "slo" in response.json()


def test_alert_routes(api_for, catalog):
    from apps.slos.models import BurnRateAlert

    alert = BurnRateAlert.objects.create(
        slo=catalog["slo"],
        severity="page",
        long_window=3600,
        short_window=300,
        factor=14.4,
        opened_at=datetime.now(UTC),
        long_burn_rate=20,
        short_burn_rate=20,
        peak_burn_rate=20,
    )
    assert_matrix(api_for, reverse("api:burnratealert-list"), API_LIST)
    assert_matrix(api_for, reverse("api:burnratealert-detail", args=[alert.pk]), API_SHARED_READ)
    assert_matrix(
        api_for,
        reverse("api:burnratealert-detail", args=[alert.pk]),
        {**dict.fromkeys(API_EDIT, 405), "anonymous": 401},
        method="delete",
    )
    assert api_for("member").get(reverse("api:burnratealert-list"), {"open": "true"}).json()["count"] == 1
    assert api_for("member").get(reverse("api:burnratealert-list"), {"open": "false"}).json()["count"] == 0


def test_alert_settings_routes(api_for, cast):
    response = api_for("lead").post(
        reverse("api:alertsettings-list"), {"team": cast.team.pk, "email": "oncall@example.test"}, format="json"
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    # Not shared org-wide: the other team's member does not see where this team is paged.
    assert_matrix(api_for, reverse("api:alertsettings-detail", args=[pk]), {**API_SHARED_READ, "other_member": 404})
    assert_matrix(
        api_for,
        reverse("api:alertsettings-detail", args=[pk]),
        {**API_EDIT, "other_member": 404},
        method="patch",
        data={"email": "x@example.test"},
    )
    assert (
        api_for("member")
        .post(reverse("api:alertsettings-list"), {"team": cast.team.pk, "email": "a@example.test"}, format="json")
        .status_code
        == 403
    )


# --- push ---------------------------------------------------------------------


def _ts(minutes_ago: int) -> str:
    t = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=minutes_ago)
    return t.isoformat().replace("+00:00", "Z")


def test_push_matrix(api_for, catalog):
    sli = catalog["sli"]
    data = {"samples": [{"sli": sli.pk, "timestamp": _ts(30), "good": 9, "total": 10}]}
    assert_matrix(
        api_for,
        reverse("api:slo-samples-list"),
        {
            "org_admin": 201,
            "leader": 403,
            "lead": 201,
            "member": 403,
            "other_member": 403,
            "outsider": 400,
            "anonymous": 401,
        },
        method="post",
        data=data,
    )


def test_push_is_idempotent_and_all_or_nothing(api_for, cast):
    sli = make_sli(cast.service, name="pushed")
    url = reverse("api:slo-samples-list")
    samples = [{"sli": sli.pk, "timestamp": _ts(5 * k + 10), "good": 90 + k % 10, "total": 100} for k in range(500)]
    client = api_for("lead")
    first = client.post(url, {"samples": samples}, format="json")
    assert first.status_code == 201 and first.json()["accepted"] == 500
    snapshot = sorted(SLISample.objects.filter(sli=sli).values_list("bucket", "good", "total"))
    assert client.post(url, {"samples": samples}, format="json").status_code == 201
    assert sorted(SLISample.objects.filter(sli=sli).values_list("bucket", "good", "total")) == snapshot
    # One bad item anywhere: nothing of the request is stored.
    changed = [{**s, "good": 1} for s in samples]
    changed[321] = {**changed[321], "good": 101}
    response = client.post(url, {"samples": changed}, format="json")
    assert response.status_code == 400
    assert response.json() == {"samples[321].good": ["good (101) must not exceed total (100)."]}
    assert sorted(SLISample.objects.filter(sli=sli).values_list("bucket", "good", "total")) == snapshot
    # Unix seconds are accepted too, floored to the 5-minute bucket; the last write wins.
    ts = int(datetime.now(UTC).timestamp()) - 3 * 86400 + 17
    assert client.post(url, [{"sli": sli.pk, "timestamp": ts, "good": 1, "total": 2}], format="json").status_code == 201
    assert SLISample.objects.get(sli=sli, bucket=ts - ts % 300).good == 1


@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        ({"good": -1}, "good", "0 or more"),
        ({"total": "ten"}, "total", "must be a number"),
        ({"total": 10**400}, "total", "must be finite"),
        ({"good": 1.5, "total": 1.0}, "good", "must not exceed total"),
        ({"timestamp": "yesterday"}, "timestamp", "ISO 8601"),
        ({"timestamp": "2026-02-30T00:00:00Z"}, "timestamp", "ISO 8601"),  # a day February lacks
        ({"timestamp": "2026-01-01T00:00:00"}, "timestamp", "timezone"),
        ({"timestamp": "2999-01-01T00:00:00Z"}, "timestamp", "future"),
        ({"sli": 999999}, "sli", "Unknown SLI"),
        ({"extra": 1}, None, "Unknown field"),
    ],
)
def test_push_names_the_failing_item(api_for, catalog, item, field, message):
    good = {"sli": catalog["sli"].pk, "timestamp": _ts(60), "good": 1, "total": 2}
    samples = [good, {**good, "timestamp": _ts(120), **item}]
    response = api_for("lead").post(reverse("api:slo-samples-list"), {"samples": samples}, format="json")
    assert response.status_code == 400
    key = "samples[1]" + (f".{field}" if field else "")
    assert key in response.json(), response.json()
    assert message in response.json()[key][0]


def test_push_reads_timestamps_in_every_iso_8601_spelling(api_for, catalog):
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    spellings = [
        moment.isoformat(),  # 2026-11-20T06:00:00+00:00
        (moment + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        (moment + timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M:%S+00:00"),
        (moment + timedelta(minutes=15)).astimezone(timezone(timedelta(hours=2))).isoformat(),
    ]
    samples = [{"sli": catalog["sli"].pk, "timestamp": t, "good": 1, "total": 1} for t in spellings]
    response = api_for("lead").post(reverse("api:slo-samples-list"), {"samples": samples}, format="json")
    assert response.status_code == 201, response.json()
    first = int(moment.timestamp())
    expected = [b - b % 300 for b in (first, first + 300, first + 600, first + 900)]
    stored = SLISample.objects.filter(sli=catalog["sli"], bucket__lte=expected[-1])  # the fixture's day is later
    assert sorted(stored.values_list("bucket", flat=True)) == expected


def test_push_refuses_duplicates_prometheus_slis_and_empty(api_for, cast, catalog):
    url = reverse("api:slo-samples-list")
    sample = {"sli": catalog["sli"].pk, "timestamp": _ts(60), "good": 1, "total": 2}
    response = api_for("lead").post(url, {"samples": [sample, sample]}, format="json")
    assert response.status_code == 400 and "samples[1].timestamp" in response.json()
    prom = make_sli(cast.service, name="prom", source="prometheus", good_query="sum(a)", total_query="sum(b)")
    response = api_for("lead").post(url, {"samples": [{**sample, "sli": prom.pk}]}, format="json")
    assert response.status_code == 400 and "Prometheus" in response.json()["samples[0].sli"][0]
    assert api_for("lead").post(url, {"samples": []}, format="json").status_code == 400
    assert api_for("lead").post(url, {"nothing": 1}, format="json").status_code == 400


def test_push_limit_is_10000(api_for, catalog):
    url = reverse("api:slo-samples-list")
    base = int(datetime.now(UTC).timestamp()) - 40 * 86400
    ok = [{"sli": catalog["sli"].pk, "timestamp": base + 300 * k, "good": 1, "total": 1} for k in range(10_000)]
    response = api_for("lead").post(url, {"samples": ok}, format="json")
    assert response.status_code == 201 and response.json()["accepted"] == 10_000
    too_many = ok + [{"sli": catalog["sli"].pk, "timestamp": base - 300, "good": 1, "total": 1}]
    response = api_for("lead").post(url, {"samples": too_many}, format="json")
    assert response.status_code == 413 and "10000" in response.json()["detail"]


def test_push_reevaluates_alerts(api_for, cast, catalog, django_capture_on_commit_callbacks):
    from apps.slos.models import BurnRateAlert

    url = reverse("api:slo-samples-list")
    bad = [{"sli": catalog["sli"].pk, "timestamp": _ts(5 * k + 5), "good": 0, "total": 100} for k in range(12)]
    with django_capture_on_commit_callbacks(execute=True):
        assert api_for("lead").post(url, {"samples": bad}, format="json").status_code == 201
    assert BurnRateAlert.objects.filter(slo=catalog["slo"], severity="page", resolved_at__isnull=True).exists()
    assert (
        alerts_evaluate(actor=permissions.SYSTEM, slos=[catalog["slo"]]) == []
    )  # same data, same instant: nothing new


# --- OpenSLO ---------------------------------------------------------------------


def test_openslo_api_matrix(api_for, cast, catalog):
    export = reverse("api:openslo-export") + f"?organization={cast.org.pk}"
    assert_matrix(api_for, export, API_SHARED_READ)
    text = api_for("member").get(export).content.decode()
    assert "apiVersion: openslo/v1" in text
    import_url = reverse("api:openslo-import") + f"?organization={cast.org.pk}"
    changed = text.replace("Checkout 99.9", "Checkout renamed")
    slo = catalog["slo"]
    assert_matrix(
        api_for,
        import_url,
        API_EDIT,
        method="post",
        data={"document": changed},
        reset=lambda: SLO.objects.filter(pk=slo.pk).update(name="Checkout 99.9"),
    )
    response = api_for("lead").post(
        import_url, {"document": text.replace("isRolling: true", "isRolling: maybe")}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["documents[4].spec.timeWindow[0].isRolling"]
    dry = api_for("lead").generic(
        "POST", import_url + "&dry_run=true", changed.encode(), content_type="application/yaml"
    )
    assert dry.status_code == 200 and dry.json()["dry_run"] and dry.json()["updated"] == [f"SLO {slo.slug}"]
    assert SLO.objects.get(pk=slo.pk).name == "Checkout 99.9"
    raw = api_for("lead").generic("POST", import_url, changed.encode(), content_type="application/yaml")
    assert raw.status_code == 200 and raw.json()["updated"] == [f"SLO {slo.slug}"] and not raw.json()["dry_run"]
    assert raw.json()["ignored"] == [] and any("no alertPolicies" in n for n in raw.json()["notes"])
