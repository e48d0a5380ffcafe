"""One number everywhere: every figure the demo organization shows reads the same on the
scores dashboard, the print report, each scorecard, each team page, the comparison, the CSV
export and the API (the CSV and API carry the stored precision; pages round it one way)."""

import csv
import io
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from apps.core import figures
from apps.scoring.inputs import DORA_WINDOW_DAYS
from apps.scoring.models import PILLAR_KEYS, Snapshot
from apps.scoring.pillars import reliability_parts
from apps.teams.models import Organization, OrgMembership, Team

pytestmark = pytest.mark.django_db

# The DORA figures as the scorecard and comparison name them (slugs of apps.scoring.selectors.DORA_LABELS),
# with the delivery pages' name for the same figure.
DORA_LABELS = {
    "deployment-frequency": "deployment_frequency",
    "lead-time": "lead_time_hours",
    "failed-deployment-recovery-time": "recovery_time_hours",
    "change-failure-rate": "change_failure_rate",
    "deployment-rework-rate": "deployment_rework_rate",
}

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Figures(HTMLParser):
    """{(team id or None, figure name): [direct text of each element with data-figure]}."""

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str | None, str | None]] = []
        self.found: dict[tuple[str | None, str], list[str]] = {}

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        attrs = dict(attrs)
        team = attrs.get("data-team") or (self.stack[-1][0] if self.stack else None)
        self.stack.append((team, attrs.get("data-figure")))
        if attrs.get("data-figure"):
            self.found.setdefault((team, attrs["data-figure"]), []).append("")

    def handle_endtag(self, tag):
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1][1]:
            key = (self.stack[-1][0], self.stack[-1][1])
            self.found[key][-1] += data


def figures_of(response) -> dict:
    assert response.status_code == 200, response.status_code
    parser = Figures()
    parser.feed(response.content.decode())
    return {k: [" ".join(v.split()) for v in vals] for k, vals in parser.found.items()}


def shown(value) -> str:
    return figures.score(value)


@pytest.fixture
def demo(db):
    call_command("seed_demo", "--quiet-logins")
    org = Organization.objects.get(slug="northwind")
    leader = OrgMembership.objects.filter(organization=org, role="leader").select_related("user").first().user
    client = Client()
    client.force_login(leader)
    session = client.session
    from apps.teams.middleware import SESSION_KEY

    session[SESSION_KEY] = org.pk
    session.save()
    api = APIClient()
    api.force_authenticate(leader)
    latest = {s.team_id: s for s in Snapshot.objects.filter(organization=org).order_by("team_id", "date")}
    return org, client, api, latest


def test_every_shared_figure_agrees_across_pages_csv_and_api(demo):
    org, client, api, latest = demo
    teams = list(Team.objects.filter(organization=org).order_by("pk"))
    assert len(latest) == len(teams) == 12
    expected = {
        t.pk: {"overall": shown(latest[t.pk].overall), **{k: shown(getattr(latest[t.pk], k)) for k in PILLAR_KEYS}}
        for t in teams
    }
    # Hand-checked anchors on the rounding: a stored .5 reads as the next whole number everywhere.
    assert figures.score(88.5) == "89" and figures.score(82.4) == "82" and figures.score(None) == "no data"

    # 1. Dashboard and print report: the ranking rows.
    for name in ("scoring:index", "scoring:report"):
        found = figures_of(client.get(reverse(name)))
        for t in teams:
            if not latest[t.pk].is_measured:
                continue
            for key, value in expected[t.pk].items():
                assert found[(str(t.pk), key)] == [value], (name, t.name, key)

    # 2. Each scorecard and each team page (the maturity panel).
    for t in teams:
        card = figures_of(client.get(reverse("scoring:team", args=[t.pk])))
        panel = figures_of(client.get(reverse("teams:detail", args=[t.pk])))
        want = expected[t.pk]["overall"] if latest[t.pk].is_measured else "not yet measured"
        assert card[(None, "overall")] == [want], t.name
        assert panel[(None, "overall")] == [want], t.name
        for key, label in (
            ("self_assessment", "self-assessment"),
            ("delivery", "delivery"),
            ("reliability", "reliability"),
            ("learning", "learning"),
        ):
            assert card[(None, key)] == [expected[t.pk][key]], (t.name, key)
            assert panel[(None, label)] == [expected[t.pk][key]], (t.name, key)
        # The learning figure of the scorecard and of the postmortems panel: one window, one wording.
        learning = [v for (team, k), v in card.items() if k.startswith("sev1-2-with-a-published-postmortem")]
        assert learning == [panel[(None, "sev12-published")]], t.name
        assert any(k.endswith("last-90-days") for (_team, k) in card if k.startswith("sev1-2"))
        # The DORA keys as the scorecard writes them (value · tier), kept to compare with the comparison.
        for label in DORA_LABELS:
            [shown_value] = [v for (_team, k), v in card.items() if k.startswith(label + "-")]
            expected[t.pk][f"dora-{label}"] = shown_value[0].split(" · ")[0]
        # The delivery team page shows the same DORA figures for the same 90 days (its first,
        # the team's, of each: the per-service rows follow).
        delivery = figures_of(client.get(reverse("delivery:team", args=[t.pk]) + f"?window={DORA_WINDOW_DAYS}"))
        for label, figure in DORA_LABELS.items():
            assert delivery[(None, figure)][0] == expected[t.pk][f"dora-{label}"], (t.name, label)
        # Tier-weighted SLO coverage: the scorecard's figure is the CSV's, by its own name (below).
        expected[t.pk]["coverage"] = card.get((None, "slo-coverage-tier-weighted"), ["none owned"])[0]

    # 3. The comparison, six teams at a time.
    for chunk in (teams[:6], teams[6:]):
        found = figures_of(client.get(reverse("scoring:compare") + "?teams=" + ",".join(str(t.pk) for t in chunk)))
        for t in chunk:
            want = expected[t.pk]["overall"] if latest[t.pk].is_measured else "not yet measured"
            assert found[(str(t.pk), "overall")] == [want], t.name
            for label in DORA_LABELS:
                assert found[(str(t.pk), f"dora-{label}")] == [expected[t.pk][f"dora-{label}"]], (t.name, label)

    # 4. The CSV: more decimals allowed, never another value.
    response = client.get(reverse("scoring:export"))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_name = {r["team"]: r for r in rows}
    for t in teams:
        if not latest[t.pk].is_measured:
            continue
        row = by_name[t.name]
        for key in ("overall", *PILLAR_KEYS):
            cell = row[key]
            assert shown(float(cell) if cell else None) == expected[t.pk][key], (t.name, key, cell)
        cov = row["slo_coverage_tier_weighted"]
        assert (figures.share(float(cov)) if cov else "none owned") == expected[t.pk]["coverage"], t.name
        parts = reliability_parts(latest[t.pk].inputs.get("reliability")) or {}
        assert (float(cov) if cov else None) == figures.stored(parts.get("coverage"), figures.SHARE_DIGITS)

    # 5. The API: snapshots and the comparison carry the stored value, which rounds to the page's.
    for t in teams:
        data = api.get("/api/v1/snapshots/", {"team": t.pk, "ordering": "-date"}).json()
        first = data["results"][0] if "results" in data else data[0]
        assert first["date"] == latest[t.pk].date.isoformat()
        for key in ("overall", *PILLAR_KEYS):
            assert shown(first[key]) == expected[t.pk][key], (t.name, key)
        assert first["pillars_measured"] == latest[t.pk].measured
    ids = ",".join(str(t.pk) for t in teams[:6])
    columns = api.get("/api/v1/comparisons/", {"teams": ids, "organization": org.pk}).json()
    assert len(columns) == 6
    for col in columns:
        assert shown(col["overall"]) == expected[col["team"]["id"]]["overall"]
        assert col["pillars_measured"] == latest[col["team"]["id"]].measured
