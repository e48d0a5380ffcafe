"""Release gate: each policy case on hand-checked data, overrides, the record, and the role matrix."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.delivery.models import Deployment
from apps.slos.models import BUCKET_SECONDS, ErrorBudgetPolicy
from apps.sre import selectors, services
from apps.sre.models import GateDecision
from tests.roles import assert_matrix
from tests.slos.factories import NOW, NOW_TS, fill, live_now_ts, make_sli, make_slo

pytestmark = pytest.mark.django_db


def _slo(cast, *, good, total, end_ts=NOW_TS):
    sli = make_sli(cast.service)
    slo = make_slo(sli, target="0.99")  # budget: 1 % of events
    ErrorBudgetPolicy.objects.create(team=cast.team)  # default steps: 50 % review, 100 % freeze
    # One hour of buckets (12) before `end_ts`.
    fill(sli, start_ts=end_ts - 12 * BUCKET_SECONDS, end_ts=end_ts, good=good, total=total)
    return slo


def test_budget_left_allows(cast):
    # 995 of 1000 good: 0.5 % bad of a 1 % budget = 50 % consumed, below the freeze step.
    _slo(cast, good=995, total=1000)
    d = services.gate_decide(service=cast.service, actor=cast.member, now=NOW)
    assert d.allowed
    assert d.slos[0]["consumed"] == pytest.approx(0.5)
    assert d.slos[0]["freeze"] is False
    assert d.reason == "Error budget left on every SLO."


def test_budget_spent_denies_features_and_names_the_slo(cast):
    # 980 of 1000 good: 2 % bad of a 1 % budget = 200 % consumed.
    _slo(cast, good=980, total=1000)
    d = services.gate_decide(service=cast.service, actor=cast.member, now=NOW)
    assert not d.allowed
    assert d.slos[0]["consumed"] == pytest.approx(2.0)
    assert "Availability 99.9 (200% of budget spent)" in d.reason


def test_exactly_spent_budget_freezes(cast):
    _slo(cast, good=990, total=1000)  # 100 % consumed: the freeze step is reached
    assert not services.gate_decide(service=cast.service, actor=cast.member, now=NOW).allowed


def test_fix_passes_the_freeze(cast):
    _slo(cast, good=980, total=1000)
    d = services.gate_decide(service=cast.service, actor=cast.member, kind="fix", now=NOW)
    assert d.allowed and d.reason.startswith("Fix allowed during the freeze")


def test_override_allows_until_it_expires(cast):
    _slo(cast, good=980, total=1000)
    o = services.gate_override_create(service=cast.service, actor=cast.lead, reason="Hotfix window", hours=2, now=NOW)
    d = services.gate_decide(service=cast.service, actor=cast.member, now=NOW + timedelta(hours=1))
    assert d.allowed and d.override_id == o.pk and "Hotfix window" in d.reason
    later = services.gate_decide(service=cast.service, actor=cast.member, now=NOW + timedelta(hours=2))
    assert not later.allowed and later.override_id is None


def test_no_slo_and_no_data_allow_without_claiming_budget(cast):
    d = services.gate_decide(service=cast.service, actor=cast.member, now=NOW)
    assert d.allowed and d.reason.startswith("No SLO measures")
    make_slo(make_sli(cast.service), target="0.99")
    d = services.gate_decide(service=cast.service, actor=cast.member, now=NOW)
    assert d.allowed and d.slos[0]["consumed"] is None and d.reason.startswith("No SLO data")


def test_bad_kind_and_bad_override_are_field_errors(cast):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        services.gate_decide(service=cast.service, actor=cast.member, kind="yolo")
    assert "kind" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.gate_override_create(service=cast.service, actor=cast.lead, reason=" ", hours=0)
    assert set(exc.value.message_dict) == {"reason", "hours"}


def test_deployments_while_denied_count(cast):
    _slo(cast, good=980, total=1000)
    services.gate_decide(service=cast.service, actor=cast.member, now=NOW)  # deny at NOW

    def deploy(at, ext):
        return Deployment.objects.create(
            organization=cast.org,
            team=cast.team,
            service=cast.service,
            source="github",
            environment="production",
            is_production=True,
            status="success",
            external_id=ext,
            finished_at=at,
        )

    before = deploy(NOW - timedelta(minutes=5), "a")
    during = deploy(NOW + timedelta(minutes=5), "b")
    services.gate_decide(service=cast.service, actor=cast.member, kind="fix", now=NOW + timedelta(minutes=10))
    after = deploy(NOW + timedelta(minutes=15), "c")
    ids = set(selectors.deployments_while_denied(service_id=cast.service.pk).values_list("pk", flat=True))
    assert ids == {during.pk}
    assert before.pk not in ids and after.pk not in ids


GATE = {
    "org_admin": 200,
    "leader": 403,
    "lead": 200,
    "member": 200,
    "other_member": 403,
    "outsider": 404,
    "anonymous": 401,
}


def test_gate_api_matrix_and_answer(api_for, cast):
    end = live_now_ts()
    _slo(cast, good=980, total=1000, end_ts=end)
    url = reverse("api:sre-gate", args=[cast.service.pk])
    assert_matrix(api_for, url, GATE, method="post", data={"kind": "feature"})
    body = api_for("member").post(url, {"kind": "feature", "ref": "abc123"}, format="json").json()
    assert body["decision"] == "deny" and "budget spent" in body["reason"]
    assert GateDecision.objects.filter(service=cast.service, ref="abc123", allowed=False).exists()
    bad = api_for("member").post(url, {"kind": "yolo"}, format="json")
    assert bad.status_code == 400 and "kind" in bad.json()


def test_override_api_matrix(api_for, cast):
    url = reverse("api:sre-gate-override", args=[cast.service.pk])
    assert_matrix(
        api_for,
        url,
        {**GATE, "member": 403, "lead": 201, "org_admin": 201},
        method="post",
        data={"reason": "Incident fix train", "hours": 1},
    )
    bad = api_for("lead").post(url, {"reason": "x", "hours": 500}, format="json")
    assert bad.status_code == 400 and "hours" in bad.json()
    assert timezone.now() < cast.service.gate_overrides.first().expires_at


def test_live_calls_reuse_the_last_minutes_verdicts(cast, django_assert_max_num_queries):
    end = live_now_ts()
    _slo(cast, good=980, total=1000, end_ts=end)
    first = services.gate_decide(service=cast.service, actor=cast.member)
    assert not first.allowed
    # The second call within the minute reads the cached verdicts: no budget queries.
    with django_assert_max_num_queries(4):
        second = services.gate_decide(service=cast.service, actor=cast.member)
    assert second.slos == first.slos and not second.allowed


def test_token_calls_take_the_short_path_with_the_same_answers(client, cast, django_assert_max_num_queries):
    """CI calls with a personal API token: the role matrix, the answer, bad input, revoked tokens."""
    from django.test import Client

    from apps.accounts.services import api_token_create, api_token_revoke

    end = live_now_ts()
    _slo(cast, good=980, total=1000, end_ts=end)
    url = reverse("api:sre-gate", args=[cast.service.pk])
    tokens = {}

    def make(role):
        user = cast.user(role)
        if user is None:
            return Client()
        tokens[role] = api_token_create(actor=user, user=user, name="ci")
        return Client(HTTP_AUTHORIZATION=f"Bearer {tokens[role][1]}")

    class JsonClient:
        def __init__(self, c):
            self.c = c

        def post(self, url, data=None):
            return self.c.post(url, json.dumps(data), content_type="application/json")

    assert_matrix(lambda role: JsonClient(make(role)), url, GATE, method="post", data={"kind": "feature"})
    c = make("member")
    r = c.post(url, json.dumps({"kind": "feature", "ref": "sha-1"}), content_type="application/json")
    assert r.status_code == 200 and r.json()["decision"] == "deny" and "200% of budget spent" in r.json()["reason"]
    assert "Content-Security-Policy" in r.headers
    assert "sessionid" not in r.cookies  # no session for a CI call
    assert GateDecision.objects.get(ref="sha-1").requested_by == cast.member
    r = c.post(url, json.dumps({"kind": "fix"}), content_type="application/json")
    assert r.json()["decision"] == "allow"
    # Empty body: a feature deploy.
    assert c.post(url).json()["kind"] == "feature"
    bad = c.post(url, json.dumps({"kind": "yolo"}), content_type="application/json")
    assert bad.status_code == 400 and "kind" in bad.json()
    assert c.post(url, "{", content_type="application/json").status_code == 400
    assert c.post(url, json.dumps(["x"]), content_type="application/json").status_code == 400
    long_ref = c.post(url, json.dumps({"ref": "x" * 201}), content_type="application/json")
    assert long_ref.status_code == 400 and "ref" in long_ref.json()
    # A warm call: the token, the caller's roles, the INSERT (verdicts and override from the cache).
    with django_assert_max_num_queries(3):
        assert c.post(url, json.dumps({}), content_type="application/json").status_code == 200
    api_token_revoke(actor=tokens["member"][0].user, token=tokens["member"][0])
    assert c.post(url, json.dumps({}), content_type="application/json").status_code == 401
    missing = Client(HTTP_AUTHORIZATION="Bearer dm_nope").post(url, "{}", content_type="application/json")
    assert missing.status_code == 401 and missing.json()["detail"]


def test_live_calls_see_a_new_or_deleted_override_at_once(cast):
    end = live_now_ts()
    _slo(cast, good=980, total=1000, end_ts=end)
    assert not services.gate_decide(service=cast.service, actor=cast.member).allowed  # caches "no override"
    o = services.gate_override_create(service=cast.service, actor=cast.lead, reason="Launch", hours=1)
    d = services.gate_decide(service=cast.service, actor=cast.member)
    assert d.allowed and d.override_id == o.pk and "Launch" in d.reason
    o.delete()
    assert not services.gate_decide(service=cast.service, actor=cast.member).allowed


def test_team_gate_counts_deployments_made_while_denied(cast):
    from apps.scoring import metrics

    _slo(cast, good=980, total=1000)
    assert (
        metrics.METRICS["gate.deploys_while_denied"].fn(
            {"gate": selectors.team_gate(team_ids=[cast.team.pk])[cast.team.pk]}
        )
        is None
    )  # the gate was never asked: no data
    services.gate_decide(service=cast.service, actor=cast.member, now=NOW)  # deny
    for n, minutes in enumerate((5, 7)):  # two deploys while denied
        Deployment.objects.create(
            organization=cast.org,
            team=cast.team,
            service=cast.service,
            source="github",
            environment="production",
            is_production=True,
            status="success",
            external_id=f"d{n}",
            finished_at=NOW + timedelta(minutes=minutes),
        )
    services.gate_decide(service=cast.service, actor=cast.member, kind="fix", now=NOW + timedelta(minutes=10))
    Deployment.objects.create(
        organization=cast.org,
        team=cast.team,
        service=cast.service,
        source="github",
        environment="production",
        is_production=True,
        status="success",
        external_id="after",
        finished_at=NOW + timedelta(minutes=12),
    )
    out = selectors.team_gate(team_ids=[cast.team.pk, cast.other_team.pk], until=NOW + timedelta(days=1))
    assert out[cast.team.pk] == {"decisions": 2, "denials": 1, "deploys_while_denied": 2, "window_days": 90}
    assert metrics.METRICS["gate.deploys_while_denied"].fn({"gate": out[cast.team.pk]}) == 2.0
    assert out[cast.other_team.pk]["decisions"] == 0
