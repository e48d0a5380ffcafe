"""Writes for the error-budget release gate."""

import time
from datetime import timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core import permissions
from apps.core.db import fetchone_prepared
from apps.slos import selectors as slo_selectors
from apps.slos.maths import policy_steps_reached

from .models import GateDecision, GateOverride, IncidentRunbook, Runbook, ToilItem, ToilReview
from .selectors import gate_access, gate_check, override_for_call

# A reached policy step at or above this consumed share freezes feature deploys.
FREEZE_AT_PERCENT = 100
MAX_OVERRIDE_HOURS = 72
# Budgets move in 5-minute buckets: a CI call may reuse the verdicts of the last minute.
VERDICT_CACHE_SECONDS = 60


# A stored SLO status (refreshed by the SLO tick every 5 minutes) answers the gate while it is this fresh
# and no data arrived since it was computed; otherwise the budget is computed for the call.
STORED_STATUS_MAX_AGE = timedelta(seconds=2 * 300)


def _slo_verdicts(service_id: int, now, *, stored: bool) -> list[dict]:
    """Per SLO of the service: consumed budget, policy, and whether it freezes feature deploys.
    Two queries with `stored` and fresh stored statuses; the budget computation otherwise."""
    from django.db.models import Q

    from apps.slos.models import SLO, ErrorBudgetPolicy, SLOStatusRecord

    slos = list(
        SLO.objects.filter(sli__service_id=service_id)
        .select_related("sli__service", "status_record")
        .order_by("sli__service__name", "name")
    )
    if not slos:
        return []
    team_id = slos[0].sli.service.team_id
    policies = list(ErrorBudgetPolicy.objects.filter(Q(slo__in=slos) | Q(team_id=team_id, slo__isnull=True)))
    default = next((p for p in policies if p.slo_id is None), None)
    own = {p.slo_id: p for p in policies if p.slo_id is not None}
    consumed, stale = {}, []
    for slo in slos:
        try:
            record = slo.status_record
        except SLOStatusRecord.DoesNotExist:
            record = None
        changed = slo.sli.data_changed_at
        fresh = (
            stored
            and record is not None
            and record.as_of <= now
            and now - record.as_of <= STORED_STATUS_MAX_AGE
            and (changed is None or changed < record.as_of)
        )
        if fresh:
            consumed[slo.pk] = record.consumed
        else:
            stale.append(slo)
    if stale:
        for pk, st in slo_selectors.slo_statuses(stale, now=now).items():
            consumed[pk] = st.consumed if st else None
    out = []
    for slo in slos:
        policy = own.get(slo.pk, default)
        reached = policy_steps_reached(policy.steps, consumed.get(slo.pk)) if policy else []
        out.append(
            {
                "slo": slo.pk,
                "name": slo.name,
                "consumed": consumed.get(slo.pk),
                "policy": policy.name if policy else None,
                "freeze": any(s["consumed_percent"] >= FREEZE_AT_PERCENT for s in reached),
            }
        )
    return out


# Each process keeps the verdicts it read from the shared cache this long, so a live call does not pay a
# Redis round trip (and Django's per-operation client) each time: verdicts are then at most
# VERDICT_CACHE_SECONDS + LOCAL_VERDICT_SECONDS old. Overrides are never held here (see gate_decide).
LOCAL_VERDICT_SECONDS = 5.0
_local_verdicts: dict[int, tuple[float, list[dict]]] = {}


def _gate_verdicts(service_id: int, now=None) -> list[dict]:
    """The per-SLO verdicts a call uses: cached for VERDICT_CACHE_SECONDS on live calls (in this process
    for LOCAL_VERDICT_SECONDS more); an explicit time (tests, replays) always computes them for that instant."""
    if now is not None:
        return _slo_verdicts(service_id, now, stored=False)
    clock = time.monotonic()
    held = _local_verdicts.get(service_id)
    if held is not None and held[0] > clock:
        return held[1]
    key = f"sre:gate:verdicts:{service_id}"
    verdicts = cache.get(key)
    if verdicts is None:
        verdicts = _slo_verdicts(service_id, timezone.now(), stored=True)
        cache.set(key, verdicts, VERDICT_CACHE_SECONDS)
    _local_verdicts[service_id] = (clock + LOCAL_VERDICT_SECONDS, verdicts)
    return verdicts


def _forget_local_verdicts() -> None:
    """Drop this process's copies (tests start each case from an empty cache)."""
    _local_verdicts.clear()


# `gate_decide(override=...)` not given: the override is read (from the cache) only when a feature deploy is frozen.
_READ_WHEN_FROZEN = object()


def _gate_answer(verdicts: list[dict], kind: str, override) -> tuple[bool, str, GateOverride | None]:
    """The gate's rule: (allowed, reason, override used) from the verdicts, the kind of deploy and the
    active override (a GateOverride, None, or a callable reading it, called only when it matters)."""
    frozen = [v for v in verdicts if v["freeze"]]
    if not frozen:
        if not verdicts:
            return True, "No SLO measures this service: nothing to gate on.", None
        if all(v["consumed"] is None for v in verdicts):
            return True, "No SLO data in the window yet: nothing to gate on.", None
        return True, "Error budget left on every SLO.", None
    names = ", ".join(f"{v['name']} ({v['consumed'] * 100:.0f}% of budget spent)" for v in frozen)
    if kind == GateDecision.Kind.FIX:
        return True, f"Fix allowed during the freeze: {names}.", None
    if callable(override):
        override = override()
    if override is not None:
        reason = f"Override until {override.expires_at:%Y-%m-%d %H:%M} UTC: {override.reason} (frozen: {names})."
        return True, reason, override
    return False, f"Feature deploys frozen by the error budget policy: {names}.", None


def _decision_insert_sql() -> str:
    from django.db import connection

    qn = connection.ops.quote_name
    table = qn(GateDecision._meta.db_table)
    columns = ", ".join(qn(GateDecision._meta.get_field(name).column) for name in _DECISION_FIELDS)
    # PostgreSQL takes the JSON text as jsonb with a cast; SQLite stores the text as it is.
    jsonb = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    marks = ", ".join(jsonb if name == "slos" else "%s" for name in _DECISION_FIELDS)
    return f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING {qn('id')}"  # noqa: S608 (the model's table)


_DECISION_FIELDS = ("service", "decided_at", "allowed", "kind", "ref", "reason", "override", "requested_by", "slos")
_decision_sql: list[str] = []


def _decision_record(**values) -> GateDecision:
    """One raw INSERT of the decision (no model save, no query compilation): the model instance back."""
    import json

    if not _decision_sql:
        _decision_sql.append(_decision_insert_sql())
    row = [
        values["service_id"],
        values["decided_at"],
        values["allowed"],
        values["kind"],
        values["ref"],
        values["reason"],
        values["override_id"],
        values["requested_by_id"],
        json.dumps(values["slos"]),
    ]
    pk = fetchone_prepared(_decision_sql[0], row)[0]
    # As a query would load it: positional values in the fields' order (half the cost of keywords).
    saved = {"id": pk, **values}
    return GateDecision.from_db("default", None, [saved[f.attname] for f in GateDecision._meta.concrete_fields])


def gate_decide(
    *,
    actor,
    service=None,
    service_id: int | None = None,
    kind: str = GateDecision.Kind.FEATURE,
    ref: str = "",
    now=None,
    access=None,
    override=_READ_WHEN_FROZEN,
) -> GateDecision:
    """Allow or deny a production deploy of the service and record the answer (one INSERT: no transaction).
    The service's team and org admins may ask: 404 for callers who cannot see the service, 403 otherwise.

    `access` (the actor's `permissions.ServiceAccess` for the service) and `override` (the service's
    active override or None) are for callers that read them already: the short path
    (`apps.sre.fastpath`) reads both with the token in one statement. Otherwise they are read here."""
    service_id = service.pk if service_id is None else service_id
    if access is None:
        gate_access(actor, service_id)
    else:
        if access.service_id != service_id:
            raise ValueError("The access read is for another service.")
        gate_check(access)
    if kind not in GateDecision.Kind.values:
        raise ValidationError({"kind": f"kind is one of {', '.join(GateDecision.Kind.values)}."})
    explicit_now = now
    verdicts = _gate_verdicts(service_id, now)
    now = now or timezone.now()
    if override is _READ_WHEN_FROZEN:
        override = lambda: override_for_call(service_id=service_id, now=explicit_now)  # noqa: E731
    allowed, reason, used = _gate_answer(verdicts, kind, override)
    author = permissions.person(actor)
    return _decision_record(
        service_id=service_id,
        decided_at=now,
        allowed=allowed,
        kind=kind,
        ref=ref[: GateDecision._meta.get_field("ref").max_length],
        reason=reason,
        override_id=used.pk if used is not None else None,
        requested_by_id=author.pk if author is not None else None,
        slos=verdicts,
    )


@transaction.atomic
def gate_override_create(*, service, actor, reason: str, hours: float, now=None) -> GateOverride:
    """A lead (or org admin) lets feature deploys through the gate for a set time, with a reason."""
    gate_access(actor, service.pk, lead=True)
    now = now or timezone.now()
    errors = {}
    if not (reason or "").strip():
        errors["reason"] = "Say why the gate is overridden."
    try:
        hours = float(hours)
    except (TypeError, ValueError):
        hours = None
    if hours is None or not (0 < hours <= MAX_OVERRIDE_HOURS):
        errors["hours"] = f"An override lasts between 0 and {MAX_OVERRIDE_HOURS} hours."
    if errors:
        raise ValidationError(errors)
    return GateOverride.objects.create(
        service=service,
        reason=reason.strip(),
        created_by=permissions.person(actor),
        expires_at=now + timedelta(hours=hours),
    )


# --- toil ------------------------------------------------------------------------------

TOIL_ITEM_FIELDS = (
    "title",
    "category",
    "hours_per_week",
    "automatable",
    "owner",
    "status",
    "started_on",
    "ended_on",
    "notes",
)
MAX_TOIL_HOURS = 168


def _toil_clean(*, team, data: dict, instance=None) -> dict:
    from apps.teams.models import TeamMembership

    errors = {}
    today = timezone.now().date()
    data = {**data, "title": (data.get("title") or "").strip()}
    if not data["title"]:
        errors["title"] = "Say what the work is."
    hours = data.get("hours_per_week")
    if hours is None or not (0 < float(hours) <= MAX_TOIL_HOURS):
        errors["hours_per_week"] = f"Hours a week are more than 0 and at most {MAX_TOIL_HOURS}."
    if data.get("category") not in ToilItem.Category.values:
        errors["category"] = f"Category is one of {', '.join(ToilItem.Category.values)}."
    status = data.get("status") or ToilItem.Status.ACTIVE
    if status not in ToilItem.Status.values:
        errors["status"] = f"Status is one of {', '.join(ToilItem.Status.values)}."
    started = data.get("started_on") or today
    ended = data.get("ended_on")
    if started > today:
        errors["started_on"] = "The work cannot start in the future."
    if status in ToilItem.OPEN_STATUSES:
        if ended:
            errors["ended_on"] = "Only work automated away or no longer done has an end date."
    else:
        ended = ended or today
        if ended < started:
            errors["ended_on"] = "The end date is on or after the start date."
        elif ended > today:
            errors["ended_on"] = "The end date cannot be in the future."
    owner = data.get("owner")
    if owner is not None and not TeamMembership.objects.filter(team=team, user=owner).exists():
        errors["owner"] = "The owner is a member of the team."
    if data["title"] and status in ToilItem.OPEN_STATUSES:
        dupes = ToilItem.objects.filter(team=team, title__iexact=data["title"], status__in=ToilItem.OPEN_STATUSES)
        if instance is not None:
            dupes = dupes.exclude(pk=instance.pk)
        if dupes.exists():
            errors["title"] = "This work is already on the team's toil list."
    if errors:
        raise ValidationError(errors)
    return {**data, "status": status, "started_on": started, "ended_on": ended}


@transaction.atomic
def toil_item_create(*, team, actor, **data) -> ToilItem:
    permissions.require_create(actor, ToilItem, team=team, message="Only the team's members log its toil.")
    data = _toil_clean(team=team, data={k: data.get(k) for k in TOIL_ITEM_FIELDS})
    data["notes"] = data.get("notes") or ""
    data["automatable"] = bool(data.get("automatable"))
    return ToilItem.objects.create(team=team, **data)


@transaction.atomic
def toil_item_update(*, item: ToilItem, actor, **data) -> ToilItem:
    item = ToilItem.objects.select_for_update().select_related("team").get(pk=item.pk)
    permissions.require_change(actor, item)
    merged = {k: data.get(k, getattr(item, k)) for k in TOIL_ITEM_FIELDS}
    merged = _toil_clean(team=item.team, data=merged, instance=item)
    merged["notes"] = merged.get("notes") or ""
    merged["automatable"] = bool(merged.get("automatable"))
    for k, v in merged.items():
        setattr(item, k, v)
    item.save()
    return item


@transaction.atomic
def toil_review_record(*, team, actor, capacity_hours, notes: str = "", reviewed_on=None) -> ToilReview:
    """Record this cycle's review: the team's weekly hours and the toil figures as they stand.
    One review a team a day; a second submit the same day updates it."""
    from .selectors import team_toil

    permissions.require_create(actor, ToilReview, team=team, message="The team lead reviews the team's toil.")
    reviewed_on = reviewed_on or timezone.now().date()
    try:
        capacity = float(capacity_hours)
    except (TypeError, ValueError):
        capacity = None
    if capacity is None or not (0 < capacity <= 100_000):
        raise ValidationError({"capacity_hours": "The team's hours a week are more than 0."})
    ToilItem.objects.filter(team=team, status__in=ToilItem.OPEN_STATUSES).update(last_reviewed_on=reviewed_on)
    review, _ = ToilReview.objects.update_or_create(
        team=team,
        reviewed_on=reviewed_on,
        defaults={
            "reviewed_by": permissions.person(actor),
            "capacity_hours": round(capacity, 1),
            "notes": (notes or "").strip(),
        },
    )
    figures = team_toil(team_ids=[team.pk])[team.pk]
    review.toil_hours, review.saved_hours = figures["hours"], figures["saved_hours"]
    review.save(update_fields=["toil_hours", "saved_hours"])
    return review


# --- runbooks --------------------------------------------------------------------------

INCIDENT_TYPE_MAX = 60


def _incident_types(value) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    out = []
    for raw in value or []:
        label = " ".join(str(raw).split()).lower()
        if not label:
            continue
        if len(label) > INCIDENT_TYPE_MAX:
            raise ValidationError({"incident_types": f"An incident type is at most {INCIDENT_TYPE_MAX} characters."})
        if label not in out:
            out.append(label)
    return out


def _runbook_clean(*, team, title, url, body, services, slos, incident_types) -> dict:
    errors = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = "Give the runbook a title."
    if not (url or "").strip() and not (body or "").strip():
        errors["body"] = "Link to the runbook or write it here."
    services, slos = list(services or []), list(slos or [])
    if any(s.organization_id != team.organization_id for s in services):
        errors["services"] = "Pick services of the team's organization."
    if any(s.sli.service.organization_id != team.organization_id for s in slos):
        errors["slos"] = "Pick SLOs of the team's organization."
    try:
        types = _incident_types(incident_types)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        types = []
    if errors:
        raise ValidationError(errors)
    return {
        "title": title,
        "url": (url or "").strip(),
        "body": body or "",
        "services": services,
        "slos": slos,
        "incident_types": types,
    }


@transaction.atomic
def runbook_create(
    *, team, actor, title, url="", body="", services=(), slos=(), incident_types=(), reviewed=True
) -> Runbook:
    """A new runbook; written or checked now, so it counts as reviewed today unless `reviewed=False`."""
    permissions.require_create(actor, Runbook, team=team, message="Only the team's members keep its runbooks.")
    data = _runbook_clean(
        team=team, title=title, url=url, body=body, services=services, slos=slos, incident_types=incident_types
    )
    services, slos = data.pop("services"), data.pop("slos")
    runbook = Runbook.objects.create(
        team=team,
        **data,
        last_reviewed_on=timezone.now().date() if reviewed else None,
        last_reviewed_by=permissions.person(actor) if reviewed else None,
    )
    runbook.services.set(services)
    runbook.slos.set(slos)
    return runbook


@transaction.atomic
def runbook_update(
    *, runbook: Runbook, actor, title, team=None, url="", body="", services=(), slos=(), incident_types=()
) -> Runbook:
    """Change a runbook; moving it to another team needs the right to keep that team's runbooks too."""
    permissions.require_change(actor, Runbook.objects.select_related("team").get(pk=runbook.pk))
    if team is not None and team.pk != runbook.team_id:
        permissions.require_move(actor, runbook, team=team, message="Only the team's members keep its runbooks.")
        runbook.team = team
    data = _runbook_clean(
        team=runbook.team, title=title, url=url, body=body, services=services, slos=slos, incident_types=incident_types
    )
    services, slos = data.pop("services"), data.pop("slos")
    for k, v in data.items():
        setattr(runbook, k, v)
    runbook.save()
    runbook.services.set(services)
    runbook.slos.set(slos)
    return runbook


@transaction.atomic
def runbook_mark_reviewed(*, runbook: Runbook, actor, on=None) -> Runbook:
    """Someone checked the runbook still holds (idempotent for the day)."""
    permissions.require_change(actor, runbook)
    runbook.last_reviewed_on = on or timezone.now().date()
    runbook.last_reviewed_by = permissions.person(actor)
    runbook.save(update_fields=["last_reviewed_on", "last_reviewed_by", "updated_at"])
    return runbook


@transaction.atomic
def incident_runbook_set(*, incident, runbook: Runbook | None, actor) -> IncidentRunbook:
    """Record which runbook the responders used (None: none was used); whoever may change the incident."""
    permissions.require_change(actor, incident)
    if runbook is not None and runbook.team.organization_id != incident.organization_id:
        raise ValidationError({"runbook": "Pick a runbook of the incident's organization."})
    record, _ = IncidentRunbook.objects.update_or_create(
        incident=incident, defaults={"runbook": runbook, "set_by": permissions.person(actor)}
    )
    return record
