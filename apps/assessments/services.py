"""Writes for assessments. Every function is transactional; retried calls are idempotent.

Business rules and rights live here (views and serializers only validate input and call in; every
public function takes a required `actor` and asks apps.core.permissions):
answers only while the campaign is open and the assessment not submitted, a
level in the question's range, a question of the assessment's own framework
version; nothing is written when any item of a request is invalid.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone

from apps.core import permissions
from apps.core.validation import foreign_message

from . import calms_maths, frameworks
from .models import (
    MIN_LEVEL,
    Answer,
    Assessment,
    Campaign,
    Dimension,
    Framework,
    Question,
)
from .selectors import can_submit

_validate_url = URLValidator(schemes=["http", "https"])
COMMENT_LIMIT = 4000


# --- frameworks --------------------------------------------------------------


@transaction.atomic
def framework_load(*, actor, path=None, data=None, organization=None) -> frameworks.InstallResult:
    """Install a framework file (or parsed data). Same content twice: "unchanged".
    An organization's own framework: its admins; a built-in one (no organization): the system only."""
    _require_framework_owner(actor, organization)
    data = frameworks.load_file(path) if data is None else frameworks.validate(data)
    return frameworks.install(
        data,
        Framework=Framework,
        Dimension=Dimension,
        Question=Question,
        Campaign=Campaign,
        organization=organization,
    )


def framework_load_builtin(*, actor) -> list[frameworks.InstallResult]:
    return [framework_load(actor=actor, path=frameworks.DIRECTORY / name) for name in frameworks.BUILT_IN]


def _require_framework_owner(actor, organization) -> None:
    if organization is None:
        if not (permissions.is_system(actor) or getattr(actor, "is_superuser", False)):
            raise PermissionDenied("Only the platform installs built-in frameworks.")
    else:
        permissions.require_org_admin(actor, organization, "Only an organization admin changes its frameworks.")


@transaction.atomic
def framework_new_version(*, framework: Framework, actor, organization=None) -> Framework:
    """Copy a version into the next free version number (unlocked, to be edited in the admin)."""
    owner = organization if organization is not None else framework.organization
    _require_framework_owner(actor, owner)
    latest = Framework.objects.filter(organization=owner, key=framework.key).aggregate(v=Max("version"))["v"] or 0
    copy = Framework.objects.create(
        organization=owner,
        key=framework.key,
        version=latest + 1,
        name=framework.name,
        description=framework.description,
    )
    for dim in framework.dimensions.prefetch_related("questions"):
        new_dim = Dimension.objects.create(
            framework=copy,
            key=dim.key,
            name=dim.name,
            description=dim.description,
            weight=dim.weight,
            order=dim.order,
        )
        Question.objects.bulk_create(
            [
                Question(
                    dimension=new_dim,
                    key=q.key,
                    text=q.text,
                    guidance=q.guidance,
                    weight=q.weight,
                    level_descriptors=list(q.level_descriptors),
                    order=q.order,
                )
                for q in dim.questions.all()
            ]
        )
    return copy


# --- campaigns ---------------------------------------------------------------


def _check_teams(organization, teams) -> list:
    teams = list(teams)
    foreign = [t.name for t in teams if t.organization_id != organization.pk]
    if foreign:
        raise ValidationError({"teams": f"Not teams of {organization}: {', '.join(sorted(foreign))}."})
    return teams


def _check_frameworks(organization, frameworks_given) -> list[Framework]:
    """The frameworks a campaign of `organization` may hold: at least one, built-in or the
    organization's own, each with questions, one version per family. Sorted like Framework (by key)."""
    chosen = {f.pk: f for f in (frameworks_given or [])}
    if not chosen:
        raise ValidationError({"frameworks": "Choose at least one framework."})
    for f in chosen.values():
        if f.organization_id not in (None, organization.pk):
            raise ValidationError({"frameworks": foreign_message(f"The framework {f}")})
    with_questions = set(
        Question.objects.filter(dimension__framework_id__in=chosen).values_list("dimension__framework_id", flat=True)
    )
    empty = [str(f) for pk, f in chosen.items() if pk not in with_questions]
    if empty:
        raise ValidationError({"frameworks": f"{', '.join(sorted(empty))} has no questions."})
    families: dict[str, list[str]] = defaultdict(list)
    for f in chosen.values():
        families[f.key].append(str(f))
    twice = [", ".join(sorted(names)) for names in families.values() if len(names) > 1]
    if twice:
        raise ValidationError({"frameworks": f"Choose one version of each framework, not {'; '.join(twice)} together."})
    return sorted(chosen.values(), key=lambda f: (f.key, -f.version))


def _ensure_assessments(campaign: Campaign, teams=()) -> int:
    """One assessment per framework of the campaign for every team in scope (the teams that
    already have one, plus `teams`); creates only the missing ones. Returns how many it created."""
    framework_ids = list(campaign.frameworks.values_list("pk", flat=True))
    counts = dict(
        Question.objects.filter(dimension__framework_id__in=framework_ids)
        .values_list("dimension__framework_id")
        .annotate(n=Count("pk"))
    )
    existing = set(campaign.assessments.values_list("team_id", "framework_id"))
    scope = {team_id for team_id, _framework_id in existing} | {t.pk for t in teams}
    missing = [
        Assessment(campaign=campaign, team_id=team_id, framework_id=fw, question_count=counts.get(fw, 0))
        for team_id in sorted(scope)
        for fw in framework_ids
        if (team_id, fw) not in existing
    ]
    Assessment.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)


def _set_frameworks(campaign: Campaign, chosen: list[Framework]) -> None:
    """Make the campaign hold exactly `chosen`. A framework leaves only while no answer was given
    against it in this campaign; its (empty) assessments go with it."""
    current = set(campaign.frameworks.values_list("pk", flat=True))
    wanted = {f.pk for f in chosen}
    leaving = current - wanted
    if leaving:
        answered = (
            Framework.objects.filter(pk__in=leaving, assessments__campaign=campaign, assessments__answers__isnull=False)
            .distinct()
            .order_by("key", "-version")
        )
        names = [str(f) for f in answered]
        if names:
            raise ValidationError(
                {
                    "frameworks": f"{', '.join(names)} cannot leave the campaign: teams have answered it. "
                    "Keep it, or open another campaign."
                }
            )
        Assessment.objects.filter(campaign=campaign, framework_id__in=leaving).delete()
        campaign.frameworks.remove(*leaving)
    if wanted - current:
        campaign.frameworks.add(*(wanted - current))


@transaction.atomic
def campaign_open(
    *,
    organization,
    frameworks: list[Framework],
    name: str,
    opens_on: date,
    closes_on: date,
    teams,
    actor,
    today: date | None = None,
) -> Campaign:
    """Open a campaign of one or more frameworks and give each team in scope an assessment of each.

    Retrying with the same name, frameworks and dates returns the existing
    campaign (adding any teams not yet in scope); the same name with other
    settings is an error.
    """
    permissions.require_create(actor, Campaign, organization=organization, message="Only org admins open campaigns.")
    today = today or timezone.localdate()
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Give the campaign a name."})
    teams = _check_teams(organization, teams)
    if not teams:
        raise ValidationError({"teams": "Choose at least one team."})
    chosen = _check_frameworks(organization, frameworks)
    if closes_on < opens_on:
        raise ValidationError({"closes_on": "The close date must be on or after the open date."})
    if closes_on < today:
        raise ValidationError({"closes_on": "The close date is in the past."})
    existing = Campaign.objects.select_for_update().filter(organization=organization, name__iexact=name).first()
    if existing is not None:
        held = set(existing.frameworks.values_list("pk", flat=True))
        same = (held, existing.opens_on, existing.closes_on) == ({f.pk for f in chosen}, opens_on, closes_on)
        if not same:
            raise ValidationError({"name": f"A campaign named “{existing.name}” already exists."})
        _ensure_assessments(existing, teams)
        return existing
    campaign = Campaign(
        organization=organization,
        name=name,
        opens_on=opens_on,
        closes_on=closes_on,
        created_by=permissions.person(actor),
    )
    campaign.full_clean()
    try:
        with transaction.atomic():
            campaign.save()
    except IntegrityError:
        raise ValidationError({"name": f"A campaign named “{name}” already exists."})
    campaign.frameworks.set(chosen)
    _ensure_assessments(campaign, teams)
    return campaign


@transaction.atomic
def campaign_update(
    *,
    campaign: Campaign,
    actor,
    name: str | None = None,
    opens_on=None,
    closes_on=None,
    teams=None,
    frameworks: list[Framework] | None = None,
) -> Campaign:
    """Rename, move dates, widen the scope, add frameworks, or drop a framework nobody answered yet.
    Teams are only added; none is dropped with its answers. Every team in scope gets an assessment
    of every framework the campaign holds."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    permissions.require_change(actor, campaign, "Only org admins change campaigns.")
    if name is not None:
        name = " ".join(name.split())
        if not name:
            raise ValidationError({"name": "Give the campaign a name."})
        if Campaign.objects.filter(organization=campaign.organization, name__iexact=name).exclude(pk=campaign.pk):
            raise ValidationError({"name": f"A campaign named “{name}” already exists."})
        campaign.name = name
    if opens_on is not None:
        campaign.opens_on = opens_on
    if closes_on is not None:
        campaign.closes_on = closes_on
    new_teams = _check_teams(campaign.organization, teams) if teams is not None else []
    if frameworks is not None:
        _set_frameworks(campaign, _check_frameworks(campaign.organization, frameworks))
    campaign.full_clean()
    campaign.save()
    _ensure_assessments(campaign, new_teams)
    return campaign


# --- answers -----------------------------------------------------------------

UNSET = object()
ANSWER_FIELDS = ("level", "not_applicable", "comment", "evidence_url")


@dataclass
class AnswerInput:
    """One item of an answers write. Fields left UNSET keep their stored value."""

    question: int | Question
    level: object = UNSET
    not_applicable: object = UNSET
    comment: object = UNSET
    evidence_url: object = UNSET
    errors: dict = field(default_factory=dict)


def _lock_writable(assessment: Assessment, today: date) -> Assessment:
    assessment = Assessment.objects.select_for_update().select_related("campaign").get(pk=assessment.pk)
    phase = assessment.campaign.phase(today)
    if phase == Campaign.Phase.CLOSED:
        raise ValidationError(
            {"non_field_errors": f"The campaign closed on {assessment.campaign.closes_on:%d %b %Y}; answers are final."}
        )
    if phase == Campaign.Phase.SCHEDULED:
        raise ValidationError(
            {
                "non_field_errors": f"The campaign opens on {assessment.campaign.opens_on:%d %b %Y}; "
                "it cannot be answered yet."
            }
        )
    if assessment.is_submitted:
        raise ValidationError(
            {"non_field_errors": "This assessment is submitted and read-only; the team lead can reopen it."}
        )
    return assessment


def _parse_level(value, question: Question) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    try:
        level = int(value)
    except (TypeError, ValueError):
        raise ValueError("must be a whole number")
    if str(level) != str(value).strip() and not isinstance(value, int):
        raise ValueError("must be a whole number")
    if not MIN_LEVEL <= level <= question.max_level:
        raise ValueError(f"{level} is outside this question's range {MIN_LEVEL}-{question.max_level}")
    return level


def _parse_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "on", "yes"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "0", "off", "no", ""):
        return False
    if value is None:
        return False
    raise ValueError("must be true or false")


@transaction.atomic
def answers_upsert(
    *, assessment: Assessment, items: list[AnswerInput], actor, today: date | None = None
) -> list[Answer]:
    """Write many answers at once: all of them, or (on any error) none.

    Errors are raised as one ValidationError whose keys name the failing item:
    "answers[2].level": ["…"]. Writing the same items twice leaves the same rows.
    """
    today = today or timezone.localdate()
    permissions.require_change(actor, assessment, "Only the team's members answer its assessment.")
    by = permissions.person(actor)
    assessment = _lock_writable(assessment, today)
    if not items:
        raise ValidationError({"answers": "Send at least one answer."})
    questions = {
        q.pk: q
        for q in Question.objects.filter(dimension__framework_id=assessment.framework_id).select_related("dimension")
    }
    existing = {a.question_id: a for a in assessment.answers.all()}
    errors: dict[str, list[str]] = {}
    planned: dict[int, Answer] = {}

    for index, item in enumerate(items):
        prefix = f"answers[{index}]"
        qid = getattr(item.question, "pk", item.question)
        try:
            qid = int(qid)
        except (TypeError, ValueError):
            errors[f"{prefix}.question"] = [f"{item.question!r} is not a question id."]
            continue
        question = questions.get(qid)
        if question is None:
            in_other = Question.objects.filter(pk=qid).select_related("dimension__framework").first()
            if in_other is not None:
                message = (
                    f"Question {qid} belongs to {in_other.dimension.framework}, not to "
                    f"{assessment.framework}, the version this assessment answers."
                )
            else:
                message = f"Question {qid} does not exist."
            errors[f"{prefix}.question"] = [message]
            continue
        if qid in planned:
            errors[f"{prefix}.question"] = [f"Question {qid} ({question.key}) appears more than once in this request."]
            continue
        base = existing.get(qid)
        answer = Answer(
            pk=base.pk if base else None,
            assessment=assessment,
            question=question,
            level=base.level if base else None,
            not_applicable=base.not_applicable if base else False,
            comment=base.comment if base else "",
            evidence_url=base.evidence_url if base else "",
            answered_by_id=base.answered_by_id if base else None,
        )
        if base:
            answer.created_at = base.created_at
        label = f"{question.dimension.name} · {question.key}"
        if item.level is not UNSET:
            try:
                answer.level = _parse_level(item.level, question)
            except ValueError as exc:
                errors[f"{prefix}.level"] = [f"{label}: level {exc}."]
        if item.not_applicable is not UNSET:
            try:
                answer.not_applicable = _parse_bool(item.not_applicable)
            except ValueError as exc:
                errors[f"{prefix}.not_applicable"] = [f"{label}: not_applicable {exc}."]
        # Choosing a level answers the question; choosing N/A clears the level.
        if item.level is not UNSET and answer.level is not None and item.not_applicable is UNSET:
            answer.not_applicable = False
        if item.not_applicable is not UNSET and answer.not_applicable and item.level is UNSET:
            answer.level = None
        if answer.not_applicable and answer.level is not None and f"{prefix}.level" not in errors:
            errors[f"{prefix}.level"] = [f"{label}: give a level or N/A, not both."]
        if item.comment is not UNSET:
            comment = str(item.comment or "").strip()
            if len(comment) > COMMENT_LIMIT:
                errors[f"{prefix}.comment"] = [
                    f"{label}: the comment is longer than {COMMENT_LIMIT} characters ({len(comment):,}); shorten it."
                ]
            answer.comment = comment
        if item.evidence_url is not UNSET:
            url = str(item.evidence_url or "").strip()
            if url:
                try:
                    _validate_url(url)
                except ValidationError:
                    errors[f"{prefix}.evidence_url"] = [f"{label}: the evidence link must be an http(s) URL."]
                if len(url) > 500:
                    errors[f"{prefix}.evidence_url"] = [f"{label}: the evidence link is longer than 500 characters."]
            answer.evidence_url = url
        planned[qid] = answer

    if errors:
        raise ValidationError(errors)

    to_create, to_update, saved = [], [], []
    now = timezone.now()
    for qid, answer in planned.items():
        base = existing.get(qid)
        if base is None:
            answer.answered_by = by
            to_create.append(answer)
            saved.append(answer)
        elif any(getattr(base, f) != getattr(answer, f) for f in ANSWER_FIELDS):
            answer.answered_by = by
            answer.updated_at = now
            to_update.append(answer)
            saved.append(answer)
        else:
            saved.append(base)  # unchanged: not even re-saved
    # Two statements whatever the number of answers.
    Answer.objects.bulk_create(to_create)
    Answer.objects.bulk_update(to_update, [*ANSWER_FIELDS, "answered_by", "updated_at"])
    if to_create or to_update:
        # A retried request changes nothing, not even the assessment's timestamp.
        _refresh(assessment)
    return saved


def answer_save(*, assessment: Assessment, question, actor, today: date | None = None, **values) -> Answer:
    """One answer (the htmx autosave of a single question)."""
    items = [AnswerInput(question=question, **values)]
    return answers_upsert(assessment=assessment, items=items, actor=actor, today=today)[0]


# --- assessments -------------------------------------------------------------


def _compute_scores(assessment: Assessment) -> tuple[float | None, dict[str, float | None], int, int]:
    """(overall, {dimension: score}, answered count, question count) from the stored answers."""
    dims = list(Dimension.objects.filter(framework_id=assessment.framework_id).prefetch_related("questions"))
    rows = Answer.objects.filter(assessment=assessment).values_list("question_id", "level", "not_applicable")
    levels = {qid: (None if na else level) for qid, level, na in rows}
    answered = sum(1 for _qid, level, na in rows if na or level is not None)
    overall, by_dimension = calms_maths.score(calms_maths.inputs_for(dims, levels))
    question_count = sum(len(d.questions.all()) for d in dims)
    return overall, by_dimension, answered, question_count


def _refresh(assessment: Assessment) -> Assessment:
    """Recompute progress and scores from the answers (status moves between not started / in progress)."""
    overall, by_dimension, answered, total = _compute_scores(assessment)
    assessment.overall_score = overall
    assessment.dimension_scores = by_dimension
    assessment.answered_count = answered
    assessment.question_count = total
    if not assessment.is_submitted:
        has_any = assessment.answers.exists()
        assessment.status = Assessment.Status.IN_PROGRESS if has_any else Assessment.Status.NOT_STARTED
    assessment.save(
        update_fields=["overall_score", "dimension_scores", "answered_count", "question_count", "status", "updated_at"]
    )
    return assessment


@transaction.atomic
def assessment_submit(*, assessment: Assessment, actor, today: date | None = None, at=None) -> Assessment:
    """Submit (team lead or org admin): scores are computed and stored; the answers become read-only.
    Submitting twice is a no-op."""
    today = today or timezone.localdate()
    locked = Assessment.objects.select_for_update().select_related("campaign", "team").get(pk=assessment.pk)
    if not can_submit(actor, locked):
        raise PermissionDenied("Only the team lead submits the assessment.")
    if locked.is_submitted:
        return locked
    locked = _lock_writable(locked, today)
    refreshed = _refresh(locked)
    if refreshed.answered_count == 0:
        raise ValidationError({"non_field_errors": "Answer at least one question before submitting."})
    refreshed.status = Assessment.Status.SUBMITTED
    refreshed.submitted_at = at or timezone.now()
    refreshed.submitted_by = permissions.person(actor)
    refreshed.save(update_fields=["status", "submitted_at", "submitted_by", "updated_at"])
    return refreshed


@transaction.atomic
def assessment_reopen(*, assessment: Assessment, actor, today: date | None = None) -> Assessment:
    """Back to a draft (team lead or org admin), until the campaign's close date. Reopening a draft is a no-op."""
    today = today or timezone.localdate()
    locked = Assessment.objects.select_for_update().select_related("campaign", "team").get(pk=assessment.pk)
    if not can_submit(actor, locked):
        raise PermissionDenied("Only the team lead reopens the assessment.")
    if not locked.is_submitted:
        return locked
    if locked.campaign.phase(today) == Campaign.Phase.CLOSED:
        raise ValidationError(
            {
                "non_field_errors": f"The campaign closed on {locked.campaign.closes_on:%d %b %Y}; "
                "it can no longer reopen."
            }
        )
    locked.status = Assessment.Status.IN_PROGRESS
    locked.submitted_at = None
    locked.submitted_by = None
    locked.save(update_fields=["status", "submitted_at", "submitted_by", "updated_at"])
    return locked
