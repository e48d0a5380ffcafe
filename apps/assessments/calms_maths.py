"""CALMS scoring, exactly as DESIGN.md defines it.

- Dimension score = weighted mean of the answered levels x 25 (0-100).
  Questions answered N/A, or not answered, are left out of the mean (and of
  the weights). A dimension with no answered question has no score (None),
  never 0.
- Overall = weighted mean of the dimension scores that exist, with the
  dimensions' weights; None when no dimension has a score.

Pure functions over plain numbers, so the maths is testable on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

POINTS_PER_LEVEL = 25
DECIMALS = 1


@dataclass(frozen=True)
class QuestionInput:
    question_id: int
    weight: Decimal | float
    level: int | None  # None: unanswered or N/A


@dataclass(frozen=True)
class DimensionInput:
    key: str
    weight: Decimal | float
    questions: tuple[QuestionInput, ...]


def weighted_mean(pairs: Iterable[tuple[Decimal | float, float]]) -> float | None:
    """sum(w * v) / sum(w) over (weight, value) pairs; None for no pairs."""
    total_weight = Decimal(0)
    total = Decimal(0)
    for weight, value in pairs:
        w = Decimal(str(weight))
        total_weight += w
        total += w * Decimal(str(value))
    if total_weight == 0:
        return None
    return float(total / total_weight)


def dimension_score(questions: Iterable[QuestionInput]) -> float | None:
    mean = weighted_mean((q.weight, q.level) for q in questions if q.level is not None)
    return None if mean is None else mean * POINTS_PER_LEVEL


def overall_score(dimensions: Iterable[tuple[Decimal | float, float | None]]) -> float | None:
    return weighted_mean((w, s) for w, s in dimensions if s is not None)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def score(dimensions: Iterable[DimensionInput]) -> tuple[float | None, dict[str, float | None]]:
    """(overall, {dimension key: score}); scores rounded to one decimal, overall from unrounded parts."""
    raw: dict[str, tuple[Decimal | float, float | None]] = {}
    for dim in dimensions:
        raw[dim.key] = (dim.weight, dimension_score(dim.questions))
    overall = overall_score(raw.values())
    return _round(overall), {key: _round(value) for key, (_w, value) in raw.items()}


def inputs_for(dimensions, levels_by_question: Mapping[int, int | None]) -> list[DimensionInput]:
    """Build scoring inputs from Dimension rows (questions prefetched) and {question id: level or None}."""
    return [
        DimensionInput(
            key=dim.key,
            weight=dim.weight,
            questions=tuple(
                QuestionInput(question_id=q.pk, weight=q.weight, level=levels_by_question.get(q.pk))
                for q in dim.questions.all()
            ),
        )
        for dim in dimensions
    ]
