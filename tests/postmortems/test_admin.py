"""The admin: org admins manage their own org's incidents, postmortems and catalogue only."""

import pytest
from django.urls import reverse

from apps.postmortems.models import PostmortemTemplate
from tests.postmortems.factories import IncidentFactory, make_postmortem
from tests.roles import assert_matrix

pytestmark = pytest.mark.django_db

# Only staff org admins reach the admin; everyone else is sent to its sign-in.
ADMIN_LIST = {
    "org_admin": 200,
    "leader": 302,
    "lead": 302,
    "member": 302,
    "other_member": 302,
    "outsider": 200,
    "anonymous": 302,
}


def test_changelists_are_scoped(cast, client_for):
    pm = make_postmortem(cast)
    for model in ("incident", "postmortem", "actionitem", "postmortemtemplate", "contributingfactorcategory"):
        assert_matrix(client_for, reverse(f"admin:postmortems_{model}_changelist"), ADMIN_LIST)
    body = client_for("outsider").get(reverse("admin:postmortems_postmortem_changelist")).content.decode()
    assert pm.title not in body
    assert pm.title in client_for("org_admin").get(reverse("admin:postmortems_postmortem_changelist")).content.decode()


def test_other_orgs_object_is_not_reachable(cast, client_for):
    incident = IncidentFactory(team=cast.team)
    url = reverse("admin:postmortems_incident_change", args=[incident.pk])
    assert client_for("org_admin").get(url).status_code == 200
    response = client_for("outsider").get(url)
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")


def test_default_templates_are_read_only_for_org_admins(cast, client_for):
    default = PostmortemTemplate.objects.filter(organization=None).first()
    url = reverse("admin:postmortems_postmortemtemplate_change", args=[default.pk])
    c = client_for("org_admin")
    assert c.get(url).status_code == 200  # visible as a model for their own
    response = c.post(url, {"name": "Hijacked", "min_severity": 1, "max_severity": 5})
    assert response.status_code == 403
    default.refresh_from_db()
    assert default.name != "Hijacked"
    # Their own template: the organization is required (no new defaults for everyone).
    add = c.post(
        reverse("admin:postmortems_postmortemtemplate_add"),
        {"name": "Acme major", "min_severity": 1, "max_severity": 2, "organization": ""},
    )
    assert add.status_code == 200 and not PostmortemTemplate.objects.filter(name="Acme major").exists()
    add = c.post(
        reverse("admin:postmortems_postmortemtemplate_add"),
        {"name": "Acme major", "min_severity": 1, "max_severity": 2, "organization": cast.org.pk},
    )
    assert add.status_code == 302
    assert PostmortemTemplate.objects.get(name="Acme major").organization == cast.org
