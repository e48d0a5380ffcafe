"""HTML pages: the role matrix on every route, autosave, submit/reopen, CSV export."""

import csv
import io

import pytest
from django.urls import reverse

from apps.assessments import services
from apps.assessments.models import Answer, Assessment
from apps.core import permissions
from tests.roles import HTML_SHARED_READ, assert_matrix

from .conftest import answer_all, questions_of

pytestmark = pytest.mark.django_db

DRAFT_READ = {**HTML_SHARED_READ, "other_member": 404}


def _submitted(assessment, cast):
    answer_all(assessment, level=2)
    return services.assessment_submit(assessment=assessment, actor=cast.lead)


def test_index_matrix(client_for, campaign):
    # The index lists the campaigns of the user's current organization (the outsider sees their own org's).
    assert_matrix(client_for, reverse("assessments:index"), {**HTML_SHARED_READ, "outsider": 200})


def test_index_lists_campaigns_and_my_assessments(client_for, campaign, assessment):
    page = client_for("member").get(reverse("assessments:index")).content.decode()
    assert "CALMS now" in page and reverse("assessments:detail", args=[assessment.pk]) in page
    assert "Open a campaign" not in page
    admin_page = client_for("org_admin").get(reverse("assessments:index")).content.decode()
    assert "Open a campaign" in admin_page


def test_index_empty_state(client_for, cast):
    page = client_for("member").get(reverse("assessments:index")).content.decode()
    assert "No campaigns yet" in page


def test_campaign_create_matrix(client_for, calms):
    url = reverse("assessments:campaign_create")
    expected = {
        "org_admin": 200,
        "leader": 403,
        "lead": 403,
        "member": 403,
        "other_member": 403,
        "outsider": 200,  # admin of their own organization, where the campaign would be opened
        "anonymous": 302,
    }
    assert_matrix(client_for, url, expected)


def test_org_admin_opens_a_campaign_from_the_form(client_for, cast, calms, today):
    data = {
        "name": "From the form",
        "frameworks": [calms.pk],
        "opens_on": today.isoformat(),
        "closes_on": today.isoformat(),
        "teams": [cast.team.pk, cast.other_team.pk],
    }
    response = client_for("org_admin").post(reverse("assessments:campaign_create"), data)
    assert response.status_code == 302
    assert Assessment.objects.filter(campaign__name="From the form").count() == 2
    # A retry of the same form is idempotent.
    assert client_for("org_admin").post(reverse("assessments:campaign_create"), data).status_code == 302
    assert Assessment.objects.filter(campaign__name="From the form").count() == 2
    bad = {**data, "name": "Bad", "closes_on": "2000-01-01"}
    page = client_for("org_admin").post(reverse("assessments:campaign_create"), bad)
    assert page.status_code == 200 and "on or after the open date" in page.content.decode()
    assert not Assessment.objects.filter(campaign__name="Bad").exists()


def test_campaign_detail_matrix(client_for, campaign):
    assert_matrix(client_for, reverse("assessments:campaign", args=[campaign.pk]), HTML_SHARED_READ)


def test_campaign_edit_matrix(client_for, campaign):
    expected = {
        "org_admin": 200,
        "leader": 403,
        "lead": 403,
        "member": 403,
        "other_member": 403,
        "outsider": 404,
        "anonymous": 302,
    }
    assert_matrix(client_for, reverse("assessments:campaign_edit", args=[campaign.pk]), expected)


def test_campaign_edit_renames_and_adds_teams(client_for, cast, calms, campaign):
    from tests.factories import TeamFactory

    third = TeamFactory(organization=cast.org, name="Third", slug="third")
    response = client_for("org_admin").post(
        reverse("assessments:campaign_edit", args=[campaign.pk]),
        {
            "name": "Renamed",
            "opens_on": campaign.opens_on.isoformat(),
            "closes_on": campaign.closes_on.isoformat(),
            "teams": [third.pk],
            "frameworks": [calms.pk],
        },
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "Renamed" and campaign.assessments.count() == 3


def test_campaign_export_matrix_and_content(client_for, cast, campaign, assessment):
    _submitted(assessment, cast)
    url = reverse("assessments:campaign_export", args=[campaign.pk])
    expected = {
        "org_admin": 200,
        "leader": 200,
        "lead": 403,
        "member": 403,
        "other_member": 403,
        "outsider": 404,
        "anonymous": 302,
    }
    assert_matrix(client_for, url, expected)
    response = client_for("leader").get(url)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["team", "department", "framework", "status"]
    assert rows[1][:4] == ["Checkout", "Engineering", "calms v1", "submitted"] and rows[1][7] == "50.0"
    assert rows[2][:4] == ["Search", "Engineering", "calms v1", "not_started"] and rows[2][7] == ""


def test_csv_neutralises_formulas(client_for, cast, campaign):
    cast.team.name = "=HYPERLINK(1)"
    cast.team.save()
    content = client_for("org_admin").get(reverse("assessments:campaign_export", args=[campaign.pk])).content
    assert b"'=HYPERLINK(1)" in content


def test_campaign_page_shows_heatmap_and_averages(client_for, cast, campaign, assessment):
    _submitted(assessment, cast)
    page = client_for("leader").get(reverse("assessments:campaign", args=[campaign.pk])).content.decode()
    assert "Teams × dimensions" in page and "org average of 1 submitted" in page
    assert 'data-chart="' in page and "vendor/chart.js/chart.umd.js" in page


def test_framework_page_matrix(client_for, calms):
    expected = {**HTML_SHARED_READ, "outsider": 200}  # built-in frameworks are for everyone
    assert_matrix(client_for, reverse("assessments:framework", args=[calms.pk]), expected)


def test_org_framework_hidden_from_other_orgs(client_for, cast, calms):
    own = services.framework_new_version(framework=calms, organization=cast.org, actor=permissions.SYSTEM)
    url = reverse("assessments:framework", args=[own.pk])
    assert client_for("member").get(url).status_code == 200
    assert client_for("outsider").get(url).status_code == 404


def test_team_history_matrix(client_for, cast, assessment):
    _submitted(assessment, cast)
    url = reverse("assessments:team_history", args=[cast.team.pk])
    assert_matrix(client_for, url, HTML_SHARED_READ)
    assert "CALMS now" in client_for("other_member").get(url).content.decode()


def test_draft_assessment_page_matrix(client_for, assessment):
    assert_matrix(client_for, reverse("assessments:detail", args=[assessment.pk]), DRAFT_READ)


def test_submitted_assessment_is_shared_with_the_org(client_for, cast, assessment):
    _submitted(assessment, cast)
    assert_matrix(client_for, reverse("assessments:detail", args=[assessment.pk]), HTML_SHARED_READ)
    assert_matrix(client_for, reverse("assessments:result", args=[assessment.pk]), HTML_SHARED_READ)


def test_draft_result_matrix(client_for, assessment):
    assert_matrix(client_for, reverse("assessments:result", args=[assessment.pk]), DRAFT_READ)


def test_fill_page_is_editable_for_members_and_read_only_for_leaders(client_for, assessment):
    url = reverse("assessments:detail", args=[assessment.pk])
    member_page = client_for("member").get(url).content.decode()
    assert 'hx-post="' in member_page and 'name="level"' in member_page
    assert "The team lead submits" in member_page and 'data-testid="submit-assessment"' not in member_page
    lead_page = client_for("lead").get(url).content.decode()
    assert 'data-testid="submit-assessment"' in lead_page
    leader_page = client_for("leader").get(url).content.decode()
    assert 'name="level"' not in leader_page and "only members of Checkout change" in leader_page
    second = client_for("member").get(url + "?d=lean").content.decode()
    assert "How work flows" in second


def test_answer_autosave_matrix(client_for, assessment):
    q0 = questions_of(assessment.framework)[0]
    url = reverse("assessments:answer", args=[assessment.pk, q0.pk])
    expected = {
        "org_admin": 200,
        "leader": 403,
        "lead": 200,
        "member": 200,
        "other_member": 404,
        "outsider": 404,
        "anonymous": 302,
    }

    def make(role):
        c = client_for(role)
        c.defaults["HTTP_HX_REQUEST"] = "true"
        return c

    assert_matrix(make, url, expected, method="post", data={"level": "2"})


def test_htmx_autosave_writes_and_returns_status_and_progress(client_for, assessment):
    q0 = questions_of(assessment.framework)[0]
    url = reverse("assessments:answer", args=[assessment.pk, q0.pk])
    client = client_for("member")
    response = client.post(
        url, {"level": "3", "comment": " why ", "evidence_url": "https://ci.example/x"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200 and "Saved" in body
    assert 'id="overall-progress" hx-swap-oob="true"' in body and "1 of 32" not in body
    assert '<span data-testid="answered-count">1</span> of 32 answered' in body
    answer = Answer.objects.get(assessment=assessment, question=q0)
    assert (answer.level, answer.comment, answer.evidence_url) == (3, "why", "https://ci.example/x")
    na = client.post(url, {"level": "na", "comment": "", "evidence_url": ""}, HTTP_HX_REQUEST="true")
    assert na.status_code == 200
    answer.refresh_from_db()
    assert (answer.level, answer.not_applicable) == (None, True)


def test_htmx_autosave_error_is_shown_and_nothing_written(client_for, assessment):
    q0 = questions_of(assessment.framework)[0]
    url = reverse("assessments:answer", args=[assessment.pk, q0.pk])
    response = client_for("member").post(url, {"level": "9"}, HTTP_HX_REQUEST="true")
    assert (
        "Not saved" in response.content.decode()
        and "outside this question&#x27;s range 0-4" in response.content.decode()
    )
    bad_url = client_for("member").post(url, {"level": "1", "evidence_url": "ftp://x"}, HTTP_HX_REQUEST="true")
    assert "http(s) URL" in bad_url.content.decode()
    assert not Answer.objects.exists()


def test_autosave_without_javascript_redirects_back(client_for, assessment):
    q0 = questions_of(assessment.framework)[0]
    url = reverse("assessments:answer", args=[assessment.pk, q0.pk])
    response = client_for("member").post(url, {"level": "1"})
    assert response.status_code == 302 and f"#q-{q0.pk}" in response["Location"]
    assert Answer.objects.get().level == 1


def test_question_of_another_framework_is_404(client_for, calms, assessment):
    v2 = services.framework_new_version(framework=calms, actor=permissions.SYSTEM)
    foreign = questions_of(v2)[0]
    url = reverse("assessments:answer", args=[assessment.pk, foreign.pk])
    assert client_for("member").post(url, {"level": "1"}, HTTP_HX_REQUEST="true").status_code == 404
    assert not Answer.objects.exists()


def test_answer_on_submitted_assessment_is_refused(client_for, cast, assessment):
    _submitted(assessment, cast)
    q0 = questions_of(assessment.framework)[0]
    url = reverse("assessments:answer", args=[assessment.pk, q0.pk])
    response = client_for("member").post(url, {"level": "4"}, HTTP_HX_REQUEST="true")
    assert "submitted and read-only" in response.content.decode()
    assert Answer.objects.get(question=q0).level == 2
    # Another team's member cannot touch it, even now it is visible.
    assert client_for("other_member").post(url, {"level": "4"}).status_code == 403


def test_submit_matrix(client_for, cast, assessment):
    answer_all(assessment, level=2)

    def reset():
        Assessment.objects.filter(pk=assessment.pk).update(status="in_progress", submitted_at=None)

    expected = {
        "org_admin": 302,
        "leader": 403,
        "lead": 302,
        "member": 403,
        "other_member": 404,
        "outsider": 404,
        "anonymous": 302,
    }
    assert_matrix(client_for, reverse("assessments:submit", args=[assessment.pk]), expected, method="post", reset=reset)


def test_lead_submits_and_lands_on_the_result(client_for, assessment):
    answer_all(assessment, level=2)
    response = client_for("lead").post(reverse("assessments:submit", args=[assessment.pk]))
    assert response["Location"] == reverse("assessments:result", args=[assessment.pk])
    assessment.refresh_from_db()
    assert assessment.status == "submitted" and assessment.overall_score == 50.0
    page = client_for("lead").get(response["Location"]).content.decode()
    assert 'id="calms-radar"' in page and "What to do next" in page


def test_submit_without_answers_shows_the_error(client_for, assessment):
    response = client_for("lead").post(reverse("assessments:submit", args=[assessment.pk]), follow=True)
    assert "Answer at least one question" in response.content.decode()
    assessment.refresh_from_db()
    assert assessment.status == "not_started"


def test_reopen_matrix(client_for, cast, assessment):
    _submitted(assessment, cast)

    def reset():
        Assessment.objects.filter(pk=assessment.pk).update(status="submitted")

    expected = {
        "org_admin": 302,
        "leader": 403,
        "lead": 302,
        "member": 403,
        "other_member": 403,  # a submitted assessment is visible org-wide, but not theirs to reopen
        "outsider": 404,
        "anonymous": 302,
    }
    assert_matrix(client_for, reverse("assessments:reopen", args=[assessment.pk]), expected, method="post", reset=reset)


def test_get_on_post_routes_is_not_allowed(client_for, assessment):
    assert client_for("lead").get(reverse("assessments:submit", args=[assessment.pk])).status_code == 405


def test_team_panel_shows_latest_result_and_current_draft(client_for, cast, assessment):
    page = client_for("member").get(reverse("teams:detail", args=[cast.team.pk])).content.decode()
    assert "DevOps (CALMS) and SRE practices" in page and "No submitted CALMS assessment yet" in page
    assert "Open the assessment" in page
    _submitted(assessment, cast)
    page = client_for("other_member").get(reverse("teams:detail", args=[cast.team.pk])).content.decode()
    assert "Culture 50" in page and reverse("assessments:result", args=[assessment.pk]) in page


def test_page_query_counts_do_not_grow_with_teams(client_for, cast, calms, today):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import TeamFactory

    teams = [cast.team, cast.other_team]
    campaign = services.campaign_open(
        organization=cast.org,
        frameworks=[calms],
        name="Q",
        opens_on=today,
        closes_on=today,
        teams=teams,
        actor=permissions.SYSTEM,
    )

    def count(url):
        client = client_for("leader")
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx)

    urls = [reverse("assessments:index"), reverse("assessments:campaign", args=[campaign.pk])]
    for a in campaign.assessments.all():
        answer_all(a, level=2)
        services.assessment_submit(assessment=a, actor=permissions.SYSTEM)
    few = [count(u) for u in urls]
    more = [TeamFactory(organization=cast.org, name=f"X{i}", slug=f"x{i}") for i in range(5)]
    campaign = services.campaign_open(
        organization=cast.org,
        frameworks=[calms],
        name="Q",
        opens_on=today,
        closes_on=today,
        teams=teams + more,
        actor=permissions.SYSTEM,
    )
    for a in campaign.assessments.filter(team__in=more):
        answer_all(a, level=3)
        services.assessment_submit(assessment=a, actor=permissions.SYSTEM)
    assert [count(u) for u in urls] == few


def test_team_history_trend_chart(client_for, cast, calms, assessment, today):
    import datetime as dt
    import html
    import json

    start = today - dt.timedelta(days=90)
    past = services.campaign_open(
        organization=cast.org,
        frameworks=[calms],
        name="Past",
        opens_on=start,
        closes_on=start,
        teams=[cast.team],
        today=start,
        actor=permissions.SYSTEM,
    )
    answer_all(past.assessments.get(), level=1, today=start)
    services.assessment_submit(assessment=past.assessments.get(), today=start, actor=permissions.SYSTEM)
    url = reverse("assessments:team_history", args=[cast.team.pk])
    assert "data-chart" not in client_for("member").get(url).content.decode()  # one cycle: no trend yet
    _submitted(assessment, cast)
    response = client_for("member").get(url)
    [calms_family] = response.context["families"]
    chart = json.loads(html.unescape(calms_family.chart))
    assert chart["data"]["labels"] == ["Past", "CALMS now"]
    assert chart["data"]["datasets"][0]["data"] == [25.0, 50.0]
