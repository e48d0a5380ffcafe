"""Notification pages and API: who sees and changes what (role matrices), forms, failing targets shown."""

import pytest
from django.urls import reverse

from apps.notifications import kinds, services
from apps.notifications.models import Delivery, Preference, Target
from tests.roles import assert_matrix

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_target(cast):
    return Target.objects.create(
        organization=cast.org, team=cast.team, name="#checkout", channel="slack",
        address="https://hooks.slack.example/services/T0/B0/secret", kinds=[kinds.TEAM_DIGEST],
    )  # fmt: skip


@pytest.fixture
def org_target(cast):
    return Target.objects.create(
        organization=cast.org, team=None, name="Leaders", channel="email",
        address="leaders@example.test", kinds=[kinds.LEADER_DIGEST],
    )  # fmt: skip


def test_settings_page_matrix(client_for):
    url = reverse("notifications:index")
    assert_matrix(
        client_for,
        url,
        {"org_admin": 200, "leader": 200, "lead": 200, "member": 200, "other_member": 200, "outsider": 200,
         "anonymous": 302},
    )  # fmt: skip


def test_targets_pages_matrix(client_for, team_target, org_target):
    # The outsider lists its own organization's targets (none), never Acme's.
    assert_matrix(
        client_for,
        reverse("notifications:targets"),
        {"org_admin": 200, "leader": 200, "lead": 200, "member": 403, "other_member": 403, "outsider": 200,
         "anonymous": 302},
    )  # fmt: skip
    assert_matrix(
        client_for,
        reverse("notifications:target_new"),
        {"org_admin": 200, "leader": 403, "lead": 200, "member": 403, "other_member": 403, "outsider": 200,
         "anonymous": 302},
    )  # fmt: skip
    assert_matrix(
        client_for,
        reverse("notifications:target", args=[team_target.pk]),
        {"org_admin": 200, "leader": 200, "lead": 200, "member": 403, "other_member": 404, "outsider": 404,
         "anonymous": 302},
    )  # fmt: skip
    assert_matrix(
        client_for,
        reverse("notifications:target_edit", args=[team_target.pk]),
        {"org_admin": 200, "leader": 403, "lead": 200, "member": 403, "other_member": 404, "outsider": 404,
         "anonymous": 302},
    )  # fmt: skip
    assert_matrix(
        client_for,
        reverse("notifications:target", args=[org_target.pk]),
        {"org_admin": 200, "leader": 200, "lead": 404, "member": 404, "other_member": 404, "outsider": 404,
         "anonymous": 302},
    )  # fmt: skip
    assert_matrix(
        client_for,
        reverse("notifications:target_edit", args=[org_target.pk]),
        {"org_admin": 200, "leader": 403, "lead": 404, "member": 404, "other_member": 404, "outsider": 404,
         "anonymous": 302},
    )  # fmt: skip


def test_api_matrix(api_for, team_target):
    assert_matrix(
        api_for,
        reverse("api:notification-target-detail", args=[team_target.pk]),
        {"org_admin": 200, "leader": 200, "lead": 200, "member": 404, "other_member": 404, "outsider": 404,
         "anonymous": 401},
    )  # fmt: skip
    assert_matrix(
        api_for,
        reverse("api:notification-preferences-list"),
        {"org_admin": 200, "leader": 200, "lead": 200, "member": 200, "other_member": 200, "outsider": 200,
         "anonymous": 401},
    )  # fmt: skip
    body = api_for("lead").get(reverse("api:notification-target-detail", args=[team_target.pk])).json()
    assert body["address"] == "hooks.slack.example/…"  # the secret path never leaves the server
    assert api_for("member").get(reverse("api:notification-target-list")).json()["count"] == 0


def test_api_preferences(api_for, cast):
    api = api_for("member")
    rows = api.post(reverse("api:notification-preferences-list"), {"kind": "level_change", "enabled": False}).json()
    assert {r["kind"]: r["enabled"] for r in rows} == {
        "team_digest": True, "leader_digest": True, "level_change": False, "initiative_deadline": True,
    }  # fmt: skip
    bad = api.post(reverse("api:notification-preferences-list"), {"kind": "nope", "enabled": False})
    assert bad.status_code == 400


def test_settings_page_saves_preferences(client_for, cast):
    c = client_for("member")
    response = c.post(reverse("notifications:index"), {"kinds": ["team_digest", "level_change"]})
    assert response.status_code == 302
    off = set(Preference.objects.filter(user=cast.member, enabled=False).values_list("kind", flat=True))
    assert off == {"leader_digest", "initiative_deadline"}
    page = c.get(reverse("notifications:index")).content.decode()
    assert 'value="team_digest" id="kind-team_digest" checked' in page
    assert 'value="leader_digest" id="kind-leader_digest">' in page


def test_lead_adds_a_target_for_own_team_only(client_for, cast):
    c = client_for("lead")
    data = {
        "name": "#checkout",
        "team": cast.team.pk,
        "channel": "teams",
        "address": "https://example.webhook.office.com/webhookb2/abc",
        "kinds": ["team_digest", "level_change"],
        "active": "on",
    }
    assert c.post(reverse("notifications:target_new"), data).status_code == 302
    target = Target.objects.get(name="#checkout")
    assert (target.team, target.channel, target.kinds) == (cast.team, "teams", ["team_digest", "level_change"])
    other = c.post(reverse("notifications:target_new"), {**data, "name": "x", "team": cast.other_team.pk})
    assert other.status_code == 200 and "Select a valid choice" in other.content.decode()
    assert not Target.objects.filter(name="x").exists()


def test_bad_target_input_gets_a_clear_error(client_for, cast):
    c = client_for("org_admin")
    base = {"name": "t", "team": cast.team.pk, "channel": "slack", "kinds": ["team_digest"], "active": "on"}
    page = c.post(reverse("notifications:target_new"), {**base, "address": "http://insecure.example/x"})
    assert "Enter the webhook&#x27;s https:// URL." in page.content.decode()
    page = c.post(reverse("notifications:target_new"), {**base, "address": "https://h.example/x", "team": ""})
    assert "Weekly team digest: not sent to an organization-wide target." in page.content.decode()
    page = c.post(reverse("notifications:target_new"), {**base, "address": "https://10.0.0.5/hook"})
    assert "The webhook must be a public address, not this network&#x27;s." in page.content.decode()
    page = c.post(reverse("notifications:target_new"), {**base, "channel": "email", "address": "not-an-address"})
    assert "Enter an email address." in page.content.decode()
    assert not Target.objects.exists()


def test_failing_target_shown_on_its_page_and_list(client_for, cast, team_target):
    Delivery.objects.create(
        organization=cast.org, team=cast.team, kind=kinds.TEAM_DIGEST, period="2026-W49",
        subject=f"team:{cast.team.pk}", target=team_target, title="Checkout: weekly digest, 2026-W49", text="x",
        status=Delivery.Status.RETRYING, attempts=2, last_error="The webhook answered HTTP 500.",
    )  # fmt: skip
    Target.objects.filter(pk=team_target.pk).update(
        health=Target.Health.FAILING, consecutive_failures=2, last_error="The webhook answered HTTP 500."
    )
    page = client_for("lead").get(reverse("notifications:target", args=[team_target.pk])).content.decode()
    assert "Failing:</strong> The webhook answered HTTP 500. (2 failed attempts in a row" in page
    assert "Failed, will retry" in page
    assert "secret" not in page  # the webhook's path is its credential
    listing = client_for("org_admin").get(reverse("notifications:targets")).content.decode()
    assert "2 failures in a row" in listing and "Checkout: weekly digest, 2026-W49 · Failed, will retry" in listing


def test_edit_controls_only_for_editors(client_for, team_target):
    url = reverse("notifications:target", args=[team_target.pk])
    edit = reverse("notifications:target_edit", args=[team_target.pk])
    assert edit in client_for("lead").get(url).content.decode()
    assert edit not in client_for("leader").get(url).content.decode()


def test_delete_target(client_for, team_target):
    url = reverse("notifications:target_delete", args=[team_target.pk])
    assert client_for("leader").post(url).status_code == 403
    assert client_for("lead").post(url).status_code == 302
    assert not Target.objects.filter(pk=team_target.pk).exists()


def test_changing_the_address_clears_the_failure_record(cast, team_target):
    Target.objects.filter(pk=team_target.pk).update(health="failing", consecutive_failures=3, last_error="boom")
    team_target.refresh_from_db()
    services.target_update(
        actor=cast.lead, target=team_target, name="#checkout", channel="slack",
        address="https://hooks.slack.example/services/new", kind_keys=["team_digest"], active=True,
    )  # fmt: skip
    team_target.refresh_from_db()
    assert (team_target.health, team_target.consecutive_failures, team_target.last_error) == ("never", 0, "")
