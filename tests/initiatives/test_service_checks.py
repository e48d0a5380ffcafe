"""Service checks plug into initiatives through `selectors._service_results` (apps.servicechecks when it is
installed). Here the results are given by hand: a team passes when every applicable service passes,
a check that applies to none of its services passes as "not applicable", a service in scope is judged alone."""

import pytest
from django.core.exceptions import ValidationError

from apps.core import permissions
from apps.initiatives import selectors, services
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def runbook_check(monkeypatch, cast):
    second = ServiceFactory(team=cast.team, name="checkout-worker", tier=1)
    results = {
        ("runbook", cast.service.pk): (True, "Linked.", "/sre/runbooks/"),
        ("runbook", second.pk): (False, "No runbook link.", f"/teams/services/{second.pk}/edit/"),
        ("runbook", cast.other_service.pk): (None, "Only tier-1 services need one.", None),
    }
    monkeypatch.setattr(selectors, "service_check_choices", lambda: [("runbook", "Runbook link present")])
    monkeypatch.setattr(selectors, "_service_results", lambda keys, ids, today: dict(results))
    return second


def test_team_aggregates_its_services(cast, runbook_check):
    initiative = services.initiative_create(
        actor=permissions.SYSTEM,
        organization=cast.org,
        name="Every tier-1 service has a runbook",
        reason="On-call needs it at 3 a.m.",
        start_date=cast.org.created_at.date(),
        target_date=cast.org.created_at.date().replace(year=cast.org.created_at.year + 1),
        teams=[cast.team, cast.other_team],
        services=[cast.service],
        checks=[{"kind": "service", "service_check": "runbook"}],
    )
    scope = selectors.evaluate(initiative)
    got = {(i.kind, i.label): (i.passed, i.outcomes[0].actual, i.outcomes[0].link) for i in scope.items}
    assert got == {
        ("team", "Checkout"): (False, "1 of 2 services", f"/teams/services/{runbook_check.pk}/edit/"),
        ("team", "Search"): (True, "not applicable", None),
        ("service", "checkout-api"): (True, "1 of 1 services", "/sre/runbooks/"),
    }
    assert (scope.passing, scope.total) == (2, 3)
    assert initiative.checks.get().name == "runbook"


def test_unknown_service_check_is_refused(cast, runbook_check):
    with pytest.raises(ValidationError):
        services.initiative_create(
            actor=permissions.SYSTEM,
            organization=cast.org,
            name="x",
            reason="x",
            start_date=cast.org.created_at.date(),
            target_date=cast.org.created_at.date().replace(year=cast.org.created_at.year + 1),
            checks=[{"kind": "service", "service_check": "nope"}],
        )


def test_real_service_check_moves_when_the_runbook_is_linked(cast):
    """No hand-given results: apps.servicechecks judges `runbook_link` on the services' own fields."""
    cast.service.runbook_url = "https://runbooks.example.com/checkout-api"
    cast.service.save(update_fields=["runbook_url"])
    second = ServiceFactory(team=cast.team, name="checkout-worker", tier=1, runbook_url="")
    assert ("runbook_link", "Runbook link present") in selectors.service_check_choices()
    initiative = services.initiative_create(
        actor=permissions.SYSTEM,
        organization=cast.org,
        name="Every service links a runbook",
        reason="On-call needs it at 3 a.m.",
        start_date=cast.org.created_at.date(),
        target_date=cast.org.created_at.date().replace(year=cast.org.created_at.year + 1),
        teams=[cast.team],
        checks=[{"kind": "service", "service_check": "runbook_link"}],
    )
    scope = selectors.evaluate(initiative)
    assert [(i.passed, i.outcomes[0].actual) for i in scope.items] == [(False, "1 of 2 services")]
    second.runbook_url = "https://runbooks.example.com/checkout-worker"
    second.save(update_fields=["runbook_url"])
    scope = selectors.evaluate(initiative)
    assert [(i.passed, i.outcomes[0].actual) for i in scope.items] == [(True, "2 of 2 services")]
    assert (scope.passing, scope.total) == (1, 1)
