"""manage.py import_delivery: JSON and CSV, validated before writing, idempotent."""

import json
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from apps.delivery import selectors
from apps.delivery.models import Change, Deployment, IncidentDeploymentLink
from apps.postmortems.models import Incident

pytestmark = pytest.mark.django_db

RECORDS = [
    {
        "kind": "change",
        "repository": "acme/checkout-api",
        "service": "checkout-api",
        "sha": "aa1",
        "committed_at": "2026-03-01T09:00:00Z",
    },
    {"kind": "change", "repository": "acme/checkout-api", "sha": "aa2", "committed_at": "2026-03-01T11:00:00Z"},
    {
        "kind": "deployment",
        "id": "dep-1",
        "service": "checkout-api",
        "repository": "acme/checkout-api",
        "environment": "production",
        "status": "success",
        "started_at": "2026-03-01T11:55:00Z",
        "finished_at": "2026-03-01T12:00:00Z",
    },
    {
        "kind": "incident",
        "id": "inc-1",
        "service": "checkout-api",
        "title": "Checkout 5xx",
        "severity": "P2",
        "started_at": "2026-03-01T13:00:00Z",
        "resolved_at": "2026-03-01T13:40:00Z",
        "deployment_id": "dep-1",
    },
]


def run(path, *extra):
    call_command("import_delivery", str(path), "--organization", "acme", "--no-progress", *extra)


def counts():
    return Change.objects.count(), Deployment.objects.count(), Incident.objects.count()


def test_json_import_is_idempotent_and_feeds_the_numbers(cast, tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"records": RECORDS}))
    run(path)
    assert counts() == (2, 1, 1)
    run(path)
    assert counts() == (2, 1, 1)
    incident = Incident.objects.get()
    assert (incident.team, incident.severity, incident.source) == (cast.team, 2, "api")
    link = IncidentDeploymentLink.objects.get(incident=incident)
    assert (link.method, link.deployment.external_id) == ("explicit", "dep-1")
    keys = selectors.team_dora(team_ids=[cast.team.pk], window_days=7, until=date(2026, 3, 7))[cast.team.pk]
    assert keys["lead_time_hours"]["median"] == 2.0  # median of 3 h and 1 h
    assert keys["change_failure_rate"]["value"] == 1.0
    assert keys["recovery_time_hours"]["median"] == pytest.approx(40 / 60)  # the linked incident: 40 min


def test_csv_import(cast, tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(
        "kind,id,repository,service,sha,committed_at,environment,status,started_at,finished_at,title,severity,resolved_at,deployment_id\n"
        "change,,acme/checkout-api,checkout-api,3f2a9c,2026-03-01T09:00:00Z,,,,,Fix retry,,,\n"
        "deployment,dep-1,acme/checkout-api,checkout-api,3f2a9c,,production,success,2026-03-01T11:55:00Z,2026-03-01T12:00:00Z,,,,\n"
        "incident,inc-1,,checkout-api,,,,,2026-03-01T13:00:00Z,,Checkout 5xx,2,2026-03-01T13:40:00Z,dep-1\n"
    )
    run(path)
    run(path)
    assert counts() == (1, 1, 1)
    assert Deployment.objects.get().service == cast.service


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"kind": "release"}]', "kind must be change, deployment or incident"),
        ('[{"kind": "change", "repository": "r", "sha": "x", "committed_at": "yesterday"}]', "Unreadable time"),
        ('[{"kind": "deployment", "id": "d", "status": "success"}]', "needs finished_at"),
        (
            '[{"kind": "incident", "id": "i", "started_at": "2026-03-01T10:00:00Z", "severity": 9}]',
            "severity must be 1-5",
        ),
        ("{not json", "not valid JSON"),
        ('{"rows": []}', "must be a list"),
    ],
)
def test_bad_files_import_nothing(cast, tmp_path, content, message):
    path = tmp_path / "bad.json"
    # A good record first: nothing at all is written when any record is bad.
    if content.startswith("[{"):
        content = "[" + json.dumps(RECORDS[0]) + "," + content[1:]
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        run(path)
    assert counts() == (0, 0, 0)


def test_unknown_organization_and_missing_file(cast, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run(tmp_path / "missing.json")
    path = tmp_path / "x.json"
    path.write_text("[]")
    with pytest.raises(CommandError, match="No organization"):
        call_command("import_delivery", str(path), "--organization", "nope", "--no-progress")


def test_a_record_that_fails_to_apply_rolls_back_the_whole_import(cast, tmp_path):
    orphan = {"kind": "incident", "id": "inc-x", "service": "unknown-svc", "started_at": "2026-03-01T13:00:00Z"}
    path = tmp_path / "export.json"
    path.write_text(json.dumps([*RECORDS[:3], orphan]))
    with pytest.raises(CommandError, match="Cannot tell which team"):
        run(path)
    assert counts() == (0, 0, 0)
