"""The rubric every organization starts from, and a Check row as pure data (no writes)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from . import pillars

DEFAULT_RUBRIC = Path(__file__).resolve().parent / "rubrics" / "default.json"


@cache
def default_rubric() -> dict:
    """The rubric every organization starts from (apps/scoring/rubrics/default.json)."""
    return json.loads(DEFAULT_RUBRIC.read_text())


def specs(checks: Iterable) -> list[pillars.CheckSpec]:
    """`models.Check` rows as the pure level rule sees them."""
    return [
        pillars.CheckSpec(
            id=c.pk,
            key=c.key,
            level=c.level,
            name=c.name,
            metric=c.metric,
            operator=c.operator,
            value=c.value,
            hint=c.hint,
            when_missing=c.when_missing,
            informational_until=c.informational_until.isoformat() if c.informational_until else None,
        )
        for c in checks
    ]
