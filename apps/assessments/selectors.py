"""Reads for assessments; every query count is independent of the number of rows."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from statistics import fmean

from django.db import connection
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.http import Http404

from apps.core import permissions

from .frameworks import SCORED_FAMILY
from .models import Answer, Assessment, Campaign, Dimension, Framework, Question

NEXT_STEP_COUNT = 5
CURRENT_COLOUR = "79, 70, 229"
PREVIOUS_COLOUR = "148, 163, 184"


# --- frameworks --------------------------------------------------------------


def frameworks_for_user(user):
    """Built-in versions for every signed-in user, plus those of the user's organizations."""
    qs = Framework.objects.select_related("organization")
    if not (user and user.is_authenticated and user.is_active):
        return qs.none()
    if user.is_superuser:
        return qs
    return qs.filter(Q(organization__isnull=True) | Q(organization__in=permissions.org_ids(user)))


def framework_with_questions():
    return Framework.objects.prefetch_related(
        Prefetch("dimensions", queryset=Dimension.objects.order_by("order", "pk")),
        Prefetch("dimensions__questions", queryset=Question.objects.order_by("order", "pk")),
    )


def framework_detail(*, user, pk: int) -> Framework:
    framework = frameworks_for_user(user).filter(pk=pk).first()
    if framework is None:
        raise Http404("No such framework.")
    return framework_with_questions().get(pk=framework.pk)


# --- campaigns ---------------------------------------------------------------


def campaign_list(*, user, organization):
    return (
        permissions.viewable(user, Campaign.objects.filter(organization=organization))
        .select_related("framework")
        .annotate(
            team_count=Count("assessments", distinct=True),
            submitted_count=Count(
                "assessments", filter=Q(assessments__status=Assessment.Status.SUBMITTED), distinct=True
            ),
            in_progress_count=Count(
                "assessments", filter=Q(assessments__status=Assessment.Status.IN_PROGRESS), distinct=True
            ),
        )
        .order_by("-opens_on", "-pk")
    )


def campaign_get(*, user, pk: int, change: bool = False) -> Campaign:
    qs = Campaign.objects.select_related("framework", "organization")
    return permissions.get_for_user(user, qs, change=change, pk=pk)


def my_assessments(*, user, organization):
    """Assessments of the user's teams in this organization, newest campaign first."""
    return (
        Assessment.objects.filter(team_id__in=permissions.team_ids(user), team__organization=organization)
        .select_related("campaign", "team", "framework")
        .order_by("-campaign__opens_on", "team__name")
    )


@dataclass
class HeatRow:
    assessment: Assessment
    cells: list[float | None]
    overall: float | None


@dataclass
class AverageRow:
    label: str
    team_count: int
    cells: list[float | None]
    overall: float | None


@dataclass
class CampaignOverview:
    campaign: Campaign
    dimensions: list[Dimension]
    rows: list[HeatRow]
    counts: dict[str, int]
    departments: list[AverageRow]
    organization: AverageRow
    chart_json: str = ""
    total: int = 0

    @property
    def submitted_percent(self) -> int:
        return round(100 * self.counts.get("submitted", 0) / self.total) if self.total else 0


def _mean(values) -> float | None:
    present = [v for v in values if v is not None]
    return round(fmean(present), 1) if present else None


def _average_row(label: str, rows: list[HeatRow], width: int) -> AverageRow:
    return AverageRow(
        label=label,
        team_count=len(rows),
        cells=[_mean(r.cells[i] for r in rows) for i in range(width)],
        overall=_mean(r.overall for r in rows),
    )


def campaign_overview(*, campaign: Campaign) -> CampaignOverview:
    """Progress per team, the teams x dimensions heatmap (submitted assessments only) and averages."""
    dimensions = list(Dimension.objects.filter(framework_id=campaign.framework_id).order_by("order", "pk"))
    keys = [d.key for d in dimensions]
    assessments = list(campaign.assessments.select_related("team__department", "submitted_by").order_by("team__name"))
    counts = dict.fromkeys(Assessment.Status.values, 0)
    rows = []
    for a in assessments:
        counts[a.status] += 1
        scores = a.dimension_scores if a.is_submitted else {}
        rows.append(
            HeatRow(
                assessment=a,
                cells=[scores.get(k) for k in keys],
                overall=a.overall_score if a.is_submitted else None,
            )
        )
    submitted = [r for r in rows if r.assessment.is_submitted]
    by_department: dict[str, list[HeatRow]] = defaultdict(list)
    for r in submitted:
        department = r.assessment.team.department
        by_department[department.name if department else "No department"].append(r)
    departments = [_average_row(name, group, len(keys)) for name, group in sorted(by_department.items())]
    org_row = _average_row(campaign.organization.name, submitted, len(keys))
    chart = {
        "type": "bar",
        "data": {
            "labels": [d.name for d in dimensions],
            "datasets": [
                {
                    "label": f"{campaign.organization.name} average",
                    "data": org_row.cells,
                    "backgroundColor": f"rgba({CURRENT_COLOUR}, 0.7)",
                    "borderRadius": 4,
                }
            ]
            + [
                {"label": dep.label, "data": dep.cells, "backgroundColor": colour, "borderRadius": 4}
                for dep, colour in zip(departments, _palette(len(departments)), strict=False)
            ],
        },
        "options": {
            "responsive": True,
            "maintainAspectRatio": False,
            "scales": {"y": {"min": 0, "max": 100, "ticks": {"stepSize": 25}}},
            "plugins": {"legend": {"position": "bottom"}},
        },
    }
    return CampaignOverview(
        campaign=campaign,
        dimensions=dimensions,
        rows=rows,
        counts=counts,
        departments=departments,
        organization=org_row,
        chart_json=json.dumps(chart),
        total=len(assessments),
    )


def _palette(n: int) -> list[str]:
    base = ["rgba(14, 165, 233, 0.6)", "rgba(16, 185, 129, 0.6)", "rgba(245, 158, 11, 0.6)", "rgba(236, 72, 153, 0.6)"]
    return [base[i % len(base)] for i in range(n)]


def campaign_csv_rows(overview: CampaignOverview) -> list[list]:
    """Header and one row per team in scope (scores only for submitted assessments)."""
    header = ["team", "department", "status", "answered", "questions", "submitted_at", "overall"] + [
        d.key for d in overview.dimensions
    ]
    rows = [header]
    for r in overview.rows:
        a = r.assessment
        rows.append(
            [
                a.team.name,
                a.team.department.name if a.team.department else "",
                a.status,
                a.answered_count,
                a.question_count,
                a.submitted_at.isoformat() if a.submitted_at else "",
                "" if r.overall is None else r.overall,
            ]
            + ["" if v is None else v for v in r.cells]
        )
    return rows


# --- one assessment ----------------------------------------------------------


def assessment_get(*, user, pk: int, change: bool = False) -> Assessment:
    qs = Assessment.objects.select_related("campaign__organization", "team__organization", "framework")
    return permissions.get_for_user(user, qs, change=change, pk=pk)


@dataclass
class DimensionSheet:
    dimension: Dimension
    questions: list[tuple[Question, Answer | None]]
    answered: int = 0

    @property
    def total(self) -> int:
        return len(self.questions)

    @property
    def complete(self) -> bool:
        return self.answered == self.total


def assessment_sheet(*, assessment: Assessment) -> list[DimensionSheet]:
    """Every dimension with its questions and the team's answer to each (three queries)."""
    dimensions = Dimension.objects.filter(framework_id=assessment.framework_id).prefetch_related(
        Prefetch("questions", queryset=Question.objects.order_by("order", "pk"))
    )
    answers = {a.question_id: a for a in Answer.objects.filter(assessment=assessment)}
    sheets = []
    for dim in dimensions.order_by("order", "pk"):
        pairs = [(q, answers.get(q.pk)) for q in dim.questions.all()]
        sheets.append(
            DimensionSheet(dimension=dim, questions=pairs, answered=sum(1 for _q, a in pairs if a and a.is_answered))
        )
    return sheets


def previous_assessment(assessment: Assessment) -> Assessment | None:
    """The team's latest submitted assessment from an earlier campaign (same framework family)."""
    return (
        Assessment.objects.filter(
            team_id=assessment.team_id,
            status=Assessment.Status.SUBMITTED,
            campaign__opens_on__lt=assessment.campaign.opens_on,
            framework__key=assessment.framework.key,
        )
        .select_related("campaign")
        .order_by("-campaign__opens_on", "-submitted_at")
        .first()
    )


@dataclass
class DimensionResult:
    dimension: Dimension
    score: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        if self.score is None or self.previous is None:
            return None
        return round(self.score - self.previous, 1)


@dataclass
class NextStep:
    question: Question
    dimension: Dimension
    level: int
    next_level: int
    current: str
    next: str
    comment: str = ""


@dataclass
class AssessmentResult:
    assessment: Assessment
    previous: Assessment | None
    dimensions: list[DimensionResult]
    next_steps: list[NextStep]
    not_applicable: int
    unanswered: int
    chart_json: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def overall_change(self) -> float | None:
        if self.previous is None or self.previous.overall_score is None or self.assessment.overall_score is None:
            return None
        return round(self.assessment.overall_score - self.previous.overall_score, 1)


def assessment_result(*, assessment: Assessment) -> AssessmentResult:
    previous = previous_assessment(assessment)
    dimensions = list(Dimension.objects.filter(framework_id=assessment.framework_id).order_by("order", "pk"))
    current = assessment.dimension_scores or {}
    before = previous.dimension_scores if previous else {}
    results = [DimensionResult(dimension=d, score=current.get(d.key), previous=before.get(d.key)) for d in dimensions]
    answers = list(Answer.objects.filter(assessment=assessment).select_related("question__dimension").order_by("pk"))
    low = sorted(
        (a for a in answers if a.level is not None and not a.not_applicable and a.level < a.question.max_level),
        key=lambda a: (a.level, -a.question.weight, a.question.dimension.order, a.question.order),
    )[:NEXT_STEP_COUNT]
    steps = [
        NextStep(
            question=a.question,
            dimension=a.question.dimension,
            level=a.level,
            next_level=a.level + 1,
            current=a.question.descriptor(a.level),
            next=a.question.descriptor(a.level + 1),
            comment=a.comment,
        )
        for a in low
    ]
    not_applicable = sum(1 for a in answers if a.not_applicable)
    answered = sum(1 for a in answers if a.is_answered)
    datasets = [
        {
            "label": assessment.campaign.name,
            "data": [r.score for r in results],
            "backgroundColor": f"rgba({CURRENT_COLOUR}, 0.2)",
            "borderColor": f"rgb({CURRENT_COLOUR})",
            "pointBackgroundColor": f"rgb({CURRENT_COLOUR})",
            "borderWidth": 2,
        }
    ]
    if previous is not None:
        datasets.append(
            {
                "label": previous.campaign.name,
                "data": [r.previous for r in results],
                "backgroundColor": f"rgba({PREVIOUS_COLOUR}, 0.15)",
                "borderColor": f"rgb({PREVIOUS_COLOUR})",
                "pointBackgroundColor": f"rgb({PREVIOUS_COLOUR})",
                "borderDash": [6, 4],
                "borderWidth": 2,
            }
        )
    chart = {
        "type": "radar",
        "data": {"labels": [d.name for d in dimensions], "datasets": datasets},
        "options": {
            "responsive": True,
            "maintainAspectRatio": False,
            "spanGaps": True,
            "scales": {"r": {"min": 0, "max": 100, "ticks": {"stepSize": 25, "backdropColor": "transparent"}}},
            "plugins": {"legend": {"position": "bottom"}},
        },
    }
    return AssessmentResult(
        assessment=assessment,
        previous=previous,
        dimensions=results,
        next_steps=steps,
        not_applicable=not_applicable,
        unanswered=max(assessment.question_count - answered, 0),
        chart_json=json.dumps(chart),
    )


def team_history(*, team_id: int, framework_key: str | None = None):
    """The team's submitted assessments, newest cycle first (of one framework family if given)."""
    qs = Assessment.objects.filter(team_id=team_id, status=Assessment.Status.SUBMITTED)
    if framework_key is not None:
        qs = qs.filter(framework__key=framework_key)
    return qs.select_related("campaign", "framework").order_by("-campaign__opens_on")


@dataclass
class FrameworkHistory:
    key: str
    name: str
    dimensions: list[tuple[str, str]]  # (key, name) in the framework's order
    history: list
    chart_json: str = ""


def team_histories(*, team_id: int) -> list[FrameworkHistory]:
    """The team's submitted cycles per framework family (CALMS first), with the dimensions of the
    newest version used; two queries."""
    history = list(team_history(team_id=team_id))
    families: dict[str, list] = defaultdict(list)
    for a in history:
        families[a.framework.key].append(a)
    newest = {key: cycles[0].framework_id for key, cycles in families.items()}
    dims = defaultdict(list)
    for d in Dimension.objects.filter(framework_id__in=newest.values()).order_by("order", "pk"):
        dims[d.framework_id].append((d.key, d.name))
    out = []
    for key in sorted(families, key=lambda k: (k != SCORED_FAMILY, k)):
        cycles = families[key]
        dimensions = dims[newest[key]]
        out.append(
            FrameworkHistory(
                key=key,
                name=cycles[0].framework.name,
                dimensions=dimensions,
                history=cycles,
                chart_json=team_trend_chart(cycles, dimensions) if len(cycles) > 1 else "",
            )
        )
    return out


# Dimension colours on trend charts, in the framework's order.
PALETTE = (
    "rgb(236, 72, 153)",
    "rgb(14, 165, 233)",
    "rgb(245, 158, 11)",
    "rgb(16, 185, 129)",
    "rgb(139, 92, 246)",
    "rgb(239, 68, 68)",
    "rgb(100, 116, 139)",
    "rgb(20, 184, 166)",
)


def team_trend_chart(history, dimensions=None) -> str:
    """Chart.js line chart of a team's submitted cycles of one framework, oldest first (overall and
    each dimension; `dimensions` is [(key, name)], CALMS' five when not given)."""
    cycles = list(reversed(list(history)))
    if dimensions is None:
        dimensions = [(k, k.capitalize()) for k in ("culture", "automation", "lean", "measurement", "sharing")]
    datasets = [
        {
            "label": "Overall",
            "data": [a.overall_score for a in cycles],
            "borderColor": f"rgb({CURRENT_COLOUR})",
            "backgroundColor": f"rgba({CURRENT_COLOUR}, 0.15)",
            "borderWidth": 3,
            "tension": 0.25,
        }
    ] + [
        {
            "label": name,
            "data": [(a.dimension_scores or {}).get(key) for a in cycles],
            "borderColor": PALETTE[i % len(PALETTE)],
            "backgroundColor": PALETTE[i % len(PALETTE)],
            "borderWidth": 1.5,
            "borderDash": [4, 3],
            "tension": 0.25,
        }
        for i, (key, name) in enumerate(dimensions)
    ]
    chart = {
        "type": "line",
        "data": {"labels": [a.campaign.name for a in cycles], "datasets": datasets},
        "options": {
            "responsive": True,
            "maintainAspectRatio": False,
            "spanGaps": True,
            "scales": {"y": {"min": 0, "max": 100, "ticks": {"stepSize": 25}}},
            "plugins": {"legend": {"position": "bottom"}},
        },
    }
    return json.dumps(chart)


# --- for other apps ----------------------------------------------------------


def latest_submitted_scores(
    *, team_ids, submitted_before: datetime | None = None, family: str = SCORED_FAMILY
) -> dict[int, dict]:
    """{team id: {"overall", "dimensions": {key: score|None}, "assessment_id", "submitted_at"}}.

    The latest submitted assessment per team against a framework of `family` (CALMS by
    default: the team score reads it), submitted before `submitted_before` for a view of the
    past, in one query whatever the number of teams. Teams with no such assessment are absent.
    """
    team_ids = list(team_ids)
    if not team_ids:
        return {}
    submitted = Assessment.objects.filter(
        team_id__in=team_ids, status=Assessment.Status.SUBMITTED, framework__key=family
    )
    if submitted_before is not None:
        submitted = submitted.filter(submitted_at__lt=submitted_before)
    if connection.vendor == "postgresql":
        # DISTINCT ON walks the (team, status, -submitted_at) index once.
        rows = submitted.order_by("team_id", "-submitted_at", "-pk").distinct("team_id")
    else:
        latest = submitted.filter(team_id=OuterRef("team_id")).order_by("-submitted_at", "-pk").values("pk")[:1]
        rows = submitted.filter(pk=Subquery(latest))
    rows = rows.values_list("team_id", "pk", "overall_score", "dimension_scores", "submitted_at")
    result = {}
    for team_id, pk, overall, dims, submitted_at in rows:
        dims = dims or {}
        result[team_id] = {
            "overall": overall,
            "dimensions": dict(dims),
            "assessment_id": pk,
            "submitted_at": submitted_at,
        }
    return result


def waiting_assessments(*, team_ids, on) -> dict[int, list[Assessment]]:
    """{team id: its unsubmitted assessments of campaigns open on `on`}, one query (for notifications)."""
    rows = (
        Assessment.objects.filter(team_id__in=list(team_ids), campaign__opens_on__lte=on, campaign__closes_on__gte=on)
        .exclude(status=Assessment.Status.SUBMITTED)
        .select_related("campaign")
        .order_by("campaign__closes_on", "pk")
    )
    by_team: dict[int, list[Assessment]] = defaultdict(list)
    for row in rows:
        by_team[row.team_id].append(row)
    return dict(by_team)


def frameworks_available(organization):
    """Versions an organization may open a campaign with: built-in ones and its own."""
    return (
        Framework.objects.filter(Q(organization__isnull=True) | Q(organization=organization))
        .filter(dimensions__questions__isnull=False)
        .distinct()
        .order_by("key", "-version")
    )


def can_submit(user, assessment) -> bool:
    """The team lead (or an org admin) submits and reopens; members only fill in drafts."""
    if permissions.is_org_admin(user, assessment.team.organization_id):
        return True
    return permissions.team_role(user, assessment.team_id) == permissions.TEAM_LEAD
