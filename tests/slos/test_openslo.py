"""OpenSLO v1: every kind and field we read, export -> import -> export gives the same
documents, bad documents name the bad field and change nothing, unused fields are listed."""

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import yaml
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from apps.core import permissions
from apps.slos import maths, openslo, selectors, services
from apps.slos.models import SLI, SLO, AlertPolicy, AlertSettings, BurnRateAlert, NotificationTarget
from tests.factories import OrganizationFactory, ServiceFactory, TeamFactory

from .factories import NOW, NOW_TS, fill, live_now_ts, make_sli, make_slo

pytestmark = pytest.mark.django_db

# Written for these tests: an inline ratio indicator on a Prometheus DataSource, a latency
# threshold on a histogram with two objectives, RatioTimeslices, bad/total, a raw ratio,
# a referenced and an inlined alert policy with a condition and notification targets.
RICH = """
apiVersion: openslo/v1
kind: Service
metadata: {name: checkout-api}
spec: {}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: prom-main}
spec:
  type: Prometheus
  connectionDetails: {url: "http://prom.example.test:9090"}
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: checkout-latency, displayName: Checkout latency}
spec:
  description: Time to answer.
  thresholdMetric:
    metricSource:
      metricSourceRef: prom-main
      spec:
        query: 'histogram_quantile(0.99, sum by (le) (rate(http_duration_seconds_bucket{job="checkout"}[5m])))'
---
apiVersion: openslo/v1
kind: AlertNotificationTarget
metadata: {name: oncall-mail, displayName: On-call mail}
spec: {target: email, description: The on-call list}
---
apiVersion: openslo/v1
kind: AlertCondition
metadata: {name: fast-burn, displayName: Fast burn}
spec:
  severity: page
  condition: {kind: burnrate, op: gte, threshold: 10, lookbackWindow: 1h, alertAfter: 5m}
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: page-fast, displayName: Page on fast burn}
spec:
  alertWhenBreaching: true
  alertWhenResolved: false
  conditions: [{conditionRef: fast-burn}]
  notificationTargets: [{targetRef: oncall-mail}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-fast}
spec:
  service: checkout-api
  indicatorRef: checkout-latency
  timeWindow: [{duration: 4w, isRolling: true}]
  budgetingMethod: Occurrences
  objectives:
    - {displayName: Under 300 ms, op: lte, value: 0.3, target: 0.99}
    - {displayName: Under 1 s, op: lte, value: 1, targetPercent: 99.9}
  alertPolicies:
    - alertPolicyRef: page-fast
    - kind: AlertPolicy
      metadata: {name: ticket-slow}
      spec:
        alertWhenResolved: true
        conditions:
          - kind: AlertCondition
            metadata: {name: slow-burn}
            spec:
              severity: ticket
              condition: {kind: burnrate, threshold: 1, lookbackWindow: 3d, alertAfter: 6h}
        notificationTargets:
          - kind: AlertNotificationTarget
            metadata: {name: tickets-hook}
            spec: {target: webhook}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-errors, displayName: Checkout errors}
spec:
  service: checkout-api
  indicator:
    metadata: {name: checkout-errors-ratio, displayName: Checkout non-5xx}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            metricSourceRef: prom-main
            spec: {query: 'sum(increase(http_requests_total{code=~"5.."}[5m]))'}
        total:
          metricSource:
            metricSourceRef: prom-main
            spec: {query: 'sum(increase(http_requests_total[5m]))'}
  timeWindow:
    - duration: 1Q
      calendar: {startTime: "2024-04-01 00:00:00", timeZone: UTC}
  budgetingMethod: RatioTimeslices
  objectives: [{target: 0.995, timeSliceWindow: 10}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-uptime}
spec:
  service: checkout-api
  indicator:
    metadata: {name: checkout-up}
    spec:
      ratioMetric:
        rawType: failure
        raw:
          metricSource:
            type: Prometheus
            spec: {query: 'job:errors:ratio5m{job="checkout"}'}
  timeWindow: [{duration: 7d}]
  budgetingMethod: Timeslices
  objectives: [{displayName: Uptime, target: 0.9, timeSliceTarget: 0.95, timeSliceWindow: 5m}]
"""


def _import(cast, text, user="org_admin", **kw):
    return openslo.import_documents(
        user=None if user is None else getattr(cast, user), organization=cast.org, text=text, **kw
    )


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
    _import(cast, RICH)
    _import(cast, EXTRA)
    return cast


# A pushed threshold SLI and a policy that never opens alerts, without targets.
EXTRA = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: search-render, annotations: {devops-maturity.io/owner: member@example.test}}
spec:
  description: Rendering time, sent by the front end.
  service: search-api
  indicator:
    metadata: {name: search-render-time}
    spec: {thresholdMetric: {metricSource: {type: Push}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{op: lt, value: 250, target: 0.95}]
  alertPolicies:
    - kind: AlertPolicy
      metadata: {name: quiet}
      spec:
        alertWhenBreaching: false
        conditions:
          - kind: AlertCondition
            metadata: {name: quiet-burn}
            spec: {severity: ticket, condition: {kind: burnrate, threshold: 2, lookbackWindow: 1d}}
"""


def _export(org) -> str:
    return openslo.export_documents(list(SLO.objects.filter(organization=org)))


# --- what each kind and field becomes ---------------------------------------------------------


def test_threshold_metric_on_a_histogram_becomes_latency_slis(cast):
    result = _import(cast, RICH)
    fast = SLO.objects.get(slug="checkout-fast-1")
    sli = fast.sli
    assert sli.slug == "checkout-latency-lte-0_3" and sli.kind == SLI.Kind.LATENCY
    assert sli.name == "Checkout latency ≤ 0.3"
    assert sli.source == SLI.Source.PROMETHEUS and sli.prometheus_url == "http://prom.example.test:9090"
    assert sli.good_query == 'sum(increase(http_duration_seconds_bucket{job="checkout", le="0.3"}[5m]))'
    assert sli.total_query == 'sum(increase(http_duration_seconds_count{job="checkout"}[5m]))'
    assert (sli.threshold_op, sli.threshold_value) == ("lte", 0.3)
    assert (fast.target, fast.window_days, fast.openslo_name, fast.name) == (
        Decimal("0.99"),
        28,
        "checkout-fast",
        "Under 300 ms",
    )
    one_second = SLO.objects.get(slug="checkout-fast-2")
    assert one_second.target == Decimal("0.999")  # targetPercent 99.9
    assert one_second.sli.slug == "checkout-latency-lte-1"
    assert 'le="1"' in one_second.sli.good_query
    assert "SLI checkout-latency-lte-0_3" in result.created and "SLO checkout-fast-2" in result.created


def test_threshold_above_and_not_a_histogram(cast):
    assert openslo.histogram_queries('rate(x_bucket{a="b", le="5"}[1m])', "gt", 2.5) == (
        'sum(increase(x_count{a="b"}[5m])) - sum(increase(x_bucket{a="b", le="2.5"}[5m]))',
        'sum(increase(x_count{a="b"}[5m]))',
    )
    assert openslo.histogram_queries("x_bucket", "lt", 1) == (
        'sum(increase(x_bucket{le="1"}[5m]))',
        "sum(increase(x_count[5m]))",
    )
    text = RICH.replace("http_duration_seconds_bucket", "http_duration_gauge")
    result = _import(cast, text)
    sli = SLI.objects.get(slug="checkout-latency-lte-0_3")
    assert sli.source == SLI.Source.PUSH and sli.good_query == "" and sli.threshold_op == "lte"
    assert any("not a Prometheus histogram" in n and "pushed-sample" in n for n in result.notes)


def test_ratio_bad_total_raw_ratio_timeslices_and_calendar(cast):
    _import(cast, RICH)
    errors = SLO.objects.get(slug="checkout-errors")
    assert errors.name == "Checkout errors" and errors.sli.name == "Checkout non-5xx"
    assert errors.sli.good_query == (
        '(sum(increase(http_requests_total[5m]))) - (sum(increase(http_requests_total{code=~"5.."}[5m])))'
    )
    assert (errors.budgeting, errors.timeslice_seconds, errors.timeslice_target) == ("ratio_timeslices", 600, None)
    assert (errors.window_kind, errors.calendar_unit) == ("calendar", "quarter")
    assert errors.sli.service == cast.service  # an inline indicator measures the SLO's service
    uptime = SLO.objects.get(slug="checkout-uptime")
    assert uptime.sli.good_query == '1 - avg_over_time((job:errors:ratio5m{job="checkout"})[5m:])'
    assert uptime.sli.total_query == "vector(1)" and uptime.sli.prometheus_url == ""
    assert (uptime.budgeting, uptime.timeslice_seconds, uptime.timeslice_target) == ("timeslices", 300, Decimal("0.95"))
    assert (uptime.window_kind, uptime.window_days, uptime.name) == ("rolling", 7, "Uptime")
    success = RICH.replace("rawType: failure", "rawType: success")
    _import(cast, success)
    uptime.sli.refresh_from_db()
    assert uptime.sli.good_query == 'avg_over_time((job:errors:ratio5m{job="checkout"})[5m:])'


def test_alert_policies_conditions_and_targets(cast):
    _import(cast, RICH)
    fast = SLO.objects.get(slug="checkout-fast-1")
    page = AlertPolicy.objects.get(slug="page-fast")
    assert (page.name, page.severity, page.op, page.threshold, page.lookback_window, page.alert_after) == (
        "Page on fast burn",
        "page",
        "gte",
        10.0,
        3600,
        300,
    )
    assert (page.condition_slug, page.condition_name, page.alert_when_resolved) == ("fast-burn", "Fast burn", False)
    assert [t.slug for t in page.targets.all()] == ["oncall-mail"]
    ticket = AlertPolicy.objects.get(slug="ticket-slow")
    assert (ticket.severity, ticket.op, ticket.lookback_window, ticket.alert_after) == (
        "ticket",
        "gt",
        3 * 86400,
        6 * 3600,
    )
    assert NotificationTarget.objects.get(slug="tickets-hook").channel == "webhook"
    assert NotificationTarget.objects.get(slug="oncall-mail").channel == "email"
    assert set(fast.alert_policies.values_list("slug", flat=True)) == {"page-fast", "ticket-slow"}
    rules = selectors.slo_alert_rules(fast, list(fast.alert_policies.order_by("slug")), 672.0)
    assert [(r.severity, r.long_window, r.short_window, r.factor, r.op) for r in rules] == [
        ("page", 3600, 300, 10.0, "gte"),
        ("ticket", 3 * 86400, 6 * 3600, 1.0, "gt"),
    ]
    # No policies: the platform's table scaled to the period (28 days: 13.44 for 1h/5m).
    assert selectors.slo_alert_rules(SLO.objects.get(slug="checkout-errors"), [], 672.0)[0].factor == 13.44
    rule = maths.AlertRule("page", 2, 3600, 300, 10.0, op="gte")
    assert maths.alert_fires(rule, 10.0, 10.0) and not maths.alert_fires(
        maths.AlertRule("page", 2, 3600, 300, 10.0), 10.0, 10.0
    )


def test_alerts_are_routed_to_the_policies_targets(cast, monkeypatch):
    _import(cast, RICH)
    services.alert_settings_set(
        actor=permissions.SYSTEM,
        team=cast.team,
        email="oncall@example.test",
        webhook_url="https://hooks.example.test/x",
    )
    fast = SLO.objects.get(slug="checkout-fast-1")
    calls = []
    monkeypatch.setattr("urllib.request.urlopen", lambda *a, **k: calls.append(a) or io.BytesIO(b""))

    def alert(severity, long_w, short_w):
        return BurnRateAlert.objects.create(
            slo=fast,
            severity=severity,
            long_window=long_w,
            short_window=short_w,
            factor=10,
            opened_at=NOW,
            long_burn_rate=12,
            short_burn_rate=12,
            peak_burn_rate=12,
        )

    page = alert("page", 3600, 300)
    assert selectors.alert_routing(page, "opened") == ({"email"}, ["oncall-mail"])
    assert services.alert_notify(actor=permissions.SYSTEM, alert_id=page.pk, event="opened")
    assert len(mail.outbox) == 1 and calls == []  # e-mail target only: no webhook
    assert selectors.alert_routing(page, "resolved") == (set(), [])  # alertWhenResolved: false
    assert not services.alert_notify(actor=permissions.SYSTEM, alert_id=page.pk, event="resolved")
    ticket = alert("ticket", 3 * 86400, 6 * 3600)
    assert selectors.alert_routing(ticket, "resolved") == ({"webhook"}, ["tickets-hook"])
    assert services.alert_notify(actor=permissions.SYSTEM, alert_id=ticket.pk, event="opened")
    assert len(calls) == 1 and len(mail.outbox) == 1
    other = make_slo(fast.sli, name="No policies")
    plain = BurnRateAlert.objects.create(
        slo=other, severity="page", long_window=3600, short_window=300, factor=14.4, opened_at=NOW,
        long_burn_rate=20, short_burn_rate=20, peak_burn_rate=20,
    )  # fmt: skip
    assert selectors.alert_routing(plain, "opened") == ({"email", "webhook"}, [])


def test_slo_page_shows_the_policies_rules(cast, client_for):
    from django.urls import reverse

    _import(cast, RICH)
    fast = SLO.objects.get(slug="checkout-fast-1")
    body = client_for("member").get(reverse("slos:detail", args=[fast.pk])).content.decode()
    assert "thresholds from the SLO's OpenSLO alert policies" in body
    assert "Page on fast burn" in body and "On-call mail (email)" in body and "tickets-hook (webhook)" in body
    assert "3d / 6h" in body and "1h / 5m" in body and "6h / 30m" not in body


def test_a_new_slo_alerts_by_its_policy_only(cast):
    sli = make_sli(cast.service, name="Burning")
    now = live_now_ts()
    fill(sli, start_ts=now - 4 * 3600, end_ts=now, good=0, total=100)  # burn rate 100 at a 0.99 target
    policy = RICH[
        RICH.index("apiVersion: openslo/v1\nkind: AlertCondition") : RICH.index("apiVersion: openslo/v1\nkind: SLO")
    ]
    text = (
        policy.replace("  notificationTargets: [{targetRef: oncall-mail}]\n", "")
        + "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: burning}\nspec:\n  service: checkout-api\n"
        "  indicatorRef: burning\n  timeWindow: [{duration: 28d}]\n  budgetingMethod: Occurrences\n"
        "  objectives: [{target: 0.99}]\n  alertPolicies: [{alertPolicyRef: page-fast}]\n"
    )
    _import(cast, text)
    alerts = BurnRateAlert.objects.filter(slo__slug="burning")
    assert [(a.severity, a.long_window, a.short_window, a.factor) for a in alerts] == [("page", 3600, 300, 10.0)]


def test_alert_evaluation_follows_the_policy_and_resolves_dropped_rules(cast):
    _import(cast, RICH)
    fast = SLO.objects.get(slug="checkout-fast-1")
    stale = BurnRateAlert.objects.create(
        slo=fast, severity="page", long_window=6 * 3600, short_window=1800, factor=6, opened_at=NOW,
        long_burn_rate=7, short_burn_rate=7, peak_burn_rate=7,
    )  # fmt: skip
    services.alerts_evaluate(actor=permissions.SYSTEM, slos=[fast], now=NOW)
    stale.refresh_from_db()
    assert stale.resolved_at == NOW  # 6h/30m is not one of this SLO's conditions


def test_non_prometheus_sources_are_kept_as_pushed_samples(cast):
    text = """
apiVersion: openslo/v1
kind: DataSource
metadata: {name: dd}
spec: {type: Datadog, connectionDetails: {apiKey: secret}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: search-ok}
spec:
  service: search-api
  indicator:
    metadata: {name: search-ok-ratio}
    spec:
      ratioMetric:
        good: {metricSource: {metricSourceRef: dd, spec: {query: "sum:ok{*}"}}}
        total: {metricSource: {metricSourceRef: dd, spec: {query: "sum:all{*}"}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
"""
    result = _import(cast, text)
    sli = SLI.objects.get(slug="search-ok-ratio")
    assert sli.source == SLI.Source.PUSH and sli.service == cast.other_service and sli.kind == SLI.Kind.OTHER
    assert any("'Datadog' is not read" in n and "pushed-sample SLI" in n for n in result.notes)
    assert "documents[0].spec.connectionDetails.apiKey (not used by this platform)" in result.ignored
    assert "documents[1].spec.indicator.spec.ratioMetric.good.metricSource.spec.query (not used by this platform)" in (
        result.ignored
    )


def test_unused_fields_are_listed_as_ignored(cast):
    text = RICH.replace(
        "kind: Service\nmetadata: {name: checkout-api}",
        "kind: Service\nmetadata: {name: checkout-api, labels: {a: b}, annotations: {example.com/team: x}}",
    )
    text = text.replace(
        "  alertWhenResolved: false\n", "  alertWhenResolved: false\n  alertWhenNoData: true\n  colour: red\n"
    )
    text = text.replace("{target: 0.995, timeSliceWindow: 10}", "{op: gt, target: 0.995, timeSliceWindow: 10}")
    text = text.replace(
        "timeSliceTarget: 0.95, timeSliceWindow: 5m}]", "timeSliceTarget: 0.95, timeSliceWindow: 5m}]\n  alertPolicies:"
    )  # empty: the platform's table
    result = _import(cast, text)
    assert result.ignored == [
        "documents[0].metadata.annotations.example.com/team (not used by this platform)",
        "documents[0].metadata.labels (labels are not kept)",
        "documents[5].spec.alertWhenNoData (a window without data never alerts)",
        "documents[5].spec.colour (not used by this platform)",
        "documents[7].spec.indicator.spec.ratioMetric.counter (events are counted per 5 minutes either way)",
        "documents[7].spec.objectives[0].op (only a thresholdMetric objective compares values)",
    ]
    assert "6 fields ignored" in result.summary()
    assert AlertPolicy.objects.get(slug="page-fast").alert_when_no_data is True  # kept for the export


def test_more_accepted_forms(cast):
    """A YAML list of documents, Push sources, weeks, 1M calendars, lt/gte thresholds, a
    DataSource without URL, alertAfter 0m, a policy already in the organization."""
    _import(cast, RICH)
    docs = [
        {"apiVersion": "openslo/v1", "kind": "Service", "metadata": {"name": "search-api", "displayName": "S"},
         "spec": {"description": "Shown elsewhere"}},
        {"apiVersion": "openslo/v1", "kind": "DataSource", "metadata": {"name": "local"},
         "spec": {"type": "Prometheus"}},
        {"apiVersion": "openslo/v1", "kind": "AlertPolicy", "metadata": {"name": "one-window"},
         "spec": {"conditions": [{"kind": "AlertCondition", "metadata": {"name": "c"}, "spec": {
             "severity": "page", "condition": {"kind": "burnrate", "threshold": 5, "lookbackWindow": "6h",
                                               "alertAfter": "0m"}}}]}},
        {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": "search-pushed"}, "spec": {
            "service": "search-api",
            "indicator": {"metadata": {"name": "search-pushed"}, "spec": {"ratioMetric": {
                "good": {"metricSource": {"type": "Push"}}, "total": {"metricSource": {"type": "Push"}}}}},
            "timeWindow": [{"duration": "1M", "calendar": {"timeZone": "Etc/UTC"}}],
            "budgetingMethod": "Occurrences", "objectives": [{"target": 0.9}],
            "alertPolicies": [{"alertPolicyRef": "page-fast"}, {"alertPolicyRef": "one-window"}]}},
        {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": "search-slow"}, "spec": {
            "service": "search-api",
            "indicator": {"metadata": {"name": "search-time"}, "spec": {"thresholdMetric": {"metricSource": {
                "metricSourceRef": "local", "spec": {"query": "search_seconds_bucket"}}}}},
            "timeWindow": [{"duration": "2w", "isRolling": True}],
            "budgetingMethod": "Occurrences",
            "objectives": [{"op": "lt", "value": 2, "target": 0.9}, {"op": "gte", "value": 5, "target": 0.999}]}},
    ]  # fmt: skip
    result = _import(cast, yaml.safe_dump(docs))
    pushed = SLO.objects.get(slug="search-pushed")
    assert pushed.sli.source == SLI.Source.PUSH and (pushed.window_kind, pushed.calendar_unit) == ("calendar", "month")
    assert set(pushed.alert_policies.values_list("slug", flat=True)) == {"page-fast", "one-window"}
    one = AlertPolicy.objects.get(slug="one-window")
    assert (one.lookback_window, one.alert_after, one.alert_when_resolved) == (6 * 3600, 0, True)
    rules = selectors.slo_alert_rules(pushed, [one], 720.0)
    assert [(r.long_window, r.short_window, r.factor) for r in rules] == [(6 * 3600, 6 * 3600, 5.0)]
    fast, slow = SLO.objects.get(slug="search-slow-1"), SLO.objects.get(slug="search-slow-2")
    assert fast.window_days == 14 and fast.sli.prometheus_url == "" and fast.name == "search-slow 1"
    assert fast.sli.good_query == 'sum(increase(search_seconds_bucket{le="2"}[5m]))'
    assert slow.sli.slug == "search-time-gte-5" and slow.sli.good_query == (
        'sum(increase(search_seconds_count[5m])) - sum(increase(search_seconds_bucket{le="5"}[5m]))'
    )
    assert "DataSource local: no connectionDetails.url; its SLIs use the server's PROMETHEUS_URL." in result.notes
    assert any("search-time-lt-2" in n and "at the threshold count as good" in n for n in result.notes)
    assert any("search-time-gte-5" in n and "at the threshold count as bad" in n for n in result.notes)
    assert result.ignored == [
        "documents[0].metadata.displayName (services are matched by name, not changed)",
        "documents[0].spec.description (not used by this platform)",
    ]


def test_dry_run_reports_and_writes_nothing(cast):
    preview = _import(cast, RICH, dry_run=True)
    assert preview.dry_run and len(preview.created) == 12 and not preview.updated
    assert not SLO.objects.exists() and not SLI.objects.exists() and not AlertPolicy.objects.exists()
    assert not NotificationTarget.objects.exists()
    real = _import(cast, RICH)
    assert real.created == preview.created and real.notes == preview.notes and real.ignored == preview.ignored


# --- export and the round trip --------------------------------------------------------------


def test_round_trip_export_import_export_is_the_same(varied):
    text = _export(varied.org)
    docs = list(yaml.safe_load_all(text))
    kinds = [d["kind"] for d in docs]
    assert kinds.count("Service") == 2 and kinds.count("DataSource") == 2 and kinds.count("SLO") == 7
    assert kinds.count("SLI") == 6 and kinds.count("AlertPolicy") == 3 and kinds.count("AlertNotificationTarget") == 2
    empty = OrganizationFactory(name="Fresh", slug="fresh")
    team = TeamFactory(organization=empty, name="T", slug="t")
    for slug in ("checkout-api", "search-api"):
        ServiceFactory(team=team, name=slug)
    result = openslo.import_documents(user=None, organization=empty, text=text)
    assert not result.ignored and not result.updated and not result.unchanged
    assert openslo.export_documents(list(SLO.objects.filter(organization=empty))) == text
    again = openslo.import_documents(user=varied.org_admin, organization=varied.org, text=text)
    assert not again.created and not again.updated and not again.ignored


def test_export_content(varied):
    docs = list(yaml.safe_load_all(_export(varied.org)))
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    search = by["SLO", "search-fast"]["spec"]
    assert search["budgetingMethod"] == "Timeslices" and "alertPolicies" not in search
    assert search["objectives"] == [
        {"displayName": "Search fast", "target": 0.95, "timeSliceTarget": 0.99, "timeSliceWindow": "10m"}
    ]
    assert search["timeWindow"][0]["duration"] == "1M" and search["timeWindow"][0]["isRolling"] is False
    quarterly = by["SLO", "checkout-quarterly"]["metadata"]
    assert quarterly["annotations"] == {"devops-maturity.io/alerting": "false"}
    fast = by["SLO", "checkout-fast"]
    assert "displayName" not in fast["metadata"] and fast["spec"]["indicatorRef"] == "checkout-latency"
    assert fast["spec"]["alertPolicies"] == [{"alertPolicyRef": "page-fast"}, {"alertPolicyRef": "ticket-slow"}]
    assert [(o["op"], o["value"], o["target"]) for o in fast["spec"]["objectives"]] == [
        ("lte", 0.3, 0.99),
        ("lte", 1.0, 0.999),
    ]
    latency = by["SLI", "checkout-latency"]["spec"]["thresholdMetric"]["metricSource"]
    assert latency["metricSourceRef"] == "prometheus-promexampletest9090"
    assert by["DataSource", "prometheus-promexampletest9090"]["spec"] == {
        "type": "Prometheus",
        "connectionDetails": {"url": "http://prom.example.test:9090"},
    }
    render = by["SLO", "search-render"]
    assert render["metadata"]["annotations"] == {"devops-maturity.io/owner": "member@example.test"}
    assert by["SLI", "search-render-time"]["spec"]["thresholdMetric"] == {"metricSource": {"type": "Push", "spec": {}}}
    assert by["AlertPolicy", "quiet"]["spec"]["alertWhenBreaching"] is False
    assert (
        selectors.slo_alert_rules(SLO.objects.get(slug="search-render"), [AlertPolicy.objects.get(slug="quiet")], 720.0)
        == []
    )
    errors = by["SLO", "checkout-errors"]["spec"]
    assert errors["budgetingMethod"] == "RatioTimeslices" and errors["objectives"][0]["timeSliceWindow"] == "10m"
    page = by["AlertPolicy", "page-fast"]["spec"]
    assert page["conditions"][0]["spec"]["condition"] == {
        "kind": "burnrate",
        "op": "gte",
        "threshold": 10.0,
        "lookbackWindow": "1h",
        "alertAfter": "5m",
    }
    assert page["notificationTargets"] == [{"targetRef": "oncall-mail"}]
    assert by["SLI", "checkout-availability"]["spec"]["ratioMetric"]["good"]["metricSource"]["type"] == "Prometheus"


# --- errors: the path, and nothing imported ---------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("target: 0.99}", "target: 1.2}", "documents[6].spec.objectives[0].target"),
        ("target: 0.99}", "target: high}", "documents[6].spec.objectives[0].target"),
        ("target: 0.99}", "target: 0.99, targetPercent: 99}", "documents[6].spec.objectives[0].targetPercent"),
        ("targetPercent: 99.9}", "targetPercent: 120}", "documents[6].spec.objectives[1].targetPercent"),
        ("op: lte, value: 0.3", "op: about, value: 0.3", "documents[6].spec.objectives[0].op"),
        ("op: lte, value: 0.3, ", "", "documents[6].spec.objectives[0].op"),
        ("op: lte, value: 1, ", "value: 1, ", "documents[6].spec.objectives[1].op"),
        (
            "{target: 0.995, timeSliceWindow: 10}",
            "{op: bigger, target: 0.995, timeSliceWindow: 10}",
            "documents[7].spec.objectives[0].op",
        ),
        ("duration: 4w", "duration: 4x", "documents[6].spec.timeWindow[0].duration"),
        ("duration: 4w", "duration: 36h", "documents[6].spec.timeWindow[0].duration"),
        ("duration: 1Q", "duration: 2Y", "documents[7].spec.timeWindow[0].duration"),
        ("2024-04-01 00:00:00", "2024-04-31 00:00:00", "documents[7].spec.timeWindow[0].calendar.startTime"),
        ("2024-04-01 00:00:00", "2024-04-30 00:00:00", "documents[7].spec.timeWindow[0].calendar.startTime"),
        ("timeZone: UTC", "timeZone: Europe/Atlantis", "documents[7].spec.timeWindow[0].calendar.timeZone"),
        ("budgetingMethod: Occurrences", "budgetingMethod: Sometimes", "documents[6].spec.budgetingMethod"),
        ("timeSliceWindow: 5m", "timeSliceWindow: 2d", "documents[8].spec.objectives[0].timeSliceWindow"),
        ("timeSliceWindow: 5m", "timeSliceWindow: 0m", "documents[8].spec.objectives[0].timeSliceWindow"),
        ("timeSliceTarget: 0.95, ", "", "documents[8].spec.objectives[0].timeSliceTarget"),
        ("indicatorRef: checkout-latency", "indicatorRef: nope", "documents[6].spec.indicatorRef"),
        (
            "service: checkout-api\n  indicator:\n    metadata: {name: checkout-up}",
            "service: nope\n  indicator:\n    metadata: {name: checkout-up}",
            "documents[8].spec.service",
        ),
        ("apiVersion: openslo/v1\nkind: Service", "apiVersion: openslo/v2\nkind: Service", "documents[0].apiVersion"),
        ("kind: DataSource", "kind: Datasource", "documents[1].kind"),
        ("rawType: failure", "rawType: sideways", "documents[8].spec.indicator.spec.ratioMetric.rawType"),
        ("        rawType: failure\n", "", "documents[8].spec.indicator.spec.ratioMetric.rawType"),
        (
            "        bad:\n",
            "        good: {metricSource: {type: Push}}\n        bad:\n",
            "documents[7].spec.indicator.spec.ratioMetric.bad",
        ),
        (
            "metricSourceRef: prom-main\n      spec:",
            "metricSourceRef: prom-other\n      spec:",
            "documents[2].spec.thresholdMetric.metricSource.metricSourceRef",
        ),
        ('url: "http://prom.example.test:9090"', "url: not-a-url", "documents[1].spec.connectionDetails.url"),
        ("op: gte, threshold: 10", "op: lt, threshold: 10", "documents[4].spec.condition.op"),
        ("kind: burnrate, op: gte", "kind: threshold, op: gte", "documents[4].spec.condition.kind"),
        ("severity: page", "severity: sev1", "documents[4].spec.severity"),
        ("lookbackWindow: 1h", "lookbackWindow: 2d", "documents[4].spec.condition.lookbackWindow"),
        ("alertAfter: 5m}", "alertAfter: 2h}", "documents[4].spec.condition.alertAfter"),
        ("threshold: 10,", "threshold: -1,", "documents[4].spec.condition.threshold"),
        (
            "conditions: [{conditionRef: fast-burn}]",
            "conditions: [{conditionRef: fast-burn}, {conditionRef: fast-burn}]",
            "documents[5].spec.conditions",
        ),
        ("conditionRef: fast-burn", "conditionRef: nope", "documents[5].spec.conditions[0].conditionRef"),
        ("targetRef: oncall-mail", "targetRef: nope", "documents[5].spec.notificationTargets[0].targetRef"),
        ("- alertPolicyRef: page-fast", "- alertPolicyRef: missing", "documents[6].spec.alertPolicies[0]"),
        (
            "spec: {target: webhook}",
            "spec: {description: no target}",
            "documents[6].spec.alertPolicies[1].spec.notificationTargets[0].spec.target",
        ),
        ("severity: ticket", "severity: low", "documents[6].spec.alertPolicies[1].spec.conditions[0].spec.severity"),
    ],
)
def test_bad_documents_name_the_path_and_import_nothing(cast, old, new, path):
    assert old in RICH, old
    with pytest.raises(openslo.OpenSLOError) as exc:
        _import(cast, RICH.replace(old, new, 1))
    assert exc.value.path == path, str(exc.value)
    assert not SLO.objects.exists() and not SLI.objects.exists() and not AlertPolicy.objects.exists()
    assert not NotificationTarget.objects.exists()


def test_more_refusals(cast):
    both = RICH.replace("  indicatorRef: checkout-latency\n", "  indicatorRef: checkout-latency\n  indicator: {}\n")
    with pytest.raises(openslo.OpenSLOError, match=r"documents\[6\]\.spec\.indicatorRef: give indicator or"):
        _import(cast, both)
    composite = RICH.replace("{displayName: Uptime,", "{indicatorRef: checkout-up, displayName: Uptime,")
    with pytest.raises(openslo.OpenSLOError, match=r"objectives\[0\]\.indicatorRef: composite SLOs"):
        _import(cast, composite)
    off = RICH.replace(
        "metadata: {name: checkout-fast}",
        "metadata: {name: checkout-fast, annotations: {devops-maturity.io/alerting: 'false'}}",
    )
    with pytest.raises(openslo.OpenSLOError, match="alerting: is false but the SLO has alertPolicies"):
        _import(cast, off)
    with pytest.raises(openslo.OpenSLOError, match="line 1"):
        _import(cast, "a: [unclosed")
    with pytest.raises(openslo.OpenSLOError, match="empty"):
        _import(cast, "---\n")


def test_one_policy_inlined_in_two_slos(cast):
    inline = RICH[
        RICH.index("    - kind: AlertPolicy\n      metadata: {name: ticket-slow}") : RICH.index(
            "---\napiVersion: openslo/v1\nkind: SLO\nmetadata: {name: checkout-errors"
        )
    ]
    text = RICH.replace(
        "  objectives: [{target: 0.995, timeSliceWindow: 10}]\n",
        "  objectives: [{target: 0.995, timeSliceWindow: 10}]\n  alertPolicies:\n" + inline,
    )
    _import(cast, text)
    assert set(AlertPolicy.objects.get(slug="ticket-slow").slos.values_list("slug", flat=True)) == {
        "checkout-fast-1",
        "checkout-fast-2",
        "checkout-errors",
    }
    with pytest.raises(
        openslo.OpenSLOError, match=r"documents\[7\]\.spec\.alertPolicies\[0\]\.metadata\.name: .*different"
    ):
        _import(
            cast,
            text.replace("threshold: 1, lookbackWindow: 3d", "threshold: 2, lookbackWindow: 3d", 2).replace(
                "threshold: 2, lookbackWindow: 3d", "threshold: 1, lookbackWindow: 3d", 1
            ),
        )


def test_a_late_error_rolls_back_what_was_created(varied):
    text = _export(varied.org).replace("checkout-999", "checkout-new")
    broken = text + "---\napiVersion: openslo/v1\nkind: SLO\nmetadata: {name: bad}\nspec: {}\n"
    with pytest.raises(openslo.OpenSLOError, match=r"documents\[\d+\]\.spec\.service"):
        _import(varied, broken)
    assert not SLO.objects.filter(slug="checkout-new").exists()


def test_permissions_apply_to_imports(varied):
    text = _export(varied.org)
    with pytest.raises(PermissionDenied):
        _import(varied, text.replace("Checkout 99.9", "Renamed"), user="member")
    with pytest.raises(PermissionDenied):  # the lead of Checkout may not change Search's SLOs
        _import(varied, text.replace("Search fast", "Renamed"), user="lead")
    assert not SLO.objects.filter(name="Renamed").exists()
    # Policies are shared: the lead may change one only SLOs of theirs use.
    changed = _import(varied, text.replace("displayName: Page on fast burn", "displayName: Paged"), user="lead")
    assert changed.updated == ["AlertPolicy page-fast"]
    AlertSettings.objects.create(team=varied.team)
    search = SLO.objects.get(slug="search-fast")
    search.alert_policies.add(AlertPolicy.objects.get(slug="page-fast"))
    with pytest.raises(PermissionDenied, match="SLOs you cannot change"):
        _import(varied, text.replace("displayName: Page on fast burn", "displayName: Again"), user="lead")


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
    out = io.StringIO()
    path.write_text(RICH.replace("counter: true", "counter: true\n        colour: red"))
    call_command("openslo", "import", "--organization", "acme", "--dry-run", str(path), stdout=out)
    printed = out.getvalue()
    assert "Dry run, nothing written" in printed and "ignored: documents[7].spec.indicator.spec.ratioMetric.colour" in (
        printed
    )
    assert "note: SLO checkout-errors: no alertPolicies" in printed
    path.write_text(text.replace("target: 0.999", "target: 2"))
    with pytest.raises(CommandError, match=r"documents\[\d+\]\.spec\.objectives\[0\]\.target"):
        call_command("openslo", "import", "--organization", "acme", str(path))
    path.write_text(text.replace("Search fast", "S"))
    with pytest.raises(CommandError, match="You may not"):
        call_command("openslo", "import", "--organization", "acme", str(path), "--as", "member@example.test")
    with pytest.raises(CommandError, match="No organization"):
        call_command("openslo", "export", "--organization", "nope")


# --- documents shaped like the OpenSLO project's examples ---------------------------------------
# Written for these tests in the form of the project's `examples/` (an inline indicator on an
# arbitrary metric source, op on ratio objectives, 1m slices, calendars in New York from a noon
# startTime, a 1m calendar meant as a month, an empty alertPolicies).

EXAMPLE_OCCURRENCES = """
# Item search should answer in under 400 ms.
apiVersion: openslo/v1
kind: SLO
metadata:
  name: item-search
  displayName: Item search time
spec:
  description: However many searches run at once, each should be quick.
  service: shop-front
  indicator:
    metadata:
      name: item-search-latency
      displayName: Item search latency
    spec:
      thresholdMetric:
        metricSource:
          type: SomeVendor
          spec:
            # whatever the vendor needs
  timeWindow:
    - duration: 2w
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: Quick enough
      op: lt
      value: 400
      target: 0.98
  alertPolicies:
"""

EXAMPLE_TIMESLICES = """
# Uptime as the contract counts it, per minute, months starting at noon New York time.
apiVersion: openslo/v1
kind: SLO
metadata:
  name: portal-uptime
  displayName: Portal uptime as contracted
spec:
  description: Above the contract, with room to react.
  service: customer-portal
  indicator:
    metadata:
      name: portal-up
      displayName: Minutes the portal answered
    spec:
      ratioMetric:
        good:
          metricSource:
            type: SomeVendor
            spec:
              query: up_ok
        total:
          metricSource:
            type: SomeVendor
            spec:
              query: up_all
  timeWindow:
    - duration: 1m
      isRolling: false
      calendar:
        startTime: 2023-01-01 12:00:00
        timeZone: America/New_York
  budgetingMethod: Timeslices
  objectives:
    - displayName: Ours
      op: gt
      target: 0.997
      timeSliceTarget: 0.98
      timeSliceWindow: 1m
    - displayName: Contract
      target: 0.99
      timeSliceTarget: 0.98
      timeSliceWindow: 1m
"""

EXAMPLE_WEEKLY = """
apiVersion: openslo/v1
kind: SLO
metadata:
  name: portal-weekly
  displayName: Portal, week by week
spec:
  service: customer-portal
  indicator:
    metadata:
      name: portal-weekly-up
    spec:
      ratioMetric:
        good: {metricSource: {type: SomeVendor, spec: {query: up_ok}}}
        total: {metricSource: {type: SomeVendor, spec: {query: up_all}}}
  timeWindow:
    - duration: 1w
      isRolling: false
      calendar:
        startTime: 2023-01-07 12:00:00
        timeZone: America/New_York
  budgetingMethod: Timeslices
  objectives:
    - displayName: Weekly
      op: gt
      target: 0.999
      timeSliceTarget: 0.9
      timeSliceWindow: 1m
"""

EXAMPLE_RATIO_TIMESLICES = """
# 2xx answers of the home page against all its requests.
apiVersion: openslo/v1
kind: SLO
metadata:
  name: home-page
  displayName: Home page answers
spec:
  description: The home page should always answer.
  service: shop-front
  indicator:
    metadata:
      name: home-page-codes
      displayName: Home page response codes
    spec:
      ratioMetric:
        good:
          metricSource:
            type: SomeVendor
            spec:
              query: ok_answers
        total:
          metricSource:
            type: SomeVendor
            spec:
              query: all_answers
  timeWindow:
   - duration: 2w
     isRolling: true
  budgetingMethod: RatioTimeslices
  objectives:
    - displayName: Answers
      op: gt
      timeSliceWindow: 1m
      target: 0.995
"""

EXAMPLES = (EXAMPLE_OCCURRENCES, EXAMPLE_TIMESLICES, EXAMPLE_WEEKLY, EXAMPLE_RATIO_TIMESLICES)


@pytest.fixture
def shop(cast):
    for slug in ("shop-front", "customer-portal"):
        ServiceFactory(team=cast.team, name=slug)
    return cast


def _services(org):
    team = TeamFactory(organization=org, name="T", slug="t")
    for slug in ("shop-front", "customer-portal"):
        ServiceFactory(team=team, name=slug)


def test_example_shaped_occurrences_imports(shop):
    result = _import(shop, EXAMPLE_OCCURRENCES)
    assert result.created == ["SLI item-search-latency-lt-400", "SLO item-search"]
    slo = SLO.objects.get(slug="item-search")
    assert (slo.budgeting, slo.window_kind, slo.window_days, slo.target) == (
        "occurrences",
        "rolling",
        14,
        Decimal("0.98"),
    )
    assert (slo.sli.kind, slo.sli.source, slo.sli.threshold_op, slo.sli.threshold_value) == (
        "latency",
        "push",
        "lt",
        400,
    )
    assert any("'SomeVendor' is not read" in n for n in result.notes)
    assert not result.ignored


def test_example_shaped_timeslices_import_with_their_conversions_noted(shop):
    result = _import(shop, EXAMPLE_TIMESLICES)
    assert result.created == ["SLI portal-up", "SLO portal-uptime-1", "SLO portal-uptime-2"]
    ours, contract = SLO.objects.get(slug="portal-uptime-1"), SLO.objects.get(slug="portal-uptime-2")
    for slo in (ours, contract):
        assert (slo.window_kind, slo.calendar_unit, slo.calendar_timezone) == ("calendar", "month", "America/New_York")
        # 2023-01-01 12:00 in New York is 17:00 UTC (EST).
        assert slo.calendar_start == datetime(2023, 1, 1, 17, tzinfo=UTC)
        assert (slo.budgeting, slo.timeslice_seconds, slo.timeslice_target) == ("timeslices", 300, Decimal("0.98"))
    assert (ours.name, ours.target, contract.name, contract.target) == (
        "Ours",
        Decimal("0.997"),
        "Contract",
        Decimal("0.99"),
    )
    path = "documents[0].spec"
    assert f"{path}.objectives[0].op (only a thresholdMetric objective compares values)" in result.ignored
    assert (
        f"{path}.timeWindow[0].duration: a calendar window of 1m (one minute) cannot be evaluated; "
        "read as 1M (one month)." in result.notes
    )
    for i in (0, 1):
        assert (
            f"{path}.objectives[{i}].timeSliceWindow: 1m slices are evaluated as 5m slices, the nearest multiple of "
            "the 5-minute samples; a slice's ratio is that of its 5 minutes (good / total events in them)."
        ) in result.notes
    # Periods start on the 1st at noon New York time: on 15 April 2026 (EDT) at 16:00 UTC on 1 April.
    st = selectors.slo_status(ours, now=NOW)
    assert st.window_start == datetime(2026, 4, 1, 16, tzinfo=UTC)
    assert st.period_hours == 30 * 24


def test_example_shaped_weekly_timeslices_evaluate_on_5m_slices(shop):
    result = _import(shop, EXAMPLE_WEEKLY)
    slo = SLO.objects.get(slug="portal-weekly")
    assert (slo.calendar_unit, slo.calendar_anchor) == ("week", datetime(2023, 1, 7, 12))
    assert any("1m slices are evaluated as 5m slices" in n for n in result.notes)
    # NOW (Wed 15 April 2026 12:00 UTC) is in the week from Sat 11 April 12:00 EDT (16:00 UTC).
    week_start = int(datetime(2026, 4, 11, 16, tzinfo=UTC).timestamp())
    fill(slo.sli, start_ts=week_start - 3600, end_ts=week_start, good=0, total=10)  # the week before
    fill(slo.sli, start_ts=week_start, end_ts=NOW_TS, good=10, total=10)
    # Three bad 5-minute slices (ratio 0.8 < 0.9) and one at exactly 0.9 (good).
    for k, good in ((0, 8), (1, 8), (2, 8), (3, 9)):
        fill(slo.sli, start_ts=week_start + k * 300, end_ts=week_start + (k + 1) * 300, good=good, total=10)
    st = selectors.slo_status(slo, now=NOW)
    slices = (NOW_TS - week_start) // 300  # 3 days 20 hours = 1104 slices
    assert slices == 1104
    assert st.window_start == datetime(2026, 4, 11, 16, tzinfo=UTC)
    assert (st.good, st.total) == (slices - 3, slices)
    assert st.period_hours == 7 * 24


def test_example_shaped_ratio_timeslices_imports(shop):
    result = _import(shop, EXAMPLE_RATIO_TIMESLICES)
    slo = SLO.objects.get(slug="home-page")
    assert (slo.budgeting, slo.timeslice_seconds, slo.timeslice_target, slo.window_days) == (
        "ratio_timeslices",
        300,
        None,
        14,
    )
    assert "documents[0].spec.objectives[0].op (only a thresholdMetric objective compares values)" in result.ignored
    assert any(n.startswith("documents[0].spec.objectives[0].timeSliceWindow: 1m slices") for n in result.notes)


def test_example_shaped_documents_export_and_round_trip(shop):
    for text in EXAMPLES:
        _import(shop, text)
    first = _export(shop.org)
    by = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(first)}
    uptime = by["SLO", "portal-uptime"]["spec"]
    assert uptime["timeWindow"] == [
        {
            "duration": "1M",
            "isRolling": False,
            "calendar": {"startTime": "2023-01-01 12:00:00", "timeZone": "America/New_York"},
        }
    ]
    assert [o["timeSliceWindow"] for o in uptime["objectives"]] == ["5m", "5m"]
    weekly = by["SLO", "portal-weekly"]["spec"]["timeWindow"][0]
    assert (weekly["duration"], weekly["calendar"]["startTime"]) == ("1w", "2023-01-07 12:00:00")
    assert by["SLO", "home-page"]["spec"]["budgetingMethod"] == "RatioTimeslices"
    # One objective: the SLO's name is the document's displayName, written on the objective.
    assert by["SLO", "item-search"]["spec"]["objectives"][0] == {
        "displayName": "Item search time",
        "op": "lt",
        "value": 400.0,
        "target": 0.98,
    }
    fresh = OrganizationFactory(name="Fresh", slug="fresh")
    _services(fresh)
    result = openslo.import_documents(user=None, organization=fresh, text=first)
    assert not result.ignored and not result.updated and not result.unchanged
    assert not any("evaluated as" in n or "read as 1M" in n for n in result.notes)  # nothing left to convert
    assert openslo.export_documents(list(SLO.objects.filter(organization=fresh))) == first
    again = _import(shop, first)
    assert not again.created and not again.updated


def test_calendar_years_and_default_starts(shop):
    text = EXAMPLE_WEEKLY.replace("duration: 1w", "duration: 1Y").replace("2023-01-07 12:00:00", "2023-01-01 00:00:00")
    text = text.replace("America/New_York", "Europe/Paris")
    _import(shop, text)
    slo = SLO.objects.get(slug="portal-weekly")
    # A year from 1 January 00:00 is the platform's own start: stored as the default.
    assert (slo.calendar_unit, slo.calendar_timezone, slo.calendar_start) == ("year", "Europe/Paris", None)
    assert selectors.slo_status(slo, now=NOW).window_start == datetime(2025, 12, 31, 23, tzinfo=UTC)
    doc = next(d for d in yaml.safe_load_all(_export(shop.org)) if d["kind"] == "SLO")
    assert doc["spec"]["timeWindow"][0] == {
        "duration": "1Y",
        "isRolling": False,
        "calendar": {"startTime": "2020-01-01 00:00:00", "timeZone": "Europe/Paris"},
    }


@pytest.mark.parametrize(
    ("asked", "seconds", "noted"),
    [("5m", 300, False), ("7m", 300, True), ("8m", 600, True), ("90s", 300, True), ("1h", 3600, False), (2, 300, True)],
)
def test_slice_lengths_go_to_the_nearest_5_minutes(shop, asked, seconds, noted):
    text = EXAMPLE_RATIO_TIMESLICES.replace("timeSliceWindow: 1m", f"timeSliceWindow: {asked}")
    result = _import(shop, text)
    assert SLO.objects.get(slug="home-page").timeslice_seconds == seconds
    assert any("timeSliceWindow" in n for n in result.notes) is noted
