"""Reads of the scoring app, one module per page family; every page's query count is fixed.

- common: DORA figures in words, score bands, labels, links to other apps' pages
- team: the scorecard, one team's scores, exemptions and evidence
- leadership: ranking, rollups, movers, summaries
- comparison: teams side by side

Chart configs are in apps/scoring/charts.py, the CSV in exports.py, the team panel in panels.py.
Names are re-exported here so callers keep `selectors.<name>`.
"""

from ..charts import team_trend_chart as _trend_chart
from ..exports import CSV_HEADER, csv_rows
from .common import (
    COVERAGE_LABEL,
    DORA_GROUPS,
    DORA_LABELS,
    DORA_METRIC,
    MAX_COMPARE,
    PERIODS,
    PILLAR_LABELS,
    TREND_WEEKS,
    dora_figures,
    score_band,
    window_label,
)
from .comparison import (
    CompareColumn,
    CompareError,
    Comparison,
    comparison,
    comparison_payload,
    mixed_departments,
    parse_team_ids,
)
from .leadership import (
    LIGHT_FIELDS,
    Dashboard,
    Filters,
    Previous,
    Rollup,
    Row,
    cohort_label,
    dashboard,
    departments_for,
    latest_snapshots,
    leadership_teams,
    my_team_snapshots,
    org_summary,
    previous_scores,
    rollup,
    teams_for_picker,
)
from .rubric import GracePreview, GraceRow, active_exemptions, grace_preview
from .team import (
    PillarCard,
    TeamScorecard,
    _from_first_evidence,
    evidence_links,
    exemption_list,
    exemption_state,
    pillar_cards,
    scorecard_for,
    scorecard_list,
    snapshot_list,
    team_scorecard,
)

__all__ = [
    "COVERAGE_LABEL",
    "CSV_HEADER",
    "DORA_GROUPS",
    "DORA_LABELS",
    "DORA_METRIC",
    "LIGHT_FIELDS",
    "MAX_COMPARE",
    "PERIODS",
    "PILLAR_LABELS",
    "TREND_WEEKS",
    "CompareColumn",
    "CompareError",
    "Comparison",
    "Dashboard",
    "Filters",
    "GracePreview",
    "GraceRow",
    "active_exemptions",
    "grace_preview",
    "PillarCard",
    "Previous",
    "Rollup",
    "Row",
    "TeamScorecard",
    "_from_first_evidence",
    "_trend_chart",
    "cohort_label",
    "comparison",
    "comparison_payload",
    "csv_rows",
    "dashboard",
    "departments_for",
    "dora_figures",
    "evidence_links",
    "exemption_list",
    "exemption_state",
    "latest_snapshots",
    "leadership_teams",
    "mixed_departments",
    "my_team_snapshots",
    "org_summary",
    "parse_team_ids",
    "pillar_cards",
    "previous_scores",
    "rollup",
    "score_band",
    "scorecard_for",
    "scorecard_list",
    "snapshot_list",
    "team_scorecard",
    "teams_for_picker",
    "window_label",
]
