"""The pages and panels: leadership list, initiative page (burn-up, who is behind), team and home panels, form."""

import html

import pytest
from django.urls import reverse

from apps.core import permissions
from apps.initiatives import services
from apps.initiatives.models import Initiative

from .conftest import D1, D2, D3

pytestmark = pytest.mark.django_db


def record(initiative):
    for day in (D1, D2, D3):
        services.progress_record(actor=permissions.SYSTEM, initiative=initiative, day=day)


def test_list_shows_progress_due_date_and_behind(client_for, initiative):
    record(initiative)
    body = client_for("leader").get(reverse("initiatives:index")).content.decode()
    assert "Every team measured" in body
    assert "75%" in body and "Behind" in body  # past the target date today: the line is at 100%
    assert "11 Nov 2026" in body
    assert "New initiative" in body
    assert "New initiative" not in client_for("member").get(reverse("initiatives:index")).content.decode()


def test_empty_list(client_for, cast):
    body = client_for("org_admin").get(reverse("initiatives:index")).content.decode()
    assert "No initiatives yet" in body and "Start an initiative" in body


def test_detail_has_the_burn_up_and_who_fails_what(client_for, initiative):
    record(initiative)
    body = client_for("leader").get(reverse("initiatives:detail", args=[initiative.pk])).content.decode()
    assert "data-chart=" in body
    chart = html.unescape(body.split('data-chart="', 1)[1].split('"', 1)[0])
    assert '"data":[25.0,50.0,75.0' in chart
    # Today every team has its latest snapshot: Ledger alone fails, on both checks, with the evidence linked.
    assert "Ledger" in body and "Services have SLOs" in body and "evidence" in body
    assert "3 of 4" in body
    assert "Graduate" not in body  # leaders manage, only org admins graduate
    assert (
        "Graduate" in client_for("org_admin").get(reverse("initiatives:detail", args=[initiative.pk])).content.decode()
    )


def test_detail_without_points(client_for, initiative):
    body = client_for("member").get(reverse("initiatives:detail", args=[initiative.pk])).content.decode()
    assert "No progress recorded yet" in body and "data-chart=" not in body
    assert "Edit" not in body


def test_team_page_and_home_say_what_to_do_by_when(client_for, initiative, cast):
    from apps.teams.models import Team

    ledger = Team.objects.get(organization=cast.org, slug="ledger")
    team_page = client_for("member").get(ledger.get_absolute_url()).content.decode()
    assert "what we must do and by when" in team_page and "Services have SLOs" in team_page
    assert "by 11 Nov 2026" in team_page
    home = client_for("lead").get(reverse("home")).content.decode()
    # The lead's team (Checkout) passes everything.
    assert "Every team measured" in home and "Done: everything of yours in scope passes" in home
    leader_home = client_for("leader").get(reverse("home")).content.decode()
    assert "Active initiatives" in leader_home and "Every team measured" in leader_home


def test_create_and_edit_through_the_form(client_for, cast):
    data = {
        "name": "Tier-1 SLOs",
        "reason": "Tier-1 outages hurt most.",
        "owner": cast.leader.pk,
        "start_date": "2026-12-01",
        "target_date": "2027-02-01",
        "status": "active",
        "teams": [cast.team.pk],
        "checks-TOTAL_FORMS": "2",
        "checks-INITIAL_FORMS": "0",
        "checks-0-kind": "metric",
        "checks-0-name": "Tier-1 covered",
        "checks-0-metric": "slo.coverage_tier1",
        "checks-0-operator": "gte",
        "checks-0-value": "1",
        "checks-0-when_missing": "pass",
        "checks-1-kind": "metric",
        "checks-1-operator": "gte",
        "checks-1-when_missing": "fail",
    }
    r = client_for("leader").post(reverse("initiatives:create"), data)
    assert r.status_code == 302, r.content.decode()[:3000]
    created = Initiative.objects.get(name="Tier-1 SLOs")
    assert list(created.checks.values_list("metric", "value", "when_missing")) == [("slo.coverage_tier1", 1.0, "pass")]
    bad = {**data, "checks-0-value": "5"}
    r = client_for("leader").post(reverse("initiatives:edit", args=[created.pk]), bad)
    assert r.status_code == 200 and "share" in r.content.decode()
    assert created.checks.get().value == 1.0


def test_graduated_and_ownerless_pages_render(client_for, initiative, cast):
    services.initiative_update(actor=permissions.SYSTEM, initiative=initiative, owner=None)
    client_for("org_admin").post(reverse("initiatives:graduate", args=[initiative.pk]), {"level": 4})
    body = client_for("member").get(reverse("initiatives:detail", args=[initiative.pk])).content.decode()
    assert "Graduated to level 4" in body and "by Org Admin" in body and "Owner: no one" in body
    assert "Completed" in client_for("member").get(reverse("initiatives:index")).content.decode()


def test_csv_exports(client_for, initiative):
    import csv
    import io

    record(initiative)
    r = client_for("member").get(reverse("initiatives:export_csv", args=[initiative.pk]))
    assert r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode())))
    assert rows[0] == ["team", "item", "item_kind", "check", "status", "actual", "target", "evidence"]
    assert len(rows) == 1 + 4 * 2
    ledger = [row for row in rows if row[0] == "Ledger"]
    assert [row[4] for row in ledger] == ["failed", "failed"]
    assert ledger[0][5:7] == ["no data", "≥ 50%"] and ledger[0][7].startswith("http://testserver/")
    points = client_for("member").get(reverse("initiatives:export_csv", args=[initiative.pk]) + "?what=progress")
    assert list(csv.reader(io.StringIO(points.content.decode())))[1:] == [
        ["2026-11-01", "1", "4", "0.25", "0.25"],
        ["2026-11-02", "2", "4", "0.5", "0.325"],
        ["2026-11-03", "3", "4", "0.75", "0.4"],
    ]
