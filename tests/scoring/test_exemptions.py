"""Exemptions: a lead asks, an org admin grants (justification, expiry) or rejects or revokes; all audited."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.core import permissions
from apps.scoring import selectors, services
from apps.scoring.models import Exemption, ExemptionEvent

pytestmark = pytest.mark.django_db


def _soon(days=30):
    return timezone.localdate() + timedelta(days=days)


def test_lead_request_is_recorded(cast, requested):
    assert requested.status == Exemption.Status.REQUESTED
    assert requested.requested_by == cast.lead
    assert list(requested.events.values_list("action", "actor")) == [("requested", cast.lead.pk)]


def test_asking_twice_returns_the_open_request(cast, scorecard, requested):
    again = services.exemption_request(
        team=cast.team, level_check=requested.level_check, actor=cast.lead, reason="Again."
    )
    assert again.pk == requested.pk
    assert Exemption.objects.count() == 1 and ExemptionEvent.objects.count() == 1


@pytest.mark.parametrize("role", ["member", "leader", "other_member", "outsider"])
def test_only_the_lead_or_an_admin_asks(cast, scorecard, role):
    with pytest.raises(PermissionDenied):
        services.exemption_request(
            team=cast.team, level_check=scorecard.checks.first(), actor=cast.user(role), reason="Please."
        )
    assert not Exemption.objects.exists()


def test_request_needs_a_reason_and_a_check_of_the_org(cast, scorecard):
    with pytest.raises(ValidationError):
        services.exemption_request(team=cast.team, level_check=scorecard.checks.first(), actor=cast.lead, reason="  ")
    foreign = services.scorecard_ensure(actor=permissions.SYSTEM, organization=cast.other_org).checks.first()
    with pytest.raises(ValidationError):
        services.exemption_request(team=cast.team, level_check=foreign, actor=cast.lead, reason="Please.")
    assert not Exemption.objects.exists()


def test_admin_grants_with_justification_and_expiry(cast, requested):
    granted = services.exemption_grant(
        exemption=requested, actor=cast.org_admin, justification="Retirement agreed.", expires_on=_soon()
    )
    assert granted.status == Exemption.Status.GRANTED
    assert granted.decided_by == cast.org_admin and granted.expires_on == _soon()
    assert list(granted.events.values_list("action", flat=True)) == ["requested", "granted"]
    # Granting again on the same terms changes nothing (a retried request).
    services.exemption_grant(
        exemption=requested, actor=cast.org_admin, justification="Retirement agreed.", expires_on=_soon()
    )
    assert granted.events.count() == 2


@pytest.mark.parametrize("role", ["leader", "lead", "member", "outsider"])
def test_only_org_admins_grant(cast, requested, role):
    with pytest.raises(PermissionDenied):
        services.exemption_grant(exemption=requested, actor=cast.user(role), justification="x", expires_on=_soon())
    requested.refresh_from_db()
    assert requested.status == Exemption.Status.REQUESTED


@pytest.mark.parametrize(
    ("justification", "expires_on"),
    [("", _soon), ("Fine.", None), ("Fine.", lambda: timezone.localdate()), ("Fine.", lambda: _soon(400))],
)
def test_bad_grants_write_nothing(cast, requested, justification, expires_on):
    with pytest.raises(ValidationError):
        services.exemption_grant(
            exemption=requested,
            actor=cast.org_admin,
            justification=justification,
            expires_on=expires_on() if expires_on else None,
        )
    requested.refresh_from_db()
    assert requested.status == Exemption.Status.REQUESTED and requested.decided_by is None
    assert requested.events.count() == 1


def test_reject_and_ask_again(cast, requested):
    services.exemption_reject(exemption=requested, actor=cast.org_admin, justification="Not a good reason.")
    requested.refresh_from_db()
    assert requested.status == Exemption.Status.REJECTED
    # A rejected request is history: the lead may ask again.
    again = services.exemption_request(
        team=cast.team, level_check=requested.level_check, actor=cast.lead, reason="New reason."
    )
    assert again.pk != requested.pk
    with pytest.raises(ValidationError):
        services.exemption_grant(exemption=requested, actor=cast.org_admin, justification="x", expires_on=_soon())


def test_revoke_is_recorded(cast, requested):
    services.exemption_grant(exemption=requested, actor=cast.org_admin, justification="Ok.", expires_on=_soon())
    services.exemption_revoke(exemption=requested, actor=cast.org_admin, justification="Retirement cancelled.")
    requested.refresh_from_db()
    assert requested.status == Exemption.Status.REVOKED
    events = list(requested.events.values_list("action", "note"))
    assert events[-1] == ("revoked", "Retirement cancelled.")
    with pytest.raises(ValidationError):
        services.exemption_reject(exemption=requested, actor=cast.org_admin, justification="x")


def test_revoking_needs_a_grant(cast, requested):
    with pytest.raises(ValidationError):
        services.exemption_revoke(exemption=requested, actor=cast.org_admin, justification="x")


def test_a_grant_past_its_date_shows_as_expired(cast, requested):
    services.exemption_grant(exemption=requested, actor=cast.org_admin, justification="Ok.", expires_on=_soon(5))
    requested.refresh_from_db()
    assert selectors.exemption_state(requested, timezone.localdate()) == "granted"
    assert selectors.exemption_state(requested, _soon(6)) == "expired"


def test_scorecard_update_is_validated_and_admin_only(cast, scorecard):
    with pytest.raises(PermissionDenied):
        services.scorecard_update(scorecard=scorecard, actor=cast.leader, weight_delivery=50)
    with pytest.raises(ValidationError):
        services.scorecard_update(
            scorecard=scorecard,
            actor=cast.org_admin,
            weight_self_assessment=0,
            weight_delivery=0,
            weight_reliability=0,
            weight_learning=0,
        )
    scorecard.refresh_from_db()
    assert scorecard.weight_delivery == 30
    services.scorecard_update(scorecard=scorecard, actor=cast.org_admin, weight_delivery=50)
    scorecard.refresh_from_db()
    assert scorecard.weight_delivery == 50


def test_default_rubric_is_created_once(cast):
    first = services.scorecard_ensure(actor=permissions.SYSTEM, organization=cast.org)
    second = services.scorecard_ensure(actor=permissions.SYSTEM, organization=cast.org)
    assert first.pk == second.pk
    assert first.checks.count() == len(services.default_rubric()["checks"])
    assert set(first.checks.values_list("level", flat=True)) == {2, 3, 4, 5}
    for check in first.checks.all():
        check.full_clean()  # the shipped rubric passes the admin's validation


@pytest.mark.parametrize(
    ("metric", "value", "ok"),
    [
        ("pm.published_share", 0.8, True),
        ("pm.published_share", 80, False),
        ("score.overall", 101, False),
        ("dora.deployment_frequency_rank", 2.5, False),
        ("dora.deployment_frequency_rank", 4, True),
        ("dora.lead_time_hours", 168, True),
        ("no.such.metric", 1, False),
    ],
)
def test_check_values_are_validated_for_their_metric(scorecard, metric, value, ok):
    from apps.scoring.models import Check

    check = Check(scorecard=scorecard, key="x", level=3, name="X", metric=metric, operator="gte", value=value, hint="h")
    if ok:
        check.full_clean()
    else:
        with pytest.raises(ValidationError):
            check.full_clean()
