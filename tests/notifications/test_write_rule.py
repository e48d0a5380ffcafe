"""The write rule in notifications: a person changes only their own settings, the planning and
sending services belong to the jobs (SYSTEM)."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.core.permissions import SYSTEM
from apps.notifications import kinds, services
from apps.notifications.models import Delivery, Preference

pytestmark = pytest.mark.django_db


def test_a_person_changes_only_their_own_preferences(cast, api_for):
    with pytest.raises(PermissionDenied):
        services.preference_set(actor=cast.lead, user=cast.member, kind=kinds.TEAM_DIGEST, enabled=False)
    with pytest.raises(PermissionDenied):
        services.preferences_save(actor=cast.lead, user=cast.member, enabled_kinds=[])
    assert not Preference.objects.filter(user=cast.member).exists()
    services.preference_set(actor=cast.member, user=cast.member, kind=kinds.TEAM_DIGEST, enabled=False)
    assert Preference.objects.get(user=cast.member, kind=kinds.TEAM_DIGEST).enabled is False


def test_planning_and_sending_are_the_jobs_work(cast):
    day = dt.date(2026, 3, 9)
    for actor in (cast.org_admin, cast.lead):
        with pytest.raises(PermissionDenied):
            services.digests_plan(actor=actor, organization=cast.org, as_of=day)
        with pytest.raises(PermissionDenied):
            services.deliveries_abandon_stale(actor=actor)
    assert not Delivery.objects.exists()
    services.digests_plan(actor=SYSTEM, organization=cast.org, as_of=day)
    assert Delivery.objects.filter(organization=cast.org).exists()


def test_a_team_target_of_another_org_is_a_field_error(cast):
    from apps.teams.models import Team

    with pytest.raises(ValidationError) as exc:
        services.target_create(
            actor=SYSTEM,
            organization=cast.org,
            team=Team.objects.get(slug="billing"),
            name="#billing",
            channel="email",
            address="billing@example.test",
            kind_keys=[kinds.TEAM_DIGEST],
        )
    assert exc.value.message_dict == {"team": ["The team belongs to another organization."]}
