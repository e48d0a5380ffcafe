"""The platform as its people use it, end to end in a real Chromium.

One journey per kind of user, in the order a quarter goes:

- a team member turns on two-factor, signs in again with a code, fills in the
  CALMS assessment and writes the postmortem of last week's incident;
- the team lead registers the service's SLI and SLO (SLOs are the lead's, see
  DESIGN.md "Roles"), submits the assessment, reviews and publishes the postmortem;
- a leader compares teams and exports the scores as CSV;
- an org admin imports the org's teams, services and people from CSV in the Django admin.

Every page on the way is screenshotted to artifacts/screenshots/e2e-*.png.
"""

import csv
import datetime as dt
import io
import re
import time
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.utils import timezone

from apps.assessments import services as assessment_services
from apps.assessments.models import Answer, Assessment, Framework, Question
from apps.core import permissions
from apps.postmortems.models import Postmortem
from apps.scoring import services as scoring_services
from apps.slos.models import SLI, SLO
from apps.teams.models import Service, Team, TeamMembership
from tests.browser import TEST_PASSWORD, login, screenshot
from tests.postmortems.factories import IncidentFactory

pytestmark = pytest.mark.browser


def totp_now(secret: str) -> str:
    """The code an authenticator app shows now (RFC 6238); never within 3 s of a step boundary."""
    left = 30 - time.time() % 30
    if left < 3:
        time.sleep(left + 0.2)
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def submit(page, selector: str = "form.allauth-form button[type=submit]"):
    page.click(selector)
    page.wait_for_load_state("networkidle")


def sign_out(page):
    page.click("header .dropdown-toggle")
    page.click("header form[action$='/accounts/logout/'] button")
    page.wait_for_load_state("networkidle")
    assert "/accounts/login/" in page.url


def password_step(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", TEST_PASSWORD)
    submit(page)


@pytest.fixture
def quarter(cast):
    """This quarter's CALMS campaign for both teams, and a SEV2 incident of the team from yesterday."""
    assessment_services.framework_load_builtin(actor=permissions.SYSTEM)
    calms = Framework.objects.get(organization=None, key="calms", version=1)
    today = timezone.localdate()
    campaign = assessment_services.campaign_open(
        organization=cast.org,
        frameworks=[calms],
        name="This quarter",
        opens_on=today - dt.timedelta(days=1),
        closes_on=today + dt.timedelta(days=14),
        teams=[cast.team, cast.other_team],
        actor=permissions.SYSTEM,
    )
    start = timezone.now().replace(microsecond=0) - dt.timedelta(days=1)
    incident = IncidentFactory(
        team=cast.team,
        severity=2,
        title="Checkout 500s",
        started_at=start,
        detected_at=None,
        mitigated_at=None,
        resolved_at=start + dt.timedelta(minutes=50),
    )
    incident.services.add(cast.service)
    return {
        "calms": calms,
        "assessment": campaign.assessments.get(team=cast.team),
        "incident": incident,
        "start": start,
    }


def _member_turns_on_two_factor(page, live_server, user) -> str:
    login(page, live_server, user)
    page.goto(f"{live_server.url}/accounts/2fa/")
    page.click("#mfa-totp a:has-text('Activate')")
    page.wait_for_load_state("networkidle")
    if "/accounts/reauthenticate/" in page.url:
        page.fill("input[name=password]", TEST_PASSWORD)
        submit(page)
    secret = page.input_value("#authenticator_secret")
    page.fill("input[name=code]", totp_now(secret))
    submit(page)
    assert "/accounts/2fa/recovery-codes/" in page.url
    screenshot(page, "e2e-01-member-recovery-codes")
    assert Authenticator.objects.filter(user=user, type="totp").exists()
    sign_out(page)
    return secret


def _member_fills_the_assessment(page, live_server, quarter):
    assessment = quarter["assessment"]
    page.goto(f"{live_server.url}/assessments/")
    screenshot(page, "e2e-03-member-assessments")
    page.click(f"a[href='/assessments/{assessment.pk}/']")
    page.wait_for_load_state("networkidle")
    questions = list(
        Question.objects.filter(dimension__framework=quarter["calms"]).select_related("dimension").order_by("pk")
    )
    dimensions = ["culture", "automation", "lean", "measurement", "sharing"]
    for key in dimensions:
        for question in [q for q in questions if q.dimension.key == key]:
            # Culture and Sharing at level 3, the rest at level 2: a hand-checkable overall of 61.
            level = 3 if key in ("culture", "sharing") else 2
            with page.expect_response(lambda r, pk=question.pk: f"/questions/{pk}/" in r.url):
                page.click(f"label[for='q{question.pk}-l{level}']")
            page.wait_for_selector(f"#status-{question.pk} >> text=Saved")
        if key != "sharing":
            page.click(f"a.btn[href='?d={dimensions[dimensions.index(key) + 1]}']")
            page.wait_for_load_state("networkidle")
    assert "32 of 32 answered" in page.locator("#overall-progress").inner_text()
    assert page.locator("[data-testid=submit-assessment]").count() == 0  # members do not submit
    screenshot(page, "e2e-04-member-assessment-filled")
    assert Answer.objects.filter(assessment=assessment).count() == len(questions) == 32


def _member_writes_the_postmortem(page, live_server, quarter, lead) -> Postmortem:
    incident, start = quarter["incident"], quarter["start"]
    page.goto(f"{live_server.url}/postmortems/incidents/{incident.pk}/")
    screenshot(page, "e2e-05-member-incident")
    page.click("text=Write the postmortem")
    page.wait_for_load_state("networkidle")
    page.fill("#id_summary", "Checkout returned **500s** for 50 minutes after a pool change.")
    page.fill("#id_impact", "About 4,000 customers could not pay.")
    page.fill("#id_root_causes", "The connection pool was sized per process.")
    page.fill("#id_resolution", "Rolled back the deploy.")
    page.fill("#id_tags", "database, connection-pool")
    # Reviewers are picked by searching the organization's people.
    page.fill("#id_reviewers", lead.email.split("@")[0])
    page.click(f"#id_reviewers ~ [data-picker-results] [data-pick='{lead.pk}']")
    page.fill("#id_timeline-0-at", (start + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_timeline-0-description", "Burn-rate alert pages the on-call.")
    page.select_option("#id_factors-0-category", label="Configuration")
    page.fill("#id_factors-0-description", "Pool size multiplied by workers.")
    screenshot(page, "e2e-06-member-postmortem-edit")
    page.click("button[name=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".badge", has_text="In review").first.is_visible()
    assert page.locator("button", has_text="Publish").is_disabled()  # waits for the reviewer
    screenshot(page, "e2e-07-member-postmortem-in-review")
    pm = Postmortem.objects.get(incident=incident)
    assert pm.status == "in_review"
    return pm


def _lead_registers_an_slo(page, live_server, cast):
    page.goto(f"{live_server.url}/slos/slis/new/")
    page.select_option("#id_service", str(cast.service.pk))
    page.fill("#id_name", "Checkout availability")
    page.fill("#id_description", "Share of checkout requests answered without a 5xx.")
    screenshot(page, "e2e-08-lead-sli-form")
    page.click("main form[method=post] button.btn-primary")
    page.wait_for_load_state("networkidle")
    sli = SLI.objects.get(service=cast.service, name="Checkout availability")

    page.goto(f"{live_server.url}/slos/new/")
    page.select_option("#id_sli", str(sli.pk))
    page.fill("#id_name", "Checkout 99.9% over 28 days")
    page.fill("#id_target_percent", "99.9")
    page.fill("#id_window_days", "28")
    screenshot(page, "e2e-09-lead-slo-form")
    page.click("main form[method=post] button.btn-primary")
    page.wait_for_load_state("networkidle")
    slo = SLO.objects.get(sli=sli)
    assert page.url.endswith(f"/slos/{slo.pk}/"), page.url
    assert float(slo.target) == pytest.approx(0.999)
    assert slo.window_days == 28
    screenshot(page, "e2e-10-lead-slo-detail")
    page.goto(f"{live_server.url}/slos/")
    assert page.locator("main", has_text="Checkout 99.9% over 28 days").count() == 1
    screenshot(page, "e2e-11-lead-slo-catalog")


@pytest.mark.django_db(transaction=True)
def test_a_quarter_of_a_team_lead_and_member(page, browser, live_server, cast, quarter):
    member, lead = cast.member, cast.lead

    # The member turns on two-factor; from now on signing in asks for a code.
    secret = _member_turns_on_two_factor(page, live_server, member)
    password_step(page, live_server, member)
    assert "/accounts/2fa/authenticate/" in page.url
    screenshot(page, "e2e-02-member-two-factor-step")
    page.fill("input[name=code]", totp_now(secret))
    submit(page)
    assert page.url == f"{live_server.url}/"

    _member_fills_the_assessment(page, live_server, quarter)
    pm = _member_writes_the_postmortem(page, live_server, quarter, lead)
    sign_out(page)

    # The lead: an SLO for the checkout service, the assessment submitted, the postmortem reviewed and published.
    login(page, live_server, lead)
    _lead_registers_an_slo(page, live_server, cast)

    assessment = quarter["assessment"]
    page.goto(f"{live_server.url}/assessments/{assessment.pk}/?d=sharing")
    page.click("[data-testid=submit-assessment]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/assessments/{assessment.pk}/result/")
    assessment.refresh_from_db()
    assert assessment.status == Assessment.Status.SUBMITTED
    # Culture (weight 1.2) and Sharing (1.0) at level 3 = 75; Automation (1.0), Lean (0.8), Measurement (1.0)
    # at level 2 = 50 (calms_v1.yaml): (1.2*75 + 1.0*50 + 0.8*50 + 1.0*50 + 1.0*75) / 5.0 = 305 / 5 = 61.
    assert float(assessment.overall_score) == pytest.approx(61.0)
    assert page.locator("[data-testid=overall-score]").inner_text() == "61"
    page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('#calms-radar'))")
    screenshot(page, "e2e-12-lead-assessment-result")

    page.goto(f"{live_server.url}/postmortems/{pm.pk}/")
    page.check("input[name=decision][value=approved]")
    page.fill("textarea[name=comment]", "Clear and blameless. Ship it.")
    page.click("text=Send review")
    page.wait_for_load_state("networkidle")
    assert page.locator(".alert", has_text="Approved").is_visible()
    page.click("button:has-text('Publish')")
    page.wait_for_load_state("networkidle")
    assert page.locator(".badge", has_text="Published").first.is_visible()
    screenshot(page, "e2e-13-lead-postmortem-published")
    pm.refresh_from_db()
    assert pm.status == "published" and pm.published_at is not None
    sign_out(page)

    # Published postmortems are the whole org's: another team finds it.
    login(page, live_server, cast.other_member)
    page.goto(f"{live_server.url}/postmortems/?q=pool")
    page.wait_for_load_state("networkidle")
    assert page.locator("#pm-results a.search-result", has_text=pm.title).count() == 1
    screenshot(page, "e2e-14-other-team-finds-postmortem")


@pytest.mark.django_db(transaction=True)
def test_a_leader_compares_teams_and_exports_csv(page, live_server, cast, quarter):
    # Checkout submitted its assessment at level 3 everywhere (75); Search has not answered yet.
    assessment = quarter["assessment"]
    questions = Question.objects.filter(dimension__framework=quarter["calms"])
    items = [assessment_services.AnswerInput(question=q, level=3) for q in questions]
    assessment_services.answers_upsert(assessment=assessment, items=items, actor=permissions.SYSTEM)
    assessment_services.assessment_submit(assessment=assessment, actor=permissions.SYSTEM)
    scoring_services.score_teams(
        actor=permissions.SYSTEM, teams=Team.objects.select_related("organization"), as_of=timezone.localdate()
    )
    login(page, live_server, cast.leader)
    page.goto(f"{live_server.url}/scoring/")
    page.wait_for_load_state("networkidle")
    screenshot(page, "e2e-20-leader-scores")

    page.goto(f"{live_server.url}/scoring/compare/")
    page.check("label:has-text('Checkout')")
    page.check("label:has-text('Search')")
    page.click("#compare-submit")
    page.wait_for_load_state("networkidle")
    headers = [h.strip().lower() for h in page.locator("#compare-table thead th").all_inner_texts()]
    assert headers[1:] == ["checkout", "search"]
    assert page.locator("#compare-radar").get_attribute("data-rendered") == "1"
    screenshot(page, "e2e-21-leader-compare")

    page.goto(f"{live_server.url}/scoring/")
    with page.expect_download() as download_info:
        page.click("a[href$='/scoring/export.csv']")
    download = download_info.value
    assert re.fullmatch(r"scores-acme-.+\.csv", download.suggested_filename)
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    by_team = {row["team"]: row for row in (dict(zip(rows[0], r, strict=True)) for r in rows[1:])}
    assert set(by_team) == {"Checkout", "Search"}  # the org's teams, not Initech's Billing
    assert float(by_team["Checkout"]["self_assessment"]) == pytest.approx(75.0)
    assert by_team["Search"]["self_assessment"] == ""  # no submitted assessment: no number, not 0


@pytest.mark.django_db(transaction=True)
def test_an_admin_imports_the_org_from_csv(page, live_server, cast, tmp_path):
    teams_csv = tmp_path / "teams.csv"
    teams_csv.write_text(
        "organization,slug,name,department,description\n"
        "acme,payments,Payments,engineering,Money in and out\n"
        "acme,platform,Platform,engineering,Paved road\n"
    )
    services_csv = tmp_path / "services.csv"
    services_csv.write_text(
        "organization,slug,name,team,tier,lifecycle,repository_url,runbook_url,description\n"
        "acme,ledger,Ledger,payments,1,production,https://git.example.com/ledger,,Double entry\n"
        "acme,ci-runners,CI runners,platform,2,production,,,\n"
    )
    members_csv = tmp_path / "members.csv"
    members_csv.write_text(
        "organization,team,email,name,role\n"
        "acme,payments,Pat.Payments@example.test,Pat Payments,lead\n"
        "acme,payments,sam.payments@example.test,Sam Payments,member\n"
    )
    login(page, live_server, cast.org_admin)
    steps = (
        ("team", teams_csv, "Payments"),
        ("service", services_csv, "Ledger"),
        ("teammembership", members_csv, "sam.payments@example.test"),
    )
    for i, (model, path, expected) in enumerate(steps):
        page.goto(f"{live_server.url}/admin/teams/{model}/import/")
        page.set_input_files("input[name=import_file]", str(path))
        if page.locator("select[name=format]").count():
            page.select_option("select[name=format]", label="csv")
        screenshot(page, f"e2e-3{2 * i}-admin-import-{model}")
        page.click("form input[type=submit], form button[type=submit] >> nth=-1")
        page.wait_for_load_state("networkidle")
        assert page.locator("text=" + expected).first.is_visible()
        screenshot(page, f"e2e-3{2 * i + 1}-admin-import-{model}-preview")
        page.click("form[action$='process_import/'] [type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.url.endswith(f"/admin/teams/{model}/")
    assert Team.objects.get(slug="payments").department == cast.department
    ledger = Service.objects.get(slug="ledger")
    assert (ledger.team.slug, ledger.tier, ledger.organization) == ("payments", 1, cast.org)
    payments = TeamMembership.objects.filter(team__slug="payments").order_by("user__email")
    assert [(m.user.email, m.role) for m in payments] == [
        ("pat.payments@example.test", "lead"),  # addresses are stored lower-cased
        ("sam.payments@example.test", "member"),
    ]
    # The new lead belongs to the organization and can sign in once they set a password (an invitation).
    assert cast.org.memberships.filter(user__email="pat.payments@example.test").exists()
    page.goto(f"{live_server.url}/admin/teams/teammembership/")
    screenshot(page, "e2e-36-admin-memberships-after-import")
