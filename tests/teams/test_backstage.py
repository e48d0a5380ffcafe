from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from apps.teams import backstage
from apps.teams.models import Department, Service, Team

pytestmark = pytest.mark.django_db
CATALOG = Path(__file__).parent / "data" / "catalog-info.yaml"


def test_groups_and_components_become_departments_teams_and_services(cast):
    result = backstage.import_catalog(
        actor=cast.org_admin, organization=cast.org, texts=[("catalog-info.yaml", CATALOG.read_text())]
    )
    assert result.teams == ["Payments Team"] and result.departments == ["Commerce"]
    assert result.skipped == ["API payments-api"]
    team = Team.objects.get(organization=cast.org, slug="payments")
    assert team.department == Department.objects.get(organization=cast.org, slug="commerce")
    gateway = Service.objects.get(organization=cast.org, slug="payments-gateway")
    assert (gateway.name, gateway.team, gateway.tier, gateway.lifecycle) == ("Payments Gateway", team, 1, "production")
    assert gateway.repository_url == "https://github.com/acme/payments-gateway"
    assert gateway.runbook_url == "https://runbooks.example.com/payments-gateway"
    ledger = Service.objects.get(organization=cast.org, slug="ledger")
    assert (ledger.tier, ledger.lifecycle, ledger.repository_url) == (
        2,
        "experimental",
        "https://git.example.com/acme/ledger",
    )


def test_import_is_idempotent(cast):
    for _ in range(2):
        backstage.import_catalog(actor=cast.org_admin, organization=cast.org, texts=[("c.yaml", CATALOG.read_text())])
    assert Team.objects.filter(organization=cast.org).count() == 3
    assert Service.objects.filter(organization=cast.org).count() == 4


def test_owner_may_be_an_existing_team(cast):
    doc = "kind: Component\nmetadata: {name: cart}\nspec: {owner: 'group:default/checkout', lifecycle: production}\n"
    backstage.import_catalog(actor=cast.org_admin, organization=cast.org, texts=[("c.yaml", doc)])
    assert Service.objects.get(slug="cart").team == cast.team


def test_any_bad_entity_refuses_the_whole_upload(cast):
    docs = CATALOG.read_text() + (
        "\n---\nkind: Component\nmetadata: {name: orphan}\nspec: {owner: group:default/nobody}\n"
        "---\nkind: Component\nmetadata: {name: weird}\nspec: {owner: payments, lifecycle: beta}\n"
        "---\nkind: Group\nmetadata: {}\nspec: {type: team}\n"
    )
    with pytest.raises(backstage.CatalogError) as exc:
        backstage.import_catalog(actor=cast.org_admin, organization=cast.org, texts=[("c.yaml", docs)])
    errors = "\n".join(exc.value.errors)
    assert "orphan" in errors and "spec.owner “group:default/nobody”" in errors
    assert "weird" in errors and "spec.lifecycle" in errors
    assert "metadata.name is required" in errors
    assert not Team.objects.filter(slug="payments").exists()
    assert not Service.objects.filter(slug="payments-gateway").exists()


def test_invalid_yaml_is_reported(cast):
    with pytest.raises(backstage.CatalogError) as exc:
        backstage.import_catalog(
            actor=cast.org_admin, organization=cast.org, texts=[("broken.yaml", "kind: [unclosed")]
        )
    assert "broken.yaml: invalid YAML" in exc.value.errors[0]


def test_admin_upload(cast, client):
    client.force_login(cast.org_admin)
    upload = SimpleUploadedFile("catalog-info.yaml", CATALOG.read_bytes())
    response = client.post("/admin/teams/team/import-backstage/", {"organization": cast.org.pk, "files": upload})
    assert response.status_code == 302
    assert Service.objects.filter(organization=cast.org, slug="ledger").exists()
    # Another org is not a choice for this admin.
    upload = SimpleUploadedFile("catalog-info.yaml", CATALOG.read_bytes())
    response = client.post("/admin/teams/team/import-backstage/", {"organization": cast.other_org.pk, "files": upload})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Service.objects.filter(organization=cast.other_org, slug="ledger").exists()


def test_management_command(cast, capsys):
    call_command("import_backstage", "acme", str(CATALOG))
    assert "Imported 1 departments, 1 teams, 2 services into Acme." in capsys.readouterr().out
    with pytest.raises(CommandError, match="No organization"):
        call_command("import_backstage", "nope", str(CATALOG))
