"""The SRE demo data: idempotent, and it shows a team above the toil guideline and a runbook due."""

import pytest

from apps.sre import demo, selectors
from apps.sre.models import Runbook, ToilItem, ToilReview

pytestmark = pytest.mark.django_db


def test_seed_twice_changes_nothing(cast):
    logs = []
    context = {"organization": cast.org, "teams": [cast.team, cast.other_team], "log": logs.append}
    demo.seed(context)
    counts = (ToilItem.objects.count(), ToilReview.objects.count(), Runbook.objects.count())
    demo.seed(context)
    assert (ToilItem.objects.count(), ToilReview.objects.count(), Runbook.objects.count()) == counts
    assert counts[0] > 0 and counts[1] == 2 and counts[2] == 1  # one tier-1 service in the cast
    assert logs[-1] == "0 toil items, 0 toil reviews, 0 runbooks"
    heavy = selectors.team_toil(team_ids=[cast.team.pk])[cast.team.pk]
    # Checkout (heavy): open items 3 x (6 + 3 + 5 + 4 + 8) = 78 h of 3 x 40 = 120 h: 65 %, above the guideline.
    assert heavy["hours"] == 78.0 and heavy["capacity"] == 120.0 and heavy["share"] == 0.65
    assert heavy["saved_hours"] == 10.5  # 3 x (2 + 1.5)
