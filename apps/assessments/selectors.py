"""Reads for assessments; every query count is independent of the number of rows."""

from __future__ import annotations

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
        .prefetch_related("frameworks")
        .annotate(
            team_count=Count("assessments__team", distinct=True),
            assessment_count=Count("assessments", distinct=True),
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
    qs = Campaign.objects.select_related("organization").prefetch_related("frameworks")
    return permissions.get_for_user(user, qs, change=change, pk=pk)


def campaign_framework(campaign: Campaign, key: str | None = None) -> Framework:
    """The campaign's framework of family `key` (the `?framework=` of the campaign page and the
    API results), or its first (by key: CALMS before SRE practices) when `key` is empty or not one
    of them. A campaign holds one version per family."""
    held = list(campaign.frameworks.all())
    if not held:
        raise Http404("This campaign has no framework.")
    return next((f for f in held if f.key == key), held[0])


@dataclass
class TeamAssessments:
    """One team of a campaign with its assessment of each framework (None: not in scope for it)."""

    team: object
    assessments: list[Assessment | None]


def campaign_teams(*, campaign: Campaign) -> list[TeamAssessments]:
    """Every team in scope with its assessment per framework, in the campaign's framework order
    (two queries whatever the number of teams)."""
    frameworks = list(campaign.frameworks.all())
    by_team: dict[int, dict[int, Assessment]] = defaultdict(dict)
    teams = {}
    for a in campaign.assessments.select_related("team__department", "framework").order_by("team__name", "pk"):
        by_team[a.team_id][a.framework_id] = a
        teams.setdefault(a.team_id, a.team)
    return [
        TeamAssessments(team=team, assessments=[by_team[team_id].get(f.pk) for f in frameworks])
        for team_id, team in teams.items()
    ]


def assessment_counts(rows: list[TeamAssessments]) -> dict:
    """How many of the campaign's assessments are in each status, their total and the share
    submitted (whole percent), from `campaign_teams`."""
    counts = dict.fromkeys(Assessment.Status.values, 0)
    for row in rows:
        for a in row.assessments:
            if a is not None:
                counts[a.status] += 1
    total = sum(counts.values())
    counts["total"] = total
    counts["submitted_percent"] = round(100 * counts[Assessment.Status.SUBMITTED] / total) if total else 0
    return counts


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
    """One framework of a campaign: progress per team, the heatmap and the averages."""

    campaign: Campaign
    framework: Framework
    dimensions: list[Dimension]
    rows: list[HeatRow]
    counts: dict[str, int]
    departments: list[AverageRow]
    organization: AverageRow
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


def campaign_overview(*, campaign: Campaign, framework: Framework | None = None) -> CampaignOverview:
    """Progress per team, the teams x dimensions heatmap (submitted assessments only) and averages,
    of one framework of the campaign (its first when not given)."""
    if framework is None:
        framework = campaign_framework(campaign)
    dimensions = list(Dimension.objects.filter(framework_id=framework.pk).order_by("order", "pk"))
    keys = [d.key for d in dimensions]
    assessments = list(
        campaign.assessments.filter(framework_id=framework.pk)
        .select_related("team__department", "submitted_by")
        .order_by("team__name")
    )
    counts = dict.fromkeys(Assessment.Status.values, 0)
    rows = []
    for a in assessments:
        a.framework = framework
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
    return CampaignOverview(
        campaign=campaign,
        framework=framework,
        dimensions=dimensions,
        rows=rows,
        counts=counts,
        departments=departments,
        organization=org_row,
        total=len(assessments),
    )


def campaign_csv_rows(*, campaign: Campaign) -> list[list]:
    """Header and one row per assessment: every team in scope for every framework of the campaign
    (CALMS first). Dimension columns are named `<framework key>.<dimension key>`; a row fills its
    own framework's (scores only for submitted assessments)."""
    overviews = [campaign_overview(campaign=campaign, framework=f) for f in campaign.frameworks.all()]
    dimension_columns = [f"{o.framework.key}.{d.key}" for o in overviews for d in o.dimensions]
    header = ["team", "department", "framework", "status", "answered", "questions", "submitted_at", "overall"]
    rows = [header + dimension_columns]
    for o in overviews:
        own = {f"{o.framework.key}.{d.key}": i for i, d in enumerate(o.dimensions)}
        for r in o.rows:
            a = r.assessment
            cells = [r.cells[own[c]] if c in own else None for c in dimension_columns]
            rows.append(
                [
                    a.team.name,
                    a.team.department.name if a.team.department else "",
                    f"{o.framework.key} v{o.framework.version}",
                    a.status,
                    a.answered_count,
                    a.question_count,
                    a.submitted_at.isoformat() if a.submitted_at else "",
                    "" if r.overall is None else r.overall,
                ]
                + ["" if v is None else v for v in cells]
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
    # The team's assessments of every framework of the same campaign (the framework switcher).
    siblings: list[Assessment] = field(default_factory=list)
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
    siblings = list(
        Assessment.objects.filter(campaign_id=assessment.campaign_id, team_id=assessment.team_id)
        .select_related("framework")
        .order_by("framework__key", "-framework__version")
    )
    return AssessmentResult(
        assessment=assessment,
        previous=previous,
        dimensions=results,
        next_steps=steps,
        not_applicable=not_applicable,
        unanswered=max(assessment.question_count - answered, 0),
        siblings=siblings,
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
    chart: object = None  # the trend chart's attribute, set by the view (charts.team_trend)


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
            )
        )
    return out


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
        .select_related("campaign", "framework")
        .order_by("campaign__closes_on", "framework__key", "pk")
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
