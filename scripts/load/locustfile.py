"""Load mix for scripts/load/run.sh: page views, API reads and signed webhook deliveries.

Three kinds of users, weighted like a working day:

- PageViewer (weight 5): signs in through allauth's form as the demo leader and
  browses the overview, teams, assessments, SLO catalog, postmortem library,
  delivery and scoring pages;
- ApiReader (weight 3): reads the REST API with a personal API token;
- WebhookSender (weight 2): POSTs GitHub `deployment_status` deliveries signed
  with the integration's secret, each with a new delivery id (answered 202);
- BaselineProbe (one user): GET /healthz once a second, the same-run baseline.

Environment (set by run.sh): LOAD_EMAIL, LOAD_PASSWORD, LOAD_API_TOKEN,
LOAD_HOOK_PATH, LOAD_HOOK_SECRET.
"""

import hashlib
import hmac
import itertools
import json
import os
import re
import uuid
from datetime import UTC, datetime

from locust import HttpUser, between, task

PAGES = ["/", "/teams/", "/assessments/", "/slos/", "/postmortems/", "/delivery/", "/scoring/"]
API = ["/api/v1/teams/", "/api/v1/services/", "/api/v1/slos/", "/api/v1/postmortems/", "/api/v1/deployments/"]
_counter = itertools.count(1)


class PageViewer(HttpUser):
    weight = 5
    wait_time = between(0.5, 1.5)

    def on_start(self):
        page = self.client.get("/accounts/login/", name="/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        with self.client.post(
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": token,
                "login": os.environ["LOAD_EMAIL"],
                "password": os.environ["LOAD_PASSWORD"],
            },
            headers={"Referer": self.host + "/accounts/login/"},
            name="/accounts/login/ [POST]",
            catch_response=True,
        ) as response:
            if "/accounts/login/" in response.url:
                alert = re.search(r'class="[^"]*(?:alert|invalid-feedback)[^"]*"[^>]*>(.*?)</div>', response.text, re.S)
                reason = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", alert.group(1))).strip() if alert else ""
                response.failure(f"sign-in failed ({response.status_code}): {reason[:160]}")

    @task
    def browse(self):
        for path in PAGES:
            with self.client.get(path, name=path, catch_response=True) as response:
                if "/accounts/login/" in response.url:
                    response.failure("signed out")


class ApiReader(HttpUser):
    weight = 3
    wait_time = between(0.2, 0.8)

    def on_start(self):
        self.client.headers["Authorization"] = f"Bearer {os.environ['LOAD_API_TOKEN']}"

    @task
    def read(self):
        for path in API:
            self.client.get(path, name=path)


class WebhookSender(HttpUser):
    weight = 2
    wait_time = between(0.2, 0.6)

    @task
    def deliver(self):
        n = next(_counter)
        at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = json.dumps(
            {
                "action": "created",
                "deployment_status": {"id": n, "state": "success", "environment": "production", "created_at": at},
                "deployment": {
                    "id": 9_000_000 + n + os.getpid() * 100_000,
                    "sha": hashlib.sha1(str(n).encode(), usedforsecurity=False).hexdigest(),  # a fake commit id
                    "ref": "main",
                    "environment": "production",
                    "created_at": at,
                },
                "repository": {"name": "checkout-api", "full_name": "northwind/checkout-api", "default_branch": "main"},
                "sender": {"login": "load-test"},
            }
        ).encode()
        signature = "sha256=" + hmac.new(os.environ["LOAD_HOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()
        self.client.post(
            os.environ["LOAD_HOOK_PATH"],
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": "deployment_status",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": signature,
            },
            name="/delivery/hooks/<token>/",
        )


class BaselineProbe(HttpUser):
    """GET /healthz once a second under the same load: the cheapest answer of the same server at
    that moment, the baseline the run's summary compares every route with."""

    weight = 1
    fixed_count = 1
    wait_time = between(0.9, 1.1)

    @task
    def probe(self):
        self.client.get("/healthz", name="baseline /healthz")
