"""REST API: role matrix on every route, bulk upsert all-or-nothing, submit/reopen, results."""

import datetime as dt

import pytest
from django.urls import reverse

from apps.assessments import services
from apps.assessments.models import Answer, Assessment, Campaign
from apps.core import permissions
from tests.roles import API_SHARED_READ, assert_matrix

from .conftest import answer_all, questions_of

pytestmark = pytest.mark.django_db

API_DRAFT_READ = {**API_SHARED_READ, "other_member": 404}


def test_framework_routes(api_for, calms):
    everyone = {**API_SHARED_READ, "outsider": 200}
    assert_matrix(api_for, reverse("api:assessment-framework-list"), everyone)
    url = reverse("api:assessment-framework-detail", args=[calms.pk])
    assert_matrix(api_for, url, everyone)
    body = api_for("member").get(url).json()
    assert body["label"] == "CALMS v1" and len(body["dimensions"]) == 5
    first = body["dimensions"][0]["questions"][0]
    assert first["min_level"] == 0 and first["max_level"] == 4 and len(first["levels"]) == 5


def test_framework_of_another_org_is_invisible(api_for, cast, calms):
    own = services.framework_new_version(framework=calms, organization=cast.org, actor=permissions.SYSTEM)
    assert api_for("member").get(reverse("api:assessment-framework-detail", args=[own.pk])).status_code == 200
    assert api_for("outsider").get(reverse("api:assessment-framework-detail", args=[own.pk])).status_code == 404


def test_campaign_read_routes(api_for, campaign):
    assert_matrix(api_for, reverse("api:assessment-campaign-detail", args=[campaign.pk]), API_SHARED_READ)
    assert_matrix(api_for, reverse("api:assessment-campaign-results", args=[campaign.pk]), API_SHARED_READ)
    listing = api_for("member").get(reverse("api:assessment-campaign-list")).json()
    assert [c["name"] for c in listing["results"]] == ["CALMS now"]
    assert listing["results"][0]["progress"] == {"not_started": 2, "in_progress": 0, "submitted": 0}
    assert api_for("outsider").get(reverse("api:assessment-campaign-list")).json()["results"] == []


def test_campaign_create_matrix_and_idempotent_retry(api_for, cast, calms, today):
    payload = {
        "organization": cast.org.pk,
        "frameworks": [calms.pk],
        "name": "Via API",
        "opens_on": today.isoformat(),
        "closes_on": (today + dt.timedelta(days=7)).isoformat(),
        "teams": [cast.team.pk],
    }

    def reset():
        Campaign.objects.filter(name="Via API").delete()

    expected = {
        "org_admin": 201,
        "leader": 403,
        "lead": 403,
        "member": 403,
        "other_member": 403,
        "outsider": 400,  # Acme is "does not exist" for them
        "anonymous": 401,
    }
    assert_matrix(api_for, reverse("api:assessment-campaign-list"), expected, method="post", data=payload, reset=reset)
    client = api_for("org_admin")
    first = client.post(reverse("api:assessment-campaign-list"), payload, format="json")
    again = client.post(reverse("api:assessment-campaign-list"), payload, format="json")
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert Campaign.objects.filter(name="Via API").count() == 1
    conflict = client.post(
        reverse("api:assessment-campaign-list"), {**payload, "closes_on": today.isoformat()}, format="json"
    )
    assert conflict.status_code == 400 and "already exists" in str(conflict.json())


def test_campaign_create_rejects_foreign_teams_and_bad_dates(api_for, cast, calms, today):
    from tests.factories import TeamFactory

    foreign = TeamFactory(organization=cast.other_org, name="F", slug="f")
    payload = {
        "organization": cast.org.pk,
        "frameworks": [calms.pk],
        "name": "Bad",
        "opens_on": today.isoformat(),
        "closes_on": today.isoformat(),
        "teams": [foreign.pk],
    }
    response = api_for("org_admin").post(reverse("api:assessment-campaign-list"), payload, format="json")
    assert response.status_code == 400 and "teams" in response.json()
    payload["teams"] = [cast.team.pk]
    payload["closes_on"] = (today - dt.timedelta(days=1)).isoformat()
    response = api_for("org_admin").post(reverse("api:assessment-campaign-list"), payload, format="json")
    assert response.status_code == 400 and "closes_on" in response.json()
    assert not Campaign.objects.exists()


def test_campaign_update_matrix(api_for, campaign):
    expected = {
        "org_admin": 200,
        "leader": 403,
        "lead": 403,
        "member": 403,
        "other_member": 403,
        "outsider": 404,
        "anonymous": 401,
    }
    url = reverse("api:assessment-campaign-detail", args=[campaign.pk])
    assert_matrix(api_for, url, expected, method="patch", data={"name": "Renamed"})
    campaign.refresh_from_db()
    assert campaign.name == "Renamed"
    assert api_for("org_admin").delete(url).status_code == 405


def test_campaign_holds_one_version_per_framework(api_for, calms, campaign):
    v2 = services.framework_new_version(framework=calms, actor=permissions.SYSTEM)
    url = reverse("api:assessment-campaign-detail", args=[campaign.pk])
    response = api_for("org_admin").patch(url, {"frameworks": [calms.pk, v2.pk]}, format="json")
    assert response.status_code == 400 and "one version of each framework" in response.json()["frameworks"][0]
    assert list(campaign.frameworks.all()) == [calms]


def test_campaign_results(api_for, cast, campaign, assessment):
    answer_all(assessment, level=3)
    services.assessment_submit(assessment=assessment, actor=cast.lead)
    body = api_for("leader").get(reverse("api:assessment-campaign-results", args=[campaign.pk])).json()
    assert body["counts"] == {"not_started": 1, "in_progress": 0, "submitted": 1}
    teams = {t["team_name"]: t for t in body["teams"]}
    assert teams["Checkout"]["overall"] == 75.0 and teams["Checkout"]["dimensions"]["lean"] == 75.0
    assert teams["Search"]["overall"] is None and teams["Search"]["status"] == "not_started"
    assert body["organization"]["overall"] == 75.0 and body["departments"][0]["label"] == "Engineering"


def test_assessment_read_routes(api_for, assessment):
    assert_matrix(api_for, reverse("api:assessment-detail", args=[assessment.pk]), API_DRAFT_READ)
    assert_matrix(api_for, reverse("api:assessment-answers", args=[assessment.pk]), API_DRAFT_READ)
    assert_matrix(api_for, reverse("api:assessment-results", args=[assessment.pk]), API_DRAFT_READ)
    listed = api_for("other_member").get(reverse("api:assessment-list")).json()["results"]
    assert [a["team_name"] for a in listed] == ["Search"]  # their own draft only


def test_answers_bulk_upsert_matrix(api_for, assessment):
    q0 = questions_of(assessment.framework)[0]
    expected = {
        "org_admin": 200,
        "leader": 403,
        "lead": 200,
        "member": 200,
        "other_member": 404,
        "outsider": 404,
        "anonymous": 401,
    }
    assert_matrix(
        api_for,
        reverse("api:assessment-answers", args=[assessment.pk]),
        expected,
        method="post",
        data={"answers": [{"question": q0.pk, "level": 2}]},
    )


def test_bulk_upsert_writes_all_and_is_idempotent(api_for, assessment, cast):
    qs = questions_of(assessment.framework)
    payload = {
        "answers": [
            {"question": qs[0].pk, "level": 4, "comment": "great", "evidence_url": "https://ci.example/1"},
            {"question": qs[1].pk, "not_applicable": True},
            {"question": qs[2].pk, "level": 0},
        ]
    }
    url = reverse("api:assessment-answers", args=[assessment.pk])
    first = api_for("member").post(url, payload, format="json")
    assert first.status_code == 200
    body = first.json()
    assert body["assessment"]["status"] == "in_progress" and body["assessment"]["answered_count"] == 3
    assert {a["question"]: (a["level"], a["not_applicable"]) for a in body["answers"]} == {
        qs[0].pk: (4, False),
        qs[1].pk: (None, True),
        qs[2].pk: (0, False),
    }
    second = api_for("member").post(url, payload, format="json")
    assert second.json() == body
    assert Answer.objects.count() == 3


def test_bulk_upsert_is_all_or_nothing_and_names_the_failing_item(api_for, assessment, calms):
    qs = questions_of(assessment.framework)
    v2 = services.framework_new_version(framework=calms, actor=permissions.SYSTEM)
    foreign = questions_of(v2)[0]
    url = reverse("api:assessment-answers", args=[assessment.pk])
    cases = [
        ({"question": qs[1].pk, "level": 5}, "answers[1].level", "outside this question's range 0-4"),
        ({"question": foreign.pk, "level": 1}, "answers[1].question", "CALMS v2"),
        ({"question": qs[1].pk, "level": 1, "not_applicable": True}, "answers[1].level", "not both"),
        ({"question": qs[1].pk, "evidence_url": "not a url"}, "answers[1].evidence_url", "http(s) URL"),
    ]
    for bad_item, key, text in cases:
        response = api_for("member").post(
            url, {"answers": [{"question": qs[0].pk, "level": 2}, bad_item]}, format="json"
        )
        assert response.status_code == 400, bad_item
        assert text in response.json()[key][0], response.json()
    # Type errors from the request format also name the item by position.
    response = api_for("member").post(url, {"answers": [{"question": qs[0].pk, "level": "x"}]}, format="json")
    assert response.status_code == 400 and "level" in response.json()["answers"][0]
    assert api_for("member").post(url, {"answers": []}, format="json").status_code == 400
    assert not Answer.objects.exists()
    assessment.refresh_from_db()
    assert assessment.status == "not_started"


def test_answering_another_teams_assessment(api_for, cast, assessment, other_assessment):
    q0 = questions_of(assessment.framework)[0]
    # A draft of another team does not exist for a member...
    url = reverse("api:assessment-answers", args=[other_assessment.pk])
    assert api_for("member").post(url, {"answers": [{"question": q0.pk, "level": 1}]}, format="json").status_code == 404
    # ...and once submitted it is readable but not theirs to change.
    answer_all(other_assessment, level=1)
    services.assessment_submit(assessment=other_assessment, actor=permissions.SYSTEM)
    response = api_for("member").post(url, {"answers": [{"question": q0.pk, "level": 4}]}, format="json")
    assert response.status_code == 403
    assert set(Answer.objects.filter(assessment=other_assessment).values_list("level", flat=True)) == {1}


def test_closed_campaign_and_submitted_assessment_refuse_answers(api_for, cast, assessment):
    q0 = questions_of(assessment.framework)[0]
    url = reverse("api:assessment-answers", args=[assessment.pk])
    answer_all(assessment, level=2)
    services.assessment_submit(assessment=assessment, actor=cast.lead)
    response = api_for("lead").post(url, {"answers": [{"question": q0.pk, "level": 4}]}, format="json")
    assert response.status_code == 400 and "submitted and read-only" in str(response.json())
    services.assessment_reopen(assessment=assessment, actor=permissions.SYSTEM)
    Campaign.objects.filter(pk=assessment.campaign_id).update(
        opens_on=dt.date(2020, 1, 1), closes_on=dt.date(2020, 1, 31)
    )
    response = api_for("lead").post(url, {"answers": [{"question": q0.pk, "level": 4}]}, format="json")
    assert response.status_code == 400 and "closed on 31 Jan 2020" in str(response.json())
    assert set(Answer.objects.filter(assessment=assessment).values_list("level", flat=True)) == {2}


def test_submit_matrix_and_idempotency(api_for, assessment):
    answer_all(assessment, level=2)

    def reset():
        Assessment.objects.filter(pk=assessment.pk).update(status="in_progress", submitted_at=None)

    expected = {
        "org_admin": 200,
        "leader": 403,
        "lead": 200,
        "member": 403,
        "other_member": 404,
        "outsider": 404,
        "anonymous": 401,
    }
    url = reverse("api:assessment-submit", args=[assessment.pk])
    assert_matrix(api_for, url, expected, method="post", reset=reset)
    reset()
    first = api_for("lead").post(url).json()
    again = api_for("lead").post(url).json()
    assert first["status"] == "submitted" and first == again and first["overall_score"] == 50.0


def test_reopen_matrix(api_for, cast, assessment):
    answer_all(assessment, level=2)
    services.assessment_submit(assessment=assessment, actor=cast.lead)

    def reset():
        Assessment.objects.filter(pk=assessment.pk).update(status="submitted")

    expected = {
        "org_admin": 200,
        "leader": 403,
        "lead": 200,
        "member": 403,
        "other_member": 403,
        "outsider": 404,
        "anonymous": 401,
    }
    assert_matrix(api_for, reverse("api:assessment-reopen", args=[assessment.pk]), expected, method="post", reset=reset)


def test_results_endpoint(api_for, cast, assessment):
    answer_all(assessment, level=1)
    services.assessment_submit(assessment=assessment, actor=cast.lead)
    body = api_for("other_member").get(reverse("api:assessment-results", args=[assessment.pk])).json()
    assert body["assessment"]["overall_score"] == 25.0
    assert body["previous_assessment"] is None and body["overall_change"] is None
    assert [d["key"] for d in body["dimensions"]] == ["culture", "automation", "lean", "measurement", "sharing"]
    assert len(body["next_steps"]) == 5 and all(s["next_level"] == 2 for s in body["next_steps"])
    assert body["next_steps"][0]["next_descriptor"]


def test_list_query_counts_do_not_grow_with_rows(api_for, cast, calms, today):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(url):
        client = api_for("org_admin")
        client.get(url)  # warm the per-user membership cache
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx)

    def open_campaign(name):
        services.campaign_open(
            organization=cast.org,
            frameworks=[calms],
            name=name,
            opens_on=today,
            closes_on=today,
            teams=[cast.team, cast.other_team],
            actor=permissions.SYSTEM,
        )

    open_campaign("One")
    services.framework_new_version(framework=calms, actor=permissions.SYSTEM)
    few = [
        count(reverse(n))
        for n in ("api:assessment-campaign-list", "api:assessment-list", "api:assessment-framework-list")
    ]
    for i in range(4):
        open_campaign(f"More {i}")
    services.framework_new_version(framework=calms, actor=permissions.SYSTEM)
    many = [
        count(reverse(n))
        for n in ("api:assessment-campaign-list", "api:assessment-list", "api:assessment-framework-list")
    ]
    assert few == many


def test_list_routes_matrix(api_for, campaign):
    # Lists answer everyone signed in, scoped to what they may see (the outsider gets an empty page).
    everyone = {**API_SHARED_READ, "outsider": 200}
    assert_matrix(api_for, reverse("api:assessment-campaign-list"), everyone)
    assert_matrix(api_for, reverse("api:assessment-list"), everyone)
    assert api_for("outsider").get(reverse("api:assessment-list")).json()["results"] == []
    assert {a["team_name"] for a in api_for("leader").get(reverse("api:assessment-list")).json()["results"]} == {
        "Checkout",
        "Search",
    }
