"""The service checks: pure definitions, each judged from data the platform already stores.

A check contributes SQL annotations to ONE query over the services being judged
(`annotate(today, params)`), then judges each row in Python (`judge(row, params, today)`).
So `selectors.evaluate` costs one query whatever the number of services or checks.

A judgement is a `Result(passed, reason, link)`: `passed` is True, False, or None when the
check does not apply to the service (an SLO check on a tier-3 service). `link` is where the
evidence lives or the fix is made. Parameters (days, tiers) belong to the check, with defaults;
`selectors.evaluate(..., params={key: {...}})` overrides them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from django.db.models import Exists, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse

TIER_LABEL = {1: "tier-1", 2: "tier-2", 3: "tier-3"}


@dataclass(frozen=True)
class Result:
    passed: bool | None  # None: the check does not apply to this service
    reason: str
    link: str | None = None

    @property
    def state(self) -> str:
        return {True: "pass", False: "fail", None: "n/a"}[self.passed]


@dataclass(frozen=True)
class ServiceRef:
    """What a check knows of a service besides its annotations (one row of the evaluating query)."""

    id: int
    team_id: int
    tier: int
    lifecycle: str

    @property
    def pk(self) -> int:
        return self.id


@dataclass(frozen=True)
class ServiceCheck:
    key: str
    label: str
    description: str
    # (today, params) -> {annotation name: expression}; names are prefixed with the key by the selector.
    annotate: Callable[[date, dict], dict]
    # (service, values of this check's annotations, params, today) -> Result
    judge: Callable[[ServiceRef, dict, dict, date], Result]
    # Where a person sees the evidence or fixes it, for one service.
    evidence_url: Callable[[ServiceRef], str | None]
    params: dict = field(default_factory=dict)
    applies_to: str = "every service"  # in words, for pages and docs
    short: str = ""  # a column header; the label when empty

    @property
    def header(self) -> str:
        return self.short or self.label

    def params_with(self, overrides: dict | None) -> dict:
        return {**self.params, **(overrides or {})}


_SENTINEL = 987654321


@lru_cache(maxsize=64)
def _pattern(name: str, with_id: bool) -> str:
    return reverse(name, args=[_SENTINEL] if with_id else [])


def _path(name: str, pk: int | None = None) -> str:
    """reverse() for a URL with at most one integer id, resolved once per URL name (the evaluator
    builds thousands of links; resolving each costs more than the query)."""
    if pk is None:
        return _pattern(name, False)
    return _pattern(name, True).replace(str(_SENTINEL), str(int(pk)))


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def _service_edit(s: ServiceRef) -> str:
    return _path("teams:service_edit", s.id)


def _team_page(s: ServiceRef) -> str:
    return _path("teams:detail", s.team_id)


def _tier_applies(s: ServiceRef, params: dict) -> bool:
    return s.tier in tuple(params.get("tiers") or ())


def _tiers_words(params: dict) -> str:
    return " or ".join(TIER_LABEL.get(t, f"tier-{t}") for t in params["tiers"])


# --- owning team has a lead ---------------------------------------------------------------
# Service.team is required (on_delete=PROTECT), so "owning team set" always holds; the check
# that can fail is whether someone answers for that team: an active member with the lead role.


def _lead_annotate(today, params):
    from apps.teams.models import TeamMembership

    return {
        "lead": Exists(
            TeamMembership.objects.filter(
                team_id=OuterRef("team_id"), role=TeamMembership.Role.LEAD, user__is_active=True
            )
        )
    }


def _lead_judge(s, v, params, today):
    if v["lead"]:
        return Result(True, "The owning team has a lead.", _team_page(s))
    return Result(False, "The owning team has no active team lead.", _team_page(s))


# --- runbook link present -----------------------------------------------------------------


def _runbook_annotate(today, params):
    from apps.sre.models import Runbook

    return {"linked": Exists(Runbook.objects.filter(services=OuterRef("pk")))}


def _runbook_judge(s, v, params, today):
    if v["linked"]:
        return Result(True, "A runbook record covers this service.", _path("sre:runbooks") + f"?service={s.id}")
    if v["runbook_url"]:
        return Result(True, "The service links a runbook.", v["runbook_url"])
    return Result(False, "No runbook link and no runbook record covers this service.", _service_edit(s))


# --- tier-1 runbook reviewed recently -----------------------------------------------------


def _reviewed_annotate(today, params):
    from apps.sre.models import Runbook

    cutoff = today - timedelta(days=params["days"])
    return {
        "reviewed": Exists(
            Runbook.objects.filter(services=OuterRef("pk"), last_reviewed_on__gte=cutoff, last_reviewed_on__lte=today)
        ),
        "any": Exists(Runbook.objects.filter(services=OuterRef("pk"))),
    }


def _reviewed_judge(s, v, params, today):
    if not _tier_applies(s, params):
        return Result(None, f"Only {_tiers_words(params)} services need a reviewed runbook.")
    link = _path("sre:runbooks")
    if v["reviewed"]:
        return Result(True, f"A runbook for it was reviewed in the last {params['days']} days.", link)
    if v["any"]:
        return Result(False, f"No runbook for it was reviewed in the last {params['days']} days.", link)
    return Result(False, "No runbook record covers this service.", _path("sre:runbook_create") + f"?service={s.id}")


# --- repository linked --------------------------------------------------------------------

_REPO_KINDS = ("github", "gitlab")
_ONCALL_KINDS = ("pagerduty", "opsgenie")


def _mapped(kinds):
    from apps.delivery.models import ServiceMapping

    return Exists(
        ServiceMapping.objects.filter(service=OuterRef("pk"), integration__kind__in=kinds, integration__is_active=True)
    )


def _repo_annotate(today, params):
    return {"mapped": _mapped(_REPO_KINDS)}


def _repo_judge(s, v, params, today):
    if v["mapped"]:
        return Result(True, "A GitHub or GitLab repository maps to it.", _path("delivery:integrations"))
    if v["repository_url"]:
        return Result(True, "The service links its repository.", v["repository_url"])
    return Result(False, "No repository link and no GitHub or GitLab mapping.", _service_edit(s))


# --- on-call source connected -------------------------------------------------------------


def _oncall_annotate(today, params):
    return {"mapped": _mapped(_ONCALL_KINDS)}


def _oncall_judge(s, v, params, today):
    link = _path("delivery:integrations")
    if not _tier_applies(s, params):
        return Result(None, f"Only {_tiers_words(params)} services need an on-call source.")
    if v["mapped"]:
        return Result(True, "An active PagerDuty or Opsgenie integration maps to it.", link)
    return Result(False, "No active PagerDuty or Opsgenie integration maps to it.", link)


# --- SLO for tier-1 -----------------------------------------------------------------------


def _slo_annotate(today, params):
    from apps.slos.models import SLO

    return {"slo": Exists(SLO.objects.filter(sli__service=OuterRef("pk")))}


def _slo_judge(s, v, params, today):
    if not _tier_applies(s, params):
        return Result(None, f"Only {_tiers_words(params)} services need an SLO.")
    if v["slo"]:
        return Result(True, "It has an SLO.", _path("slos:catalog") + f"?service={s.id}")
    return Result(False, "It has no SLO.", _path("slos:create"))


# --- production deployment in the last N days ---------------------------------------------


def _deploy_annotate(today, params):
    from apps.delivery.models import Deployment

    until = _end_of(today)
    since = until - timedelta(days=params["days"])
    return {
        "recent": Exists(
            Deployment.objects.filter(
                service=OuterRef("pk"),
                is_production=True,
                status=Deployment.Status.SUCCESS,
                finished_at__gte=since,
                finished_at__lt=until,
            )
        )
    }


def _deploy_judge(s, v, params, today):
    if s.lifecycle != "production":
        return Result(None, "Only services in production need recent deployments.")
    link = _path("delivery:deployments") + f"?service={s.id}"
    if v["recent"]:
        return Result(True, f"Deployed to production successfully in the last {params['days']} days.", link)
    return Result(False, f"No successful production deployment in the last {params['days']} days.", link)


# --- burn-rate alerts routed --------------------------------------------------------------
# Burn-rate alerts go to the owning team's alert settings (apps.slos AlertSettings: an e-mail
# and/or a webhook). The check applies to services with an SLO that evaluates alerts.


def _alerts_annotate(today, params):
    from apps.slos.models import SLO, AlertSettings

    return {
        "alerting": Exists(SLO.objects.filter(sli__service=OuterRef("pk"), alerting=True)),
        "routed": Exists(
            AlertSettings.objects.filter(team_id=OuterRef("team_id")).filter(~Q(email="") | ~Q(webhook_url=""))
        ),
    }


def _alerts_judge(s, v, params, today):
    link = _path("slos:alert_settings", s.team_id)
    if not v["alerting"]:
        return Result(None, "No SLO of this service evaluates burn-rate alerts.")
    if v["routed"]:
        return Result(True, "Burn-rate alerts reach the team's e-mail or webhook.", link)
    return Result(False, "Burn-rate alerts fire but the team set no e-mail or webhook to receive them.", link)


# --- postmortems published for SEV1-2 incidents -------------------------------------------
# Incidents affecting the service, SEV1 or SEV2, resolved in the window and at least
# `grace_days` ago (a postmortem takes time), each need a published postmortem.


def _pm_incidents(today, params):
    from apps.postmortems.models import Incident

    until = _end_of(today) - timedelta(days=params["grace_days"])
    since = _end_of(today) - timedelta(days=params["window_days"])
    return Incident.objects.filter(
        services=OuterRef("pk"),
        severity__lte=params["max_severity"],
        status=Incident.Status.RESOLVED,
        resolved_at__gte=since,
        resolved_at__lt=until,
    )


def _count(qs):
    from django.db.models import Count

    return Coalesce(
        Subquery(qs.order_by().values("services").annotate(n=Count("pk", distinct=True)).values("n")[:1]),
        0,
        output_field=IntegerField(),
    )


def _pm_annotate(today, params):
    from apps.postmortems.models import Postmortem

    incidents = _pm_incidents(today, params)
    missing = incidents.exclude(postmortem__status=Postmortem.Status.PUBLISHED)
    return {
        "due": _count(incidents),
        "missing": _count(missing),
        "first_missing": Subquery(missing.order_by("resolved_at", "pk").values("pk")[:1]),
    }


def _pm_judge(s, v, params, today):
    due, missing = v["due"], v["missing"]
    sev = "SEV1-2" if params["max_severity"] == 2 else f"SEV1-{params['max_severity']}"
    if not due:
        return Result(None, f"No {sev} incident resolved in the last {params['window_days']} days needs one.")
    published = due - missing
    reason = f"{published} of {due} {sev} incidents have a published postmortem."
    if not missing:
        return Result(True, reason, _path("postmortems:incidents") + f"?service={s.id}")
    return Result(False, reason, _path("postmortems:incident_detail", v["first_missing"]))


CHECKS: dict[str, ServiceCheck] = {
    c.key: c
    for c in (
        ServiceCheck(
            "team_lead",
            "Owning team has a lead",
            "The team that owns the service has an active team lead (the owning team itself is always set).",
            _lead_annotate,
            _lead_judge,
            _team_page,
            short="Team lead",
        ),
        ServiceCheck(
            "runbook_link",
            "Runbook link present",
            "The service links a runbook, or a runbook record covers it.",
            _runbook_annotate,
            _runbook_judge,
            _service_edit,
            short="Runbook",
        ),
        ServiceCheck(
            "runbook_reviewed",
            "Runbook reviewed recently",
            "A runbook record covering the service was reviewed in the last 180 days.",
            _reviewed_annotate,
            _reviewed_judge,
            lambda s: _path("sre:runbooks"),
            params={"days": 180, "tiers": (1,)},
            applies_to="tier-1 services",
            short="Runbook reviewed",
        ),
        ServiceCheck(
            "repository_linked",
            "Repository linked",
            "The service links its repository, or an active GitHub/GitLab integration maps a repository to it.",
            _repo_annotate,
            _repo_judge,
            _service_edit,
            short="Repository",
        ),
        ServiceCheck(
            "oncall_connected",
            "On-call source connected",
            "An active PagerDuty or Opsgenie integration maps to the service.",
            _oncall_annotate,
            _oncall_judge,
            lambda s: _path("delivery:integrations"),
            params={"tiers": (1, 2)},
            applies_to="tier-1 and tier-2 services",
            short="On-call",
        ),
        ServiceCheck(
            "slo_defined",
            "Has an SLO",
            "At least one SLO measures the service.",
            _slo_annotate,
            _slo_judge,
            lambda s: _path("slos:create"),
            params={"tiers": (1,)},
            applies_to="tier-1 services",
            short="SLO",
        ),
        ServiceCheck(
            "recent_deploy",
            "Deployed to production recently",
            "A successful production deployment finished in the last 30 days.",
            _deploy_annotate,
            _deploy_judge,
            lambda s: _path("delivery:deployments") + f"?service={s.id}",
            params={"days": 30},
            applies_to="services in production",
            short="Deployed",
        ),
        ServiceCheck(
            "alerts_routed",
            "Burn-rate alerts routed",
            "The owning team's SLO alert settings name an e-mail or a webhook.",
            _alerts_annotate,
            _alerts_judge,
            lambda s: _path("slos:alert_settings", s.team_id),
            applies_to="services with an SLO that evaluates burn-rate alerts",
            short="Alerts routed",
        ),
        ServiceCheck(
            "postmortems_published",
            "Postmortems published",
            "Every SEV1-2 incident on the service resolved in the last 180 days (and at least 7 days ago) "
            "has a published postmortem.",
            _pm_annotate,
            _pm_judge,
            lambda s: _path("postmortems:incidents"),
            params={"window_days": 180, "grace_days": 7, "max_severity": 2},
            applies_to="services with such incidents",
            short="Postmortems",
        ),
    )
}

KEYS: tuple[str, ...] = tuple(CHECKS)


def get(key: str) -> ServiceCheck:
    try:
        return CHECKS[key]
    except KeyError:
        raise KeyError(f"Unknown service check {key!r}; known: {', '.join(KEYS)}") from None


def choices() -> list[tuple[str, str]]:
    return [(c.key, c.label) for c in CHECKS.values()]
