"""Reads about the rubric itself: which checks are in their grace period and what level every team
will hold when they apply, re-evaluated from each team's latest stored inputs (no write)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from apps.teams.models import Team

from .. import pillars, rubric
from ..models import LEVEL_NAMES, Check, Exemption, Scorecard
from .leadership import latest_snapshots


def active_exemptions(team_ids: list[int], as_of: date) -> dict[int, dict[int, str]]:
    """{team id: {check id: ISO expiry}} of the exemptions granted and running on `as_of` (one query)."""
    out: dict[int, dict[int, str]] = {}
    for team_id, check_id, expires_on in Exemption.objects.filter(
        team_id__in=team_ids,
        status=Exemption.Status.GRANTED,
        expires_on__gte=as_of,
        decided_at__date__lte=as_of,
    ).values_list("team_id", "level_check_id", "expires_on"):
        out.setdefault(team_id, {})[check_id] = expires_on.isoformat()
    return out


@dataclass
class GraceRow:
    team: Team
    level_stored: int  # the level of the team's latest snapshot
    level_now: int  # under today's rubric (pending checks left out): what the next run gives
    level_when_applied: int  # once every pending check applies

    @property
    def drops(self) -> bool:
        return self.level_when_applied < self.level_now

    @property
    def level_when_applied_name(self) -> str:
        return LEVEL_NAMES.get(self.level_when_applied, "")


@dataclass
class GracePreview:
    pending: list[Check]
    rows: list[GraceRow] = field(default_factory=list)

    @property
    def drops(self) -> list[GraceRow]:
        return [r for r in self.rows if r.drops]


def grace_preview(*, scorecard: Scorecard, as_of: date | None = None) -> GracePreview:
    """The checks in their grace period on `as_of` (default today) and, per scored team, its level
    under today's rubric and once they apply: pillars.score_team on the stored inputs, the same rule
    as the scoring job. Queries: checks, teams, two for the snapshots, exemptions."""
    as_of = as_of or timezone.localdate()
    checks = list(scorecard.checks.order_by("level", "order"))
    pending = [c for c in checks if c.informational_until and c.informational_until > as_of]
    teams = Team.objects.filter(organization_id=scorecard.organization_id)
    by_id = {t.pk: t for t in teams.order_by("name")}
    latest = latest_snapshots(teams)
    exemptions = active_exemptions(list(latest), as_of)
    specs = rubric.specs(checks)
    rows = []
    for tid, team in by_id.items():
        snap = latest.get(tid)
        if snap is None:
            continue
        result = pillars.score_team(
            snap.inputs or {},
            weights=scorecard.weights,
            checks=specs,
            gap_threshold=scorecard.gap_threshold,
            exemptions=exemptions.get(tid),
            as_of=as_of,
        )
        rows.append(GraceRow(team, snap.level, result.level, result.level_when_applied))
    return GracePreview(pending=pending, rows=rows)
