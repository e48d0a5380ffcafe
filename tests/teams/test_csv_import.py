"""CSV import/export of teams, services and members in the admin (django-import-export)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.teams.models import Service, Team, TeamMembership

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, cast):
    client.force_login(cast.org_admin)
    return client


def _import(client, model, csv_text):
    """Upload a CSV to the admin import page; return (response, confirm form data or None)."""
    upload = SimpleUploadedFile("data.csv", csv_text.encode(), content_type="text/csv")
    response = client.post(f"/admin/teams/{model}/import/", {"resource": 0, "format": 0, "import_file": upload})
    assert response.status_code == 200
    confirm = response.context.get("confirm_form")
    return response, confirm


def _text(response) -> str:
    """The page as a person reads it: tags dropped, whitespace folded."""
    import html
    import re

    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def _confirm(client, model, confirm):
    data = dict(confirm.initial.items())
    return client.post(f"/admin/teams/{model}/process_import/", data)


def test_import_services_creates_and_is_idempotent(cast, admin_client):
    csv_text = (
        "organization,slug,name,team,tier,lifecycle,repository_url,runbook_url,description\n"
        "acme,cart,Cart,checkout,1,production,https://git.example.com/cart,,Shopping cart\n"
        "acme,ranker,Ranker,search,3,experimental,,,\n"
    )
    response, confirm = _import(admin_client, "service", csv_text)
    assert confirm is not None, response.content.decode()[:3000]
    assert _confirm(admin_client, "service", confirm).status_code == 302
    cart = Service.objects.get(slug="cart")
    assert (cart.team, cart.tier, cart.organization) == (cast.team, 1, cast.org)
    # The same file again changes nothing.
    _response, confirm = _import(admin_client, "service", csv_text)
    _confirm(admin_client, "service", confirm)
    assert Service.objects.filter(organization=cast.org).count() == 4


def test_a_file_with_bad_rows_writes_nothing_and_names_each_row(cast, admin_client):
    csv_text = (
        "organization,slug,name,team,tier,lifecycle,repository_url,runbook_url,description\n"
        "acme,good-one,Good,checkout,1,production,,,\n"
        "acme,bad-team,Bad,no-such-team,2,production,,,\n"
        "initech,foreign,Foreign,billing,2,production,,,\n"
        "acme,bad-tier,Bad tier,checkout,9,production,,,\n"
    )
    response, confirm = _import(admin_client, "service", csv_text)
    page = _text(response)
    assert confirm is None  # nothing can be confirmed
    assert "No team “no-such-team” in organization “acme”" in page
    assert "No organization “initech” that you administer" in page
    assert "9" in page and "is not a valid choice" in page
    assert not Service.objects.filter(slug__in=["good-one", "bad-team", "foreign", "bad-tier"]).exists()


def test_import_teams_with_departments(cast, admin_client):
    csv_text = "organization,slug,name,department,description\nacme,growth,Growth,engineering,Experiments\n"
    _response, confirm = _import(admin_client, "team", csv_text)
    assert confirm is not None
    _confirm(admin_client, "team", confirm)
    assert Team.objects.get(slug="growth").department == cast.department


def test_import_members_creates_people_and_org_membership(cast, admin_client):
    csv_text = (
        "organization,team,email,name,role\n"
        "acme,search,New.Person@example.test,New Person,lead\n"
        "acme,checkout,member@example.test,,lead\n"
    )
    _response, confirm = _import(admin_client, "teammembership", csv_text)
    assert confirm is not None
    _confirm(admin_client, "teammembership", confirm)
    new = TeamMembership.objects.get(team=cast.other_team, user__email="new.person@example.test")
    assert new.role == "lead"
    assert cast.org.memberships.filter(user=new.user).exists()
    assert TeamMembership.objects.get(team=cast.team, user=cast.member).role == "lead"
    assert TeamMembership.objects.filter(team=cast.team, user=cast.member).count() == 1


def test_import_members_bad_role_and_email_write_nothing(cast, admin_client):
    csv_text = (
        "organization,team,email,name,role\n"
        "acme,search,ok@example.test,Ok,member\n"
        "acme,search,not-an-email,X,member\n"
        "acme,search,boss@example.test,B,owner\n"
    )
    response, confirm = _import(admin_client, "teammembership", csv_text)
    page = _text(response)
    assert confirm is None
    assert "is not an email address" in page and "Role must be one of" in page
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(email="ok@example.test").exists()


def test_export_contains_only_own_org(cast, admin_client):
    response = admin_client.post(
        "/admin/teams/service/export/",
        {
            "format": 0,
            "resource": 0,
            **{f"serviceresource_{f}": "on" for f in ("organization", "slug", "name", "team", "tier")},
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "checkout-api" in body and "search-api" in body
    assert "initech" not in body
