import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.core import permissions
from apps.initiatives import services
from apps.initiatives.models import Initiative
from apps.scoring.models import Check

pytestmark = pytest.mark.django_db


def test_graduate_adds_the_metric_checks_to_the_rubric_and_completes(initiative, cast):
    from apps.scoring.services import scorecard_ensure

    scorecard_ensure(actor=permissions.SYSTEM, organization=cast.org)
    before = Check.objects.filter(scorecard__organization=cast.org).count()
    added = services.initiative_graduate(actor=cast.org_admin, initiative=initiative, level=3)
    assert [(c.level, c.metric, c.operator, c.value) for c in added] == [
        (3, "slo.coverage", "gte", 0.5),
        (3, "score.overall", "gte", 50.0),
    ]
    assert added[0].hint == "Add SLOs."
    assert Check.objects.filter(scorecard__organization=cast.org).count() == before + 2
    initiative.refresh_from_db()
    assert initiative.status == Initiative.Status.COMPLETED
    assert (initiative.graduated_by, initiative.graduated_level) == (cast.org_admin, 3)
    first_at = initiative.graduated_at
    # Again: nothing added twice, the record kept.
    services.initiative_graduate(actor=cast.org_admin, initiative=initiative, level=3)
    initiative.refresh_from_db()
    assert Check.objects.filter(scorecard__organization=cast.org).count() == before + 2
    assert initiative.graduated_at == first_at


def test_graduated_checks_count_in_the_next_scoring_run(initiative, cast):
    import datetime as dt

    from apps.scoring import services as scoring_services
    from apps.scoring.models import Snapshot

    services.initiative_graduate(actor=permissions.SYSTEM, initiative=initiative, level=2)
    scoring_services.scoring_run(actor=permissions.SYSTEM, organization=cast.org, as_of=dt.date(2026, 11, 3))
    snap = Snapshot.objects.get(team=cast.team, date=dt.date(2026, 11, 3))
    keys = {c["key"] for c in snap.checks}
    assert {f"initiative-{initiative.pk}-{c.pk}" for c in initiative.checks.all()} <= keys


def test_only_org_admins_graduate(initiative, cast):
    for who in (cast.leader, cast.lead, cast.outsider):
        with pytest.raises(PermissionDenied):
            services.initiative_graduate(actor=who, initiative=initiative, level=2)
    assert not Check.objects.filter(key__startswith="initiative-").exists()


def test_nothing_to_graduate_and_bad_levels(cast, initiative):
    with pytest.raises(ValidationError):
        services.initiative_graduate(actor=cast.org_admin, initiative=initiative, level=1)
    empty = services.initiative_create(
        actor=cast.leader,
        organization=cast.org,
        name="Empty",
        reason="x",
        start_date=initiative.start_date,
        target_date=initiative.target_date,
    )
    with pytest.raises(ValidationError):
        services.initiative_graduate(actor=cast.org_admin, initiative=empty, level=2)


def test_teams_do_not_manage_initiatives(cast, initiative):
    with pytest.raises(PermissionDenied):
        services.initiative_update(actor=cast.lead, initiative=initiative, name="Mine now")
    with pytest.raises(PermissionDenied):
        services.initiative_create(
            actor=cast.member,
            organization=cast.org,
            name="x",
            reason="x",
            start_date=initiative.start_date,
            target_date=initiative.target_date,
        )
    with pytest.raises(PermissionDenied):
        services.progress_record(actor=cast.lead, initiative=initiative)
