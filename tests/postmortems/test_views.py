"""The role matrix on every HTML route, and the pages' behaviour."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.postmortems.models import ActionItem, Incident, Postmortem, PostmortemReview
from tests.postmortems.factories import IncidentFactory, make_postmortem
from tests.roles import HTML_SHARED_READ, assert_matrix

pytestmark = pytest.mark.django_db

# Lists of the current org: every signed-in person gets their own org's page.
HTML_LIST = {**HTML_SHARED_READ, "outsider": 200}
# Changing a record of `cast.team` that the whole org can read.
HTML_TEAM_CHANGE = {
    "org_admin": 200,
    "leader": 403,
    "lead": 200,
    "member": 200,
    "other_member": 403,
    "outsider": 404,
    "anonymous": 302,
}
# A draft of `cast.team` (reviewed by the lead): other teams do not see it.
HTML_DRAFT_READ = {**HTML_SHARED_READ, "other_member": 404}
HTML_DRAFT_CHANGE = {**HTML_TEAM_CHANGE, "other_member": 404}
POST_TEAM_CHANGE = {k: (302 if v == 200 else v) for k, v in HTML_DRAFT_CHANGE.items()}


@pytest.fixture
def draft(cast):
    return make_postmortem(cast, reviewers=[cast.lead])


@pytest.fixture
def published(cast):
    return make_postmortem(cast, reviewers=[cast.lead], status="published")


def _reset(pm, status, **extra):
    def reset():
        Postmortem.objects.filter(pk=pm.pk).update(status=status, **extra)
        PostmortemReview.objects.filter(postmortem=pm).update(
            decision="approved" if status == "in_review" else "pending"
        )

    return reset


class TestMatrix:
    def test_lists(self, client_for, cast, published):
        for name in ("index", "incidents", "board"):
            assert_matrix(client_for, reverse(f"postmortems:{name}"), HTML_LIST)

    def test_incident_pages(self, client_for, cast):
        incident = IncidentFactory(team=cast.team)
        assert_matrix(client_for, reverse("postmortems:incident_detail", args=[incident.pk]), HTML_SHARED_READ)
        assert_matrix(client_for, reverse("postmortems:incident_edit", args=[incident.pk]), HTML_TEAM_CHANGE)
        # Reporting: anyone on a team (or an admin) reports in their current org; the leader is on none.
        assert_matrix(
            client_for,
            reverse("postmortems:incident_create"),
            {**HTML_LIST, "leader": 403},
        )

    def test_start_postmortem(self, client_for, cast):
        incident = IncidentFactory(team=cast.team)
        assert_matrix(
            client_for,
            reverse("postmortems:postmortem_start", args=[incident.pk]),
            {**POST_TEAM_CHANGE, "other_member": 403},
            method="post",
            reset=lambda: Postmortem.objects.filter(incident=incident).delete(),
        )

    def test_draft_pages(self, client_for, cast, draft):
        assert_matrix(client_for, reverse("postmortems:detail", args=[draft.pk]), HTML_DRAFT_READ)
        assert_matrix(client_for, reverse("postmortems:export", args=[draft.pk]), HTML_DRAFT_READ)
        assert_matrix(client_for, reverse("postmortems:edit", args=[draft.pk]), HTML_DRAFT_CHANGE)
        assert_matrix(client_for, reverse("postmortems:action_create", args=[draft.pk]), HTML_DRAFT_CHANGE)

    def test_published_pages(self, client_for, cast, published):
        assert_matrix(client_for, reverse("postmortems:detail", args=[published.pk]), HTML_SHARED_READ)
        assert_matrix(client_for, reverse("postmortems:export", args=[published.pk]), HTML_SHARED_READ)
        assert_matrix(client_for, reverse("postmortems:action_create", args=[published.pk]), HTML_TEAM_CHANGE)

    def test_transitions(self, client_for, cast, draft):
        assert_matrix(
            client_for,
            reverse("postmortems:submit", args=[draft.pk]),
            POST_TEAM_CHANGE,
            method="post",
            reset=_reset(draft, "draft"),
        )
        assert_matrix(
            client_for,
            reverse("postmortems:withdraw", args=[draft.pk]),
            POST_TEAM_CHANGE,
            method="post",
            reset=_reset(draft, "in_review"),
        )
        assert_matrix(
            client_for,
            reverse("postmortems:publish", args=[draft.pk]),
            POST_TEAM_CHANGE,
            method="post",
            reset=_reset(draft, "in_review", published_at=None),
        )

    def test_review_is_for_named_reviewers(self, client_for, cast):
        pm = make_postmortem(cast, reviewers=[cast.other_member], status="in_review")
        assert_matrix(
            client_for,
            reverse("postmortems:review", args=[pm.pk]),
            {
                "org_admin": 403,
                "leader": 403,
                "lead": 403,
                "member": 403,
                "other_member": 302,
                "outsider": 404,
                "anonymous": 302,
            },
            method="post",
            data={"decision": "approved"},
            reset=_reset(pm, "in_review"),
        )

    def test_action_item_edit(self, client_for, cast, published):
        item = ActionItem.objects.create(
            organization=cast.org, postmortem=published, team=cast.team, title="Add alert", owner=cast.member
        )
        assert_matrix(client_for, reverse("postmortems:action_edit", args=[item.pk]), HTML_TEAM_CHANGE)


class TestIncidentForm:
    def test_time_order_error_is_shown_and_nothing_saved(self, cast, client_for):
        c = client_for("member")
        response = c.post(
            reverse("postmortems:incident_create"),
            {
                "team": cast.team.pk,
                "title": "Checkout down",
                "severity": 2,
                "status": "resolved",
                "services": [cast.service.pk],
                "started_at": "2026-03-02T10:00",
                "detected_at": "2026-03-02T09:00",
                "resolved_at": "2026-03-02T11:00",
            },
        )
        assert response.status_code == 200
        assert "must be in order" in response.content.decode()
        assert not Incident.objects.exists()

    def test_report_and_start_postmortem(self, cast, client_for):
        c = client_for("member")
        response = c.post(
            reverse("postmortems:incident_create"),
            {
                "team": cast.team.pk,
                "title": "Checkout down",
                "severity": 1,
                "status": "resolved",
                "services": [cast.service.pk],
                "started_at": "2026-03-02T10:00",
                "detected_at": "2026-03-02T10:05",
                "mitigated_at": "2026-03-02T10:30",
                "resolved_at": "2026-03-02T11:00",
            },
        )
        incident = Incident.objects.get()
        assert response.status_code == 302 and incident.source == "manual" and incident.created_by == cast.member
        response = c.post(reverse("postmortems:postmortem_start", args=[incident.pk]))
        pm = Postmortem.objects.get()
        assert response["Location"] == reverse("postmortems:edit", args=[pm.pk])
        assert pm.publish_due_on == dt.date(2026, 3, 9)  # 5 business days after Monday 2 March

    def test_the_reporters_only_team_is_preselected(self, cast, client_for):
        form = client_for("member").get(reverse("postmortems:incident_create")).context["form"]
        assert form.initial["team"] == cast.team.pk
        assert list(form.fields["team"].queryset) == [cast.team]
        assert "team" not in client_for("org_admin").get(reverse("postmortems:incident_create")).context["form"].initial

    def test_other_teams_cannot_be_chosen(self, cast, client_for):
        response = client_for("member").post(
            reverse("postmortems:incident_create"),
            {
                "team": cast.other_team.pk,
                "title": "x",
                "severity": 3,
                "status": "open",
                "started_at": "2026-03-02T10:00",
            },
        )
        assert response.status_code == 200 and "team" in response.context["form"].errors
        assert not Incident.objects.exists()


class TestEditPage:
    def _data(self, pm, **over):
        data = {
            "title": pm.title,
            "users_affected": "",
            "summary": "s",
            "impact": "i",
            "root_causes": "r",
            "trigger": "",
            "detection": "",
            "resolution": "res",
            "went_well": "",
            "went_wrong": "",
            "got_lucky": "",
            "tags": "db, capacity",
            "reviewers": [],
            "authors": [],
            "timeline-TOTAL_FORMS": "1",
            "timeline-INITIAL_FORMS": "0",
            "timeline-0-at": "2026-03-02T10:00",
            "timeline-0-description": "Paged",
            "factors-TOTAL_FORMS": "0",
            "factors-INITIAL_FORMS": "0",
            "links-TOTAL_FORMS": "1",
            "links-INITIAL_FORMS": "0",
            "links-0-title": "",
            "links-0-url": "",
        }
        data.update(over)
        return data

    def test_save_and_submit(self, cast, client_for, draft):
        c = client_for("member")
        data = self._data(draft, reviewers=[cast.lead.pk], submit="1")
        response = c.post(reverse("postmortems:edit", args=[draft.pk]), data)
        assert response.status_code == 302
        draft.refresh_from_db()
        assert draft.status == "in_review"
        assert draft.timeline.get().description == "Paged"
        assert sorted(draft.tags.values_list("name", flat=True)) == ["capacity", "db"]
        # In review, the edit page sends people back to the postmortem.
        assert c.get(reverse("postmortems:edit", args=[draft.pk])).status_code == 302

    def test_submit_errors_are_messages(self, cast, client_for, draft):
        c = client_for("member")
        c.post(reverse("postmortems:edit", args=[draft.pk]), self._data(draft, summary=""))
        response = c.post(reverse("postmortems:submit", args=[draft.pk]), follow=True)
        assert "Fill this in before asking for review" in response.content.decode()
        draft.refresh_from_db()
        assert draft.status == "draft"

    def test_bad_link_is_a_form_error(self, cast, client_for, draft):
        c = client_for("member")
        response = c.post(
            reverse("postmortems:edit", args=[draft.pk]),
            self._data(draft, **{"links-0-title": "x", "links-0-url": "javascript:alert(1)"}),
        )
        assert response.status_code == 200
        assert not draft.links.exists()


class TestLibraryAndBoard:
    def test_search_page_and_filters(self, cast, client_for, published):
        c = client_for("other_member")
        body = c.get(reverse("postmortems:index"), {"q": "pool"}).content.decode()
        assert published.title in body and "<mark>" in body.lower()
        assert published.title not in c.get(reverse("postmortems:index"), {"severity": 5}).content.decode()
        assert "Nothing matches" in c.get(reverse("postmortems:index"), {"q": "zebra"}).content.decode()

    def test_htmx_returns_the_results_only(self, client_for, published):
        response = client_for("member").get(reverse("postmortems:index"), {"q": "pool"}, HTTP_HX_REQUEST="true")
        assert b"<html" not in response.content and published.title.encode() in response.content

    def test_board_counts_and_filters(self, cast, client_for, published):
        today = timezone.localdate()
        ActionItem.objects.create(
            organization=cast.org,
            postmortem=published,
            team=cast.team,
            title="Late",
            due_date=today - dt.timedelta(days=2),
        )
        ActionItem.objects.create(
            organization=cast.org,
            postmortem=published,
            team=cast.team,
            title="Soon",
            due_date=today + dt.timedelta(days=2),
        )
        ActionItem.objects.create(
            organization=cast.org, postmortem=published, team=cast.team, title="Shipped", status="done"
        )
        # Reviewers and team members join in the scoping; the counts must not multiply.
        response = client_for("member").get(reverse("postmortems:board"))
        assert response.context["totals"] == {"open": 2, "overdue": 1}
        assert response.context["by_team"][0]["open"] == 2
        overdue = client_for("other_member").get(reverse("postmortems:board"), {"state": "overdue"})
        assert [i.title for i in overdue.context["page"].object_list] == ["Late"]

    def test_empty_states(self, cast, client_for):
        assert "No postmortems here yet" in client_for("member").get(reverse("postmortems:index")).content.decode()
        assert "No incidents yet" in client_for("member").get(reverse("postmortems:incidents")).content.decode()
        assert "No action items here" in client_for("member").get(reverse("postmortems:board")).content.decode()

    def test_export_markdown(self, cast, client_for, published):
        response = client_for("other_member").get(reverse("postmortems:export", args=[published.pk]))
        assert response["Content-Type"].startswith("text/markdown")
        assert "attachment" in response["Content-Disposition"]
        text = response.content.decode()
        assert text.startswith(f"# {published.title}\n")
        assert "## Summary\n\nThe checkout API returned errors." in text
        assert "## Timeline" in text and "## Action items" in text

    def test_team_panel_on_team_page(self, cast, client_for, published):
        body = client_for("other_member").get(reverse("teams:detail", args=[cast.team.pk])).content.decode()
        assert "Learning from incidents" in body and published.title in body


def test_incident_filters(cast, client_for):
    hit = IncidentFactory(team=cast.team, severity=1)
    hit.services.add(cast.service)
    IncidentFactory(team=cast.other_team, severity=3).services.add(cast.other_service)
    c = client_for("member")
    for params in ({"service": cast.service.pk}, {"team": cast.team.pk}, {"severity": 1}):
        page = c.get(reverse("postmortems:incidents"), params).context["page"]
        assert [i.pk for i in page.object_list] == [hit.pk], params
    assert "No incident matches" in c.get(reverse("postmortems:incidents"), {"severity": 5}).content.decode()


def test_action_item_edit_buttons_only_for_who_may_edit(client_for, cast):
    """The pencil beside an action item is shown exactly to the people its edit page lets in
    (members of another team saw it and got a 403)."""
    from apps.postmortems import services as pm_services

    pm = make_postmortem(
        cast, actor=cast.other_member, incident=IncidentFactory(team=cast.other_team), status="published"
    )
    item, _ = pm_services.action_item_create(
        actor=cast.other_member, postmortem=pm, title="Theirs", team=cast.other_team
    )
    edit_url = reverse("postmortems:action_edit", args=[item.pk])
    shown = {}
    for role in ("org_admin", "leader", "lead", "member", "other_member"):
        client = client_for(role)
        page = client.get(pm.get_absolute_url())
        assert page.status_code == 200 and "Theirs" in page.content.decode(), role
        shown[role] = (f'href="{edit_url}"' in page.content.decode(), client.get(edit_url).status_code)
    assert shown == {
        "org_admin": (True, 200),
        "leader": (False, 403),
        "lead": (False, 403),
        "member": (False, 403),
        "other_member": (True, 200),
    }
