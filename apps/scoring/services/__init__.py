"""Writes of the scoring app, one module per subject; every public function takes a required `actor`.

- scorecards: the org's rubric (ensure from the default, settings, level checks)
- exemptions: request, grant, renew, reject, revoke (each recorded as an ExemptionEvent)
- runs: the scoring job (score teams, record runs, queue a run)
"""

from ..rubric import default_rubric
from ..rubric import specs as _specs
from .exemptions import (
    exemption_grant,
    exemption_reject,
    exemption_renew,
    exemption_request,
    exemption_revoke,
)
from .runs import SNAPSHOT_FIELDS, score_all_organizations, score_teams, scoring_request, scoring_run
from .scorecards import check_create, check_update, scorecard_ensure, scorecard_update, scorecards_ensure

__all__ = [
    "SNAPSHOT_FIELDS",
    "_specs",
    "check_create",
    "check_update",
    "default_rubric",
    "exemption_grant",
    "exemption_reject",
    "exemption_renew",
    "exemption_request",
    "exemption_revoke",
    "score_all_organizations",
    "score_teams",
    "scorecard_ensure",
    "scorecard_update",
    "scorecards_ensure",
    "scoring_request",
    "scoring_run",
]
