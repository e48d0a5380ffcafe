import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.core.permissions import SYSTEM
from apps.postmortems import services
from apps.postmortems.models import Incident

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def at(minutes):
    return T0 + dt.timedelta(minutes=minutes)


@pytest.mark.django_db
class TestTimeOrder:
    def test_in_order_is_accepted(self, cast):
        incident = services.incident_create(
            actor=cast.member,
            team=cast.team,
            title="Checkout 500s",
            severity=1,
            started_at=at(0),
            detected_at=at(5),
            mitigated_at=at(20),
            resolved_at=at(60),
            status="resolved",
            services=[cast.service],
        )
        assert incident.duration == dt.timedelta(hours=1)
        assert list(incident.services.all()) == [cast.service]
        assert incident.created_by == cast.member

    @pytest.mark.parametrize(
        "times,field",
        [
            ({"detected_at": at(-1)}, "detected_at"),
            ({"detected_at": at(10), "mitigated_at": at(5)}, "mitigated_at"),
            ({"mitigated_at": at(30), "resolved_at": at(29), "status": "resolved"}, "resolved_at"),
            # detected missing: resolved is still compared with started
            ({"resolved_at": at(-5), "status": "resolved"}, "resolved_at"),
        ],
    )
    def test_out_of_order_is_a_field_error_and_nothing_is_written(self, cast, times, field):
        with pytest.raises(ValidationError) as exc:
            services.incident_create(actor=cast.member, team=cast.team, title="x", started_at=at(0), **times)
        assert field in exc.value.message_dict
        assert "in order" in exc.value.message_dict[field][0]
        assert Incident.objects.count() == 0

    def test_resolved_needs_a_resolution_time(self, cast):
        with pytest.raises(ValidationError) as exc:
            services.incident_create(actor=cast.member, team=cast.team, title="x", started_at=at(0), status="resolved")
        assert "resolved_at" in exc.value.message_dict

    def test_services_of_another_org_are_refused(self, cast):
        from tests.factories import ServiceFactory, TeamFactory

        foreign = ServiceFactory(team=TeamFactory(organization=cast.other_org))
        with pytest.raises(ValidationError) as exc:
            services.incident_create(
                actor=cast.org_admin, team=cast.team, title="x", started_at=at(0), services=[foreign]
            )
        assert "services" in exc.value.message_dict
        assert Incident.objects.count() == 0

    def test_leader_and_other_team_may_not_report(self, cast):
        for user in (cast.leader, cast.other_member, cast.outsider):
            with pytest.raises(PermissionDenied):
                services.incident_create(actor=user, team=cast.team, title="x", started_at=at(0))


@pytest.mark.django_db
class TestUpsertFromSource:
    def upsert(self, cast, **fields):
        return services.incident_upsert_from_source(
            actor=SYSTEM, organization=cast.org, team=cast.team, source="pagerduty", external_id="PD-42", **fields
        )

    def test_same_event_twice_is_one_incident(self, cast):
        first, created = self.upsert(cast, title="DB down", severity=1, started_at=at(0), services=[cast.service])
        again, created_again = self.upsert(cast, title="DB down", severity=1, started_at=at(0), services=[cast.service])
        assert created and not created_again
        assert first.pk == again.pk
        assert Incident.objects.count() == 1
        assert list(again.services.all()) == [cast.service]

    def test_later_events_update_and_never_move_backwards(self, cast):
        self.upsert(cast, title="DB down", severity=2, started_at=at(0), detected_at=at(4))
        self.upsert(cast, status="resolved", resolved_at=at(90), mitigated_at=at(30))
        # A late, stale "triggered" event arrives after the resolution.
        incident, _ = self.upsert(cast, status="open", started_at=at(0), detected_at=at(4), severity=1)
        assert incident.status == "resolved"
        assert incident.resolved_at == at(90)
        assert incident.mitigated_at == at(30)
        assert incident.severity == 1
        # A re-resolution later moves the resolution forward, never back.
        incident, _ = self.upsert(cast, status="resolved", resolved_at=at(80))
        assert incident.resolved_at == at(90)
        incident, _ = self.upsert(cast, status="resolved", resolved_at=at(120))
        assert incident.resolved_at == at(120)

    def test_events_in_any_order_give_the_same_incident(self, cast):
        events = [
            {"title": "Queue stuck", "started_at": at(0), "status": "open"},
            {"status": "mitigated", "mitigated_at": at(15)},
            {"status": "resolved", "resolved_at": at(40)},
        ]
        self.upsert(cast, **events[0])
        self.upsert(cast, **events[2])
        incident, _ = self.upsert(cast, **events[1])
        assert (incident.status, incident.mitigated_at, incident.resolved_at) == ("resolved", at(15), at(40))

    def test_resolution_time_implies_resolved(self, cast):
        incident, _ = self.upsert(cast, title="x", started_at=at(0), resolved_at=at(10))
        assert incident.status == "resolved"

    def test_out_of_order_times_are_refused(self, cast):
        with pytest.raises(ValidationError) as exc:
            self.upsert(cast, title="x", started_at=at(10), detected_at=at(0))
        assert "detected_at" in exc.value.message_dict
        assert Incident.objects.count() == 0

    def test_same_external_id_in_other_source_or_org_is_another_incident(self, cast):
        from tests.factories import TeamFactory

        self.upsert(cast, title="a", started_at=at(0))
        services.incident_upsert_from_source(
            actor=SYSTEM,
            organization=cast.org,
            team=cast.team,
            source="opsgenie",
            external_id="PD-42",
            title="b",
            started_at=at(0),
        )
        foreign_team = TeamFactory(organization=cast.other_org)
        services.incident_upsert_from_source(
            actor=SYSTEM,
            organization=cast.other_org,
            team=foreign_team,
            source="pagerduty",
            external_id="PD-42",
            title="c",
            started_at=at(0),
        )
        assert Incident.objects.count() == 3

    @pytest.mark.parametrize("bad", [{"external_id": ""}, {"source": "manual"}, {"source": "nagios"}])
    def test_bad_keys(self, cast, bad):
        kwargs = {"organization": cast.org, "team": cast.team, "source": "pagerduty", "external_id": "X1", **bad}
        with pytest.raises(ValidationError):
            services.incident_upsert_from_source(actor=SYSTEM, **kwargs, title="x", started_at=at(0))

    def test_team_of_another_org_is_refused(self, cast):
        from tests.factories import TeamFactory

        with pytest.raises(ValidationError):
            services.incident_upsert_from_source(
                actor=SYSTEM,
                organization=cast.org,
                team=TeamFactory(organization=cast.other_org),
                source="pagerduty",
                external_id="X1",
                title="x",
                started_at=at(0),
            )

    def test_first_event_needs_a_start(self, cast):
        with pytest.raises(ValidationError) as exc:
            self.upsert(cast, title="x")
        assert "started_at" in exc.value.message_dict
