"""The admin shows raw events with their errors and retries them; secrets never appear."""

import pytest
from django.urls import reverse

from apps.delivery.models import Integration, RawEvent
from tests.delivery import payloads as p
from tests.delivery.conftest import SECRET

pytestmark = pytest.mark.django_db


def test_failed_event_is_listed_with_its_error_and_retried_by_the_admin_action(
    cast, make_integration, hook, client_for, django_capture_on_commit_callbacks
):
    # A push whose commit time cannot be read fails; the admin sees why and retries it.
    integration = make_integration("github")
    body = p.dumps(p.github_push(commits=[("6" * 40, "x", "not a time")]))
    hook(integration, body, p.github_headers(SECRET, body, "push"))
    event = RawEvent.objects.get()
    assert event.status == "failed"
    admin = client_for("org_admin")
    listing = admin.get(reverse("admin:delivery_rawevent_changelist") + "?status__exact=failed")
    assert listing.status_code == 200
    assert "Unreadable time" in listing.content.decode()
    detail = admin.get(reverse("admin:delivery_rawevent_change", args=[event.pk]))
    assert detail.status_code == 200 and "6" * 40 in detail.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            reverse("admin:delivery_rawevent_changelist"),
            {"action": "retry", "_selected_action": [event.pk]},
        )
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("failed", 2)
    # Another org's admin does not see it.
    assert client_for("outsider").get(reverse("admin:delivery_rawevent_change", args=[event.pk])).status_code in (
        302,
        404,
    )


def test_integration_admin_never_shows_the_secret(cast, make_integration, client_for):
    integration = make_integration("github")
    page = client_for("org_admin").get(reverse("admin:delivery_integration_change", args=[integration.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert SECRET not in html and integration.secret_encrypted not in html and integration.token not in html
    assert Integration.objects.count() == 1
