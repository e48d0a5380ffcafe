"""The REST API: role matrix on every route, validation, idempotency."""

import pytest
from django.urls import reverse

from apps.postmortems.models import ActionItem, Incident, Postmortem, PostmortemReview
from tests.postmortems.factories import IncidentFactory, make_postmortem
from tests.roles import API_SHARED_READ, assert_matrix

pytestmark = pytest.mark.django_db

API_LIST = {**API_SHARED_READ, "outsider": 200}
API_TEAM_CHANGE = {
    "org_admin": 200,
    "leader": 403,
    "lead": 200,
    "member": 200,
    "other_member": 403,
    "outsider": 404,
    "anonymous": 401,
}
API_DRAFT_READ = {**API_SHARED_READ, "other_member": 404}
API_DRAFT_CHANGE = {**API_TEAM_CHANGE, "other_member": 404}


def url(name, *args):
    return reverse(f"api:{name}", args=args)


class TestIncidents:
    def test_matrix(self, api_for, cast):
        incident = IncidentFactory(team=cast.team)
        assert_matrix(api_for, url("incident-list"), API_LIST)
        assert_matrix(api_for, url("incident-detail", incident.pk), API_SHARED_READ)
        assert_matrix(
            api_for, url("incident-detail", incident.pk), API_TEAM_CHANGE, method="patch", data={"title": "Renamed"}
        )
        assert_matrix(
            api_for,
            url("incident-list"),
            # The outsider cannot even name our team: it "does not exist" for them.
            {**API_TEAM_CHANGE, "org_admin": 201, "lead": 201, "member": 201, "outsider": 400},
            method="post",
            data={"team": cast.team.pk, "title": "API incident", "severity": 2, "started_at": "2026-03-02T10:00:00Z"},
        )
        # Incidents are not deleted through the API (postmortems and deployments refer to them).
        no_delete = dict.fromkeys(API_TEAM_CHANGE, 405) | {"anonymous": 401}
        assert_matrix(api_for, url("incident-detail", incident.pk), no_delete, method="delete")

    def test_create_is_an_api_incident_with_services(self, api_for, cast):
        response = api_for("member").post(
            url("incident-list"),
            {
                "team": cast.team.pk,
                "title": "Payments slow",
                "severity": 2,
                "status": "resolved",
                "services": [cast.service.pk],
                "started_at": "2026-03-02T10:00:00Z",
                "detected_at": "2026-03-02T10:05:00Z",
                "resolved_at": "2026-03-02T11:00:00Z",
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["source"] == "api" and body["severity_label"] == "SEV2" and body["services"] == [cast.service.pk]
        assert body["organization"] == cast.org.pk and body["postmortem"] is None

    def test_time_order_is_a_400_naming_the_field(self, api_for, cast):
        response = api_for("member").post(
            url("incident-list"),
            {
                "team": cast.team.pk,
                "title": "x",
                "started_at": "2026-03-02T10:00:00Z",
                "detected_at": "2026-03-02T09:00:00Z",
            },
            format="json",
        )
        assert response.status_code == 400 and "detected_at" in response.json()
        incident = IncidentFactory(team=cast.team)
        response = api_for("member").patch(
            url("incident-detail", incident.pk), {"resolved_at": "2000-01-01T00:00:00Z"}, format="json"
        )
        assert response.status_code == 400 and "resolved_at" in response.json()
        assert not Incident.objects.filter(title="x").exists()

    def test_services_of_other_org_do_not_exist(self, api_for, cast):
        from tests.factories import ServiceFactory, TeamFactory

        foreign = ServiceFactory(team=TeamFactory(organization=cast.other_org))
        response = api_for("member").post(
            url("incident-list"),
            {"team": cast.team.pk, "title": "x", "started_at": "2026-03-02T10:00:00Z", "services": [foreign.pk]},
            format="json",
        )
        assert response.status_code == 400 and "services" in response.json()


class TestPostmortems:
    def test_matrix_draft_and_published(self, api_for, cast):
        draft = make_postmortem(cast)
        published = make_postmortem(cast, status="published")
        assert_matrix(api_for, url("postmortem-list"), API_LIST)
        assert_matrix(api_for, url("postmortem-detail", draft.pk), API_DRAFT_READ)
        assert_matrix(api_for, url("postmortem-detail", published.pk), API_SHARED_READ)
        assert_matrix(
            api_for, url("postmortem-detail", draft.pk), API_DRAFT_CHANGE, method="patch", data={"trigger": "Deploy"}
        )

    def test_transition_matrix(self, api_for, cast):
        pm = make_postmortem(cast, reviewers=[cast.lead])

        def reset(status, decision):
            def go():
                Postmortem.objects.filter(pk=pm.pk).update(status=status, published_at=None)
                PostmortemReview.objects.filter(postmortem=pm).update(decision=decision)

            return go

        assert_matrix(
            api_for, url("postmortem-submit", pm.pk), API_DRAFT_CHANGE, method="post", reset=reset("draft", "pending")
        )
        assert_matrix(
            api_for,
            url("postmortem-withdraw", pm.pk),
            API_DRAFT_CHANGE,
            method="post",
            reset=reset("in_review", "pending"),
        )
        assert_matrix(
            api_for,
            url("postmortem-publish", pm.pk),
            API_DRAFT_CHANGE,
            method="post",
            reset=reset("in_review", "approved"),
        )
        assert_matrix(
            api_for,
            url("postmortem-review", pm.pk),
            {
                "org_admin": 403,
                "leader": 403,
                "lead": 200,
                "member": 403,
                "other_member": 404,
                "outsider": 404,
                "anonymous": 401,
            },
            method="post",
            data={"decision": "approved"},
            reset=reset("in_review", "pending"),
        )

    def test_write_review_publish_through_the_api(self, api_for, cast):
        incident = IncidentFactory(team=cast.team, severity=2)
        member = api_for("member")
        response = member.post(
            url("postmortem-list"),
            {
                "incident": incident.pk,
                "title": "Pool exhaustion",
                "summary": "Errors for 20 minutes.",
                "impact": "Checkout failed.",
                "root_causes": "Pool too small.",
                "resolution": "Rolled back.",
                "tags": ["database"],
                "reviewers": [cast.other_member.email],
                "timeline": [{"at": "2026-03-02T10:00:00Z", "description": "Paged"}],
                "factors": [{"category": 1, "description": "Small pool", "is_root_cause": True}],
                "links": [{"title": "Dashboard", "url": "https://grafana.example/d/1"}],
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
        pm_id = response.json()["id"]
        body = response.json()
        assert body["reviewers"] == [cast.other_member.email] and body["timeline"][0]["description"] == "Paged"
        assert body["factors"][0]["category_name"]
        # A second postmortem for the same incident is refused.
        again = member.post(url("postmortem-list"), {"incident": incident.pk}, format="json")
        assert again.status_code == 400
        assert member.post(url("postmortem-submit", pm_id)).json()["status"] == "in_review"
        reviewer = api_for("other_member")
        bad = reviewer.post(url("postmortem-review", pm_id), {"decision": "changes_requested"}, format="json")
        assert bad.status_code == 400 and "comment" in bad.json()
        ok = reviewer.post(url("postmortem-review", pm_id), {"decision": "approved", "comment": "Nice"}, format="json")
        assert ok.status_code == 200 and ok.json()["reviews"][0]["decision"] == "approved"
        published = member.post(url("postmortem-publish", pm_id))
        assert published.status_code == 200 and published.json()["status"] == "published"
        # Published: read-only, but everybody in the org reads it.
        assert member.patch(url("postmortem-detail", pm_id), {"summary": "x"}, format="json").status_code == 400
        assert api_for("other_member").get(url("postmortem-detail", pm_id)).status_code == 200

    def test_publish_before_approval_is_400(self, api_for, cast):
        pm = make_postmortem(cast, status="in_review")
        response = api_for("member").post(url("postmortem-publish", pm.pk))
        assert response.status_code == 400 and "reviewers" in response.json()


class TestActionItems:
    def test_matrix_and_idempotent_create(self, api_for, cast):
        pm = make_postmortem(cast, status="published")
        item = ActionItem.objects.create(organization=cast.org, postmortem=pm, team=cast.team, title="Alert on pool")
        assert_matrix(api_for, url("action-item-list"), API_LIST)
        assert_matrix(api_for, url("action-item-detail", item.pk), API_SHARED_READ)
        assert_matrix(
            api_for, url("action-item-detail", item.pk), API_TEAM_CHANGE, method="patch", data={"priority": 1}
        )
        assert_matrix(
            api_for,
            url("action-item-list"),
            {**API_TEAM_CHANGE, "org_admin": 201, "lead": 201, "member": 201, "outsider": 400},
            method="post",
            data={"postmortem": pm.pk, "title": "Runbook for pool"},
            reset=lambda: ActionItem.objects.filter(title="Runbook for pool").delete(),
        )
        first = api_for("member").post(
            url("action-item-list"), {"postmortem": pm.pk, "title": "Add PgBouncer"}, format="json"
        )
        retry = api_for("member").post(
            url("action-item-list"), {"postmortem": pm.pk, "title": "Add PgBouncer"}, format="json"
        )
        assert first.status_code == 201 and retry.status_code == 200 and first.json()["id"] == retry.json()["id"]

    def test_owner_edits_their_item_and_closing_stamps_time(self, api_for, cast):
        pm = make_postmortem(cast, status="published")
        item = ActionItem.objects.create(
            organization=cast.org, postmortem=pm, team=cast.other_team, title="Fix DNS", owner=cast.other_member
        )
        done = api_for("other_member").patch(url("action-item-detail", item.pk), {"status": "done"}, format="json")
        assert done.status_code == 200 and done.json()["closed_at"]
        reopened = api_for("member").patch(url("action-item-detail", item.pk), {"status": "open"}, format="json")
        assert reopened.status_code == 200 and reopened.json()["closed_at"] is None

    def test_owner_must_be_in_the_org(self, api_for, cast):
        pm = make_postmortem(cast, status="published")
        response = api_for("member").post(
            url("action-item-list"), {"postmortem": pm.pk, "title": "x", "owner": cast.outsider.email}, format="json"
        )
        assert response.status_code == 400 and "owner" in response.json()

    def test_bad_tracker_link(self, api_for, cast):
        pm = make_postmortem(cast, status="published")
        response = api_for("member").post(
            url("action-item-list"),
            {"postmortem": pm.pk, "title": "x", "tracker_url": "javascript:alert(1)"},
            format="json",
        )
        assert response.status_code == 400 and "tracker_url" in response.json()


class TestSearchApi:
    def test_matrix_and_results(self, api_for, cast):
        pm = make_postmortem(cast, status="published", summary="The connection pool was exhausted.")
        assert_matrix(api_for, url("postmortem-search-list") + "?q=pool", API_LIST)
        response = api_for("other_member").get(url("postmortem-search-list"), {"q": "pool"})
        hits = response.json()
        assert [h["id"] for h in hits] == [pm.pk]
        assert "<mark>pool</mark>" in hits[0]["snippet_html"].lower()
        assert hits[0]["rank"] > 0
        # Outsiders searching their own org find nothing of ours; naming our org is refused.
        assert api_for("outsider").get(url("postmortem-search-list"), {"q": "pool"}).json() == []
        refused = api_for("outsider").get(url("postmortem-search-list"), {"q": "pool", "organization": cast.org.pk})
        assert refused.status_code == 400

    def test_bad_limit(self, api_for, cast):
        assert api_for("member").get(url("postmortem-search-list"), {"limit": "many"}).status_code == 400
