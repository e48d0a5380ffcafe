"""The "initiative deadline a week away" producer: who is told, once per initiative, recipient and deadline."""

import datetime as dt

import pytest
from django.core import mail

from apps.core import permissions
from apps.notifications import kinds, tasks
from apps.notifications import services as notify
from apps.notifications.models import Delivery
from apps.teams import services as team_services
from apps.teams.models import Team
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger_people(cast, four):
    ledger = Team.objects.get(organization=cast.org, slug="ledger")
    keeper = UserFactory(email="keeper@example.test", name="Keeper")
    quiet = UserFactory(email="quiet@example.test", name="Quiet")
    team_services.team_membership_set(actor=permissions.SYSTEM, team=ledger, user=keeper, role="lead")
    team_services.team_membership_set(actor=permissions.SYSTEM, team=ledger, user=quiet, role="member")
    notify.preference_set(actor=quiet, user=quiet, kind=kinds.INITIATIVE_DEADLINE, enabled=False)
    notify.target_create(
        actor=cast.org_admin,
        organization=cast.org,
        team=ledger,
        name="Ledger mail",
        channel="email",
        address="ledger-team@example.test",
        kind_keys=[kinds.INITIATIVE_DEADLINE],
    )
    return ledger


def test_teams_still_failing_hear_once_a_week_before(initiative, ledger_people, cast):
    # 8 days before the target date (11 Nov): too early.
    assert tasks.send_initiative_deadlines("2026-11-03") == 0
    assert mail.outbox == []
    # 6 days before: only Ledger still fails (Checkout, Search and Payments pass by then).
    assert tasks.send_initiative_deadlines("2026-11-05") == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["keeper@example.test", "ledger-team@example.test"]
    message = mail.outbox[0]
    assert message.subject == "Every team measured is due in 6 days"
    assert "Ledger: 0 of 1 in scope pass every check" in message.body
    assert "Ledger: Services have SLOs (no data, needs ≥ 50%)" in message.body
    assert f"/initiatives/{initiative.pk}/" in message.body
    # A retried job, and the next day's run: nothing sent twice.
    tasks.send_initiative_deadlines("2026-11-05")
    tasks.send_initiative_deadlines("2026-11-06")
    assert len(mail.outbox) == 2
    rows = Delivery.objects.filter(kind=kinds.INITIATIVE_DEADLINE)
    assert rows.count() == 2
    assert set(rows.values_list("period", "subject")) == {("2026-11-11", f"initiative:{initiative.pk}")}
    assert not rows.filter(user__email="quiet@example.test").exists()


def test_a_moved_deadline_is_a_new_period(initiative, ledger_people):
    from apps.core import permissions
    from apps.initiatives import services

    tasks.send_initiative_deadlines("2026-11-05")
    services.initiative_update(actor=permissions.SYSTEM, initiative=initiative, target_date=dt.date(2026, 11, 20))
    tasks.send_initiative_deadlines("2026-11-14")
    assert len(mail.outbox) == 4
    assert mail.outbox[-1].subject == "Every team measured is due in 6 days"


def test_drafts_past_deadlines_and_passing_teams_tell_no_one(initiative, ledger_people, cast):
    from apps.core import permissions
    from apps.initiatives import services

    assert tasks.send_initiative_deadlines("2026-11-11") == 0  # due today: too late for "a week away"
    services.initiative_set_status(actor=permissions.SYSTEM, initiative=initiative, status="draft")
    assert tasks.send_initiative_deadlines("2026-11-05") == 0
    assert mail.outbox == []


def test_only_the_job_plans_them(cast):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        notify.initiative_deadlines_plan(actor=cast.org_admin, as_of=dt.date(2026, 11, 5))
