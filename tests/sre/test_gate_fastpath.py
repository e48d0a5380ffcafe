"""The gate's short path (apps/sre/fastpath.py) answers as the API view does, case by case.

Each call is made twice with the same token, headers and body: through the site (where the short
path answers token calls before the page middleware) and straight to the API view (`GateView`,
DRF's token authentication). Status, and the body where it is ours, must be equal.
"""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIRequestFactory

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_create, api_token_revoke
from apps.slos.models import BUCKET_SECONDS, ErrorBudgetPolicy
from apps.sre import fastpath, services
from apps.sre.api.views import GateView
from apps.sre.models import GateDecision
from tests.slos.factories import fill, live_now_ts, make_sli, make_slo

pytestmark = pytest.mark.django_db


@pytest.fixture
def spent(cast):
    """A service whose one SLO has spent its budget (200 %) up to now: feature deploys are frozen."""
    end = live_now_ts()
    sli = make_sli(cast.service)
    make_slo(sli, target="0.99")
    ErrorBudgetPolicy.objects.create(team=cast.team)
    fill(sli, start_ts=end - 12 * BUCKET_SECONDS, end_ts=end, good=980, total=1000)
    return cast


@pytest.fixture
def short_calls(monkeypatch):
    """How many calls the short path answered."""
    seen = []
    real = fastpath.answer

    def counting(request, service_id):
        seen.append(service_id)
        return real(request, service_id)

    monkeypatch.setattr(fastpath, "answer", counting)
    return seen


def _token(user):
    return api_token_create(actor=user, user=user, name="ci")


def _site(raw, service_id, body, content_type="application/json"):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    url = reverse("api:sre-gate", args=[service_id])
    if body is None:  # what `curl -X POST -d ''` sends: no body, a form content type
        r = client.generic("POST", url, b"", content_type="application/x-www-form-urlencoded")
    else:
        r = client.post(url, body, content_type=content_type)
    return r.status_code, r.json(), r


def _view(raw, service_id, body, content_type="application/json"):
    url = reverse("api:sre-gate", args=[service_id])
    factory = APIRequestFactory()
    if body is None:
        request = factory.generic(
            "POST", url, b"", content_type="application/x-www-form-urlencoded", HTTP_AUTHORIZATION=f"Bearer {raw}"
        )
    else:
        request = factory.post(url, body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = GateView.as_view()(request, pk=service_id)
    response.render()
    return response.status_code, json.loads(response.content), response


def _same(raw, service_id, body=json.dumps({"kind": "feature", "ref": "sha"}), *, short_calls, compare_body=True):
    """Both answers for one call; asserts they agree and that the short path answered the site's."""
    before = len(short_calls)
    status, answer, response = _site(raw, service_id, body)
    assert len(short_calls) == before + 1, "the short path did not answer"
    view_status, view_answer, view_response = _view(raw, service_id, body)
    assert status == view_status, (status, answer, view_status, view_answer)
    if status == 200:
        keys = ("decision", "allowed", "reason", "kind", "slos")
        assert {k: answer[k] for k in keys} == {k: view_answer[k] for k in keys}
        for pk in (answer["id"], view_answer["id"]):
            assert GateDecision.objects.filter(pk=pk).exists()
        a, b = GateDecision.objects.get(pk=answer["id"]), GateDecision.objects.get(pk=view_answer["id"])
        assert (a.ref, a.requested_by_id, a.override_id, a.allowed) == (
            b.ref,
            b.requested_by_id,
            b.override_id,
            b.allowed,
        )
    elif compare_body:
        assert answer == view_answer
    if status == 401:
        assert response["WWW-Authenticate"] == view_response["WWW-Authenticate"]
    assert "Content-Security-Policy" in response.headers
    return status, answer


ROLE_STATUS = {"org_admin": 200, "leader": 403, "lead": 200, "member": 200, "other_member": 403, "outsider": 404}


@pytest.mark.parametrize("role", ROLE_STATUS)
def test_each_role_gets_the_views_answer(spent, short_calls, role):
    _token_row, raw = _token(spent.user(role))
    status, answer = _same(raw, spent.service.pk, short_calls=short_calls)
    assert status == ROLE_STATUS[role]
    if status == 200:
        assert answer["decision"] == "deny" and "200% of budget spent" in answer["reason"]


def test_no_such_service_is_404(spent, short_calls):
    _row, raw = _token(spent.member)
    assert _same(raw, 0, short_calls=short_calls)[0] == 404


def test_revoked_expired_and_inactive_are_401(spent, short_calls):
    token, raw = _token(spent.member)
    assert _same(raw, spent.service.pk, short_calls=short_calls)[0] == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _same(raw, spent.service.pk, short_calls=short_calls) == (
        401,
        {"detail": "Invalid, expired or revoked token."},
    )
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(days=1))
    assert _same(raw, spent.service.pk, short_calls=short_calls)[0] == 200
    api_token_revoke(actor=spent.member, token=token)
    assert _same(raw, spent.service.pk, short_calls=short_calls)[0] == 401
    other, raw2 = _token(spent.lead)
    spent.lead.is_active = False
    spent.lead.save(update_fields=["is_active"])
    assert _same(raw2, spent.service.pk, short_calls=short_calls)[0] == 401
    assert _same("dm_unknown", spent.service.pk, short_calls=short_calls)[0] == 401


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"kind": "yolo"}),
        json.dumps({"kind": None}),
        json.dumps({"kind": ""}),
        json.dumps({"ref": "x" * 201}),
        json.dumps({"ref": ["a"]}),
        json.dumps({"ref": "a\x00b"}),
    ],
)
def test_bad_fields_are_the_serializers_400(spent, short_calls, body):
    _row, raw = _token(spent.member)
    status, answer = _same(raw, spent.service.pk, body, short_calls=short_calls)
    assert status == 400 and answer


@pytest.mark.parametrize("body", ["{", json.dumps(["x"]), json.dumps("feature")])
def test_bodies_that_are_not_an_object_are_400(spent, short_calls, body):
    _row, raw = _token(spent.member)
    # The wording of a parse error is DRF's in the view and ours on the short path: both 400 with a reason.
    status, answer = _same(raw, spent.service.pk, body, short_calls=short_calls, compare_body=False)
    assert status == 400 and answer


@pytest.mark.parametrize(
    "body",
    [
        None,  # no body (whatever its type): a feature deploy
        json.dumps({}),
        json.dumps({"kind": "fix", "ref": "hotfix-1"}),
        json.dumps({"ref": "  padded  "}),  # the serializer trims it
        json.dumps({"ref": "déploiement ünïcode"}),
        json.dumps({"ref": 1234}),  # the serializer takes a number as its text
        json.dumps({"ref": "x" * 200, "extra": "ignored"}),
    ],
)
def test_good_bodies_record_what_the_view_records(spent, short_calls, body):
    _row, raw = _token(spent.member)
    assert _same(raw, spent.service.pk, body, short_calls=short_calls)[0] == 200


def test_fix_passes_and_an_override_allows_until_it_is_removed(spent, short_calls):
    _row, raw = _token(spent.member)
    pk = spent.service.pk
    assert _same(raw, pk, short_calls=short_calls)[1]["decision"] == "deny"
    fix = _same(raw, pk, json.dumps({"kind": "fix"}), short_calls=short_calls)[1]
    assert fix["decision"] == "allow" and fix["reason"].startswith("Fix allowed during the freeze")
    override = services.gate_override_create(service=spent.service, actor=spent.lead, reason="Launch day", hours=1)
    allowed = _same(raw, pk, short_calls=short_calls)[1]
    assert allowed["decision"] == "allow" and "Launch day" in allowed["reason"]
    assert GateDecision.objects.get(pk=allowed["id"]).override_id == override.pk
    override.delete()
    assert _same(raw, pk, short_calls=short_calls)[1]["decision"] == "deny"  # at once, no cache to wait for


def test_an_expiring_override_stops_at_its_time_on_the_short_path(spent, short_calls):
    from apps.sre.models import GateOverride

    _row, raw = _token(spent.member)
    o = services.gate_override_create(service=spent.service, actor=spent.lead, reason="Window", hours=1)
    assert _site(raw, spent.service.pk, "{}")[1]["decision"] == "allow"
    # Expired without a save signal (a bulk update): the short path reads the override with the token.
    GateOverride.objects.filter(pk=o.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _site(raw, spent.service.pk, "{}")[1]["decision"] == "deny"


def test_a_warm_call_is_two_queries_and_notes_use_once_a_minute(spent, short_calls, django_assert_num_queries):
    token, raw = _token(spent.member)
    url = reverse("api:sre-gate", args=[spent.service.pk])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.post(url, "{}", content_type="application/json").status_code == 200  # verdicts cached
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None
    # The call's SELECT (token, roles, override) and the decision's INSERT; no write of last_used_at.
    with django_assert_num_queries(2):
        assert client.post(url, "{}", content_type="application/json").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first_use
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    with django_assert_num_queries(3):  # a minute on: the use is noted again
        assert client.post(url, "{}", content_type="application/json").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at > first_use


def test_session_callers_and_other_routes_go_the_usual_way(spent, short_calls, api_for):
    url = reverse("api:sre-gate", args=[spent.service.pk])
    r = api_for("member").post(url, {"kind": "fix"}, format="json")
    assert r.status_code == 200 and r.json()["decision"] == "allow"
    assert short_calls == []


def test_a_host_outside_allowed_hosts_is_400_and_records_nothing(spent, short_calls, settings):
    settings.ALLOWED_HOSTS = ["testserver"]  # as production lists its own (the test settings allow any)
    _token_row, raw = _token(spent.member)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_HOST="gate.attacker.example")
    r = client.post(reverse("api:sre-gate", args=[spent.service.pk]), "{}", content_type="application/json")
    assert r.status_code == 400
    assert not GateDecision.objects.filter(service=spent.service).exists()
    # The same call on an allowed host is answered by the short path and recorded.
    assert _site(raw, spent.service.pk, "{}")[0] == 200
    assert GateDecision.objects.filter(service=spent.service).count() == 1
    assert len(short_calls) == 1
