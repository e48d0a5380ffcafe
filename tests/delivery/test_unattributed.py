"""Evidence that matches no service is kept as unattributed, counted, and mapping it
(or giving a service the repository URL) re-attributes its whole history; a monorepo's
path-prefix mappings attribute commits by the files they touch."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.core import permissions
from apps.delivery import rollups, selectors, services
from apps.delivery.models import (
    Change,
    DailyRollup,
    Deployment,
    IncidentDeploymentLink,
    RawEvent,
    ServiceMapping,
    UnattributedKey,
)
from apps.postmortems.models import Incident
from tests.delivery import payloads as p
from tests.delivery.conftest import SECRET
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def push(hook, integration, repo, commits, files=None):
    payload = p.github_push(repo=repo, commits=commits)
    if files is not None:
        for commit, touched in zip(payload["commits"], files, strict=True):
            commit["added"], commit["modified"], commit["removed"] = touched, [], []
    body = p.dumps(payload)
    assert hook(integration, body, p.github_headers(SECRET, body, "push")).status_code == 202


def deploy(hook, integration, repo, deployment_id, at, sha="a" * 40):
    body = p.dumps(p.github_deployment_status(repo=repo, deployment_id=deployment_id, at=at, sha=sha))
    assert hook(integration, body, p.github_headers(SECRET, body, "deployment_status")).status_code == 202


def page(hook, integration, service_name, incident_id, created_at):
    body = p.dumps(p.pagerduty_event(incident_id=incident_id, created_at=created_at, service=service_name))
    assert hook(integration, body, p.pagerduty_headers([SECRET], body)).status_code == 202


def test_a_push_for_an_unknown_repository_is_kept_and_counted(cast, make_integration, hook):
    github = make_integration("github", team=None)
    push(hook, github, "acme/shop", [("1" * 40, "a", "2026-03-01T10:00:00Z"), ("2" * 40, "b", "2026-03-01T11:00:00Z")])
    deploy(hook, github, "acme/shop", 7, "2026-03-01T12:00:00Z", sha="2" * 40)
    assert Change.objects.filter(service__isnull=True).count() == 2
    assert Deployment.objects.get().service is None
    row = UnattributedKey.objects.get()
    assert (row.key, row.reason, row.commits, row.deployments, row.incidents) == ("acme/shop", "no mapping", 2, 1, 0)
    assert row.last_seen_at >= row.first_seen_at
    assert RawEvent.objects.filter(unattributed_key="acme/shop").count() == 2


def test_an_incident_no_team_can_own_is_held_unattributed_not_failed(cast, make_integration, hook):
    pagerduty = make_integration("pagerduty", team=None)
    page(hook, pagerduty, "Shop Web", "PINC1", "2026-03-01T13:00:00Z")
    event = RawEvent.objects.get()
    assert event.status == "unattributed"
    assert event.note == "no service for Shop Web: no mapping; kept until it is mapped"
    assert not Incident.objects.exists()
    row = UnattributedKey.objects.get()
    assert (row.key, row.incidents) == ("Shop Web", 1)


def test_mapping_a_key_re_attributes_commits_deployments_incidents_links_and_rollups(
    cast, make_integration, hook, django_capture_on_commit_callbacks
):
    github = make_integration("github", team=None)
    pagerduty = make_integration("pagerduty", team=None)
    shop = ServiceFactory(team=cast.team, name="shop")
    commits = [("1" * 40, "a", "2026-03-01T10:00:00Z"), ("2" * 40, "b", "2026-03-01T11:00:00Z")]
    push(hook, github, "acme/shop-web", commits)
    deploy(hook, github, "acme/shop-web", 7, "2026-03-01T12:00:00Z", sha="2" * 40)
    page(hook, pagerduty, "Shop Web", "PINC1", "2026-03-01T13:00:00Z")
    rollups.refresh(team_ids=[cast.team.pk], since=date(2026, 3, 1), until=date(2026, 3, 1))
    assert not DailyRollup.objects.filter(team=cast.team, deployments__gt=0).exists()

    repo_key = UnattributedKey.objects.get(key="acme/shop-web")
    with django_capture_on_commit_callbacks(execute=True):
        moved = services.unattributed_map(actor=cast.org_admin, unattributed=repo_key, service=shop)
    assert moved == {"commits": 2, "deployments": 1, "events": 2}
    assert set(Change.objects.values_list("service", flat=True)) == {shop.pk}
    deployment = Deployment.objects.get()
    assert (deployment.service, deployment.team) == (shop, cast.team)
    assert ServiceMapping.objects.get(integration=github).key == "acme/shop-web"

    service_key = UnattributedKey.objects.get(key="Shop Web")
    with django_capture_on_commit_callbacks(execute=True):
        services.unattributed_map(actor=cast.org_admin, unattributed=service_key, service=shop)
    incident = Incident.objects.get()
    assert list(incident.services.all()) == [shop]
    assert RawEvent.objects.get(integration=pagerduty).status == "processed"
    # The incident started an hour after the deployment finished: the default rule links them.
    link = IncidentDeploymentLink.objects.get(incident=incident)
    assert (link.deployment, link.method) == (deployment, "auto")
    for row in UnattributedKey.objects.all():
        assert (row.commits, row.deployments, row.incidents) == (0, 0, 0)
        assert row.mapped_service == shop and row.mapped_by == cast.org_admin

    rollups.refresh_dirty()
    day = DailyRollup.objects.get(team=cast.team, service__isnull=True, day=date(2026, 3, 1))
    # One production deployment, linked to the incident: 1 of 1 failed; lead times 2 h and 1 h.
    assert (day.deployments, day.successful, day.failed) == (1, 1, 1)
    assert sorted(day.lead_times) == [3600, 7200]
    keys = selectors.team_dora(team_ids=[cast.team.pk], window_days=30, until=date(2026, 3, 30))[cast.team.pk]
    assert keys["change_failure_rate"]["value"] == 1.0


def test_mapping_twice_changes_nothing_more(cast, make_integration, hook, django_capture_on_commit_callbacks):
    github = make_integration("github", team=None)
    shop = ServiceFactory(team=cast.team, name="shop")
    push(hook, github, "acme/shop-web", [("1" * 40, "a", "2026-03-01T10:00:00Z")])
    row = UnattributedKey.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.unattributed_map(actor=cast.org_admin, unattributed=row, service=shop)
    with django_capture_on_commit_callbacks(execute=True):
        again = services.unattributed_map(actor=cast.org_admin, unattributed=row, service=shop)
    assert again["commits"] == 0 and again["deployments"] == 0
    assert ServiceMapping.objects.count() == 1


def test_only_who_may_change_the_integration_maps_its_keys(cast, make_integration, hook):
    github = make_integration("github", team=None)
    push(hook, github, "acme/shop-web", [("1" * 40, "a", "2026-03-01T10:00:00Z")])
    row = UnattributedKey.objects.get()
    for role in ("lead", "member", "leader"):
        with pytest.raises(PermissionDenied):
            services.unattributed_map(actor=getattr(cast, role), unattributed=row, service=cast.service)
    assert Change.objects.get().service is None


def test_a_team_integration_maps_only_to_its_team(cast, make_integration, hook):
    github = make_integration("github")  # feeds cast.team
    push(hook, github, "acme/shop-web", [("1" * 40, "a", "2026-03-01T10:00:00Z")])
    row = UnattributedKey.objects.get()
    with pytest.raises(ValidationError, match="is not a service of"):
        services.unattributed_map(actor=cast.lead, unattributed=row, service=cast.other_service)


def test_giving_a_service_the_repository_url_re_attributes_its_history(
    cast, make_integration, hook, django_capture_on_commit_callbacks
):
    github = make_integration("github", team=None)
    push(hook, github, "acme/basket", [("1" * 40, "a", "2026-03-01T10:00:00Z")])
    deploy(hook, github, "acme/basket", 9, "2026-03-01T12:00:00Z", sha="1" * 40)
    with django_capture_on_commit_callbacks(execute=True):
        basket = ServiceFactory(team=cast.other_team, name="cart", repository_url="https://github.com/acme/basket")
    assert Change.objects.get().service == basket
    assert Deployment.objects.get().service == basket
    row = UnattributedKey.objects.get()
    assert (row.commits, row.deployments, row.mapped_service) == (0, 0, basket)


def test_a_repository_url_two_services_share_re_attributes_nothing(
    cast, make_integration, hook, django_capture_on_commit_callbacks
):
    github = make_integration("github", team=None)
    push(hook, github, "acme/basket", [("1" * 40, "a", "2026-03-01T10:00:00Z")])
    ServiceFactory(team=cast.team, name="basket-a", repository_url="https://github.com/acme/basket")
    with django_capture_on_commit_callbacks(execute=True):
        ServiceFactory(team=cast.other_team, name="basket-b", repository_url="https://gitlab.example.com/acme/basket")
    assert Change.objects.get().service is None
    assert UnattributedKey.objects.get().commits == 1


def test_monorepo_commits_go_to_the_service_whose_prefix_holds_most_of_their_files(cast, make_integration, hook):
    cart = ServiceFactory(team=cast.team, name="cart")
    web = ServiceFactory(team=cast.other_team, name="web")
    github = make_integration(
        "github", team=None, mappings={"acme/shop:services/cart/": cart, "acme/shop:services/web/": web}
    )
    push(
        hook,
        github,
        "acme/shop",
        [(c * 40, c, f"2026-03-01T1{i}:00:00Z") for i, c in enumerate("1234")],
        files=[
            ["services/cart/api.py"],
            ["services/web/index.html", "services/web/app.js"],
            ["services/cart/a.py", "services/cart/b.py", "services/web/c.js"],  # 2 cart, 1 web
            ["README.md"],  # no prefix: matched by the repository, which names no service
        ],
    )
    by_sha = {c.sha[0]: c.service for c in Change.objects.all()}
    assert by_sha == {"1": cart, "2": web, "3": cart, "4": None}
    assert Change.objects.get(sha="3" * 40).paths == ["services/cart/a.py", "services/cart/b.py", "services/web/c.js"]
    assert UnattributedKey.objects.get().key == "acme/shop"


def test_a_prefix_mapping_added_later_re_attributes_the_monorepo_history(cast, make_integration, hook):
    cart = ServiceFactory(team=cast.team, name="cart")
    github = make_integration("github", team=None)
    push(
        hook,
        github,
        "acme/shop",
        [("1" * 40, "a", "2026-03-01T10:00:00Z"), ("2" * 40, "b", "2026-03-01T11:00:00Z")],
        files=[["services/cart/api.py"], ["docs/x.md"]],
    )
    services.integration_mappings_set(
        actor=permissions.SYSTEM, integration=github, mappings={"acme/shop:services/cart/": cart}
    )
    assert Change.objects.get(sha="1" * 40).service == cart
    assert Change.objects.get(sha="2" * 40).service is None
    assert UnattributedKey.objects.get().commits == 1


def test_a_retried_event_counts_its_records_once(cast, make_integration, hook):
    github = make_integration("github", team=None)
    push(hook, github, "acme/shop", [("1" * 40, "a", "2026-03-01T10:00:00Z")])
    event = RawEvent.objects.get()
    services.raw_events_retry(actor=permissions.SYSTEM, raw_event_ids=[event.pk])
    services.raw_event_process(actor=permissions.SYSTEM, raw_event_id=event.pk)
    row = UnattributedKey.objects.get()
    assert (row.commits, UnattributedKey.objects.count()) == (1, 1)


def test_a_gitlab_push_attributes_monorepo_commits_by_their_files(cast, make_integration, hook):
    cart = ServiceFactory(team=cast.team, name="cart")
    web = ServiceFactory(team=cast.other_team, name="web")
    gitlab = make_integration(
        "gitlab", team=None, mappings={"acme/shop:services/cart/": cart, "acme/shop:services/web/": web}
    )
    payload = p.gitlab_push(
        path="acme/shop", commits=[("1" * 40, "a", "2026-03-01T10:00:00Z"), ("2" * 40, "b", "2026-03-01T11:00:00Z")]
    )
    payload["commits"][0].update(added=["services/web/new.js"], modified=[], removed=[])
    payload["commits"][1].update(added=[], modified=["services/cart/x.py"], removed=["services/cart/old.py"])
    body = p.dumps(payload)
    assert hook(gitlab, body, p.gitlab_headers(SECRET, "Push Hook")).status_code == 202
    assert {c.sha[0]: c.service for c in Change.objects.all()} == {"1": web, "2": cart}
    assert not UnattributedKey.objects.exists()


def test_the_longest_prefix_holding_a_file_counts_it(cast, make_integration, hook):
    services_root = ServiceFactory(team=cast.team, name="platform")
    cart = ServiceFactory(team=cast.team, name="cart")
    github = make_integration(
        "github", mappings={"acme/shop:services/": services_root, "acme/shop:services/cart/": cart}
    )
    push(hook, github, "acme/shop", [("1" * 40, "a", "2026-03-01T10:00:00Z")], files=[["services/cart/api.py"]])
    assert Change.objects.get().service == cart
