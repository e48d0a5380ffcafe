import pytest
from django.urls import reverse

from apps.core import permissions
from apps.initiatives import services
from apps.initiatives.models import Initiative

from .conftest import D1, D2, D3

pytestmark = pytest.mark.django_db


def body(cast, **extra):
    return {
        "organization": cast.org.pk,
        "name": "SLOs everywhere",
        "reason": "Reliability we can see.",
        "start_date": "2026-12-01",
        "target_date": "2027-01-31",
        "teams": [cast.team.pk, cast.other_team.pk],
        "services": [cast.service.pk],
        "checks": [{"name": "Half the services have SLOs", "metric": "slo.coverage", "operator": "gte", "value": 0.5}],
        **extra,
    }


def test_create_read_and_progress(api_for, cast, initiative):
    api = api_for("leader")
    r = api.post(reverse("api:initiative-list"), body(cast), format="json")
    assert r.status_code == 201, r.content
    created = Initiative.objects.get(pk=r.json()["id"])
    assert created.created_by == cast.leader
    assert sorted(created.teams.values_list("pk", flat=True)) == sorted([cast.team.pk, cast.other_team.pk])
    assert created.checks.get().metric == "slo.coverage"
    assert r.json()["progress"] == {
        "share": None,
        "share_display": "no data",
        "target_today": r.json()["progress"]["target_today"],
        "behind": None,
        "status": "no data",
        "passing": None,
        "total": None,
        "as_of": None,
    }

    for day in (D1, D2, D3):
        services.progress_record(actor=permissions.SYSTEM, initiative=initiative, day=day)
    points = api.get(reverse("api:initiative-progress", args=[initiative.pk])).json()
    assert [(p["day"], p["passing"], p["total"], p["share"]) for p in points] == [
        ("2026-11-01", 1, 4, 0.25),
        ("2026-11-02", 2, 4, 0.5),
        ("2026-11-03", 3, 4, 0.75),
    ]
    listed = {row["id"]: row for row in api.get(reverse("api:initiative-list")).json()["results"]}
    progress = listed[initiative.pk]["progress"]
    # Past the target date today: the line is at 100%, 75% is behind.
    assert (progress["share"], progress["behind"], progress["status"]) == (0.75, True, "behind")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"checks": [{"metric": "slo.coverage", "operator": "gte", "value": 80}]}, "value"),
        ({"checks": [{"metric": "slo.coverage", "operator": "gte"}]}, "__all__"),
        ({"target_date": "2026-11-01"}, "target_date"),
    ],
)
def test_bad_input_is_400(api_for, cast, change, field):
    r = api_for("org_admin").post(reverse("api:initiative-list"), body(cast, **change), format="json")
    assert r.status_code == 400, r.content
    assert field in r.json() or field in str(r.json())
    assert not Initiative.objects.exists()


def test_another_orgs_team_does_not_exist(api_for, cast):
    from apps.teams.models import Team

    foreign = Team.objects.get(slug="billing")
    r = api_for("org_admin").post(reverse("api:initiative-list"), body(cast, teams=[foreign.pk]), format="json")
    assert r.status_code == 400 and "teams" in r.json()


def test_patch_replaces_checks_and_scope(api_for, cast, initiative):
    url = reverse("api:initiative-detail", args=[initiative.pk])
    r = api_for("leader").patch(
        url,
        {"teams": [cast.team.pk], "checks": [{"metric": "score.overall", "operator": "gte", "value": 70}]},
        format="json",
    )
    assert r.status_code == 200, r.content
    initiative.refresh_from_db()
    assert list(initiative.teams.values_list("pk", flat=True)) == [cast.team.pk]
    assert list(initiative.checks.values_list("metric", "value")) == [("score.overall", 70.0)]


def test_owner_from_outside_the_org_is_refused(api_for, cast):
    from tests.factories import UserFactory

    stranger = UserFactory(email="stranger@example.test")
    r = api_for("org_admin").post(reverse("api:initiative-list"), body(cast, owner=cast.outsider.pk), format="json")
    unknown = api_for("org_admin").post(reverse("api:initiative-list"), body(cast, owner=stranger.pk), format="json")
    # Someone in no organization of the requester's reads exactly like a wrong id.
    assert r.status_code == unknown.status_code == 400
    assert unknown.json()["owner"] == [f'Invalid pk "{stranger.pk}" - object does not exist.']
    ok = api_for("org_admin").post(reverse("api:initiative-list"), body(cast, owner=cast.lead.pk), format="json")
    assert ok.status_code == 201 and Initiative.objects.get(pk=ok.json()["id"]).owner == cast.lead


def test_list_queries_do_not_grow_with_initiatives(api_for, client_for, cast, django_assert_max_num_queries):
    from apps.core import permissions as perms

    def make(n):
        for i in range(n):
            services.initiative_create(
                actor=perms.SYSTEM,
                organization=cast.org,
                name=f"Initiative {i}",
                reason="x",
                start_date=D1,
                target_date=D3,
                status="active",
                teams=[cast.team],
                services=[cast.service],
                checks=[{"metric": "score.overall", "operator": "gte", "value": 50}],
            )

    make(2)
    api, page = api_for("leader"), client_for("leader")
    with django_assert_max_num_queries(20) as few_api:
        api.get(reverse("api:initiative-list"))
    with django_assert_max_num_queries(20) as few_page:
        page.get(reverse("initiatives:index"))
    make(8)
    with django_assert_max_num_queries(len(few_api.captured_queries)):
        assert api.get(reverse("api:initiative-list")).json()["count"] == 10
    with django_assert_max_num_queries(len(few_page.captured_queries)):
        page.get(reverse("initiatives:index"))
