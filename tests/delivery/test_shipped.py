"""Lead time by the commits each deployment shipped (parent chains), recovery time and rework
on a hand-checked history, and the same figures whatever the order, redelivery or rebuild."""

import random
from datetime import date, datetime, timedelta

import pytest

from apps.core import permissions
from apps.core.permissions import SYSTEM
from apps.delivery import rollups, selectors, services
from apps.delivery.models import Change, DailyRollup, Deployment, IncidentDeploymentLink
from apps.postmortems.models import Incident
from apps.postmortems.services import incident_upsert_from_source

REPO = "acme/checkout-api"
DAY = date(2026, 3, 2)


def at(hhmm, day=DAY):
    return datetime.fromisoformat(f"{day.isoformat()}T{hhmm}:00+00:00")


# (sha, parent, committed) — one pushed chain; a3 is pushed while D1 runs.
COMMITS = [
    ("a1", "r0", "09:00"),
    ("a2", "a1", "10:00"),
    ("a3", "a2", "10:45"),
    ("a4", "a3", "12:00"),
    ("a5", "a4", "14:00"),
    ("a6", "a5", "17:00"),
]
# (id, status, deployed sha, started, finished, ref)
DEPLOYS = [
    ("D1", "success", "a2", "10:30", "11:00", "main"),  # ships a1 (2 h), a2 (1 h); not a3
    ("D2", "failure", "a4", "12:30", "13:00", "main"),  # failed: ships nothing
    ("D3", "success", "a5", "14:10", "16:00", "main"),  # finishes after D4: ships a5 (2 h) only
    ("D4", "success", "a4", "13:30", "15:00", "main"),  # ships a3 (4.25 h), a4 (3 h); rework (I1 open)
    ("D5", "success", "", "17:30", "18:00", "hotfix/login"),  # sha unknown: time rule ships a6 (1 h), estimated
]
SHIPPED = {"a1": "D1", "a2": "D1", "a3": "D4", "a4": "D4", "a5": "D3", "a6": "D5"}


def _change(sha, parent, when):
    return {"repository": REPO, "sha": sha, "parent_sha": parent, "committed_at": at(when)}


def _deploy(cast, external_id, status, sha, started, finished, ref):
    return {
        "external_id": external_id,
        "repository": REPO,
        "service_key": cast.service.slug,
        "environment": "production",
        "is_production": True,
        "status": status,
        "status_at": at(finished),
        "started_at": at(started),
        "sha": sha,
        "ref": ref,
    }


def _events(cast):
    """Every delivery of the history as a callable, in the order it happened."""
    resolver = services.Resolver(cast.org)
    org = cast.org
    events = []
    for sha, parent, when in COMMITS:
        events.append(
            lambda c=_change(sha, parent, when): services.changes_upsert(
                actor=permissions.SYSTEM,
                organization=org,
                integration=None,
                source="import",
                resolver=resolver,
                records=[c],
            )
        )
    for row in DEPLOYS:
        record = _deploy(cast, *row)
        # The pending state first, as sources send it, then the final one.
        events.append(
            lambda r={**record, "status": "in_progress", "status_at": record["started_at"]}: services.deployment_apply(
                actor=permissions.SYSTEM,
                organization=org,
                integration=None,
                source="import",
                resolver=resolver,
                record=r,
            )
        )
        events.append(
            lambda r=record: services.deployment_apply(
                actor=permissions.SYSTEM,
                organization=org,
                integration=None,
                source="import",
                resolver=resolver,
                record=r,
            )
        )

    def incident():
        # Open 14:30-15:30: D4 finished inside it (rework); it links by default to D1 (the latest
        # successful deployment finished at or before 14:30), a change failure recovered in 1 h.
        incident, _ = incident_upsert_from_source(
            actor=SYSTEM,
            organization=org,
            team=cast.team,
            source="api",
            external_id="I1",
            services=[cast.service],
            started_at=at("14:30"),
            resolved_at=at("15:30"),
        )
        # What the on-commit signal does after a save.
        services.incident_link_refresh(actor=permissions.SYSTEM, incident=incident)

    events.append(incident)
    return events


def _snapshot():
    rollup_rows = sorted(
        (
            r.team_id,
            r.service_id or 0,
            r.day,
            r.deployments,
            r.successful,
            r.failed,
            sorted(r.lead_times),
            r.lead_times_estimated,
            sorted(r.recovery_times),
            r.rework,
            sorted(r.restore_times),
            r.incidents,
        )
        for r in DailyRollup.objects.all()
    )
    shipped = sorted(
        Change.objects.values_list("sha", "shipped_by__external_id", "lead_time_seconds", "shipped_estimated")
    )
    return rollup_rows, shipped


def _reset():
    IncidentDeploymentLink.objects.all().delete()
    Incident.objects.all().delete()
    Change.objects.all().delete()
    Deployment.objects.all().delete()
    DailyRollup.objects.all().delete()


EXPECTED = {
    # D1, D3, D4, D5 on one day: 4 successful deployments over the 7-day window.
    "deployment_frequency": {"per_day": 4 / 7, "tier": "high"},
    # a1 2 h, a2 1 h, a3 4.25 h, a4 3 h, a5 2 h, a6 1 h (estimated): median 2 h.
    "lead_time_hours": {"median": 2.0, "tier": "elite", "estimated": 1},
    # D2 failed 13:00, D4 (the next success) 15:00: 2 h; D1 caused I1, resolved in 1 h: median 1.5 h.
    "recovery_time_hours": {"median": 1.5, "tier": "high"},
    "change_failure_rate": {"value": 0.4, "tier": "low"},  # D2 failed, D1 caused I1: 2 of 5
    # D4 finished while I1 was open, D5's ref says hotfix: 2 of 5.
    "deployment_rework_rate": {"value": 0.4, "tier": None},
}


@pytest.mark.django_db
def test_lead_time_counts_the_commits_each_deployment_shipped(cast):
    for event in _events(cast):
        event()
    rollups.refresh_dirty()
    shipped = {sha: (dep, secs, est) for sha, dep, secs, est in _snapshot()[1]}
    assert {sha: dep for sha, (dep, _, _) in shipped.items()} == SHIPPED
    assert {sha: secs for sha, (_, secs, _) in shipped.items()} == {
        "a1": 7200,
        "a2": 3600,
        "a3": 15300,  # pushed 10:45 while D1 ran: D4 (15:00) shipped it, not D1
        "a4": 10800,
        "a5": 7200,
        "a6": 3600,
    }
    assert [sha for sha, (_, _, est) in shipped.items() if est] == ["a6"]
    until = DAY + timedelta(days=3)
    assert selectors.team_dora(team_ids=[cast.team.pk], window_days=7, until=until)[cast.team.pk] == EXPECTED
    assert selectors.service_dora(service_ids=[cast.service.pk], window_days=7, until=until)[cast.service.pk] == (
        EXPECTED
    )


@pytest.mark.django_db
def test_shuffled_replayed_and_rebuilt_histories_give_the_same_figures(cast):
    events = _events(cast)
    for event in events:
        event()
    rollups.refresh_dirty()
    in_order = _snapshot()
    assert len(in_order[1]) == 6

    for seed in (1, 2, 3):
        _reset()
        shuffled = list(events)
        random.Random(seed).shuffle(shuffled)
        for n, event in enumerate(shuffled):
            event()
            if n % 4 == 3:  # the periodic job runs between arrivals
                rollups.refresh_dirty()
        rollups.refresh_dirty()
        assert _snapshot() == in_order, f"shuffled (seed {seed})"

    # Redelivery: every event again, in reverse order.
    for event in reversed(events):
        event()
    rollups.refresh_dirty()
    assert _snapshot() == in_order

    # The nightly rebuild from the raw rows.
    rollups.refresh(team_ids=[cast.team.pk, cast.other_team.pk], since=DAY - timedelta(days=30))
    assert _snapshot() == in_order


@pytest.mark.django_db
def test_a_late_push_moves_a_commit_to_the_deployment_that_shipped_it(cast):
    """A deployment whose commit arrives later is first attributed by time (estimated), then by its chain."""
    resolver = services.Resolver(cast.org)
    org = cast.org
    services.changes_upsert(
        actor=permissions.SYSTEM,
        organization=org,
        integration=None,
        source="import",
        resolver=resolver,
        records=[_change("b1", "", "09:00")],
    )
    services.deployment_apply(
        actor=permissions.SYSTEM,
        organization=org,
        integration=None,
        source="import",
        resolver=resolver,
        record=_deploy(cast, "E1", "success", "b2", "10:30", "11:00", "main"),
    )
    rollups.refresh_dirty()
    assert Change.objects.get(sha="b1").shipped_estimated is True
    # b2 (pushed before the deployment, delivered late) is the deployed commit: E1 ships b1 and b2 exactly.
    services.changes_upsert(
        actor=permissions.SYSTEM,
        organization=org,
        integration=None,
        source="import",
        resolver=resolver,
        records=[_change("b2", "b1", "10:00")],
    )
    rollups.refresh_dirty()
    rows = dict(Change.objects.values_list("sha", "shipped_estimated"))
    assert rows == {"b1": False, "b2": False}
    keys = selectors.team_dora(team_ids=[cast.team.pk], window_days=7, until=DAY, full=True)[cast.team.pk]
    assert keys["lead_time_hours"]["median"] == 1.5  # 2 h and 1 h
    assert keys["lead_time_hours"]["estimated"] == 0


@pytest.mark.django_db
def test_random_histories_are_order_independent(cast):
    """Random chains on two services, deployments of random commits (some failed, some without a
    sha), finishing out of order: any arrival order gives the in-order figures."""
    rng = random.Random(2026)
    resolver = services.Resolver(cast.org)
    org = cast.org
    begin = datetime.fromisoformat("2026-02-01T00:00:00+00:00")
    events = []
    for service in (cast.service, cast.other_service):
        repo = f"acme/{service.slug}"
        t = begin
        parent = ""
        shas = []
        for n in range(40):
            t += timedelta(minutes=rng.randint(10, 600))
            sha = f"{service.slug}-{n}"
            shas.append((sha, t))
            record = {"repository": repo, "sha": sha, "parent_sha": parent, "committed_at": t}
            events.append(
                lambda r=record: services.changes_upsert(
                    actor=permissions.SYSTEM,
                    organization=org,
                    integration=None,
                    source="import",
                    resolver=resolver,
                    records=[r],
                )
            )
            parent = sha
        for n in range(15):
            sha, committed = rng.choice(shas)
            finished = committed + timedelta(minutes=rng.randint(5, 3000))
            record = {
                "external_id": f"{service.slug}-d{n}",
                "repository": repo,
                "service_key": service.slug,
                "environment": "production",
                "is_production": True,
                "status": rng.choice(["success", "success", "success", "failure"]),
                "status_at": finished,
                "started_at": finished - timedelta(minutes=rng.randint(1, 90)),
                "sha": "" if rng.random() < 0.15 else sha,
            }
            events.append(
                lambda r=record: services.deployment_apply(
                    actor=permissions.SYSTEM,
                    organization=org,
                    integration=None,
                    source="import",
                    resolver=resolver,
                    record=r,
                )
            )
    for n in range(6):
        started = begin + timedelta(hours=rng.uniform(0, 24 * 12))
        service = rng.choice([cast.service, cast.other_service])

        def incident(n=n, s=started, svc=service):
            incident, _ = incident_upsert_from_source(
                actor=SYSTEM,
                organization=org,
                team=svc.team,
                source="api",
                external_id=f"i{n}",
                services=[svc],
                started_at=s,
                resolved_at=s + timedelta(minutes=90),
            )
            services.incident_link_refresh(actor=permissions.SYSTEM, incident=incident)

        events.append(incident)
    for event in events:
        event()
    rollups.refresh_dirty()
    in_order = _snapshot()
    assert sum(1 for _, dep, _, _ in in_order[1] if dep) > 30
    assert any(est for *_, est in in_order[1]) and not all(est for *_, est in in_order[1])
    for seed in (5, 6):
        _reset()
        shuffled = list(events)
        random.Random(seed).shuffle(shuffled)
        for n, event in enumerate(shuffled):
            event()
            if n % 17 == 0:
                rollups.refresh_dirty()
        rollups.refresh_dirty()
        assert _snapshot() == in_order, f"shuffled (seed {seed})"
    rollups.refresh(team_ids=[cast.team.pk, cast.other_team.pk], since=date(2026, 1, 1))
    assert _snapshot() == in_order


@pytest.mark.django_db
def test_a_person_marks_rework_and_the_rate_moves(cast, api_for):
    from django.urls import reverse

    from tests.roles import assert_matrix

    for event in _events(cast):
        event()
    rollups.refresh_dirty()
    d3 = Deployment.objects.get(external_id="D3")
    url = reverse("api:deployment-rework", args=[d3.pk])
    matrix = {
        "org_admin": 200,
        "leader": 403,
        "lead": 200,
        "member": 403,
        "other_member": 403,
        "outsider": 404,
        "anonymous": 401,
    }
    assert_matrix(api_for, url, matrix, method="post", data={"rework": None})
    until = DAY + timedelta(days=3)

    def rate():
        rollups.refresh_dirty()
        return selectors.team_dora(team_ids=[cast.team.pk], window_days=7, until=until)[cast.team.pk][
            "deployment_rework_rate"
        ]["value"]

    assert rate() == 0.4  # D4 (incident open) and D5 (hotfix ref)
    lead = api_for("lead")
    response = lead.post(url, {"rework": True}, format="json")
    assert response.status_code == 200 and response.json()["rework_marked"] is True
    assert lead.post(url, {"rework": True}, format="json").status_code == 200  # a retry changes nothing
    assert rate() == 0.6
    # A person's "no" wins over the rules: D5's hotfix ref no longer counts.
    d5 = Deployment.objects.get(external_id="D5")
    assert (
        lead.post(reverse("api:deployment-rework", args=[d5.pk]), {"rework": False}, format="json").status_code == 200
    )
    assert rate() == 0.4
    assert lead.post(url, {"rework": None}, format="json").json()["rework_marked"] is None
    assert rate() == 0.2
    # Failed deployments are not rework; a bad body is a clear 400.
    d2 = Deployment.objects.get(external_id="D2")
    bad = lead.post(reverse("api:deployment-rework", args=[d2.pk]), {"rework": True}, format="json")
    assert bad.status_code == 400 and "successful production" in str(bad.json())
    assert lead.post(url, {"rework": "maybe"}, format="json").status_code == 400


@pytest.mark.django_db
def test_a_later_recovery_reaches_the_failed_deployments_day(cast):
    """The success that recovers a failure two days later marks only its own day stale; the
    refresh still writes the recovery time on the failure's day (where the window counts it)."""
    resolver = services.Resolver(cast.org)
    org = cast.org
    services.deployment_apply(
        actor=permissions.SYSTEM,
        organization=org,
        integration=None,
        source="import",
        resolver=resolver,
        record=_deploy(cast, "F1", "failure", "", "09:00", "10:00", "main"),
    )
    rollups.refresh_dirty()
    failed_day = DailyRollup.objects.get(team=cast.team, service__isnull=True, day=DAY)
    assert failed_day.recovery_times == []  # not recovered yet: no value, not 0
    services.deployment_apply(
        actor=permissions.SYSTEM,
        organization=org,
        integration=None,
        source="import",
        resolver=resolver,
        record=_deploy(cast, "S1", "success", "", "09:00", "16:00", "main")
        | {"status_at": at("16:00", DAY + timedelta(days=2))},
    )
    rollups.refresh_dirty()
    failed_day = DailyRollup.objects.get(team=cast.team, service__isnull=True, day=DAY)  # rows are rewritten
    assert failed_day.recovery_times == [2 * 86400 + 6 * 3600]  # 10:00 day 1 -> 16:00 day 3
    keys = selectors.team_dora(team_ids=[cast.team.pk], window_days=7, until=DAY + timedelta(days=3))[cast.team.pk]
    assert keys["recovery_time_hours"] == {"median": 54.0, "tier": "medium"}
