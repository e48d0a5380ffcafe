"""Every initiatives route against every role (tests/roles.py). Org admins and leaders manage initiatives;
only org admins graduate them into the scorecard (the rubric is theirs); everyone in the org reads."""

import pytest
from django.urls import reverse

from tests.roles import API_SHARED_READ, HTML_SHARED_READ, assert_matrix

pytestmark = pytest.mark.django_db

MANAGE_HTML = {
    "org_admin": 200,
    "leader": 200,
    "lead": 403,
    "member": 403,
    "other_member": 403,
    "outsider": 404,
    "anonymous": 302,
}
MANAGE_POST = {**MANAGE_HTML, "org_admin": 302, "leader": 302}
GRADUATE_POST = {**MANAGE_POST, "leader": 403}
MANAGE_API = {**MANAGE_HTML, "anonymous": 401}


def test_pages(client_for, initiative):
    # The outsider's list is their own organization's (where ours does not show).
    assert_matrix(client_for, reverse("initiatives:index"), {**HTML_SHARED_READ, "outsider": 200})
    assert initiative.name not in client_for("outsider").get(reverse("initiatives:index")).content.decode()
    assert initiative.name in client_for("other_member").get(reverse("initiatives:index")).content.decode()
    assert_matrix(client_for, reverse("initiatives:detail", args=[initiative.pk]), HTML_SHARED_READ)
    assert_matrix(client_for, reverse("initiatives:export_csv", args=[initiative.pk]), HTML_SHARED_READ)
    assert_matrix(client_for, reverse("initiatives:edit", args=[initiative.pk]), MANAGE_HTML)
    # The outsider is an admin of their own organization: they may start one there.
    assert_matrix(client_for, reverse("initiatives:create"), {**MANAGE_HTML, "outsider": 200})


def test_actions(client_for, initiative):
    url = reverse("initiatives:status", args=[initiative.pk])
    assert_matrix(client_for, url, MANAGE_POST, method="post", data={"status": "active"})
    assert_matrix(client_for, reverse("initiatives:refresh", args=[initiative.pk]), MANAGE_POST, method="post")
    graduate = reverse("initiatives:graduate", args=[initiative.pk])
    assert_matrix(client_for, graduate, GRADUATE_POST, method="post", data={"level": 2})


def test_api(api_for, initiative, cast):
    assert_matrix(api_for, reverse("api:initiative-list"), {**API_SHARED_READ, "outsider": 200})
    assert api_for("outsider").get(reverse("api:initiative-list")).json()["count"] == 0
    detail = reverse("api:initiative-detail", args=[initiative.pk])
    assert_matrix(api_for, detail, API_SHARED_READ)
    assert_matrix(api_for, reverse("api:initiative-progress", args=[initiative.pk]), API_SHARED_READ)
    assert_matrix(api_for, detail, MANAGE_API, method="patch", data={"name": "Renamed"})
    body = {
        "organization": cast.org.pk,
        "name": "New one",
        "reason": "Because",
        "start_date": "2026-12-01",
        "target_date": "2027-01-31",
        "teams": [cast.team.pk],
        "checks": [{"metric": "slo.coverage", "operator": "gte", "value": 0.8}],
    }
    # Another organization's id reads as "does not exist" (400) for the outsider.
    assert_matrix(
        api_for,
        reverse("api:initiative-list"),
        {**MANAGE_API, "org_admin": 201, "leader": 201, "outsider": 400},
        method="post",
        data=body,
    )
    graduate = reverse("api:initiative-graduate", args=[initiative.pk])
    assert_matrix(api_for, graduate, {**MANAGE_API, "leader": 403}, method="post", data={"level": 3})


def test_delete(api_for, initiative, cast):
    url = reverse("api:initiative-detail", args=[initiative.pk])
    assert api_for("lead").delete(url).status_code == 403
    assert api_for("outsider").delete(url).status_code == 404
    assert api_for("leader").delete(url).status_code == 204
