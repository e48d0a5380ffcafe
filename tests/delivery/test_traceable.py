"""Every number traceable: the records behind each DORA figure (deployments, the commits each
shipped with their lead times, incidents and their links), filterable by team, service and
window; the figures link to them; freshness; unattributed evidence shown and mapped; an
incident's link changed by hand moves the figures and is recorded."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from apps.core import permissions
from apps.core.permissions import SYSTEM
from apps.delivery import rollups, selectors, services
from apps.delivery.models import Change, Deployment, UnattributedKey
from apps.postmortems.services import incident_upsert_from_source
from tests.delivery import payloads as p
from tests.delivery.conftest import SECRET
from tests.roles import HTML_SHARED_READ, assert_matrix

pytestmark = pytest.mark.django_db


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _deployment(cast, service, external_id, finished, status="success", sha=""):
    return Deployment.objects.create(
        organization=cast.org,
        team=service.team,
        service=service,
        source="api",
        external_id=external_id,
        environment="production",
        is_production=True,
        status=status,
        sha=sha,
        started_at=finished - timedelta(minutes=5),
        finished_at=finished,
    )


def _shipped(cast, deployment, sha, committed, estimated=False):
    return Change.objects.create(
        organization=cast.org,
        team=deployment.team,
        service=deployment.service,
        repository="acme/checkout-api",
        sha=sha,
        committed_at=committed,
        source="github",
        shipped_by=deployment,
        lead_time_seconds=int((deployment.finished_at - committed).total_seconds()),
        shipped_estimated=estimated,
    )


@pytest.fixture
def history(cast):
    """Checkout (cast.service, cast.team) ships twice on 1 March; the other team once."""
    d1 = _deployment(cast, cast.service, "D1", at("2026-03-01T12:00:00"), sha="c" * 40)
    d2 = _deployment(cast, cast.service, "D2", at("2026-03-01T18:00:00"), status="failure")
    d3 = _deployment(cast, cast.other_service, "D3", at("2026-03-02T09:00:00"))
    _shipped(cast, d1, "a" * 40, at("2026-03-01T10:00:00"))  # 2 h
    _shipped(cast, d1, "b" * 40, at("2026-03-01T11:30:00"), estimated=True)  # 30 min
    _shipped(cast, d3, "e" * 40, at("2026-03-01T09:00:00"))  # 24 h
    return d1, d2, d3


def test_the_records_pages_answer_every_role(cast, client_for, history):
    for name in ("delivery:commits", "delivery:incidents", "delivery:deployments"):
        assert_matrix(client_for, reverse(name), {**HTML_SHARED_READ, "outsider": 200})


def test_commits_page_lists_what_each_deployment_shipped_with_lead_times(cast, client_for, history):
    d1, _, _ = history
    url = reverse("delivery:commits") + f"?team={cast.team.pk}&since=2026-03-01&until=2026-03-01"
    page = client_for("member").get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "aaaaaaaaaa" in html and "bbbbbbbbbb" in html and "eeeeeeeeee" not in html  # the other team's
    assert "2.0 h" in html and "30 min" in html
    assert "estimated" in html
    # The window is the shipping deployment's day: 2 March holds only the other team's deployment.
    later = client_for("member").get(reverse("delivery:commits") + "?since=2026-03-02&until=2026-03-02")
    assert "eeeeeeeeee" in later.content.decode() and "aaaaaaaaaa" not in later.content.decode()
    one = client_for("member").get(reverse("delivery:commits") + f"?deployment={d1.pk}")
    assert one.content.decode().count("Shipped by the deployment") == 1


@pytest.mark.parametrize(
    "query, named",
    [
        ("since=yesterday", "since is a date"),
        ("until=2026-13-01", "until is a date"),
        ("since=2026-03-05&until=2026-03-01", "since is after until"),
        ("team=999999", "No team"),
        ("service=abc", "No service"),
        ("window=0", "window is a number of days"),
        ("deployment=42424242", "No deployment"),
    ],
)
def test_a_bad_filter_is_a_400_that_names_it(cast, client_for, query, named):
    page = client_for("member").get(reverse("delivery:commits") + "?" + query)
    assert page.status_code == 400
    assert named in page.content.decode()


def test_another_orgs_team_is_not_a_filter(cast, client_for):
    from tests.factories import TeamFactory

    foreign = TeamFactory(organization=cast.other_org)
    assert client_for("member").get(reverse("delivery:deployments") + f"?team={foreign.pk}").status_code == 400


def test_deployments_page_filters_by_service_window_and_change_failures(cast, client_for, history):
    base = reverse("delivery:deployments")
    client = client_for("leader")
    rows = client.get(base + f"?service={cast.service.pk}&since=2026-03-01&until=2026-03-01").context["page"]
    assert [d.external_id for d in rows.object_list] == ["D2", "D1"]
    failures = client.get(base + f"?team={cast.team.pk}&since=2026-03-01&until=2026-03-31&failures=1")
    assert [d.external_id for d in failures.context["page"].object_list] == ["D2"]
    d1_row = rows.object_list[1]
    assert d1_row.shipped_count == 2
    assert f"?deployment={d1_row.pk}" in client.get(base + f"?service={cast.service.pk}").content.decode()


def test_incidents_page_shows_the_link_that_made_each_count(cast, client_for, history):
    d1, _, _ = history
    incident, _ = incident_upsert_from_source(
        actor=SYSTEM,
        organization=cast.org,
        team=cast.team,
        source="api",
        external_id="I1",
        services=[cast.service],
        started_at=at("2026-03-01T13:00:00"),
        resolved_at=at("2026-03-01T14:30:00"),
    )
    services.incident_link_refresh(actor=permissions.SYSTEM, incident=incident)
    page = client_for("member").get(reverse("delivery:incidents") + f"?team={cast.team.pk}&since=2026-03-01")
    html = page.content.decode()
    assert incident.title in html
    assert "Automatic" in html and "2026-03-01 12:00" in html  # linked to D1
    assert "1.5 h" in html  # resolved - started
    other = client_for("member").get(reverse("delivery:incidents") + f"?team={cast.other_team.pk}")
    assert incident.title not in other.content.decode()


def test_each_figure_links_to_its_records_and_the_lead_time_reaches_the_commits(cast, client_for, history):
    rollups.refresh(team_ids=[cast.team.pk], since=date(2026, 3, 1), until=date(2026, 3, 1))
    client = client_for("member")
    team_page = client.get(reverse("delivery:team", args=[cast.team.pk]) + "?window=30")
    html = team_page.content.decode()
    since, until = selectors.window_bounds(30)
    lead = f"{reverse('delivery:commits')}?team={cast.team.pk}&amp;since={since}&amp;until={until}"
    assert f'data-figure="lead_time_hours" title="Commits shipped behind this figure" href="{lead}"' in html
    assert "failures=1" in html  # change failure rate
    assert 'data-figure="recovery_time_hours"' in html  # the change failures it is the median over
    assert f'data-figure="incidents" href="{reverse("delivery:incidents")}?team={cast.team.pk}' in html
    # The overview lists teams with evidence in its window: give the team a deployment yesterday.
    yesterday = datetime.now(UTC) - timedelta(days=1)
    _deployment(cast, cast.service, "D-recent", yesterday)
    rollups.refresh(team_ids=[cast.team.pk], since=yesterday.date())
    index = client.get(reverse("delivery:index") + "?window=90").content.decode()
    since90, _ = selectors.window_bounds(90)
    assert f"{reverse('delivery:commits')}?team={cast.team.pk}&amp;since={since90}" in index


def test_the_evidence_url_tag_accepts_the_old_and_the_dora_2024_names(cast):
    from apps.delivery.templatetags.delivery_tags import evidence_url

    old = evidence_url("time_to_restore_hours", team=cast.team, window=7, until=date(2026, 3, 7))
    assert old == f"/delivery/incidents/?team={cast.team.pk}&since=2026-03-01&until=2026-03-07"
    recovery = evidence_url("failed_deployment_recovery_time", service=cast.service, window=7, until=date(2026, 3, 7))
    assert recovery == f"/delivery/deployments/?service={cast.service.pk}&since=2026-03-01&until=2026-03-07&failures=1"
    assert "rework=1" in evidence_url("rework_rate", team=cast.team)
    assert evidence_url("lead_time", team=cast.team).startswith("/delivery/commits/")


def test_freshness_panel_shows_last_delivery_per_integration_and_last_rollup(
    cast, client_for, make_integration, hook, history
):
    github = make_integration("github")
    make_integration("pagerduty", name="Paging")
    body = p.dumps(p.github_push(commits=[("9" * 40, "x", "2026-03-01T10:00:00Z")]))
    hook(github, body, p.github_headers(SECRET, body, "push"))
    github.refresh_from_db()
    page = client_for("lead").get(reverse("delivery:team", args=[cast.team.pk])).content.decode()
    assert "How fresh this is" in page
    assert f"{github.last_delivery_at:%Y-%m-%d %H:%M} UTC" in page
    assert "Figures last recomputed: <strong>not yet</strong>" in page
    assert 'Paging</a> <span class="text-secondary">never</span>' in page
    rollups.refresh(team_ids=[cast.team.pk], since=date(2026, 3, 1), until=date(2026, 3, 1))
    page = client_for("lead").get(reverse("delivery:team", args=[cast.team.pk])).content.decode()
    assert "not yet" not in page and "Figures last recomputed: <strong>20" in page


def test_unattributed_evidence_is_shown_to_admins_and_leads_and_mapped_in_one_step(
    cast, client_for, make_integration, hook, django_capture_on_commit_callbacks
):
    github = make_integration("github", team=None)
    body = p.dumps(p.github_push(repo="acme/mystery", commits=[("7" * 40, "x", "2026-03-01T10:00:00Z")]))
    hook(github, body, p.github_headers(SECRET, body, "push"))
    row = UnattributedKey.objects.get()
    map_url = reverse("delivery:unattributed_map", args=[row.pk])
    index = client_for("org_admin").get(reverse("delivery:index")).content.decode()
    assert "Unattributed evidence" in index and "acme/mystery" in index and map_url in index
    assert "no mapping" in index
    integration_page = client_for("org_admin").get(github.get_absolute_url()).content.decode()
    assert "acme/mystery" in integration_page and map_url in integration_page
    # A lead of another team's integration sees no such key; a member sees none at all.
    assert "Unattributed evidence" not in client_for("member").get(reverse("delivery:index")).content.decode()
    assert "acme/mystery" not in client_for("lead").get(reverse("delivery:index")).content.decode()

    assert_matrix(
        client_for,
        map_url,
        {
            "org_admin": 200,
            "leader": 403,
            "lead": 404,
            "member": 404,
            "other_member": 404,
            "outsider": 404,
            "anonymous": 302,
        },
    )
    refused = client_for("leader").post(map_url, {"service": cast.service.pk})
    assert refused.status_code == 403 and Change.objects.get().service is None
    bad = client_for("org_admin").post(map_url, {"service": 987654})
    assert bad.status_code == 400 and Change.objects.get().service is None
    with django_capture_on_commit_callbacks(execute=True):
        done = client_for("org_admin").post(map_url, {"service": cast.service.pk, "next": "https://evil.example/"})
    assert done.status_code == 302 and done["Location"] == github.get_absolute_url()
    assert Change.objects.get().service == cast.service
    assert "Unattributed evidence" not in client_for("org_admin").get(reverse("delivery:index")).content.decode()


def test_a_team_lead_maps_the_keys_of_their_teams_integration(cast, client_for, make_integration, hook):
    github = make_integration("github")  # cast.team's, led by cast.lead
    body = p.dumps(p.github_push(repo="acme/mystery", commits=[("7" * 40, "x", "2026-03-01T10:00:00Z")]))
    hook(github, body, p.github_headers(SECRET, body, "push"))
    row = UnattributedKey.objects.get()
    index = client_for("lead").get(reverse("delivery:index")).content.decode()
    assert "acme/mystery" in index and reverse("delivery:unattributed_map", args=[row.pk]) in index
    page = client_for("lead").get(reverse("delivery:unattributed_map", args=[row.pk]))
    assert [s.pk for s in page.context["form"].fields["service"].queryset] == [cast.service.pk]


def test_changing_an_incidents_link_moves_the_figures_after_the_refresh_and_is_recorded(cast, client_for, history):
    d1, _, _ = history
    incident, _ = incident_upsert_from_source(
        actor=SYSTEM,
        organization=cast.org,
        team=cast.team,
        source="api",
        external_id="I1",
        services=[cast.service],
        started_at=at("2026-03-01T13:00:00"),
        resolved_at=at("2026-03-01T14:00:00"),
    )
    services.incident_link_refresh(actor=permissions.SYSTEM, incident=incident)
    rollups.refresh(team_ids=[cast.team.pk], since=date(2026, 3, 1), until=date(2026, 3, 2))
    until = date(2026, 3, 30)

    def failure_rate():
        keys = selectors.team_dora(team_ids=[cast.team.pk], window_days=30, until=until, full=True)[cast.team.pk]
        return keys["change_failure_rate"]["value"]

    # D1 linked to the incident and D2 failed: 2 of 2.
    assert failure_rate() == 1.0
    response = client_for("lead").post(
        reverse("delivery:incident_link", args=[incident.pk]), {"choice": "none", "note": "A disk failed"}
    )
    assert response.status_code == 302
    assert failure_rate() == 1.0  # not before the refresh
    rollups.refresh_dirty()
    assert failure_rate() == 0.5  # only D2 now
    page = client_for("member").get(incident.get_absolute_url()).content.decode()
    assert "Link history" in page
    assert f"{cast.lead.display_name}: checkout-api 2026-03-01 12:00 (auto) → none (explicit)" in page
    assert "A disk failed" in page
    assert "default rule or source: none (none) → checkout-api 2026-03-01 12:00 (auto)" in page


def test_api_lists_filter_to_the_records_behind_each_figure(cast, api_for, history):
    d1, d2, _ = history
    client = api_for("member")
    query = {"team": cast.team.pk, "since": "2026-03-01", "until": "2026-03-01", "shipped": True}
    commits = client.get(reverse("api:change-list"), query).json()["results"]
    assert sorted((c["sha"][0], c["lead_time_seconds"], c["shipped_estimated"]) for c in commits) == [
        ("a", 7200, False),
        ("b", 1800, True),
    ]
    assert {c["shipped_by"] for c in commits} == {d1.pk}
    failures = client.get(
        reverse("api:deployment-list"), {"team": cast.team.pk, "since": "2026-03-01", "failures": True}
    ).json()["results"]
    assert [d["id"] for d in failures] == [d2.pk]
    window = client.get(reverse("api:deployment-list"), {"since": "2026-03-02", "until": "2026-03-02"}).json()
    assert [d["external_id"] for d in window["results"]] == ["D3"]
    incident, _ = incident_upsert_from_source(
        actor=SYSTEM,
        organization=cast.org,
        team=cast.team,
        source="api",
        external_id="I1",
        services=[cast.service],
        started_at=at("2026-03-01T13:00:00"),
    )
    services.incident_link_refresh(actor=permissions.SYSTEM, incident=incident)
    links = client.get(
        reverse("api:incident-deployment-link-list"), {"service": cast.service.pk, "since": "2026-03-01"}
    ).json()["results"]
    assert [(link["incident"], link["deployment"], link["method"]) for link in links] == [(incident.pk, d1.pk, "auto")]
    other = client.get(reverse("api:incident-deployment-link-list"), {"team": cast.other_team.pk})
    assert other.json()["results"] == []


def test_api_names_a_bad_window(cast, api_for):
    response = api_for("member").get(reverse("api:change-list"), {"since": "last week"})
    assert response.status_code == 400 and "since" in response.json()


def test_records_pages_do_not_query_per_row(cast, client_for, history):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    d1, _, _ = history
    client = client_for("member")
    urls = [reverse(n) for n in ("delivery:commits", "delivery:deployments", "delivery:incidents")]

    def counts():
        out = []
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            out.append(len(ctx.captured_queries))
        return out

    def add(numbers):
        for n in numbers:
            deployment = _deployment(cast, cast.service, f"X{n}", at("2026-03-03T10:00:00") + timedelta(hours=n))
            _shipped(cast, deployment, f"{n:040x}", at("2026-03-03T09:00:00"))
            incident, _ = incident_upsert_from_source(
                actor=SYSTEM,
                organization=cast.org,
                team=cast.team,
                source="api",
                external_id=f"IX{n}",
                services=[cast.service],
                started_at=at("2026-03-03T10:30:00") + timedelta(hours=n),
            )
            services.incident_link_refresh(actor=permissions.SYSTEM, incident=incident)

    add(range(1))
    before = counts()
    add(range(1, 13))
    assert counts() == before
