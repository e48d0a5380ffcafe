"""Sources as they really send: epoch units, Opsgenie actions that carry only the alert id,
and payloads of unexpected shape recorded as explained failures."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from apps.core.permissions import SYSTEM
from apps.delivery import normalizers
from apps.delivery.models import RawEvent
from apps.postmortems.models import Incident
from tests.delivery import payloads as p
from tests.delivery.conftest import SECRET

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 3, 4, 10, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        1772618400,  # seconds
        1772618400123,  # milliseconds
        1772618400123456,  # microseconds
        1772618400123456789,  # nanoseconds
        "1772618400123",  # a number sent as text
    ],
)
def test_epoch_units_are_told_apart(value):
    expected = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    parsed = normalizers.parse_time(value)
    assert parsed.replace(microsecond=0) == expected
    digits = len(str(value))
    if digits >= 13:
        assert parsed.microsecond // 1000 == 123
    if digits >= 16:
        assert parsed.microsecond == 123456


@pytest.mark.parametrize("value", [10**21, -5, True, {"at": 1}, "yesterday"])
def test_unreadable_times_are_payload_errors(value):
    with pytest.raises(normalizers.PayloadError, match="Unreadable time"):
        normalizers.parse_time(value)


def opsgenie_ms(at: datetime) -> int:
    return int(at.timestamp()) * 1000 + at.microsecond // 1000


def opsgenie_ns(at: datetime) -> int:
    return int(at.timestamp()) * 10**9 + at.microsecond * 1000


def test_opsgenie_nanosecond_updated_at_through_the_intake(cast, make_integration, hook, caplog):
    integration = make_integration("opsgenie")
    start = MOMENT
    closed = start + timedelta(minutes=42)
    create = p.opsgenie_alert("Create", created=opsgenie_ms(start), updated=opsgenie_ns(start))
    close = p.opsgenie_alert("Close", created=opsgenie_ms(start), updated=opsgenie_ns(closed))
    with caplog.at_level(logging.ERROR):
        for payload in (create, close):
            assert hook(integration, p.dumps(payload), p.bearer_headers(SECRET)).status_code == 202
    assert set(RawEvent.objects.values_list("status", flat=True)) == {"processed"}
    incident = Incident.objects.get()
    assert incident.started_at == start.replace(microsecond=123000)
    assert incident.resolved_at == closed
    assert not [r for r in caplog.records if r.exc_info]


def escalate(alert_id="70413a06-38d6-4c85-92b8-5ebc900d42e2"):
    # Escalate (like AddNote) names the alert and the escalation, not the alert's times.
    return {
        "action": "Escalate",
        "alert": {"alertId": alert_id},
        "escalation": {"id": "2f2b9ee7-d8d5-4b2a-9ab4-8a3c0a1b5e21", "name": "checkout_escalation"},
        "source": {"name": "", "type": "system"},
        "integrationName": "Webhook",
        "integrationId": "8e4a2fbb-b84b-4ae1-a1c2-dc8d5c1ff2f5",
        "integrationType": "Webhook",
    }


def test_opsgenie_escalate_of_an_unknown_alert_is_ignored_with_the_reason(cast, make_integration, hook):
    integration = make_integration("opsgenie")
    assert hook(integration, p.dumps(escalate()), p.bearer_headers(SECRET)).status_code == 202
    event = RawEvent.objects.get()
    assert event.status == "ignored" and "Escalate" in event.note and "not known" in event.note
    assert Incident.objects.count() == 0


def test_opsgenie_escalate_updates_the_known_incident_and_keeps_its_times(cast, make_integration, hook):
    integration = make_integration("opsgenie")
    create = p.opsgenie_alert("Create", created=opsgenie_ms(MOMENT), updated=opsgenie_ns(MOMENT))
    hook(integration, p.dumps(create), p.bearer_headers(SECRET))
    before = Incident.objects.get()
    assert hook(integration, p.dumps(escalate()), p.bearer_headers(SECRET)).status_code == 202
    event = RawEvent.objects.get(event_type="Escalate")
    assert event.status == "processed" and event.error == ""
    after = Incident.objects.get()
    assert (after.pk, after.started_at, after.status, after.team) == (
        before.pk,
        before.started_at,
        "open",
        cast.team,
    )


def test_opsgenie_close_without_created_at_is_an_explained_failure(cast, make_integration, hook):
    integration = make_integration("opsgenie")
    payload = p.opsgenie_alert("Close", created=None, updated=opsgenie_ns(MOMENT))
    payload["alert"].pop("createdAt")
    hook(integration, p.dumps(payload), p.bearer_headers(SECRET))
    event = RawEvent.objects.get()
    assert event.status == "failed" and "has no createdAt" in event.error


def test_unexpected_shapes_are_recorded_failures_without_a_traceback(cast, make_integration, hook, caplog):
    integration = make_integration("github")
    payload = p.github_push(commits=[("a" * 40, "x", "2026-03-01T10:00:00Z")])
    payload["commits"][0]["timestamp"] = 10**25  # a number no clock gives
    body = p.dumps(payload)
    with caplog.at_level(logging.ERROR):
        assert hook(integration, body, p.github_headers(SECRET, body, "push")).status_code == 202
    event = RawEvent.objects.get()
    assert event.status == "failed" and "Unreadable time" in event.error
    assert not [r for r in caplog.records if r.exc_info]


# --- PagerDuty: a resolve before (or without) its trigger ---------------------------------

TRIGGERED_AT = "2026-03-03T08:00:00Z"
RESOLVED_AT = "2026-03-03T09:30:00Z"


def pagerduty(hook, integration, event_type, occurred_at, created_at=""):
    body = p.dumps(p.pagerduty_event(event_type, occurred_at=occurred_at, created_at=created_at))
    assert hook(integration, body, p.pagerduty_headers([SECRET], body)).status_code == 202


def at(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_resolve_with_the_incidents_created_at_starts_it_then_not_when_resolved(cast, make_integration, hook):
    integration = make_integration("pagerduty")
    pagerduty(hook, integration, "incident.resolved", RESOLVED_AT, created_at=TRIGGERED_AT)
    incident = Incident.objects.get()
    assert (incident.started_at, incident.resolved_at) == (at(TRIGGERED_AT), at(RESOLVED_AT))
    assert incident.duration == timedelta(minutes=90)


@pytest.mark.parametrize("order", ["resolved-first", "triggered-first"])
def test_a_resolve_without_created_at_never_makes_a_zero_length_incident(cast, make_integration, hook, order):
    integration = make_integration("pagerduty")
    steps = [("incident.resolved", RESOLVED_AT, ""), ("incident.triggered", TRIGGERED_AT, "")]
    if order == "triggered-first":
        steps.reverse()
    pagerduty(hook, integration, *steps[0])
    first = Incident.objects.get()
    if order == "resolved-first":
        # The start is unknown, not the resolution time: no recovery time of 0.
        assert (first.started_at, first.status, first.resolved_at) == (None, "resolved", at(RESOLVED_AT))
        assert first.start_unknown and first.duration is None
    pagerduty(hook, integration, *steps[1])
    assert set(RawEvent.objects.values_list("status", flat=True)) == {"processed"}
    incident = Incident.objects.get()
    assert (incident.started_at, incident.detected_at) == (at(TRIGGERED_AT), at(TRIGGERED_AT))
    assert (incident.status, incident.resolved_at) == ("resolved", at(RESOLVED_AT))
    assert incident.duration == timedelta(minutes=90)


def test_an_incident_of_unknown_start_is_left_out_of_time_to_restore_and_said_so(
    cast, make_integration, hook, client_for
):
    from django.urls import reverse

    from apps.delivery import rollups, selectors
    from apps.delivery.models import IncidentDeploymentLink
    from apps.postmortems import selectors as pm_selectors
    from apps.postmortems.services import postmortem_create

    integration = make_integration("pagerduty")
    pagerduty(hook, integration, "incident.resolved", RESOLVED_AT)
    incident = Incident.objects.get()
    # No deployment can be "before" an unknown start: the link says none, nothing crashes.
    assert IncidentDeploymentLink.objects.get(incident=incident).method == "none"
    assert list(selectors.link_candidates(incident=incident)) == []
    assert pm_selectors.slo_impact(incident) == []
    rollups.refresh(team_ids=[cast.team.pk], since=datetime(2026, 3, 1).date(), until=datetime(2026, 3, 7).date())
    keys = selectors.team_dora(team_ids=[cast.team.pk], window_days=7, until=datetime(2026, 3, 7).date(), full=True)
    # No deployment, so no change failure to recover from: recovery time has no data.
    recovery = keys[cast.team.pk]["recovery_time_hours"]
    assert (recovery["median"], recovery["recoveries"]) == (None, 0)
    unknown = selectors.incidents_start_unknown(team_ids=[cast.team.pk], window_days=7, until=datetime(2026, 3, 7))
    assert unknown == {cast.team.pk: 1}
    client = client_for("lead")
    page = client.get(reverse("delivery:team", args=[cast.team.pk]))
    assert page.status_code == 200
    assert "not counted: start unknown" in page.content.decode()
    detail = client.get(incident.get_absolute_url())
    assert detail.status_code == 200 and "unknown (start not told yet)" in detail.content.decode()
    postmortem, _ = postmortem_create(actor=cast.lead, incident=incident, title="Checkout errors")
    export = client.get(reverse("postmortems:export", args=[postmortem.pk]))
    assert export.status_code == 200
    assert export["Content-Disposition"] == 'attachment; filename="start-unknown-checkout-errors.md"'
    assert "- **Started:** not known yet" in export.content.decode()
    # The trigger arrives: the start is filled in and the incident counts (90 minutes).
    pagerduty(hook, integration, "incident.triggered", TRIGGERED_AT)
    rollups.refresh_dirty()
    keys = selectors.team_dora(team_ids=[cast.team.pk], window_days=7, until=datetime(2026, 3, 7).date(), full=True)
    incident.refresh_from_db()
    assert (incident.resolved_at - incident.started_at).total_seconds() == 1.5 * 3600  # never zero-length
    assert selectors.incidents_start_unknown(team_ids=[cast.team.pk], window_days=7, until=datetime(2026, 3, 7)) == {}


def test_the_team_page_says_how_many_incidents_were_left_out_for_an_unknown_start(cast, client_for):
    from django.urls import reverse
    from django.utils import timezone

    from apps.postmortems.services import incident_upsert_from_source

    incident_upsert_from_source(
        actor=SYSTEM,
        organization=cast.org,
        team=cast.team,
        source="pagerduty",
        external_id="PUNKNOWN",
        services=[cast.service],
        start_unknown=True,
        status="resolved",
        resolved_at=timezone.now() - timedelta(hours=1),
    )
    page = client_for("member").get(reverse("delivery:team", args=[cast.team.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "No recovered change failures · 1 incident with an unknown start left out" in html
    # Without start_unknown, a source incident still needs its start.
    with pytest.raises(ValidationError, match="When did the incident start"):
        incident_upsert_from_source(
            actor=SYSTEM,
            organization=cast.org,
            team=cast.team,
            source="pagerduty",
            external_id="PNOSTART",
            status="open",
        )
