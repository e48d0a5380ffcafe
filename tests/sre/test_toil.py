"""Toil: shares, hours saved, trend and the evidence proxies, on hand-checked data; the pages' roles."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from apps.delivery.models import Deployment
from apps.slos.models import BurnRateAlert
from apps.sre import selectors, services
from apps.sre.models import ToilItem, ToilReview
from tests.postmortems.factories import IncidentFactory, make_postmortem
from tests.roles import HTML_SHARED_READ, assert_matrix
from tests.slos.factories import make_sli, make_slo

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()


def item(cast, title, hours, *, status="active", started=60, ended=None, **kw):
    return ToilItem.objects.create(
        team=cast.team,
        title=title,
        hours_per_week=Decimal(str(hours)),
        status=status,
        started_on=TODAY - timedelta(days=started),
        ended_on=None if ended is None else TODAY - timedelta(days=ended),
        **kw,
    )


@pytest.fixture
def toil(cast):
    item(cast, "Hand-run deploys", 10, started=60)
    item(cast, "Access requests", 6, status="automating", started=30)
    item(cast, "Certificate rotation", 8, status="automated", started=90, ended=10)
    item(cast, "Weekly capacity report", 4, status="stopped", started=40, ended=5)


def test_no_toil_logged_is_no_data(cast):
    figures = selectors.team_toil(team_ids=[cast.team.pk])[cast.team.pk]
    assert figures["share"] is None and not figures["measured"]
    assert selectors.toil_trend(team=cast.team) == []


def test_share_saved_and_capacity(cast, toil):
    figures = selectors.team_toil(team_ids=[cast.team.pk])[cast.team.pk]
    # Open: 10 + 6 = 16 h; automated away: 8 h; stopped (4 h) is neither.
    assert figures["hours"] == 16.0 and figures["saved_hours"] == 8.0 and figures["items"] == 2
    # Two members (lead, member) x 40 h, no review yet: 16 / 80.
    assert figures["capacity"] == 80.0 and figures["capacity_estimated"] is True
    assert figures["share"] == 0.2

    review = services.toil_review_record(team=cast.team, actor=cast.lead, capacity_hours="32")
    assert (review.toil_hours, review.saved_hours) == (Decimal("16.0"), Decimal("8.0"))
    figures = selectors.team_toil(team_ids=[cast.team.pk])[cast.team.pk]
    assert figures["share"] == 0.5 and figures["capacity_estimated"] is False  # at the guideline, not above
    item(cast, "Disk clean-ups", 1, started=1)
    assert selectors.team_toil(team_ids=[cast.team.pk])[cast.team.pk]["share"] == round(17 / 32, 4)
    # Open items were marked reviewed.
    assert set(ToilItem.objects.filter(status="active").values_list("last_reviewed_on", flat=True)) == {TODAY, None}


def test_history_and_trend(cast, toil):
    # 20 days ago everything but the stopped report's future end was still done by hand: 10 + 6 + 8 + 4.
    past = datetime.combine(TODAY - timedelta(days=19), datetime.min.time(), tzinfo=UTC)
    figures = selectors.team_toil(team_ids=[cast.team.pk], until=past)[cast.team.pk]
    assert (figures["hours"], figures["saved_hours"]) == (28.0, 0.0)
    trend = selectors.toil_trend(team=cast.team, weeks=13, today=TODAY)
    # Starts at the first item (90 days ago): weeks 0..12 back all fall after it.
    assert len(trend) == 13 and trend[-1]["day"] == TODAY
    assert trend[-1]["hours"] == 16.0 and trend[-1]["saved_hours"] == 8.0
    assert trend[0]["hours"] == 8.0  # 84 days ago only the certificate rotation was logged
    short = selectors.toil_trend(team=cast.team, weeks=13, today=TODAY - timedelta(days=80))
    assert [p["day"] for p in short][0] >= TODAY - timedelta(days=90)


def test_validation_and_idempotence(cast):
    with pytest.raises(ValidationError) as err:
        services.toil_item_create(
            team=cast.team,
            title=" ",
            category="nope",
            hours_per_week=0,
            status="active",
            owner=cast.other_member,
            actor=cast.lead,
        )
    assert set(err.value.message_dict) == {"title", "category", "hours_per_week", "owner"}
    a = services.toil_item_create(
        team=cast.team, title="Restart workers", category="interrupts", hours_per_week=2, actor=cast.lead
    )
    with pytest.raises(ValidationError) as err:
        services.toil_item_create(
            team=cast.team, title="restart workers", category="interrupts", hours_per_week=2, actor=cast.lead
        )
    assert "already" in err.value.message_dict["title"][0]
    with pytest.raises(ValidationError) as err:
        services.toil_item_update(item=a, ended_on=TODAY, actor=cast.lead)
    assert "ended_on" in err.value.message_dict
    done = services.toil_item_update(item=a, status="automated", actor=cast.lead)
    assert done.ended_on == TODAY  # empty end date: today
    services.toil_review_record(team=cast.team, actor=cast.lead, capacity_hours=80)
    services.toil_review_record(team=cast.team, actor=cast.lead, capacity_hours=72)
    assert ToilReview.objects.get(team=cast.team).capacity_hours == Decimal("72.0")
    with pytest.raises(ValidationError):
        services.toil_review_record(team=cast.team, actor=cast.lead, capacity_hours="0")


def test_proxies(cast):
    until = datetime(2026, 11, 26, tzinfo=UTC)  # a Thursday; window: Oct 29 - Nov 26 (4 weeks)
    on = lambda d, h: datetime(2026, 11, d, h, tzinfo=UTC)  # noqa: E731
    # Pages: Tue 10:00 (work hours), Tue 22:00 (night), Sat 11:00 (weekend); an API incident is not a page,
    # nor one outside the window.
    for at in (on(24, 10), on(24, 22), on(21, 11)):
        IncidentFactory(team=cast.team, source="pagerduty", started_at=at)
    IncidentFactory(team=cast.team, source="opsgenie", started_at=datetime(2026, 10, 1, tzinfo=UTC))
    IncidentFactory(team=cast.team, source="api", started_at=on(24, 3))
    # Production deployments: 3 from GitHub, 1 pushed by hand through the API; staging is not counted.
    for n, (source, prod) in enumerate([("github", True)] * 3 + [("api", True), ("api", False)]):
        Deployment.objects.create(
            organization=cast.org,
            team=cast.team,
            service=cast.service,
            source=source,
            external_id=str(n),
            environment="production" if prod else "staging",
            is_production=prod,
            status="success",
            finished_at=on(10 + n, 12),
        )
    # Burn-rate alerts: one followed by an incident with a postmortem, two without.
    slo = make_slo(make_sli(cast.service))

    def alert(at, resolved):  # noqa: E306
        return BurnRateAlert.objects.create(
            slo=slo,
            severity="page",
            long_window=3600,
            short_window=300,
            factor=14.4,
            opened_at=at,
            resolved_at=resolved,
            long_burn_rate=20,
            short_burn_rate=20,
            peak_burn_rate=20,
        )

    alert(on(5, 9), on(5, 11))
    alert(on(6, 9), on(6, 11))
    alert(on(7, 9), None)
    followed = IncidentFactory(team=cast.team, source="manual", started_at=on(5, 8) + timedelta(minutes=30))
    followed.services.add(cast.service)
    make_postmortem(cast, incident=followed)
    late = IncidentFactory(team=cast.team, source="manual", started_at=on(6, 12))  # after the alert resolved
    late.services.add(cast.service)
    make_postmortem(cast, incident=late)

    p = selectors.team_toil(team_ids=[cast.team.pk, cast.other_team.pk], until=until)
    proxies = p[cast.team.pk]["proxies"]
    assert proxies["pages"] == 3 and proxies["pages_per_week"] == 0.75
    assert proxies["off_hours_pages"] == 2 and proxies["off_hours_share"] == round(2 / 3, 4)
    assert (proxies["deploys"], proxies["deploys_unautomated"], proxies["unautomated_deploy_share"]) == (4, 1, 0.25)
    # Nov 5 is followed (incident 30 min before it opened); Nov 6 resolved before its incident started;
    # the still-open Nov 7 alert has no incident after it.
    assert (proxies["alerts"], proxies["alerts_without_followup"]) == (3, 2)
    other = p[cast.other_team.pk]["proxies"]
    assert other["pages_per_week"] == 0 and other["off_hours_share"] is None
    assert other["unautomated_deploy_share"] is None and other["alerts_without_followup_share"] is None


def test_is_off_hours():
    assert not selectors.is_off_hours(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    assert selectors.is_off_hours(datetime(2026, 11, 24, 18, 0, tzinfo=UTC))
    assert selectors.is_off_hours(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))  # Sunday


def test_pages_matrix(client_for, cast, toil):
    url = reverse("sre:toil", args=[cast.team.pk])
    assert_matrix(client_for, url, HTML_SHARED_READ)
    html = client_for("member").get(url).content.decode()
    assert "Hand-run deploys" in html and "20%" in html and "Review this cycle" not in html
    assert "Review this cycle" in client_for("lead").get(url).content.decode()
    team_page = client_for("leader").get(cast.team.get_absolute_url()).content.decode()
    assert "Toil share of the team" in team_page

    members_write = {
        "org_admin": 200,
        "leader": 403,
        "lead": 200,
        "member": 200,
        "other_member": 403,
        "outsider": 404,
        "anonymous": 302,
    }
    assert_matrix(client_for, reverse("sre:toil_create", args=[cast.team.pk]), members_write)
    a = ToilItem.objects.get(title="Hand-run deploys")
    assert_matrix(client_for, reverse("sre:toil_edit", args=[a.pk]), members_write)
    assert_matrix(client_for, reverse("sre:toil_review", args=[cast.team.pk]), {**members_write, "member": 403})


def test_forms_post(client_for, cast):
    c = client_for("member")
    r = c.post(
        reverse("sre:toil_create", args=[cast.team.pk]),
        {"title": "Rotate keys", "category": "access", "hours_per_week": "3", "automatable": "on", "status": "active"},
    )
    assert r.status_code == 302
    a = ToilItem.objects.get(title="Rotate keys")
    assert a.automatable and a.started_on == TODAY
    r = c.post(
        reverse("sre:toil_edit", args=[a.pk]),
        {
            "title": "Rotate keys",
            "category": "access",
            "hours_per_week": "3",
            "status": "active",
            "ended_on": TODAY.isoformat(),
        },
    )
    assert r.status_code == 200 and "Only work automated away" in r.content.decode()
    r = c.post(
        reverse("sre:toil_edit", args=[a.pk]),
        {"title": "Rotate keys", "category": "access", "hours_per_week": "3", "status": "automated"},
    )
    assert r.status_code == 302
    a.refresh_from_db()
    assert a.status == "automated" and a.ended_on == TODAY
    r = client_for("lead").post(reverse("sre:toil_review", args=[cast.team.pk]), {"capacity_hours": "64"})
    assert r.status_code == 302
    assert ToilReview.objects.get(team=cast.team).saved_hours == Decimal("3.0")


def test_toil_in_scorecard_metrics_and_perception_gap(cast, toil):
    from apps.scoring import inputs, metrics, pillars
    from tests.scoring.factories import assessment, dora

    facts = inputs.gather(team_ids=[cast.team.pk, cast.other_team.pk], as_of=TODAY)
    ours, theirs = facts[cast.team.pk], facts[cast.other_team.pk]
    assert metrics.METRICS["toil.share"].fn(ours) == 0.2
    assert metrics.METRICS["toil.saved_hours"].fn(ours) == 8.0
    assert metrics.format_value("toil.share", 0.2) == "20%"
    assert metrics.format_value("toil.pages_per_week", 0.75) == "0.8/week"
    # A team that never logged toil: no data, not 0 %; a team with no pages: a measured 0 a week.
    assert metrics.METRICS["toil.share"].fn(theirs) is None
    assert metrics.METRICS["toil.pages_per_week"].fn(theirs) == 0
    assert metrics.METRICS["toil.unautomated_deploy_share"].fn(theirs) is None
    assert ("toil.share", "Toil share of the team's time") in metrics.choices()

    # Automation self-rated 90; elite frequency and lead time (100) but toil at 80 % (20 points): evidence 60.
    high = {
        "assessment": assessment(90, automation=90),
        "dora": dora("elite", "elite"),
        "toil": {"measured": True, "share": 0.8},
    }
    [gap] = pillars.perception_gaps(high, threshold=25)
    assert (gap["dimension"], gap["evidence"], gap["gap"]) == ("automation", 60.0, 30.0)
    assert "toil takes 80% of the team's time (above the 50% guideline)" in gap["why"]
    # Without toil measured the same team shows no gap.
    assert pillars.perception_gaps({**high, "toil": {"measured": False, "share": None}}, threshold=25) == []


def test_team_toil_query_count_is_fixed(cast, django_assert_num_queries):
    item(cast, "One", 1)
    with django_assert_num_queries(6):
        selectors.team_toil(team_ids=[cast.team.pk])
    with django_assert_num_queries(6):
        selectors.team_toil(team_ids=[cast.team.pk, cast.other_team.pk])
