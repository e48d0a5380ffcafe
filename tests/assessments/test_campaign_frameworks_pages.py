"""Pages and API of a campaign holding CALMS and SRE practices: the form, the campaign page with
its framework switcher, the result page's switcher, the team page's two profiles, CSV, the API."""

import csv
import datetime as dt
import html
import io
import json
import re

import pytest
from django.urls import reverse

from apps.assessments import services
from apps.assessments.models import Assessment, Campaign, Framework
from apps.core import permissions
from tests.roles import API_SHARED_READ, HTML_SHARED_READ, assert_matrix

from .conftest import answer_all, questions_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def sre(calms):
    return Framework.objects.get(organization=None, key="sre", version=1)


@pytest.fixture
def both(cast, calms, sre, today):
    return services.campaign_open(
        organization=cast.org,
        frameworks=[calms, sre],
        name="Both now",
        opens_on=today - dt.timedelta(days=1),
        closes_on=today + dt.timedelta(days=14),
        teams=[cast.team, cast.other_team],
        actor=cast.org_admin,
    )


def _submit(assessment, cast, level=2):
    answer_all(assessment, level=level)
    return services.assessment_submit(assessment=assessment, actor=cast.lead)


def _charts(page: str) -> list[dict]:
    return [json.loads(html.unescape(raw)) for raw in re.findall(r'data-chart="([^"]+)"', page)]


# --- the form ----------------------------------------------------------------------------------


def test_form_opens_a_campaign_of_both_frameworks(client_for, cast, calms, sre, today):
    form_page = client_for("org_admin").get(reverse("assessments:campaign_create")).content.decode()
    assert 'name="frameworks"' in form_page and "SRE practices v1" in form_page
    data = {
        "name": "From the form",
        "frameworks": [calms.pk, sre.pk],
        "opens_on": today.isoformat(),
        "closes_on": today.isoformat(),
        "teams": [cast.team.pk, cast.other_team.pk],
    }
    response = client_for("org_admin").post(reverse("assessments:campaign_create"), data)
    assert response.status_code == 302
    campaign = Campaign.objects.get(name="From the form")
    assert list(campaign.frameworks.all()) == [calms, sre] and campaign.assessments.count() == 4


def test_form_without_a_framework_says_so_on_the_field(client_for, cast, today):
    data = {"name": "None", "opens_on": today.isoformat(), "closes_on": today.isoformat(), "teams": [cast.team.pk]}
    page = client_for("org_admin").post(reverse("assessments:campaign_create"), data)
    assert page.status_code == 200 and "frameworks" in page.context["form"].errors
    assert not Campaign.objects.exists()


def test_campaign_create_page_matrix(client_for, calms):
    expected = {
        "org_admin": 200,
        "leader": 403,
        "lead": 403,
        "member": 403,
        "other_member": 403,
        "outsider": 200,  # the admin of their own organization opens campaigns there
        "anonymous": 302,
    }
    assert_matrix(client_for, reverse("assessments:campaign_create"), expected)


def test_edit_form_adds_a_framework_and_refuses_to_drop_an_answered_one(client_for, cast, calms, sre, campaign):
    url = reverse("assessments:campaign_edit", args=[campaign.pk])
    base = {"name": campaign.name, "opens_on": campaign.opens_on, "closes_on": campaign.closes_on}
    assert client_for("org_admin").post(url, {**base, "frameworks": [calms.pk, sre.pk]}).status_code == 302
    assert sorted(campaign.assessments.values_list("framework__key", flat=True)) == ["calms", "calms", "sre", "sre"]
    answer_all(campaign.assessments.get(team=cast.team, framework=sre), level=1)
    page = client_for("org_admin").post(url, {**base, "frameworks": [calms.pk]})
    assert page.status_code == 200
    assert page.context["form"].errors["frameworks"] == [
        "SRE practices v1 cannot leave the campaign: teams have answered it. Keep it, or open another campaign."
    ]
    assert campaign.frameworks.count() == 2


# --- the campaign page ------------------------------------------------------------------------


def test_campaign_page_lists_each_teams_assessments_and_switches_the_heatmap(client_for, cast, both, sre):
    _submit(both.assessments.get(team=cast.team, framework=sre), cast, level=3)
    url = reverse("assessments:campaign", args=[both.pk])
    assert_matrix(client_for, url, HTML_SHARED_READ)
    assert_matrix(client_for, f"{url}?framework=sre", HTML_SHARED_READ)
    page = client_for("leader").get(url)
    body = page.content.decode()
    assert page.context["framework"].key == "calms"  # the first framework by default
    assert body.count('data-framework="calms"') == 2 and body.count('data-framework="sre"') == 2
    assert "Not started" in body and 'href="?framework=sre#heatmap"' in body
    assert [d.key for d in page.context["overview"].dimensions][0] == "culture"
    assert _charts(body) == []  # nobody submitted CALMS: the "not started" empty state instead
    assert "No team has submitted this framework yet" in body
    sre_page = client_for("leader").get(f"{url}?framework=sre")
    assert sre_page.context["framework"] == sre
    sre_body = sre_page.content.decode()
    assert "SLOs and SLIs" in sre_body and "org average of 1 submitted" in sre_body
    [chart] = _charts(sre_body)
    assert chart["data"]["labels"][0] == "SLOs and SLIs" and chart["data"]["datasets"][0]["data"] == [75.0] * 8
    # An unknown key shows the first framework rather than an error.
    assert client_for("leader").get(f"{url}?framework=nope").context["framework"].key == "calms"


def test_campaign_csv_includes_the_framework(client_for, cast, both, sre):
    _submit(both.assessments.get(team=cast.team, framework=sre), cast)
    content = client_for("org_admin").get(reverse("assessments:campaign_export", args=[both.pk])).content.decode()
    rows = list(csv.reader(io.StringIO(content)))
    assert [(r[0], r[2], r[3]) for r in rows[1:]] == [
        ("Checkout", "calms v1", "not_started"),
        ("Search", "calms v1", "not_started"),
        ("Checkout", "sre v1", "submitted"),
        ("Search", "sre v1", "not_started"),
    ]


def test_campaign_page_query_count_does_not_grow_with_frameworks_or_teams(client_for, cast, calms, sre, today):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import TeamFactory

    def queries(campaign):
        client = client_for("leader")
        url = reverse("assessments:campaign", args=[campaign.pk])
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    small = services.campaign_open(
        organization=cast.org,
        frameworks=[calms],
        name="Small",
        opens_on=today,
        closes_on=today,
        teams=[cast.team],
        actor=permissions.SYSTEM,
    )
    extra = [TeamFactory(organization=cast.org, name=f"T{i}", slug=f"t{i}") for i in range(4)]
    big = services.campaign_open(
        organization=cast.org,
        frameworks=[calms, sre],
        name="Big",
        opens_on=today,
        closes_on=today,
        teams=[cast.team, cast.other_team, *extra],
        actor=permissions.SYSTEM,
    )
    assert queries(big) == queries(small)


# --- result page and team page ------------------------------------------------------------------


def test_result_page_switches_between_the_teams_frameworks(client_for, cast, both, calms, sre):
    calms_a = _submit(both.assessments.get(team=cast.team, framework=calms), cast, level=2)
    sre_a = both.assessments.get(team=cast.team, framework=sre)
    services.answer_save(assessment=sre_a, question=questions_of(sre)[0], level=4, actor=cast.member)
    page = client_for("member").get(reverse("assessments:result", args=[calms_a.pk])).content.decode()
    switcher = page[page.index('data-testid="framework-switcher"') :][:900]
    assert reverse("assessments:result", args=[sre_a.pk]) in switcher and "(draft)" in switcher
    [radar] = _charts(page)
    assert radar["type"] == "radar" and radar["data"]["labels"][0] == "Culture"
    sre_page = client_for("member").get(reverse("assessments:result", args=[sre_a.pk])).content.decode()
    [sre_radar] = _charts(sre_page)
    assert sre_radar["data"]["labels"][0] == "SLOs and SLIs" and sre_radar["data"]["datasets"][0]["data"][0] == 100.0
    assert "provisional" in sre_page


def test_team_page_shows_both_profiles_side_by_side(client_for, cast, both, calms, sre):
    url = reverse("teams:detail", args=[cast.team.pk])
    _submit(both.assessments.get(team=cast.team, framework=calms), cast, level=2)
    page = client_for("member").get(url).content.decode()
    panel = page[page.index('id="calms-panel"') :]
    assert "No submitted SRE practices assessment yet" in panel  # partial: SRE not submitted
    assert [c["data"]["labels"][0] for c in _charts(panel)] == ["Culture"]
    _submit(both.assessments.get(team=cast.team, framework=sre), cast, level=3)
    panel = client_for("other_member").get(url).content.decode()
    panel = panel[panel.index('id="calms-panel"') :]
    charts = _charts(panel)
    assert [c["data"]["labels"][0] for c in charts] == ["Culture", "SLOs and SLIs"]
    assert (
        charts[0]["data"]["datasets"][0]["data"] == [50.0] * 5
        and charts[1]["data"]["datasets"][0]["data"] == [75.0] * 8
    )
    assert panel.index('data-framework="calms"') < panel.index('data-framework="sre"')
    assert "No submitted" not in panel


# --- API ----------------------------------------------------------------------------------------


def test_api_creates_a_campaign_of_both_frameworks(api_for, cast, calms, sre, today):
    payload = {
        "organization": cast.org.pk,
        "frameworks": [sre.pk, calms.pk],
        "name": "API both",
        "opens_on": today.isoformat(),
        "closes_on": today.isoformat(),
        "teams": [cast.team.pk, cast.other_team.pk],
    }
    url = reverse("api:assessment-campaign-list")
    response = api_for("org_admin").post(url, payload, format="json")
    assert response.status_code == 201 and response.json()["frameworks"] == [calms.pk, sre.pk]
    assert Assessment.objects.filter(campaign__name="API both").count() == 4
    for role in ("leader", "lead", "member"):
        assert api_for(role).post(url, {**payload, "name": f"by {role}"}, format="json").status_code == 403


@pytest.mark.parametrize(
    ("frameworks", "fragment"),
    [([], "may not be empty"), ([999999], "does not exist"), ("calms", "Expected a list")],
)
def test_api_bad_frameworks_are_a_400_naming_the_field(api_for, cast, today, calms, frameworks, fragment):
    payload = {
        "organization": cast.org.pk,
        "frameworks": frameworks,
        "name": "Bad",
        "opens_on": today.isoformat(),
        "closes_on": today.isoformat(),
        "teams": [cast.team.pk],
    }
    response = api_for("org_admin").post(reverse("api:assessment-campaign-list"), payload, format="json")
    assert response.status_code == 400 and fragment in str(response.json()["frameworks"])
    assert not Campaign.objects.exists()


def test_api_another_organizations_framework_does_not_exist(api_for, cast, calms, today):
    foreign = services.framework_new_version(framework=calms, organization=cast.other_org, actor=permissions.SYSTEM)
    payload = {
        "organization": cast.org.pk,
        "frameworks": [calms.pk, foreign.pk],
        "name": "Foreign",
        "opens_on": today.isoformat(),
        "closes_on": today.isoformat(),
        "teams": [cast.team.pk],
    }
    response = api_for("org_admin").post(reverse("api:assessment-campaign-list"), payload, format="json")
    assert response.status_code == 400 and "does not exist" in str(response.json()["frameworks"])


def test_api_update_adds_a_framework_and_refuses_to_drop_an_answered_one(api_for, cast, calms, sre, campaign):
    url = reverse("api:assessment-campaign-detail", args=[campaign.pk])
    response = api_for("org_admin").patch(url, {"frameworks": [calms.pk, sre.pk]}, format="json")
    assert response.status_code == 200 and response.json()["frameworks"] == [calms.pk, sre.pk]
    assert campaign.assessments.filter(framework=sre).count() == 2
    assert api_for("lead").patch(url, {"frameworks": [calms.pk]}, format="json").status_code == 403
    answer_all(campaign.assessments.get(team=cast.team, framework=sre), level=2)
    response = api_for("org_admin").patch(url, {"frameworks": [calms.pk]}, format="json")
    assert response.status_code == 400 and "cannot leave the campaign" in response.json()["frameworks"][0]


def test_api_results_per_framework_and_assessments_show_theirs(api_for, cast, both, sre):
    _submit(both.assessments.get(team=cast.team, framework=sre), cast, level=4)
    url = reverse("api:assessment-campaign-results", args=[both.pk])
    assert_matrix(api_for, f"{url}?framework=sre", API_SHARED_READ)
    default = api_for("leader").get(url).json()
    assert default["framework_key"] == "calms" and set(default["teams"][0]["dimensions"]) >= {"culture", "lean"}
    body = api_for("leader").get(f"{url}?framework=sre").json()
    assert body["framework_key"] == "sre" and body["framework"] == sre.pk
    assert body["counts"] == {"not_started": 1, "in_progress": 0, "submitted": 1}
    assert {t["team_name"]: t["overall"] for t in body["teams"]} == {"Checkout": 100.0, "Search": None}
    bad = api_for("leader").get(f"{url}?framework=nope")
    assert bad.status_code == 400 and "choose one of calms, sre" in str(bad.json()["framework"])
    listing = api_for("leader").get(reverse("api:assessment-list"), {"campaign": both.pk, "framework": sre.pk}).json()
    assert [(a["team_name"], a["framework_key"], a["framework_name"]) for a in listing["results"]] == [
        ("Checkout", "sre", "SRE practices v1"),
        ("Search", "sre", "SRE practices v1"),
    ]
