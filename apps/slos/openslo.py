"""OpenSLO v1 (https://github.com/OpenSLO/OpenSLO) import and export.

Supported kinds: Service, SLI (ratioMetric with Prometheus queries, or pushed
samples), SLO (rolling or calendar timeWindow, Occurrences or Timeslices,
one objective) and AlertPolicy (burnrate conditions). Export then import gives
the same catalog. A bad document is refused, as a whole, with the path of the
bad field: `documents[2].spec.objectives[0].target: ...`.

Platform details OpenSLO has no field for travel as metadata annotations
prefixed `devops-maturity.io/` (SLI kind and service, Prometheus URL, owner).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import yaml
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from apps.core import permissions
from apps.teams.models import Service

from . import maths, services
from .models import SLI, SLO

API_VERSION = "openslo/v1"
ANNOTATION = "devops-maturity.io/"
KINDS = ("Service", "SLI", "SLO", "AlertPolicy")
MAX_DOCUMENTS = 5000


class OpenSLOError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# --- export ---------------------------------------------------------------------------


def _source_spec(sli: SLI, query: str) -> dict:
    if sli.source == SLI.Source.PROMETHEUS:
        return {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}
    return {"metricSource": {"type": "Push", "spec": {}}}


def _alert_policy_name(slo: SLO) -> str:
    return f"{slo.slug}-burn-rate"


def export_documents(slos, *, now=None) -> str:
    """A multi-document YAML string for these SLOs, their SLIs and services."""
    from django.utils import timezone

    now = now or timezone.now()
    slos = sorted(slos, key=lambda s: s.slug)
    docs, seen_services, seen_slis = [], set(), set()
    for slo in slos:
        sli, service = slo.sli, slo.sli.service
        if service.pk not in seen_services:
            seen_services.add(service.pk)
            docs.append(
                {
                    "apiVersion": API_VERSION,
                    "kind": "Service",
                    "metadata": {"name": service.slug, "displayName": service.name},
                    "spec": {"description": service.description},
                }
            )
        if sli.pk not in seen_slis:
            seen_slis.add(sli.pk)
            annotations = {f"{ANNOTATION}kind": sli.kind, f"{ANNOTATION}service": service.slug}
            if sli.prometheus_url:
                annotations[f"{ANNOTATION}prometheus-url"] = sli.prometheus_url
            docs.append(
                {
                    "apiVersion": API_VERSION,
                    "kind": "SLI",
                    "metadata": {"name": sli.slug, "displayName": sli.name, "annotations": annotations},
                    "spec": {
                        "description": sli.description,
                        "ratioMetric": {
                            "counter": True,
                            "good": _source_spec(sli, sli.good_query),
                            "total": _source_spec(sli, sli.total_query),
                        },
                    },
                }
            )
    for slo in slos:
        if slo.window_kind == SLO.WindowKind.CALENDAR:
            window = {
                "duration": "1M" if slo.calendar_unit == SLO.CalendarUnit.MONTH else "1Q",
                "isRolling": False,
                "calendar": {"startTime": "2020-01-01 00:00:00", "timeZone": "UTC"},
            }
        else:
            window = {"duration": f"{slo.window_days}d", "isRolling": True}
        objective = {"displayName": slo.name, "target": float(slo.target)}
        if slo.budgeting == SLO.Budgeting.TIMESLICES:
            objective["timeSliceTarget"] = float(slo.timeslice_target)
            objective["timeSliceWindow"] = maths.duration_label(slo.timeslice_seconds)
        metadata = {"name": slo.slug, "displayName": slo.name}
        if slo.owner_id:
            metadata["annotations"] = {f"{ANNOTATION}owner": slo.owner.email}
        docs.append(
            {
                "apiVersion": API_VERSION,
                "kind": "SLO",
                "metadata": metadata,
                "spec": {
                    "description": slo.description,
                    "service": slo.sli.service.slug,
                    "indicatorRef": slo.sli.slug,
                    "timeWindow": [window],
                    "budgetingMethod": "Timeslices" if slo.budgeting == SLO.Budgeting.TIMESLICES else "Occurrences",
                    "objectives": [objective],
                    "alertPolicies": [_alert_policy_name(slo)] if slo.alerting else [],
                },
            }
        )
        if slo.alerting:
            rules = maths.alert_rules(
                maths.period_hours(kind=slo.window_kind, days=slo.window_days, unit=slo.calendar_unit, now=now)
            )
            docs.append(
                {
                    "apiVersion": API_VERSION,
                    "kind": "AlertPolicy",
                    "metadata": {"name": _alert_policy_name(slo)},
                    "spec": {
                        "description": "Multiwindow, multi-burn-rate alerts (Google SRE workbook).",
                        "alertWhenBreaching": True,
                        "alertWhenResolved": True,
                        "conditions": [
                            {
                                "kind": "AlertCondition",
                                "metadata": {
                                    "name": f"{r.severity}-{maths.duration_label(r.long_window)}-"
                                    f"{maths.duration_label(r.short_window)}"
                                },
                                "spec": {
                                    "severity": r.severity,
                                    "condition": {
                                        "kind": "burnrate",
                                        "op": "gt",
                                        "threshold": r.factor,
                                        "lookbackWindow": maths.duration_label(r.long_window),
                                        "alertAfter": maths.duration_label(r.short_window),
                                    },
                                },
                            }
                            for r in rules
                        ],
                        "notificationTargets": [],
                    },
                }
            )
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)


# --- parsing ------------------------------------------------------------------------------


def _need(node, key: str, path: str, types, *, required: bool = True, default=None):
    if not isinstance(node, dict):
        raise OpenSLOError(path, "must be a mapping.")
    if key not in node or node[key] is None:
        if required:
            raise OpenSLOError(f"{path}.{key}", "is required.")
        return default
    value = node[key]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        names = "/".join(t.__name__ for t in _as_tuple(types)).replace("str", "string").replace("dict", "mapping")
        raise OpenSLOError(f"{path}.{key}", f"must be a {names.replace('list', 'list')}.")
    return value


def _as_tuple(types):
    return types if isinstance(types, tuple) else (types,)


def _fraction(value, path: str, *, allow_one: bool = False) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise OpenSLOError(path, "must be a number between 0 and 1.")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise OpenSLOError(path, "must be a number between 0 and 1.")
    if not (0 < number < 1 or (allow_one and number == 1)):
        raise OpenSLOError(path, f"must be between 0 and 1 (got {value}).")
    if number != number.quantize(Decimal("0.000001")):
        raise OpenSLOError(path, "has more than 6 decimal places.")
    return number


@dataclass
class Parsed:
    services: dict[str, tuple[str, dict]] = field(default_factory=dict)  # name -> (path, doc)
    slis: dict[str, tuple[str, dict]] = field(default_factory=dict)
    slos: dict[str, tuple[str, dict]] = field(default_factory=dict)
    policies: dict[str, tuple[str, dict]] = field(default_factory=dict)


def parse(text: str) -> Parsed:
    try:
        raw = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "document"
        raise OpenSLOError(where, f"is not valid YAML ({getattr(exc, 'problem', None) or exc}).")
    if not raw:
        raise OpenSLOError("documents", "is empty: give at least one OpenSLO document.")
    if len(raw) > MAX_DOCUMENTS:
        raise OpenSLOError("documents", f"has more than {MAX_DOCUMENTS} documents.")
    parsed = Parsed()
    buckets = {"Service": parsed.services, "SLI": parsed.slis, "SLO": parsed.slos, "AlertPolicy": parsed.policies}
    for i, doc in enumerate(raw):
        path = f"documents[{i}]"
        if not isinstance(doc, dict):
            raise OpenSLOError(path, "must be a mapping with apiVersion, kind, metadata and spec.")
        if doc.get("apiVersion") != API_VERSION:
            raise OpenSLOError(f"{path}.apiVersion", f"must be {API_VERSION} (got {doc.get('apiVersion')!r}).")
        kind = doc.get("kind")
        if kind not in KINDS:
            raise OpenSLOError(f"{path}.kind", f"must be one of {', '.join(KINDS)} (got {kind!r}).")
        metadata = _need(doc, "metadata", path, dict)
        name = _need(metadata, "name", f"{path}.metadata", str)
        if not name or len(name) > 120 or not all(c.isalnum() or c in "-_" for c in name):
            raise OpenSLOError(f"{path}.metadata.name", "must be 1-120 letters, digits, - or _.")
        _need(doc, "spec", path, dict)
        if name in buckets[kind]:
            raise OpenSLOError(f"{path}.metadata.name", f"{kind} {name!r} appears twice.")
        buckets[kind][name] = (path, doc)
    return parsed


def _annotations(doc: dict, path: str) -> dict:
    metadata = doc["metadata"]
    ann = _need(metadata, "annotations", f"{path}.metadata", dict, required=False, default={})
    return {str(k): v for k, v in ann.items()}


def _sli_fields(path: str, doc: dict) -> dict:
    spec = doc["spec"]
    ratio = _need(spec, "ratioMetric", f"{path}.spec", dict)
    sources, queries = set(), {}
    for part in ("good", "total"):
        node = _need(ratio, part, f"{path}.spec.ratioMetric", dict)
        source = _need(node, "metricSource", f"{path}.spec.ratioMetric.{part}", dict)
        kind = _need(source, "type", f"{path}.spec.ratioMetric.{part}.metricSource", str)
        here = f"{path}.spec.ratioMetric.{part}.metricSource"
        if kind.lower() == "prometheus":
            src_spec = _need(source, "spec", here, dict)
            query = _need(src_spec, "query", f"{here}.spec", str)
            if not query.strip():
                raise OpenSLOError(f"{here}.spec.query", "must not be empty.")
            sources.add(SLI.Source.PROMETHEUS)
            queries[part] = query.strip()
        elif kind.lower() == "push":
            sources.add(SLI.Source.PUSH)
            queries[part] = ""
        else:
            raise OpenSLOError(f"{here}.type", f"must be Prometheus or Push (got {kind!r}).")
    if len(sources) != 1:
        raise OpenSLOError(f"{path}.spec.ratioMetric", "good and total must use the same metric source type.")
    ann = _annotations(doc, path)
    kind = ann.get(f"{ANNOTATION}kind", SLI.Kind.OTHER)
    if kind not in SLI.Kind.values:
        raise OpenSLOError(
            f"{path}.metadata.annotations.{ANNOTATION}kind", f"must be one of {', '.join(SLI.Kind.values)}."
        )
    return {
        "name": str(doc["metadata"].get("displayName") or doc["metadata"]["name"])[:200],
        "description": str(_need(spec, "description", f"{path}.spec", str, required=False, default="")),
        "kind": kind,
        "source": sources.pop(),
        "good_query": queries["good"],
        "total_query": queries["total"],
        "prometheus_url": str(ann.get(f"{ANNOTATION}prometheus-url", "")),
    }


def _window(path: str, spec: dict) -> dict:
    windows = _need(spec, "timeWindow", f"{path}.spec", list)
    if len(windows) != 1:
        raise OpenSLOError(f"{path}.spec.timeWindow", "must have exactly one entry.")
    here = f"{path}.spec.timeWindow[0]"
    window = windows[0]
    duration = _need(window, "duration", here, str).strip()
    rolling = _need(window, "isRolling", here, bool, required=False, default=True)
    if rolling:
        try:
            seconds = maths.parse_duration(duration)
        except ValueError as exc:
            raise OpenSLOError(f"{here}.duration", str(exc))
        if seconds % maths.DAY or not 1 <= seconds // maths.DAY <= 366:
            raise OpenSLOError(f"{here}.duration", "a rolling window is a whole number of days, 1d to 366d.")
        return {"window_kind": SLO.WindowKind.ROLLING, "window_days": seconds // maths.DAY, "calendar_unit": ""}
    unit = {"1M": SLO.CalendarUnit.MONTH, "1Q": SLO.CalendarUnit.QUARTER, "3M": SLO.CalendarUnit.QUARTER}.get(duration)
    if unit is None:
        raise OpenSLOError(f"{here}.duration", "a calendar window is 1M (month) or 1Q (quarter).")
    calendar = _need(window, "calendar", here, dict, required=False, default={})
    tz = calendar.get("timeZone", "UTC")
    if tz not in ("UTC", "Etc/UTC"):
        raise OpenSLOError(f"{here}.calendar.timeZone", "only UTC calendars are supported.")
    return {"window_kind": SLO.WindowKind.CALENDAR, "window_days": 30, "calendar_unit": unit}


def _slo_fields(path: str, doc: dict, policies: dict) -> dict:
    spec = doc["spec"]
    fields = _window(path, spec)
    method = _need(spec, "budgetingMethod", f"{path}.spec", str)
    if method not in ("Occurrences", "Timeslices"):
        raise OpenSLOError(f"{path}.spec.budgetingMethod", f"must be Occurrences or Timeslices (got {method!r}).")
    objectives = _need(spec, "objectives", f"{path}.spec", list)
    if len(objectives) != 1:
        raise OpenSLOError(f"{path}.spec.objectives", "must have exactly one objective.")
    here = f"{path}.spec.objectives[0]"
    objective = objectives[0]
    if not isinstance(objective, dict):
        raise OpenSLOError(here, "must be a mapping.")
    if "target" not in objective:
        raise OpenSLOError(f"{here}.target", "is required.")
    fields["target"] = _fraction(objective["target"], f"{here}.target")
    if method == "Timeslices":
        fields["budgeting"] = SLO.Budgeting.TIMESLICES
        if "timeSliceTarget" not in objective:
            raise OpenSLOError(f"{here}.timeSliceTarget", "is required for Timeslices.")
        fields["timeslice_target"] = _fraction(objective["timeSliceTarget"], f"{here}.timeSliceTarget", allow_one=True)
        slice_window = _need(objective, "timeSliceWindow", here, str)
        try:
            seconds = maths.parse_duration(slice_window)
        except ValueError as exc:
            raise OpenSLOError(f"{here}.timeSliceWindow", str(exc))
        if seconds % 300 or seconds > maths.DAY:
            raise OpenSLOError(f"{here}.timeSliceWindow", "must be a multiple of 5m, at most 1d.")
        fields["timeslice_seconds"] = seconds
    else:
        fields.update(budgeting=SLO.Budgeting.OCCURRENCES, timeslice_seconds=None, timeslice_target=None)
    refs = _need(spec, "alertPolicies", f"{path}.spec", list, required=False, default=[])
    for j, ref in enumerate(refs):
        name = ref if isinstance(ref, str) else ref.get("alertPolicyRef") if isinstance(ref, dict) else None
        if not isinstance(name, str) or name not in policies:
            raise OpenSLOError(f"{path}.spec.alertPolicies[{j}]", f"refers to no AlertPolicy in the document: {ref!r}.")
    fields["alerting"] = bool(refs)
    fields["name"] = str(doc["metadata"].get("displayName") or doc["metadata"]["name"])[:200]
    fields["description"] = str(_need(spec, "description", f"{path}.spec", str, required=False, default=""))
    return fields


def _check_policy(path: str, doc: dict) -> None:
    conditions = _need(doc["spec"], "conditions", f"{path}.spec", list)
    if not conditions:
        raise OpenSLOError(f"{path}.spec.conditions", "must have at least one condition.")
    for j, cond in enumerate(conditions):
        here = f"{path}.spec.conditions[{j}]"
        if isinstance(cond, dict) and "conditionRef" in cond:
            continue
        spec = _need(cond, "spec", here, dict)
        condition = _need(spec, "condition", f"{here}.spec", dict)
        kind = _need(condition, "kind", f"{here}.spec.condition", str)
        if kind != "burnrate":
            raise OpenSLOError(f"{here}.spec.condition.kind", f"must be burnrate (got {kind!r}).")
        op = _need(condition, "op", f"{here}.spec.condition", str)
        if op not in ("gt", "gte", "lt", "lte"):
            raise OpenSLOError(f"{here}.spec.condition.op", "must be gt, gte, lt or lte.")
        threshold = _need(condition, "threshold", f"{here}.spec.condition", int | float)
        if threshold <= 0:
            raise OpenSLOError(f"{here}.spec.condition.threshold", "must be positive.")
        for key in ("lookbackWindow", "alertAfter"):
            value = _need(condition, key, f"{here}.spec.condition", str, required=key == "lookbackWindow")
            if value is not None:
                try:
                    maths.parse_duration(value)
                except ValueError as exc:
                    raise OpenSLOError(f"{here}.spec.condition.{key}", str(exc))


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged"


def _apply(result: ImportResult, label: str, obj, fields: dict, *, update, create, user):
    if obj is None:
        create()
        result.created.append(label)
        return
    if all(getattr(obj, k) == v for k, v in fields.items()):
        result.unchanged.append(label)
        return
    if user is not None and not permissions.can_change(user, obj):
        raise PermissionDenied(f"You may not change {label}.")
    update()
    result.updated.append(label)


@transaction.atomic
def import_documents(*, user, organization, text: str) -> ImportResult:
    """Create or update the SLIs and SLOs of an OpenSLO document, all or nothing.

    `user` is checked for the right to create/change each object; None (the
    management command run by an operator) skips those checks.
    """
    parsed = parse(text)
    for path, doc in parsed.policies.values():
        _check_policy(path, doc)
    org_services = {s.slug: s for s in Service.objects.filter(organization=organization).select_related("team")}
    for name, (path, _doc) in parsed.services.items():
        if name not in org_services:
            raise OpenSLOError(f"{path}.metadata.name", f"no service {name!r} in {organization}.")

    # Which service each SLI measures: its annotation, else the SLO that uses it.
    sli_service: dict[str, tuple[str, str]] = {}
    slo_fields: dict[str, dict] = {}
    for name, (path, doc) in parsed.slos.items():
        spec = doc["spec"]
        service = _need(spec, "service", f"{path}.spec", str)
        if service not in org_services:
            raise OpenSLOError(f"{path}.spec.service", f"no service {service!r} in {organization}.")
        ref = _need(spec, "indicatorRef", f"{path}.spec", str, required=False)
        if ref is None:
            if "indicator" in spec:
                raise OpenSLOError(f"{path}.spec.indicator", "inline indicators are not supported; use indicatorRef.")
            raise OpenSLOError(f"{path}.spec.indicatorRef", "is required.")
        if ref not in parsed.slis and not SLI.objects.filter(organization=organization, slug=ref).exists():
            raise OpenSLOError(f"{path}.spec.indicatorRef", f"refers to no SLI {ref!r}.")
        sli_service.setdefault(ref, (service, f"{path}.spec.service"))
        fields = _slo_fields(path, doc, parsed.policies)
        owner = _annotations(doc, path).get(f"{ANNOTATION}owner")
        fields["owner"] = get_user_model().objects.filter(email__iexact=owner).first() if owner else None
        slo_fields[name] = {"fields": fields, "sli": ref, "service": service, "path": path}

    result = ImportResult()
    slis: dict[str, SLI] = {}
    for name, (path, doc) in parsed.slis.items():
        fields = _sli_fields(path, doc)
        ann_service = _annotations(doc, path).get(f"{ANNOTATION}service")
        service_slug = ann_service or sli_service.get(name, (None,))[0]
        if not service_slug:
            raise OpenSLOError(
                f"{path}.metadata.annotations",
                f"say which service it measures ({ANNOTATION}service) or use it in an SLO.",
            )
        if service_slug not in org_services:
            raise OpenSLOError(f"{path}.metadata.annotations.{ANNOTATION}service", f"no service {service_slug!r}.")
        service = org_services[service_slug]
        existing = SLI.objects.filter(organization=organization, slug=name).first()
        if existing is None and user is not None and not permissions.can_create(user, SLI, team=service.team):
            raise PermissionDenied(f"You may not add SLIs to {service.name}.")
        fields["service"] = service
        try:
            _apply(
                result,
                f"SLI {name}",
                existing,
                fields,
                update=lambda e=existing, f=fields: services.sli_update(sli=e, **f),
                create=lambda s=service, f=fields, n=name: slis.__setitem__(
                    n, services.sli_create(slug=n, **{**f, "service": s})
                ),
                user=user,
            )
        except ValidationError as exc:
            raise OpenSLOError(path, "; ".join(exc.messages))
        slis.setdefault(name, SLI.objects.get(organization=organization, slug=name))

    for name, entry in slo_fields.items():
        path, fields = entry["path"], dict(entry["fields"])
        sli = slis.get(entry["sli"]) or SLI.objects.get(organization=organization, slug=entry["sli"])
        if sli.service.slug != entry["service"]:
            raise OpenSLOError(
                f"{path}.spec.service", f"SLI {sli.slug!r} measures {sli.service.slug}, not this service."
            )
        existing = SLO.objects.filter(organization=organization, slug=name).first()
        if existing is None and user is not None and not permissions.can_create(user, SLO, team=sli.service.team):
            raise PermissionDenied(f"You may not add SLOs to {sli.service.name}.")
        fields["sli"] = sli
        try:
            _apply(
                result,
                f"SLO {name}",
                existing,
                fields,
                update=lambda e=existing, f=fields: services.slo_update(slo=e, **f),
                create=lambda f=fields, n=name: services.slo_create(slug=n, **f),
                user=user,
            )
        except ValidationError as exc:
            raise OpenSLOError(path, "; ".join(exc.messages))
    return result
