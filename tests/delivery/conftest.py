import pytest
from django.test import Client
from django.urls import reverse

from apps.core import permissions
from apps.delivery import services

SECRET = "s3cret-for-tests-0123456789"


@pytest.fixture
def make_integration(cast):
    def make(kind, *, team=..., secret=SECRET, name=None, mappings=None):
        integration, _ = services.integration_create(
            actor=permissions.SYSTEM,
            organization=cast.org,
            team=cast.team if team is ... else team,
            name=name or f"{kind} integration",
            kind=kind,
            secret=secret,
        )
        if mappings:
            services.integration_mappings_set(actor=permissions.SYSTEM, integration=integration, mappings=mappings)
        return integration

    return make


@pytest.fixture
def hook(django_capture_on_commit_callbacks):
    """hook(integration, body_bytes, headers) -> response of a POST to its intake URL.

    The on-commit task runs (eagerly) as it would after the real commit."""
    client = Client()

    def post(integration, body: bytes, headers: dict, content_type="application/json"):
        url = reverse("delivery:intake", args=[integration.token])
        with django_capture_on_commit_callbacks(execute=True):
            return client.generic("POST", url, body, content_type=content_type, **headers)

    return post
