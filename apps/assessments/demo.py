"""Demo assessments for Northwind: two submitted past CALMS cycles, a submitted SRE practices cycle,
and a current campaign holding both frameworks with mixed progress (CALMS and SRE answers).

Idempotent: campaigns are found by name, and assessments that already have
answers are left alone.
"""

import datetime as dt
import random

from django.utils import timezone

from apps.core import permissions

from . import services
from .models import Assessment, Campaign, Framework, Question

# Per-team starting maturity (mean level) and the dimensions it is stronger or weaker in.
PROFILES = {
    "cloud-infra": (2.6, {"automation": 0.9, "sharing": -0.4}),
    "developer-experience": (2.8, {"automation": 0.8, "sharing": 0.5}),
    "observability": (2.5, {"measurement": 1.0, "lean": -0.5}),
    "data-platform": (1.9, {"automation": 0.4, "culture": -0.3}),
    "checkout": (2.2, {"measurement": 0.3, "lean": 0.2}),
    "payments": (2.0, {"culture": 0.4, "automation": -0.3}),
    "search": (1.7, {"lean": 0.5, "measurement": -0.4}),
    "identity": (2.3, {"culture": 0.3}),
    "mobile": (1.5, {"automation": -0.4, "lean": 0.6}),
    "analytics": (1.4, {"sharing": 0.6, "measurement": -0.2}),
    "ml-platform": (1.8, {"automation": 0.5, "culture": -0.2}),
    "fraud": (1.6, {"measurement": 0.4, "sharing": -0.5}),
}
COMMENTS = {
    0: "We have not started on this.",
    1: "Happens occasionally, depends on who is around.",
    2: "Mostly in place; a few gaps we know about.",
    3: "Standard practice for all our services.",
    4: "We keep improving this and other teams copy it.",
}


def _quarter_name(day: dt.date, prefix: str = "CALMS") -> str:
    return f"{prefix} {day.year} Q{(day.month - 1) // 3 + 1}"


def _level(rng, mean: float) -> int:
    return max(0, min(4, round(rng.gauss(mean, 0.75))))


def _answers(rng, questions, base: float, offsets: dict, *, share: float = 1.0):
    items = []
    for question in questions:
        if rng.random() > share:
            continue
        if rng.random() < 0.06:
            items.append(services.AnswerInput(question=question, not_applicable=True, comment="Not relevant for us."))
            continue
        level = _level(rng, base + offsets.get(question.dimension.key, 0.0))
        items.append(
            services.AnswerInput(
                question=question,
                level=level,
                comment=COMMENTS[level] if rng.random() < 0.35 else "",
                evidence_url=f"https://wiki.northwind.example/{question.key}" if rng.random() < 0.2 else "",
            )
        )
    return items


def _campaign(org, frameworks, name, opens_on, closes_on, teams, admin):
    existing = Campaign.objects.filter(organization=org, name=name).first()
    if existing is not None:
        return existing
    return services.campaign_open(
        organization=org,
        frameworks=frameworks,
        name=name,
        opens_on=opens_on,
        closes_on=closes_on,
        teams=teams,
        actor=admin,
        today=opens_on,
    )


def seed(context):
    rng = context["rng"]
    org = context["organization"]
    teams = context["teams"]
    services.framework_load_builtin(actor=permissions.SYSTEM)
    framework = Framework.objects.get(organization=None, key="calms", version=1)
    questions = list(Question.objects.filter(dimension__framework=framework).select_related("dimension"))
    admin = org.memberships.filter(role="admin").select_related("user").first()
    admin = admin.user if admin else None
    today = timezone.localdate()

    cycles = []
    for back in (2, 1):
        anchor = today - dt.timedelta(days=91 * back)
        opens_on = dt.date(anchor.year, 3 * ((anchor.month - 1) // 3) + 1, 10)
        cycles.append((_quarter_name(anchor), opens_on, opens_on + dt.timedelta(days=21)))
    current_name = _quarter_name(today, "CALMS and SRE")

    for cycle_index, (name, opens_on, closes_on) in enumerate(cycles):
        campaign = _campaign(org, [framework], name, opens_on, closes_on, teams, admin)
        for assessment in campaign.assessments.select_related("team"):
            if assessment.status != Assessment.Status.NOT_STARTED:
                continue
            base, offsets = PROFILES.get(assessment.team.slug, (2.0, {}))
            items = _answers(rng, questions, base + 0.35 * cycle_index, offsets)
            services.answers_upsert(assessment=assessment, items=items, today=opens_on, actor=permissions.SYSTEM)
            submitted_at = timezone.make_aware(
                dt.datetime.combine(closes_on - dt.timedelta(days=rng.randint(1, 8)), dt.time(15, 30))
            )
            services.assessment_submit(assessment=assessment, today=opens_on, at=submitted_at, actor=permissions.SYSTEM)

    # SRE practices, last cycle's dates: every team submitted, so team pages show both profiles.
    sre = Framework.objects.get(organization=None, key="sre", version=1)
    sre_questions = list(Question.objects.filter(dimension__framework=sre).select_related("dimension"))
    sre_rng = random.Random(2026_12)
    name, opens_on, closes_on = cycles[-1]
    sre_campaign = _campaign(org, [sre], f"SRE {name.removeprefix('CALMS ')}", opens_on, closes_on, teams, admin)
    for assessment in sre_campaign.assessments.select_related("team").order_by("team__name"):
        if assessment.status != Assessment.Status.NOT_STARTED:
            continue
        base, _offsets = PROFILES.get(assessment.team.slug, (2.0, {}))
        items = _answers(sre_rng, sre_questions, base - 0.3, {})
        services.answers_upsert(assessment=assessment, items=items, today=opens_on, actor=permissions.SYSTEM)
        submitted_at = timezone.make_aware(dt.datetime.combine(closes_on - dt.timedelta(days=2), dt.time(11, 0)))
        services.assessment_submit(assessment=assessment, today=opens_on, at=submitted_at, actor=permissions.SYSTEM)

    # The current cycle asks both frameworks in one campaign: each team has a CALMS and an SRE
    # practices assessment, in mixed states (the SRE side a little behind).
    current = _campaign(
        org,
        [framework, sre],
        current_name,
        today - dt.timedelta(days=10),
        today + dt.timedelta(days=18),
        teams,
        admin,
    )
    for position, assessment in enumerate(
        current.assessments.filter(framework=framework).select_related("team").order_by("team__name")
    ):
        if assessment.status != Assessment.Status.NOT_STARTED:
            continue
        base, offsets = PROFILES.get(assessment.team.slug, (2.0, {}))
        plan = position % 3
        if assessment.team.slug == "checkout":
            plan = 1  # the demo lead's team has a draft to finish
        if plan == 2:
            continue  # not started
        share = 1.0 if plan == 0 else 0.45
        items = _answers(rng, questions, base + 0.7, offsets, share=share)
        if items:
            services.answers_upsert(
                assessment=assessment, items=items, today=current.opens_on, actor=permissions.SYSTEM
            )
        if plan == 0:
            services.assessment_submit(assessment=assessment, today=today, actor=permissions.SYSTEM)
    for position, assessment in enumerate(
        current.assessments.filter(framework=sre).select_related("team").order_by("team__name")
    ):
        if assessment.status != Assessment.Status.NOT_STARTED:
            continue
        base, _offsets = PROFILES.get(assessment.team.slug, (2.0, {}))
        plan = position % 4  # 0: submitted, 1 and 2: drafts, 3: not started
        if assessment.team.slug == "checkout":
            plan = 1
        if plan == 3:
            continue
        items = _answers(sre_rng, sre_questions, base, {}, share=1.0 if plan == 0 else 0.4)
        if items:
            services.answers_upsert(
                assessment=assessment, items=items, today=current.opens_on, actor=permissions.SYSTEM
            )
        if plan == 0:
            services.assessment_submit(assessment=assessment, today=today, actor=permissions.SYSTEM)
    context["log"](
        f"CALMS and SRE: {Campaign.objects.filter(organization=org).count()} campaigns, "
        f"{Assessment.objects.filter(campaign__organization=org, status='submitted').count()} submitted assessments"
    )
