"""Every admin changelist, add form and autocomplete, as an org admin: another tenant's
names never show up (filters, choice lists, autocompletes), on every registered ModelAdmin."""

import copy
import datetime as dt

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.assessments import services as assessment_services
from apps.core import permissions
from apps.core.permissions import SYSTEM
from apps.delivery import services as delivery_services
from apps.postmortems import services as pm_services
from apps.scoring import services as scoring_services
from apps.teams import services as team_services
from apps.teams.models import Team
from tests.factories import ServiceFactory
from tests.postmortems.factories import IncidentFactory, make_postmortem
from tests.slos.factories import make_sli, make_slo

pytestmark = pytest.mark.django_db

# What the other tenant (Initech) is called; none of it may reach Acme's org admin.
FOREIGN = ["Initech", "Billing", "outsider@example.test", "Outsider", "initech-ledger", "Initech outage", "initech-tag"]


@pytest.fixture
def foreign(cast):
    """Initech rows in every app, and a person in both organizations (the leader)."""
    billing = Team.objects.get(organization=cast.other_org, slug="billing")
    team_services.department_upsert(actor=SYSTEM, organization=cast.other_org, name="Initech Finance", slug="finance")
    service = ServiceFactory(team=billing, name="initech-ledger", tier=1)
    make_slo(make_sli(service, name="Initech ledger availability"), name="Initech ledger 99.9")
    incident = IncidentFactory(team=billing, title="Initech outage")
    incident.services.add(service)
    pm = make_postmortem(cast, actor=cast.outsider, incident=incident, reviewers=[cast.outsider], tags=["initech-tag"])
    pm_services.action_item_create(actor=cast.outsider, postmortem=pm, title="Initech action", team=billing)
    delivery_services.integration_create(
        actor=permissions.SYSTEM,
        organization=cast.other_org,
        team=billing,
        name="Initech GitHub",
        kind="github",
        secret="initech-secret-0123456789",
    )
    assessment_services.framework_load_builtin(actor=permissions.SYSTEM)
    from apps.assessments.models import Framework

    today = timezone.localdate()
    assessment_services.campaign_open(
        organization=cast.other_org,
        frameworks=[Framework.objects.get(organization=None, key="calms")],
        name="Initech CALMS",
        opens_on=today - dt.timedelta(days=1),
        closes_on=today + dt.timedelta(days=10),
        teams=[billing],
        actor=permissions.SYSTEM,
    )
    scoring_services.score_teams(
        actor=permissions.SYSTEM, teams=Team.objects.select_related("organization"), as_of=today
    )
    # The leader also belongs to Initech: their memberships must not name it to Acme's admin.
    team_services.org_membership_set(actor=SYSTEM, organization=cast.other_org, user=cast.leader, role="member")
    return billing


def _leaks(html: str) -> list[str]:
    return [name for name in FOREIGN if name in html]


def test_every_admin_page_offers_only_the_admins_organizations(client, cast, foreign):
    client.force_login(cast.org_admin)
    checked, refused, leaks = [], [], []
    autocompletes = 0
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        try:
            changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        except NoReverseMatch:
            continue
        response = client.get(changelist)
        if response.status_code == 403:
            refused.append(opts.label)  # not an org admin's page at all (beat schedules, groups, tokens)
            continue
        assert response.status_code == 200, (opts.label, response.status_code)
        leaks += [f"{opts.label} changelist: {name}" for name in _leaks(response.content.decode())]
        checked.append(opts.label)
        add = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        if add.status_code == 200:
            leaks += [f"{opts.label} add form: {name}" for name in _leaks(add.content.decode())]
        # Every autocomplete of the page and of its inlines.
        request = copy.copy(response.wsgi_request)
        admins = [model_admin, *model_admin.get_inline_instances(request)]
        for source in admins:
            for field_name in source.get_autocomplete_fields(request):
                found = client.get(
                    reverse("admin:autocomplete"),
                    {
                        "term": "",
                        "app_label": source.model._meta.app_label,
                        "model_name": source.model._meta.model_name,
                        "field_name": field_name,
                    },
                )
                assert found.status_code == 200, (source.model._meta.label, field_name, found.status_code)
                autocompletes += 1
                texts = " ".join(r["text"] for r in found.json()["results"])
                leaks += [f"{opts.label}.{field_name} autocomplete: {name}" for name in _leaks(texts)]
    assert leaks == [], "\n".join(leaks)
    # Nothing passed by being skipped: the tenant's pages were all looked at.
    assert len(checked) >= 30, checked
    assert autocompletes >= 15
    assert {"teams.Organization", "accounts.User", "postmortems.Incident", "slos.SLO", "delivery.Integration"} <= set(
        checked
    )
    # Refused: Django's groups, allauth's email and two-factor rows, Celery beat's schedules, API tokens.
    assert {label.split(".")[0] for label in refused} <= {"auth", "account", "mfa", "django_celery_beat", "accounts"}
    assert "accounts.User" not in refused


def test_superusers_still_see_every_organization_in_filters(client, cast, foreign):
    from tests.factories import UserFactory

    make_slo(make_sli(cast.service))
    client.force_login(UserFactory(email="root@example.test", is_superuser=True, is_staff=True))
    html = client.get(reverse("admin:slos_slo_changelist")).content.decode()
    assert f"organization__id__exact={cast.other_org.pk}" in html and f"organization__id__exact={cast.org.pk}" in html


def test_filter_lists_only_used_rows_of_the_admins_orgs(client, cast, foreign):
    # The admin runs two organizations, so the filter has something to choose from.
    labs = team_services.organization_upsert(actor=SYSTEM, name="Acme Labs", slug="acme-labs")
    team_services.org_membership_set(actor=SYSTEM, organization=labs, user=cast.org_admin, role="admin")
    client.force_login(cast.org_admin)
    html = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    # "By organization" on people: the admin's two, not the leader's other organization.
    assert f"org_memberships__organization__id__exact={cast.org.pk}" in html
    assert f"org_memberships__organization__id__exact={labs.pk}" in html
    assert f"org_memberships__organization__id__exact={cast.other_org.pk}" not in html and "Initech" not in html
