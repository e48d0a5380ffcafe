"""Tags follow one rule (an error, never a rewritten tag), the people picker searches one
organization, and the incident's times open the timeline (page and export)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.postmortems import exports, selectors, services
from apps.postmortems.models import Tag, clean_tag_names
from tests.postmortems.factories import IncidentFactory, make_postmortem
from tests.roles import HTML_SHARED_READ, assert_matrix

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (["database", " DNS ", "third-party", "dns"], ["database", "dns", "third-party"]),
        (["Capacity  Planning", "capacity-planning"], ["capacity-planning"]),
        (["k8s", "ipv6", "élan"], ["k8s", "ipv6", "élan"]),
        (["", "  "], []),
        (["a" * 50], ["a" * 50]),
    ],
)
def test_good_tags_are_normalized(typed, stored):
    assert clean_tag_names(typed) == stored


@pytest.mark.parametrize(
    "bad", ["<b>bold</b>", "under_score", "a/b", "a - b", "-leading", "trailing-", "double--hyphen", "a" * 51, "c++"]
)
def test_bad_tags_are_errors_naming_the_tag(bad):
    with pytest.raises(ValidationError) as exc:
        clean_tag_names(["fine", bad])
    assert exc.value.messages == [
        f"“{bad}” is not a valid tag: use lowercase letters and digits, words joined by single hyphens "
        "(e.g. third-party), at most 50 characters."
    ]


def test_service_refuses_a_bad_tag_and_writes_nothing(cast):
    pm = make_postmortem(cast, tags=["database"])
    with pytest.raises(ValidationError) as exc:
        services.postmortem_update(actor=cast.member, postmortem=pm, tags=["cache", "<b>bold</b>"], title="New title")
    assert list(exc.value.message_dict) == ["tags"]
    pm.refresh_from_db()
    assert pm.title != "New title" and [t.name for t in pm.tags.all()] == ["database"]
    assert not Tag.objects.filter(name__in=["cache", "b-bold-b"]).exists()


def test_api_answers_400_naming_tags(api_for, cast):
    pm = make_postmortem(cast)
    url = reverse("api:postmortem-detail", args=[pm.pk])
    response = api_for("member").patch(url, {"tags": ["<b>bold</b>"]}, format="json")
    assert response.status_code == 400
    assert response.json()["tags"] == [
        "“<b>bold</b>” is not a valid tag: use lowercase letters and digits, words joined by single hyphens "
        "(e.g. third-party), at most 50 characters."
    ]
    ok = api_for("member").patch(url, {"tags": ["Third-Party"]}, format="json")
    assert ok.status_code == 200 and ok.json()["tags"] == ["third-party"]


def test_edit_form_shows_the_tag_error_and_keeps_the_input(client_for, cast):
    pm = make_postmortem(cast)
    page = client_for("member").get(reverse("postmortems:edit", args=[pm.pk]))
    form = page.context["form"]
    data = {name: form.initial.get(name) or getattr(pm, name, "") or "" for name in form.Meta.fields}
    data.update(
        {
            "title": "Renamed",
            "tags": "<b>bold</b>",
            "reviewers": [cast.lead.pk],
            "authors": [cast.member.pk],
            **{f"{p}-TOTAL_FORMS": "0" for p in ("timeline", "factors", "links")},
            **{f"{p}-INITIAL_FORMS": "0" for p in ("timeline", "factors", "links")},
        }
    )
    data = {k: v for k, v in data.items() if v is not None}
    response = client_for("member").post(reverse("postmortems:edit", args=[pm.pk]), data)
    assert response.status_code == 200
    assert "is not a valid tag" in response.context["form"].errors["tags"][0]
    html = response.content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html  # shown, escaped, kept in the box
    pm.refresh_from_db()
    assert pm.title != "Renamed"


class TestPeopleSearch:
    def url(self, org, q=""):
        return f"{reverse('teams:people_search')}?organization={org.pk}&q={q}"

    def test_matrix(self, client_for, cast):
        # Anyone of the organization may look people up; other tenants get 404.
        assert_matrix(client_for, self.url(cast.org), HTML_SHARED_READ)
        assert_matrix(
            client_for,
            self.url(cast.other_org),
            {**dict.fromkeys(HTML_SHARED_READ, 404), "outsider": 200, "anonymous": 302},
        )

    def test_finds_only_active_people_of_the_org_by_name_or_email(self, client_for, cast):
        cast.other_member.is_active = False
        cast.other_member.save()
        people = client_for("member").get(self.url(cast.org, "member")).context["people"]
        assert people == [cast.member]  # not the inactive Other Member, not the outsider
        assert client_for("member").get(self.url(cast.org, "LEAD@EXAMPLE")).context["people"] == [cast.lead]
        assert client_for("member").get(self.url(cast.org, "outsider")).context["people"] == []
        assert "No one in Acme matches" in client_for("member").get(self.url(cast.org, "outsider")).content.decode()

    def test_bad_organization_is_404(self, client_for, cast):
        for value in ("", "abc", "999999"):
            assert client_for("member").get(f"{reverse('teams:people_search')}?organization={value}").status_code == 404

    def test_the_edit_page_renders_only_the_chosen_people(self, client_for, cast):
        pm = make_postmortem(cast, reviewers=[cast.lead])
        html = client_for("member").get(reverse("postmortems:edit", args=[pm.pk])).content.decode()
        assert f'name="reviewers" value="{cast.lead.pk}"' in html
        assert f'name="reviewers" value="{cast.leader.pk}"' not in html
        assert f"{reverse('teams:people_search')}?organization={cast.org.pk}" in html


def test_incident_times_open_the_timeline(cast):
    start = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    incident = IncidentFactory(
        team=cast.team,
        started_at=start,
        detected_at=start + dt.timedelta(minutes=5),
        mitigated_at=start + dt.timedelta(minutes=30),
        resolved_at=start + dt.timedelta(hours=1),
    )
    pm = make_postmortem(
        cast,
        incident=incident,
        timeline=[
            {"at": start + dt.timedelta(minutes=5), "description": "Pager fires."},
            {"at": start - dt.timedelta(minutes=10), "description": "Deploy 42 goes out."},
        ],
    )
    rows = [(row.at - start, row.description, row.from_incident) for row in selectors.timeline(pm)]
    assert rows == [
        (dt.timedelta(minutes=-10), "Deploy 42 goes out.", False),
        (dt.timedelta(0), "Incident started: users affected", True),
        (dt.timedelta(minutes=5), "Detected", True),
        (dt.timedelta(minutes=5), "Pager fires.", False),
        (dt.timedelta(minutes=30), "Mitigated", True),
        (dt.timedelta(hours=1), "Resolved", True),
    ]
    markdown = exports.to_markdown(pm)
    assert "| 2026-03-02 10:00 UTC | Incident started: users affected |" in markdown
    assert "| 2026-03-02 11:00 UTC | Resolved |" in markdown


def test_an_unresolved_incident_shows_only_its_known_times(cast):
    incident = IncidentFactory(team=cast.team, detected_at=None, mitigated_at=None, resolved_at=None, status="open")
    pm = make_postmortem(cast, incident=incident)
    assert [row.description for row in selectors.timeline(pm)] == ["Incident started: users affected"]
