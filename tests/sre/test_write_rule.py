"""The sre write services check rights themselves (the views only fetch and call them)."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from apps.core import permissions
from apps.sre import services
from apps.sre.models import GateDecision, GateOverride, Runbook, ToilItem, ToilReview

pytestmark = pytest.mark.django_db


def test_gate_asks_are_for_the_services_team(cast):
    with pytest.raises(PermissionDenied):
        services.gate_decide(service=cast.service, actor=cast.other_member)
    with pytest.raises(Http404):
        services.gate_decide(service=cast.service, actor=cast.outsider)
    with pytest.raises(Http404):
        services.gate_decide(service_id=0, actor=cast.member)  # no such service: 404, not a crash
    assert not GateDecision.objects.exists()
    d = services.gate_decide(service=cast.service, actor=permissions.SYSTEM)
    assert d.allowed and d.requested_by is None  # the system is recorded as no person


def test_only_a_lead_or_admin_overrides(cast):
    for who in (cast.member, cast.leader, cast.other_member):
        with pytest.raises(PermissionDenied):
            services.gate_override_create(service=cast.service, actor=who, reason="Launch", hours=1)
    assert not GateOverride.objects.exists()
    o = services.gate_override_create(service=cast.service, actor=cast.org_admin, reason="Launch", hours=1)
    assert o.created_by == cast.org_admin


def test_toil_and_runbooks_are_the_teams(cast):
    with pytest.raises(PermissionDenied):
        services.toil_item_create(
            team=cast.team, actor=cast.other_member, title="Rotate keys", category="interrupts", hours_per_week=1
        )
    item = services.toil_item_create(
        team=cast.team, actor=cast.member, title="Rotate keys", category="interrupts", hours_per_week=1
    )
    with pytest.raises(PermissionDenied):
        services.toil_item_update(item=item, actor=cast.leader, hours_per_week=2)
    with pytest.raises(PermissionDenied):
        services.toil_review_record(team=cast.team, actor=cast.member, capacity_hours=40)
    assert ToilItem.objects.get().hours_per_week == 1 and not ToilReview.objects.exists()
    rb = services.runbook_create(team=cast.team, actor=cast.member, title="Failover", body="1. Page the DBA")
    assert rb.last_reviewed_by == cast.member
    with pytest.raises(PermissionDenied):
        services.runbook_update(runbook=rb, actor=cast.other_member, title="Mine now", body="x")
    # Moving a runbook to another team needs the right to keep that team's runbooks too.
    with pytest.raises(PermissionDenied):
        services.runbook_update(runbook=rb, actor=cast.member, team=cast.other_team, title="Failover", body="x")
    with pytest.raises(PermissionDenied):
        services.runbook_mark_reviewed(runbook=rb, actor=cast.leader)
    assert Runbook.objects.get().team == cast.team and Runbook.objects.get().title == "Failover"
