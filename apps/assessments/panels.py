"""Context of the assessments panel on the team page (registered in apps.py)."""

from collections import defaultdict

from django.utils import timezone

from apps.core import permissions

from .frameworks import SCORED_FAMILY
from .models import Assessment, Dimension


def team_panel(request, team) -> dict:
    """Context of the self-assessment panel on the team page: the latest submitted result of each
    framework family (CALMS and SRE practices side by side) and the open assessments."""
    user = request.user
    seen = {}
    for a in (
        Assessment.objects.filter(team=team, status=Assessment.Status.SUBMITTED)
        .select_related("campaign", "framework")
        .order_by("-submitted_at", "-pk")
    ):
        seen.setdefault(a.framework.key, a)  # a team has a handful of cycles: newest per family
    latest = list(seen.values())
    latest.sort(key=lambda a: (a.framework.key != SCORED_FAMILY, a.framework.key))
    dims = defaultdict(list)
    for d in Dimension.objects.filter(framework_id__in=[a.framework_id for a in latest]).order_by("order", "pk"):
        dims[d.framework_id].append(d)
    profiles = [
        {"assessment": a, "dimensions": [(d.name, a.dimension_scores.get(d.key)) for d in dims[a.framework_id]]}
        for a in latest
    ]
    today = timezone.localdate()
    current = []
    if permissions.team_role(user, team) is not None or permissions.sees_whole_org(user, team.organization):
        current = list(
            Assessment.objects.filter(team=team, campaign__opens_on__lte=today, campaign__closes_on__gte=today)
            .exclude(status=Assessment.Status.SUBMITTED)
            .select_related("campaign", "framework")
            .order_by("-campaign__opens_on")
        )
    return {"profiles": profiles, "current": current}
