"""Reads of the comparison page: up to six teams side by side."""

from __future__ import annotations

from dataclasses import dataclass

from apps.core import figures, permissions
from apps.teams.models import Team

from .. import charts, metrics, pillars
from ..models import PILLARS, Snapshot
from .common import COVERAGE_LABEL, MAX_COMPARE, dora_figures, score_band
from .leadership import latest_snapshots


class CompareError(ValueError):
    pass


def parse_team_ids(raw: str | list[str] | None) -> list[int]:
    """ "1,2,3" (or repeated values) to a list of at most 6 distinct ids; bad input raises CompareError."""
    if not raw:
        return []
    parts = raw if isinstance(raw, list) else [raw]
    ids: list[int] = []
    for part in parts:
        for piece in str(part).split(","):
            piece = piece.strip()
            if not piece:
                continue
            if not piece.isdigit():
                raise CompareError(f"{piece!r} is not a team id.")
            if int(piece) not in ids:
                ids.append(int(piece))
    if len(ids) > MAX_COMPARE:
        raise CompareError(f"Compare at most {MAX_COMPARE} teams at once.")
    return ids


@dataclass
class CompareColumn:
    team: Team
    snapshot: Snapshot | None
    colour: str

    def _in(self, *path):
        d = (self.snapshot.inputs if self.snapshot else {}) or {}
        for p in path:
            d = (d or {}).get(p)
        return d

    @property
    def pillars(self) -> list[tuple[str, float | None, str]]:
        if not self.snapshot:
            return [(label, None, "none") for _, label in PILLARS]
        return [(label, getattr(self.snapshot, key), score_band(getattr(self.snapshot, key))) for key, label in PILLARS]

    @property
    def dora(self) -> list[tuple[str, str, str, str | None]]:
        return dora_figures(self._in("dora"))

    @property
    def slo(self) -> list[tuple[str, str]]:
        rel = self._in("reliability") or {}
        return [
            (COVERAGE_LABEL, figures.share((pillars.reliability_parts(rel) or {}).get("coverage"))),
            ("Services with an SLO", figures.of(rel.get("services_with_slo"), rel.get("services"))),
            (
                "Tier-1 coverage",
                metrics.format_value("slo.coverage_tier1", (rel.get("coverage_by_tier") or {}).get("1")),
            ),
            ("SLOs meeting target", metrics.format_value("slo.attainment", rel.get("attainment"))),
            ("Budget left (avg)", metrics.format_value("slo.budget_remaining", rel.get("budget_remaining_avg"))),
        ]

    @property
    def calms(self) -> list[tuple[str, float | None]]:
        dims = self._in("assessment", "dimensions") or {}
        return [(pillars.DIMENSION_LABELS[d], dims.get(d)) for d in pillars.DIMENSIONS]


@dataclass
class Comparison:
    columns: list[CompareColumn]
    radar_chart: str | None
    calms_chart: str | None


def comparison(*, user, organization, team_ids: list[int]) -> Comparison:
    """Side by side: the chosen teams' latest snapshots. Teams the user cannot see are ignored."""
    teams = permissions.viewable(user, Team.objects.filter(organization=organization, pk__in=team_ids)).select_related(
        "department"
    )
    order = {tid: i for i, tid in enumerate(team_ids)}
    team_list = sorted(teams, key=lambda t: order[t.pk])
    latest = latest_snapshots(teams)
    palette = charts.PALETTE
    columns = [CompareColumn(t, latest.get(t.pk), palette[i % len(palette)]) for i, t in enumerate(team_list)]
    scored = [c for c in columns if c.snapshot]
    radar = charts.radar_chart(scored)
    calms = charts.calms_chart(scored, [pillars.DIMENSION_LABELS[d] for d in pillars.DIMENSIONS])
    return Comparison(columns=columns, radar_chart=radar, calms_chart=calms)


def comparison_payload(comp: Comparison) -> list[dict]:
    """The comparison as plain data (API)."""
    out = []
    for c in comp.columns:
        s = c.snapshot
        out.append(
            {
                "team": {"id": c.team.pk, "name": c.team.name},
                "date": s.date if s else None,
                "level": s.level if s else None,
                "overall": s.overall if s else None,
                "pillars": s.pillars if s else dict.fromkeys(pillars.PILLAR_KEYS),
                "pillars_measured": s.measured if s else 0,
                "dora": (s.inputs or {}).get("dora") if s else None,
                "reliability": (s.inputs or {}).get("reliability") if s else None,
                "calms": ((s.inputs or {}).get("assessment") or {}).get("dimensions") if s else None,
                "gaps": s.gaps if s else [],
            }
        )
    return out


def mixed_departments(comp: Comparison) -> int:
    """How many departments the compared teams come from (more than one: say so)."""
    return len({c.team.department_id for c in comp.columns})
