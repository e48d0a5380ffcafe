"""A signed-in person who belongs to no organization (not invited yet, or who left) gets
a page that says so, never a server error: `request.organization` is lazy, and a lazy
None is not None (the API fuzzer found a 500 this way)."""

import pytest

from apps.accounts.models import User
from apps.accounts.services import api_token_create

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/teams/",
    "/assessments/",
    "/slos/",
    "/postmortems/",
    "/postmortems/incidents/",
    "/delivery/",
    "/scores/",
]


@pytest.fixture
def nobody(cast):
    return User.objects.create_user(email="nobody@example.test", password="a-long-password-2026")


@pytest.mark.parametrize("path", PAGES)
def test_pages_answer_without_an_organization(client, nobody, path):
    client.force_login(nobody)
    response = client.get(path, follow=True)
    assert response.status_code in (200, 404), (path, response.status_code)


@pytest.mark.parametrize("path", ["/api/v1/postmortem-search/", "/api/v1/openslo/export/"])
def test_the_api_asks_for_an_organization_instead_of_failing(client, nobody, path):
    _, raw = api_token_create(actor=nobody, user=nobody, name="fuzz")
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code in (400, 404), (path, response.status_code, response.content[:300])
    assert "organization" in response.content.decode().lower()


@pytest.mark.parametrize(("path", "status"), [("/api/v1/postmortem-search/", 400), ("/api/v1/openslo/export/", 404)])
def test_an_organization_the_user_cannot_see_is_refused(api_for, cast, path, status):
    client = api_for("member")
    for unseen in (cast.other_org.pk, "abc"):
        assert client.get(path, {"organization": unseen}).status_code == status
    assert client.get(path, {"organization": cast.org.pk}).status_code == 200
