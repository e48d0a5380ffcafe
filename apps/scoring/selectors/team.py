"""Reads of one organization's scorecard and one team's scores, exemptions and evidence links."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from apps.core import figures, permissions
from apps.teams.models import Team

from .. import charts, metrics, pillars
from ..models import LEVEL_NAMES, Check, Exemption, ExemptionEvent, Scorecard, Snapshot
from .common import COVERAGE_LABEL, PILLAR_LABELS, _fmt_score, _url, dora_figures, score_band, window_label


def scorecard_for(*, organization) -> Scorecard | None:
    """The org's scorecard with its checks, or None before one exists (reads never create it:
    the org-creation signal, the scoring job and the API's ensure action do)."""
    return (
        Scorecard.objects.filter(organization=organization)
        .prefetch_related(Prefetch("checks", queryset=Check.objects.order_by("level", "order")))
        .first()
    )


def scorecard_list(*, user) -> QuerySet:
    return permissions.viewable(user, Scorecard.objects.select_related("organization")).prefetch_related(
        Prefetch("checks", queryset=Check.objects.order_by("level", "order"))
    )


def snapshot_list(*, user, team=None, since: date | None = None, until: date | None = None) -> QuerySet:
    qs = permissions.viewable(user, Snapshot.objects.select_related("team"))
    if team is not None:
        qs = qs.filter(team=team)
    if since is not None:
        qs = qs.filter(date__gte=since)
    if until is not None:
        qs = qs.filter(date__lte=until)
    return qs.order_by("team_id", "-date")


def exemption_list(*, user, team=None, status: str | None = None) -> QuerySet:
    qs = permissions.viewable(
        user, Exemption.objects.select_related("team", "level_check", "requested_by", "decided_by")
    ).prefetch_related(Prefetch("events", queryset=ExemptionEvent.objects.select_related("actor")))
    if team is not None:
        qs = qs.filter(team=team)
    if status:
        qs = qs.filter(status=status)
    return qs


def exemption_state(exemption: Exemption, today: date | None = None) -> str:
    """requested | granted | expired | rejected | revoked (a grant past its date is expired)."""
    today = today or timezone.localdate()
    if exemption.status == Exemption.Status.GRANTED and exemption.expires_on and exemption.expires_on < today:
        return "expired"
    return exemption.status


# --- one team ---------------------------------------------------------------------------------


def evidence_links(team: Team) -> dict[str, str | None]:
    """Where the numbers of each source can be checked, for this team."""
    links = {
        "assessments": _url("assessments:team_history", team.pk),
        "delivery": _url("delivery:team", team.pk),
        "slos": _url("slos:catalog"),
        "postmortems": _url("postmortems:incidents"),
        "sre": _url("sre:toil", team.pk),
        "runbooks": _url("sre:runbooks"),
    }
    if links["runbooks"]:
        links["runbooks"] += f"?team={team.pk}"
    if links["slos"]:
        links["slos"] += f"?team={team.pk}"
    if links["postmortems"]:
        links["postmortems"] += f"?team={team.pk}"
    return links


def _from_first_evidence(history: list[Snapshot]) -> list[Snapshot]:
    """The trend starts where evidence starts: snapshots before the first measured one are left out."""
    for i, snap in enumerate(history):
        if snap.is_measured:
            return history[i:]
    return []


@dataclass
class PillarCard:
    key: str
    label: str
    score: float | None
    weight: int
    band: str
    parts: list[tuple[str, str]] = field(default_factory=list)
    evidence_url: str | None = None


def pillar_cards(snapshot: Snapshot, links: dict) -> list[PillarCard]:
    """The four pillars with the inputs behind each, in words."""
    inputs = snapshot.inputs or {}
    weights = snapshot.weights or {}
    a = inputs.get("assessment") or {}
    dora = inputs.get("dora") or {}
    rel = inputs.get("reliability") or {}
    learning = inputs.get("learning") or {}
    cards = []
    parts = (
        [(pillars.DIMENSION_LABELS[d], _fmt_score((a.get("dimensions") or {}).get(d))) for d in pillars.DIMENSIONS]
        if a
        else [("Self-assessment", "none submitted")]
    )
    cards.append(("self_assessment", parts, links.get("assessments")))
    parts = [
        (f"{label} ({group.lower()})", f"{shown} · {tier}" if tier else shown)
        for group, label, shown, tier in dora_figures(dora)
    ]
    cards.append(("delivery", parts, links.get("delivery")))
    rparts = pillars.reliability_parts(rel)
    if rparts is None:
        parts = [("Services", "none owned")]
    else:
        parts = [
            (COVERAGE_LABEL, figures.share(rparts["coverage"])),
            ("Services with an SLO", figures.of(rel.get("services_with_slo"), rel.get("services"))),
            ("SLOs meeting target", metrics.format_value("slo.attainment", rel.get("attainment"))),
            ("Budget left (avg)", metrics.format_value("slo.budget_remaining", rel.get("budget_remaining_avg"))),
        ]
    cards.append(("reliability", parts, links.get("slos")))
    parts = [
        (
            f"SEV1-2 with a published postmortem ({window_label(inputs)})",
            figures.of(learning.get("sev12_with_published_pm"), learning.get("sev12_incidents"), none="no SEV1-2"),
        ),
        (
            "Median days to publish",
            metrics.format_value("pm.median_days_to_publish", learning.get("median_days_to_publish")),
        ),
        (
            "Action items closed on time",
            figures.of(learning.get("action_items_closed_on_time"), learning.get("action_items_due"), none="none due"),
        ),
    ]
    cards.append(("learning", parts, links.get("postmortems")))
    return [
        PillarCard(
            key=key,
            label=PILLAR_LABELS[key],
            score=getattr(snapshot, key),
            weight=weights.get(key, 0),
            band=score_band(getattr(snapshot, key)),
            parts=parts,
            evidence_url=url,
        )
        for key, parts, url in cards
    ]


@dataclass
class TeamScorecard:
    team: Team
    scorecard: Scorecard | None
    latest: Snapshot | None
    history: list[Snapshot]
    checks_by_level: list[tuple[int, str, list[dict]]]
    pillar_cards: list[PillarCard]
    trend_chart: str | None
    exemptions: list[Exemption]
    requestable_checks: list[Check]
    links: dict
    level_name: str = ""
    pending_check_ids: set = field(default_factory=set)
    # Checks in their grace period (shown, not yet counted) and the level once they apply.
    grace_checks: list[dict] = field(default_factory=list)
    level_when_applied: int | None = None

    @property
    def level_when_applied_name(self) -> str:
        return LEVEL_NAMES.get(self.level_when_applied, "") if self.level_when_applied else ""

    @property
    def exemption_rate(self) -> float | None:
        return self.latest.exemption_rate if self.latest else None


def team_scorecard(*, user, team: Team) -> TeamScorecard:
    scorecard = scorecard_for(organization=team.organization)
    since = timezone.localdate() - timedelta(weeks=52)
    history = list(Snapshot.objects.filter(team=team, date__gte=since).order_by("date"))
    latest = history[-1] if history else Snapshot.objects.filter(team=team).order_by("-date").first()
    links = evidence_links(team)
    by_level: dict[int, list[dict]] = defaultdict(list)
    for result in latest.checks if latest else []:
        by_level[result["level"]].append(pillars.present_check(result))
    checks_by_level = [(lvl, LEVEL_NAMES[lvl], by_level[lvl]) for lvl in sorted(by_level)]
    exemptions = list(exemption_list(user=user, team=team).order_by("-created_at"))
    today = timezone.localdate()
    for e in exemptions:
        e.state = exemption_state(e, today)
    open_ids = {e.level_check_id for e in exemptions if e.state in ("requested", "granted")}
    failed_ids = {r["id"] for r in (latest.checks if latest else []) if r["status"] == "failed"}
    rubric = scorecard.checks.all() if scorecard else []
    requestable = [c for c in rubric if c.pk not in open_ids and (not latest or c.pk in failed_ids)]
    return TeamScorecard(
        team=team,
        scorecard=scorecard,
        latest=latest,
        history=history,
        checks_by_level=checks_by_level,
        pillar_cards=pillar_cards(latest, links) if latest else [],
        trend_chart=charts.team_trend_chart(_from_first_evidence(history)),
        exemptions=exemptions,
        requestable_checks=requestable,
        links=links,
        level_name=LEVEL_NAMES.get(latest.level, "") if latest else "",
        pending_check_ids={e.level_check_id for e in exemptions if e.state == "requested"},
        grace_checks=[pillars.present_check(r) for r in latest.pending_checks] if latest else [],
        level_when_applied=latest.level_when_applied if latest else None,
    )
