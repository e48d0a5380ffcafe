"""Each service check on hand-checked data: pass, fail and not applicable."""

from datetime import date, timedelta

import pytest

from apps.delivery.models import Deployment
from apps.postmortems.models import Incident, Postmortem
from apps.servicechecks import registry, selectors
from apps.slos.models import SLI
from apps.teams.models import Service, TeamMembership
from tests.factories import ServiceFactory, TeamFactory, TeamMembershipFactory, UserFactory
from tests.servicechecks import factories as f

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


def _all(key, services, **params):
    ids = [s.pk for s in services]
    r = selectors.evaluate([key], Service.objects.filter(pk__in=ids), today=TODAY, params={key: params})
    return [r[(key, s.pk)].passed for s in services]


def _svc(team, **kw):
    return ServiceFactory(team=team, organization=team.organization, **kw)


def test_runbook_reviewed_within_180_days_for_tier_1_only():
    team = TeamFactory()
    fresh, stale, never, none, future = (_svc(team, tier=1) for _ in range(5))
    tier2 = _svc(team, tier=2)
    f.runbook(fresh, reviewed_on=TODAY - timedelta(days=180))  # the 180th day still counts
    f.runbook(stale, reviewed_on=TODAY - timedelta(days=181))
    f.runbook(never, reviewed_on=None)
    f.runbook(future, reviewed_on=TODAY + timedelta(days=1))  # not known on TODAY
    f.runbook(tier2, reviewed_on=None)
    services = [fresh, stale, never, none, future, tier2]
    assert _all("runbook_reviewed", services) == [True, False, False, False, False, None]
    assert "No runbook record" in _one("runbook_reviewed", none).reason
    # The window and the tiers are the check's parameters.
    assert _all("runbook_reviewed", [stale, tier2], days=365, tiers=(1, 2)) == [True, False]


def test_repository_linked_by_url_or_an_active_code_mapping():
    team = TeamFactory()
    url, gh, gl, paused, pd, bare = (_svc(team) for _ in range(6))
    url.repository_url = "https://github.com/acme/url"
    url.save()
    f.mapping(gh, "github")
    f.mapping(gl, "gitlab")
    f.mapping(paused, "github", active=False)
    f.mapping(pd, "pagerduty")  # an on-call mapping is not a repository
    assert _all("repository_linked", [url, gh, gl, paused, pd, bare]) == [True, True, True, False, False, False]


def test_oncall_connected_by_pagerduty_or_opsgenie_for_tier_1_and_2():
    team = TeamFactory()
    pd, og, gh, paused, tier3 = (_svc(team, tier=t) for t in (1, 2, 1, 2, 3))
    f.mapping(pd, "pagerduty")
    f.mapping(og, "opsgenie")
    f.mapping(gh, "github")
    f.mapping(paused, "opsgenie", active=False)
    f.mapping(tier3, "pagerduty")
    assert _all("oncall_connected", [pd, og, gh, paused, tier3]) == [True, True, False, False, None]


def test_slo_defined_for_tier_1():
    team = TeamFactory()
    with_slo, without, tier3 = _svc(team, tier=1), _svc(team, tier=1), _svc(team, tier=3)
    f.slo(with_slo)
    SLI.objects.create(organization=team.organization, service=without, name="Latency", slug="lat")  # an SLI alone
    assert _all("slo_defined", [with_slo, without, tier3]) == [True, False, None]
    assert _one("slo_defined", without).link == "/slos/new/"


def test_recent_production_deploy_in_the_last_30_days():
    team = TeamFactory()
    recent, edge, old, staging, failed, deprecated, never = (_svc(team) for _ in range(7))
    deprecated.lifecycle = Service.Lifecycle.DEPRECATED
    deprecated.save()
    f.deployment(recent, f.at(TODAY))
    # The 30 days are Nov 3 .. Dec 2 (TODAY included): [Nov 3 00:00, Dec 3 00:00) UTC.
    f.deployment(edge, f.at(TODAY - timedelta(days=29), 1))  # Nov 3, 01:00
    f.deployment(old, f.at(TODAY - timedelta(days=30), 23))  # Nov 2, 23:00
    f.deployment(staging, f.at(TODAY), production=False)
    f.deployment(failed, f.at(TODAY), status=Deployment.Status.FAILURE)
    f.deployment(recent, f.at(TODAY + timedelta(days=1)))  # after TODAY: irrelevant either way
    services = [recent, edge, old, staging, failed, deprecated, never]
    assert _all("recent_deploy", services) == [True, True, False, False, False, None, False]
    assert _all("recent_deploy", [old], days=60) == [True]


def test_alerts_routed_when_the_team_set_an_email_or_webhook():
    routed_team, silent_team, empty_team = TeamFactory(), TeamFactory(), TeamFactory()
    f.alert_settings(routed_team, webhook_url="https://hooks.example/x")
    f.alert_settings(empty_team)  # settings saved with nothing in them
    routed, silent, empty = _svc(routed_team), _svc(silent_team), _svc(empty_team)
    no_alerting, no_slo = _svc(routed_team), _svc(silent_team)
    for s in (routed, silent, empty):
        f.slo(s)
    f.slo(no_alerting, alerting=False)
    assert _all("alerts_routed", [routed, silent, empty, no_alerting, no_slo]) == [True, False, False, None, None]
    assert _one("alerts_routed", silent).link == f"/slos/teams/{silent_team.pk}/alerts/"


def test_postmortems_published_for_sev1_2_incidents_past_the_grace_days():
    team = TeamFactory()
    done, missing, fresh, minor, old, open_, quiet = (_svc(team) for _ in range(7))
    f.postmortem(f.incident(done, severity=1, resolved_at=f.at(TODAY - timedelta(days=20))))
    f.postmortem(f.incident(done, severity=2, resolved_at=f.at(TODAY - timedelta(days=40))))
    f.postmortem(f.incident(missing, resolved_at=f.at(TODAY - timedelta(days=20))))
    draft = f.incident(missing, resolved_at=f.at(TODAY - timedelta(days=30)))
    f.postmortem(draft, status=Postmortem.Status.IN_REVIEW)
    f.incident(missing, resolved_at=f.at(TODAY - timedelta(days=10)))
    f.incident(fresh, resolved_at=f.at(TODAY - timedelta(days=3)))  # inside the 7 grace days: not due yet
    f.incident(minor, severity=3, resolved_at=f.at(TODAY - timedelta(days=20)))
    f.incident(old, resolved_at=f.at(TODAY - timedelta(days=200)))  # outside the 180-day window
    f.incident(open_, resolved_at=f.at(TODAY - timedelta(days=20)), status=Incident.Status.OPEN)
    services = [done, missing, fresh, minor, old, open_, quiet]
    assert _all("postmortems_published", services) == [True, False, None, None, None, None, None]
    r = _one("postmortems_published", missing)
    assert r.reason == "1 of 3 SEV1-2 incidents have a published postmortem."
    assert r.link == f"/postmortems/incidents/{draft.pk}/"  # the oldest one without a published postmortem
    assert _one("postmortems_published", done).reason == "2 of 2 SEV1-2 incidents have a published postmortem."
    assert _all("postmortems_published", [fresh, minor], grace_days=0, max_severity=3) == [False, False]


def test_evaluate_all_checks_for_one_service_in_one_query(assert_one_select):
    team = TeamFactory()
    s = _svc(team, tier=3)
    with assert_one_select():
        results = selectors.evaluate(None, Service.objects.filter(pk=s.pk), today=TODAY)
    assert {k for k, _ in results} == set(registry.KEYS)
    # A bare tier-3 service: no lead, no runbook link, no repository, not deployed; the rest do not apply.
    assert {k: r.passed for (k, _), r in results.items()} == {
        "team_lead": False,
        "runbook_link": False,
        "runbook_reviewed": None,
        "repository_linked": False,
        "oncall_connected": None,
        "slo_defined": None,
        "recent_deploy": False,
        "alerts_routed": None,
        "postmortems_published": None,
    }
