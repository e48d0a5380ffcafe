"""Each service check on hand-checked data: pass, fail and not applicable."""

from datetime import date

import pytest

from apps.servicechecks import selectors
from apps.teams.models import Service, TeamMembership
from tests.factories import ServiceFactory, TeamFactory, TeamMembershipFactory, UserFactory

TODAY = date(2026, 12, 2)
pytestmark = pytest.mark.django_db


def _one(key, service, **params):
    return selectors.evaluate([key], Service.objects.filter(pk=service.pk), today=TODAY, params={key: params})[
        (key, service.pk)
    ]


def test_team_lead_passes_with_an_active_lead_and_fails_without():
    team = TeamFactory()
    s = ServiceFactory(team=team, organization=team.organization)
    member = TeamMembershipFactory(team=team, role=TeamMembership.Role.MEMBER)
    assert _one("team_lead", s).passed is False
    lead = TeamMembershipFactory(team=team, role=TeamMembership.Role.LEAD, user=UserFactory(is_active=False))
    assert _one("team_lead", s).passed is False  # a deactivated lead answers for nothing
    lead.user.is_active = True
    lead.user.save()
    result = _one("team_lead", s)
    assert result.passed is True and result.link == f"/teams/{team.pk}/"
    assert member.pk


def test_runbook_link_from_the_url_or_a_runbook_record():
    from apps.sre.models import Runbook

    team = TeamFactory()
    bare = ServiceFactory(team=team, organization=team.organization, runbook_url="")
    with_url = ServiceFactory(team=team, organization=team.organization, runbook_url="https://wiki.example/rb")
    with_record = ServiceFactory(team=team, organization=team.organization, runbook_url="")
    Runbook.objects.create(team=team, title="Restart", body="Do it").services.add(with_record)
    r = selectors.evaluate(["runbook_link"], Service.objects.filter(team=team), today=TODAY)
    assert r[("runbook_link", bare.pk)].passed is False
    assert r[("runbook_link", bare.pk)].link == f"/teams/services/{bare.pk}/edit/"
    assert r[("runbook_link", with_url.pk)].passed is True
    assert r[("runbook_link", with_url.pk)].link == "https://wiki.example/rb"
    assert r[("runbook_link", with_record.pk)].passed is True


def test_unknown_check_key_is_refused():
    with pytest.raises(KeyError, match="Unknown service check"):
        selectors.evaluate(["nope"], Service.objects.none(), today=TODAY)
