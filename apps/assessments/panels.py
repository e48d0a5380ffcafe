"""Context of the assessments panel on the team page (registered in apps.py)."""

from collections import defaultdict

from django.utils import timezone

from apps.core import permissions
from apps.core.charts import chart_attr

from . import charts
from .frameworks import SCORED_FAMILY
from .models import Assessment, Dimension


def _family_order(key: str):
    return (key != SCORED_FAMILY, key)


def team_panel(request, team) -> dict:
    """Context of the self-assessment panel on the team page: the latest submitted result of each
    framework family side by side (DevOps/CALMS first, then SRE practices), each with its radar,
    a "not submitted yet" place for a family the team was asked but has not submitted, and the
    open assessments. Three queries."""
    user = request.user
    latest, pending = {}, {}
    for a in (
        Assessment.objects.filter(team=team)
        .select_related("campaign", "framework")
        .order_by("-campaign__opens_on", "-submitted_at", "-pk")
    ):
        key = a.framework.key
        if a.is_submitted:
            latest.setdefault(key, a)  # a team has a handful of cycles: newest per family
        else:
            pending.setdefault(key, a)
    dims = defaultdict(list)
    for d in Dimension.objects.filter(framework_id__in=[a.framework_id for a in latest.values()]).order_by(
        "order", "pk"
    ):
        dims[d.framework_id].append(d)
    profiles = []
    for position, key in enumerate(sorted(set(latest) | set(pending), key=_family_order)):
        a = latest.get(key)
        if a is None:
            waiting = pending[key]
            profiles.append({"key": key, "name": waiting.framework.name, "assessment": None, "pending": waiting})
            continue
        scores = [(d.name, a.dimension_scores.get(d.key)) for d in dims[a.framework_id]]
        profiles.append(
            {
                "key": key,
                "name": a.framework.name,
                "assessment": a,
                "dimensions": scores,
                "chart": chart_attr(charts.profile_radar(a.framework.name, scores, second=position > 0)),
            }
        )
    today = timezone.localdate()
    current = []
    if permissions.team_role(user, team) is not None or permissions.sees_whole_org(user, team.organization):
        current = list(
            Assessment.objects.filter(team=team, campaign__opens_on__lte=today, campaign__closes_on__gte=today)
            .exclude(status=Assessment.Status.SUBMITTED)
            .select_related("campaign", "framework")
            .order_by("-campaign__opens_on", "framework__key")
        )
    return {
        "profiles": profiles,
        "has_submitted": bool(latest),
        "has_chart": any(p.get("chart") for p in profiles),
        "current": current,
    }
