"""OpenSLO v1: export -> import gives the same catalog; bad documents name the bad field."""

import io

import pytest
import yaml
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from apps.slos import openslo
from apps.slos.models import SLI, SLO

from .factories import make_sli, make_slo

pytestmark = pytest.mark.django_db


@pytest.fixture
def varied(cast):
    prom = make_sli(
        cast.service,
        name="Checkout availability",
        kind="availability",
        source="prometheus",
        prometheus_url="http://prometheus.example.test:9090",
        good_query='sum(increase(http_requests_total{job="checkout",code!~"5.."}[5m]))',
        total_query='sum(increase(http_requests_total{job="checkout"}[5m]))',
        description="At the edge.",
    )
    pushed = make_sli(cast.other_service, name="Search latency", kind="latency")
    make_slo(prom, name="Checkout 99.9", target="0.999", window_days=28, owner=cast.lead, description="Main SLO")
    make_slo(
        prom, name="Checkout quarterly", target="0.995", window_kind="calendar", calendar_unit="quarter", alerting=False
    )
    make_slo(
        pushed,
        name="Search fast",
        target="0.95",
        window_kind="calendar",
        calendar_unit="month",
        budgeting="timeslices",
        timeslice_seconds=600,
        timeslice_target="0.99",
    )
    return cast


def _snapshot(org):
    slis = sorted(
        SLI.objects.filter(organization=org).values_list(
            "slug",
            "name",
            "service__slug",
            "kind",
            "source",
            "prometheus_url",
            "good_query",
            "total_query",
            "description",
        )
    )
    slos = sorted(
        SLO.objects.filter(organization=org).values_list(
            "slug",
            "name",
            "sli__slug",
            "target",
            "window_kind",
            "window_days",
            "calendar_unit",
            "budgeting",
            "timeslice_seconds",
            "timeslice_target",
            "alerting",
            "owner__email",
            "description",
        )
    )
    return slis, slos


def test_round_trip_gives_the_same_catalog(varied):
    org = varied.org
    before = _snapshot(org)
    text = openslo.export_documents(list(SLO.objects.filter(organization=org)))
    kinds = [d["kind"] for d in yaml.safe_load_all(text)]
    assert kinds.count("Service") == 2 and kinds.count("SLI") == 2 and kinds.count("SLO") == 3
    assert kinds.count("AlertPolicy") == 2  # the quarterly SLO does not alert
    SLO.objects.all().delete()
    SLI.objects.all().delete()
    result = openslo.import_documents(user=varied.org_admin, organization=org, text=text)
    assert len(result.created) == 5 and not result.updated
    assert _snapshot(org) == before
    assert openslo.export_documents(list(SLO.objects.filter(organization=org))) == text
    again = openslo.import_documents(user=varied.lead, organization=org, text=text)
    assert len(again.unchanged) == 5 and not again.created and not again.updated


def test_export_content(varied):
    docs = list(yaml.safe_load_all(openslo.export_documents(list(SLO.objects.all()))))
    slo = next(d for d in docs if d["kind"] == "SLO" and d["metadata"]["name"] == "search-fast")
    assert slo["spec"]["budgetingMethod"] == "Timeslices"
    assert slo["spec"]["objectives"] == [
        {"displayName": "Search fast", "target": 0.95, "timeSliceTarget": 0.99, "timeSliceWindow": "10m"}
    ]
    assert slo["spec"]["timeWindow"][0]["duration"] == "1M" and slo["spec"]["timeWindow"][0]["isRolling"] is False
    policy = next(d for d in docs if d["kind"] == "AlertPolicy" and d["metadata"]["name"] == "checkout-999-burn-rate")
    conditions = [c["spec"]["condition"] for c in policy["spec"]["conditions"]]
    assert [(c["lookbackWindow"], c["alertAfter"], c["threshold"]) for c in conditions] == [
        ("1h", "5m", 13.44),
        ("6h", "30m", 5.6),
        ("1d", "2h", 2.8),
        ("3d", "6h", 0.933333),
    ]  # scaled to 28 days
    sli = next(d for d in docs if d["kind"] == "SLI" and d["metadata"]["name"] == "checkout-availability")
    assert sli["spec"]["ratioMetric"]["good"]["metricSource"]["type"] == "Prometheus"


def _base(varied):
    return openslo.export_documents(list(SLO.objects.filter(organization=varied.org)))


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("target: 0.999", "target: 1.2", "documents[4].spec.objectives[0].target"),
        ("target: 0.999", "target: high", "documents[4].spec.objectives[0].target"),
        ("duration: 28d", "duration: 28x", "documents[4].spec.timeWindow[0].duration"),
        ("duration: 28d", "duration: 36h", "documents[4].spec.timeWindow[0].duration"),
        ("duration: 1Q", "duration: 2Q", "documents[6].spec.timeWindow[0].duration"),
        ("budgetingMethod: Occurrences", "budgetingMethod: Sometimes", "documents[4].spec.budgetingMethod"),
        ("timeSliceWindow: 10m", "timeSliceWindow: 7m", "documents[7].spec.objectives[0].timeSliceWindow"),
        ("indicatorRef: checkout-availability", "indicatorRef: nope", "documents[4].spec.indicatorRef"),
        ("\n  service: search-api", "\n  service: nope", "documents[7].spec.service"),
        ("apiVersion: openslo/v1\nkind: Service", "apiVersion: openslo/v2\nkind: Service", "documents[0].apiVersion"),
        ("type: Prometheus", "type: Datadog", "documents[1].spec.ratioMetric.good.metricSource.type"),
        ("kind: burnrate", "kind: threshold", "documents[5].spec.conditions[0].spec.condition.kind"),
        ("lookbackWindow: 1h", "lookbackWindow: soon", "documents[5].spec.conditions[0].spec.condition.lookbackWindow"),
        ("- checkout-999-burn-rate", "- missing-policy", "documents[4].spec.alertPolicies[0]"),
    ],
)
def test_bad_documents_name_the_path_and_change_nothing(varied, old, new, path):
    text = _base(varied)
    assert old in text, old
    SLO.objects.filter(slug="checkout-999").update(name="before")
    with pytest.raises(openslo.OpenSLOError) as exc:
        openslo.import_documents(user=varied.org_admin, organization=varied.org, text=text.replace(old, new, 1))
    assert exc.value.path == path, str(exc.value)
    assert SLO.objects.get(slug="checkout-999").name == "before"  # all or nothing


def test_not_yaml_and_empty(varied):
    with pytest.raises(openslo.OpenSLOError, match="line 1"):
        openslo.import_documents(user=varied.org_admin, organization=varied.org, text="a: [unclosed")
    with pytest.raises(openslo.OpenSLOError, match="empty"):
        openslo.import_documents(user=varied.org_admin, organization=varied.org, text="---\n")


def test_new_objects_are_created_before_a_later_error_and_rolled_back(varied):
    text = _base(varied).replace("checkout-999", "checkout-new").replace("checkout-availability", "checkout-avail-2")
    broken = text + "---\napiVersion: openslo/v1\nkind: SLO\nmetadata: {name: bad}\nspec: {}\n"
    with pytest.raises(openslo.OpenSLOError):
        openslo.import_documents(user=varied.org_admin, organization=varied.org, text=broken)
    assert not SLI.objects.filter(slug="checkout-avail-2").exists()


def test_permissions_apply_to_imports(varied):
    text = _base(varied).replace("Checkout 99.9", "Renamed")
    with pytest.raises(PermissionDenied):
        openslo.import_documents(user=varied.member, organization=varied.org, text=text)
    with pytest.raises(PermissionDenied):  # the lead of Checkout may not change Search's SLOs
        openslo.import_documents(
            user=varied.lead, organization=varied.org, text=_base(varied).replace("Search fast", "Renamed")
        )
    assert not SLO.objects.filter(name="Renamed").exists()


def test_management_command(varied, tmp_path):
    out = io.StringIO()
    call_command("openslo", "export", "--organization", "acme", stdout=out)
    text = out.getvalue()
    assert "kind: SLO" in text
    path = tmp_path / "catalog.yaml"
    path.write_text(text.replace("Checkout 99.9", "From the CLI"))
    out = io.StringIO()
    call_command("openslo", "import", "--organization", "acme", str(path), stdout=out)
    assert "1 updated" in out.getvalue()
    assert SLO.objects.filter(name="From the CLI").exists()
    path.write_text(text.replace("target: 0.999", "target: 2"))
    with pytest.raises(CommandError, match=r"documents\[4\]\.spec\.objectives\[0\]\.target"):
        call_command("openslo", "import", "--organization", "acme", str(path))
    path.write_text(text.replace("Search fast", "S"))
    with pytest.raises(CommandError, match="You may not"):
        call_command("openslo", "import", "--organization", "acme", str(path), "--as", "member@example.test")
    with pytest.raises(CommandError, match="No organization"):
        call_command("openslo", "export", "--organization", "nope")
