"""The write rule in postmortems: the services check rights themselves (so the page, the API and
intake get the same answer), SYSTEM writes are recorded as no person, and the API's create and
update are one service call each."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.core.permissions import SYSTEM
from apps.postmortems import services
from apps.postmortems.models import ActionItem, Incident, Postmortem
from tests.postmortems.factories import IncidentFactory, make_postmortem

pytestmark = pytest.mark.django_db


def test_a_person_outside_the_team_cannot_report_or_upsert_incidents(cast):
    with pytest.raises(PermissionDenied):
        services.incident_create(actor=cast.other_member, team=cast.team, title="x", started_at=timezone.now())
    with pytest.raises(PermissionDenied):
        services.incident_upsert_from_source(
            actor=cast.other_member,
            organization=cast.org,
            team=cast.team,
            source="api",
            external_id="E-1",
            started_at=timezone.now(),
        )
    assert not Incident.objects.exists()


def test_intake_as_system_records_no_person(cast):
    incident, created = services.incident_upsert_from_source(
        actor=SYSTEM, organization=cast.org, team=cast.team, source="api", external_id="E-2", started_at=timezone.now()
    )
    assert created and incident.created_by is None
    postmortem, _ = services.postmortem_create(actor=SYSTEM, incident=incident)
    assert list(postmortem.authors.all()) == []
    assert list(postmortem.events.values_list("actor", flat=True)) == [None]


def test_handing_an_incident_to_another_team_needs_the_right_there(cast, api_for):
    incident = IncidentFactory(team=cast.team)
    with pytest.raises(PermissionDenied, match="hand this incident"):
        services.incident_update(actor=cast.member, incident=incident, team=cast.other_team)
    response = api_for("member").patch(f"/api/v1/incidents/{incident.pk}/", {"team": cast.other_team.pk}, format="json")
    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.team_id == cast.team.pk
    # An org admin may, and the postmortem moves with it.
    services.incident_update(actor=cast.org_admin, incident=incident, team=cast.other_team)
    assert Incident.objects.get(pk=incident.pk).team_id == cast.other_team.pk


def test_the_api_refuses_a_second_postmortem_and_writes_the_first_draft_in_one_step(cast, api_for):
    incident = IncidentFactory(team=cast.team)
    body = {"incident": incident.pk, "title": "Checkout down", "summary": "It broke.", "tags": ["db"]}
    first = api_for("member").post("/api/v1/postmortems/", body, format="json")
    assert first.status_code == 201, first.content
    pm = Postmortem.objects.get(incident=incident)
    assert (pm.title, pm.summary, [t.name for t in pm.tags.all()]) == ("Checkout down", "It broke.", ["db"])
    second = api_for("member").post("/api/v1/postmortems/", body, format="json")
    assert second.status_code == 400
    assert second.json()["incident"] == ["This incident already has a postmortem."]
    # Someone who may read the incident but is not on its team is refused by the service.
    other = IncidentFactory(team=cast.team)
    assert (
        api_for("other_member").post("/api/v1/postmortems/", {**body, "incident": other.pk}, format="json").status_code
        == 403
    )
    assert not Postmortem.objects.filter(incident=other).exists()


def test_an_action_item_for_a_team_of_another_org_is_a_field_error(cast, api_for):
    pm = make_postmortem(cast)
    from apps.teams.models import Team

    foreign = Team.objects.get(slug="billing")
    with pytest.raises(ValidationError) as exc:
        services.action_item_create(actor=cast.member, postmortem=pm, title="Fix", team=foreign)
    assert exc.value.message_dict == {"team": ["The owning team belongs to another organization."]}
    assert not ActionItem.objects.exists()


def test_a_retried_action_item_create_is_a_200_with_the_same_item(cast, api_for):
    pm = make_postmortem(cast)
    body = {"postmortem": pm.pk, "title": "Add an alarm", "team": cast.team.pk}
    first = api_for("member").post("/api/v1/action-items/", body, format="json")
    again = api_for("member").post("/api/v1/action-items/", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert ActionItem.objects.count() == 1


def test_reindexing_needs_the_right_to_read_the_postmortem(cast):
    pm = make_postmortem(cast)  # a draft: its team and reviewers read it
    with pytest.raises(PermissionDenied):
        services.postmortem_reindex(actor=cast.other_member, postmortem=pm)
    services.postmortem_reindex(actor=cast.member, postmortem=pm)
