"""OpenSLO v1 (https://github.com/OpenSLO/OpenSLO) import and export.

Kinds: Service, DataSource, SLI, SLO, AlertPolicy, AlertCondition and
AlertNotificationTarget. SLOs take an inline `indicator` or an `indicatorRef`;
indicators are a `ratioMetric` (good/total, bad/total or a `raw` ratio with
`rawType`) or a `thresholdMetric` compared with each objective's `op` and
`value`. Budgeting is Occurrences, Timeslices or RatioTimeslices (slices that
are not a multiple of 5 minutes evaluated on the nearest one, said in the
notes); windows rolling or calendar (a week, month, quarter or year in any IANA
time zone, from any startTime); an SLO may have several objectives, each
becoming one platform SLO (sharing `openslo_name`).

The import is all or nothing: a document we cannot honour is refused with the
path of the bad field (`documents[2].spec.objectives[0].op: ...`). Fields we
accept but do not use are listed in the result's `ignored`, and conversions
(a Datadog source kept as pushed samples, a histogram threshold turned into
bucket queries) in its `notes`. A dry run reports the same and writes nothing.

Export writes what the import reads: exporting, importing into an empty
organization and exporting again gives the same documents. Platform details
OpenSLO has no field for travel as metadata annotations prefixed
`devops-maturity.io/` (SLI kind and service, owner, alerting off).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.text import slugify

from apps.core import permissions
from apps.teams.models import Service

from . import maths, selectors, services
from .models import SLI, SLO, AlertPolicy, BurnRateAlert, NotificationTarget

API_VERSION = "openslo/v1"
ANNOTATION = "devops-maturity.io/"
KINDS = ("Service", "DataSource", "SLI", "SLO", "AlertPolicy", "AlertCondition", "AlertNotificationTarget")
MAX_DOCUMENTS = 5000
BUDGETING = {
    "Occurrences": SLO.Budgeting.OCCURRENCES,
    "Timeslices": SLO.Budgeting.TIMESLICES,
    "RatioTimeslices": SLO.Budgeting.RATIO_TIMESLICES,
}
BUDGETING_NAMES = {v: k for k, v in BUDGETING.items()}
OPS = ("lt", "lte", "gt", "gte")
OUR_ANNOTATIONS = {f"{ANNOTATION}{k}" for k in ("kind", "service", "owner", "alerting", "prometheus-url")}
OP_SYMBOLS = {"lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}
# Why a field is accepted but not used (shown in the import summary).
UNUSED = {
    "counter": "events are counted per 5 minutes either way",
    "labels": "labels are not kept",
    "alertWhenNoData": "a window without data never alerts",
    "compositeWeight": "composite SLOs are not supported",
}


class OpenSLOError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# --- export ---------------------------------------------------------------------------


def _datasource_name(url: str) -> str:
    return slugify(f"prometheus-{urlparse(url).netloc or url}")[:120]


def _metric_source(sli: SLI, query: str) -> dict:
    if sli.source != SLI.Source.PROMETHEUS:
        return {"metricSource": {"type": "Push", "spec": {}}}
    source = {"type": "Prometheus", "spec": {"query": query}}
    if sli.prometheus_url:
        source = {"metricSourceRef": _datasource_name(sli.prometheus_url), **source}
    return {"metricSource": source}


def threshold_suffix(op: str, value: float) -> str:
    """`-lte-0_3` for `lte 0.3`: the SLI slug of one threshold is the indicator's name plus this."""
    return f"-{op}-{format(value, 'g').replace('.', '_').replace('-', 'm').replace('+', '')}"


def _threshold_base(sli: SLI) -> str:
    suffix = threshold_suffix(sli.threshold_op, sli.threshold_value)
    return sli.slug[: -len(suffix)] if sli.slug.endswith(suffix) else sli.slug


def _threshold_display(sli: SLI) -> str:
    suffix = f" {OP_SYMBOLS[sli.threshold_op]} {format(sli.threshold_value, 'g')}"
    return sli.name[: -len(suffix)] if sli.name.endswith(suffix) and len(sli.name) > len(suffix) else sli.name


def _sli_annotations(sli: SLI, default_kind: str) -> dict:
    annotations = {}
    if sli.kind != default_kind:
        annotations[f"{ANNOTATION}kind"] = sli.kind
    annotations[f"{ANNOTATION}service"] = sli.service.slug
    return annotations


def _window_doc(slo: SLO) -> dict:
    if slo.window_kind == SLO.WindowKind.CALENDAR:
        anchor = slo.calendar_anchor or maths.default_anchor(slo.calendar_unit)
        return {
            "duration": CALENDAR_DURATION_NAMES[slo.calendar_unit],
            "isRolling": False,
            "calendar": {
                "startTime": anchor.strftime("%Y-%m-%d %H:%M:%S"),
                "timeZone": slo.calendar_timezone or "UTC",
            },
        }
    return {"duration": f"{slo.window_days}d", "isRolling": True}


def _objective_doc(slo: SLO) -> dict:
    objective = {"displayName": slo.name}
    if slo.sli.threshold_op:
        objective["op"] = slo.sli.threshold_op
        objective["value"] = slo.sli.threshold_value
    objective["target"] = float(slo.target)
    if slo.budgeting == SLO.Budgeting.TIMESLICES:
        objective["timeSliceTarget"] = float(slo.timeslice_target)
    if slo.budgeting in (SLO.Budgeting.TIMESLICES, SLO.Budgeting.RATIO_TIMESLICES):
        objective["timeSliceWindow"] = maths.duration_label(slo.timeslice_seconds)
    return objective


def _indicator_key(slo: SLO) -> tuple:
    sli = slo.sli
    if sli.threshold_op:
        return ("threshold", _threshold_base(sli), sli.source, sli.threshold_query, sli.prometheus_url, sli.service_id)
    return ("ratio", sli.pk)


def _slo_shape(slo: SLO, policies: list[str]) -> tuple:
    """What the objectives of one OpenSLO SLO document must share."""
    return (
        _indicator_key(slo),
        slo.window_kind,
        slo.window_days,
        slo.calendar_unit,
        slo.calendar_timezone,
        slo.calendar_start,
        slo.budgeting,
        slo.description,
        slo.owner_id,
        slo.alerting,
        tuple(policies),
    )


def _natural(slug: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", slug)]


def export_documents(slos) -> str:
    """A multi-document YAML string for these SLOs with their SLIs, services, data sources,
    alert policies and notification targets."""
    slos = sorted(slos, key=lambda s: _natural(s.slug))
    slo_ids = [s.pk for s in slos]
    policy_slugs = selectors.slo_alert_policies(slo_ids)
    policy_names = {pk: [p.slug for p in sorted(ps, key=lambda p: p.slug)] for pk, ps in policy_slugs.items()}

    # Objectives of one document: same openslo_name and the same shape; else each on its own.
    groups: dict[str, list[SLO]] = {}
    for slo in slos:
        groups.setdefault(slo.openslo_name or f"\0{slo.slug}", []).append(slo)
    documents: list[tuple[str, list[SLO]]] = []
    for key, members in groups.items():
        shapes = {_slo_shape(s, policy_names.get(s.pk, [])) for s in members}
        if len(members) > 1 and len(shapes) == 1 and not key.startswith("\0"):
            documents.append((key, members))
        else:
            documents.extend((s.slug, [s]) for s in members)
    documents.sort(key=lambda d: _natural(d[0]))

    service_docs, source_docs, sli_docs, target_docs, policy_docs, slo_docs = {}, {}, {}, {}, {}, []
    for name, members in documents:
        first = members[0]
        sli, service = first.sli, first.sli.service
        service_docs.setdefault(
            service.slug,
            {"apiVersion": API_VERSION, "kind": "Service", "metadata": {"name": service.slug}, "spec": {}},
        )
        if sli.source == SLI.Source.PROMETHEUS and sli.prometheus_url:
            ds = _datasource_name(sli.prometheus_url)
            source_docs.setdefault(
                ds,
                {
                    "apiVersion": API_VERSION,
                    "kind": "DataSource",
                    "metadata": {"name": ds},
                    "spec": {"type": "Prometheus", "connectionDetails": {"url": sli.prometheus_url}},
                },
            )
        if sli.threshold_op:
            sli_name = _threshold_base(sli)
            query = sli.threshold_query if sli.source == SLI.Source.PROMETHEUS else ""
            sli_docs.setdefault(
                sli_name,
                {
                    "apiVersion": API_VERSION,
                    "kind": "SLI",
                    "metadata": {
                        "name": sli_name,
                        "displayName": _threshold_display(sli),
                        "annotations": _sli_annotations(sli, SLI.Kind.LATENCY),
                    },
                    "spec": {"description": sli.description, "thresholdMetric": _metric_source(sli, query)},
                },
            )
        else:
            sli_name = sli.slug
            sli_docs.setdefault(
                sli_name,
                {
                    "apiVersion": API_VERSION,
                    "kind": "SLI",
                    "metadata": {
                        "name": sli.slug,
                        "displayName": sli.name,
                        "annotations": _sli_annotations(sli, SLI.Kind.OTHER),
                    },
                    "spec": {
                        "description": sli.description,
                        "ratioMetric": {
                            "good": _metric_source(sli, sli.good_query),
                            "total": _metric_source(sli, sli.total_query),
                        },
                    },
                },
            )
        policies = sorted(policy_slugs.get(first.pk, []), key=lambda p: p.slug)
        for policy in policies:
            for target in sorted(policy.targets.all(), key=lambda t: t.slug):
                target_docs.setdefault(
                    target.slug,
                    {
                        "apiVersion": API_VERSION,
                        "kind": "AlertNotificationTarget",
                        "metadata": {"name": target.slug, "displayName": target.name},
                        "spec": {"description": target.description, "target": target.target},
                    },
                )
            policy_docs.setdefault(policy.slug, _policy_doc(policy))
        metadata: dict = {"name": name}
        if len(members) == 1:
            metadata["displayName"] = first.name
        annotations = {}
        if first.owner_id:
            annotations[f"{ANNOTATION}owner"] = first.owner.email
        if not first.alerting:
            annotations[f"{ANNOTATION}alerting"] = "false"
        if annotations:
            metadata["annotations"] = annotations
        spec = {
            "description": first.description,
            "service": service.slug,
            "indicatorRef": sli_name,
            "timeWindow": [_window_doc(first)],
            "budgetingMethod": BUDGETING_NAMES[first.budgeting],
            "objectives": [_objective_doc(s) for s in members],
        }
        if policies:
            spec["alertPolicies"] = [{"alertPolicyRef": p.slug} for p in policies]
        slo_docs.append({"apiVersion": API_VERSION, "kind": "SLO", "metadata": metadata, "spec": spec})

    docs = [
        *(service_docs[k] for k in sorted(service_docs)),
        *(source_docs[k] for k in sorted(source_docs)),
        *(sli_docs[k] for k in sorted(sli_docs)),
        *(target_docs[k] for k in sorted(target_docs)),
        *(policy_docs[k] for k in sorted(policy_docs)),
        *slo_docs,
    ]
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)


def _policy_doc(policy: AlertPolicy) -> dict:
    condition = {
        "kind": "burnrate",
        "op": policy.op,
        "threshold": policy.threshold,
        "lookbackWindow": maths.duration_label(policy.lookback_window),
        "alertAfter": maths.duration_label(policy.alert_after) if policy.alert_after else "0m",
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "AlertPolicy",
        "metadata": {"name": policy.slug, "displayName": policy.name},
        "spec": {
            "description": policy.description,
            "alertWhenBreaching": policy.alert_when_breaching,
            "alertWhenResolved": policy.alert_when_resolved,
            "alertWhenNoData": policy.alert_when_no_data,
            "conditions": [
                {
                    "kind": "AlertCondition",
                    "metadata": {"name": policy.condition_slug, "displayName": policy.condition_name},
                    "spec": {
                        "description": policy.condition_description,
                        "severity": policy.severity,
                        "condition": condition,
                    },
                }
            ],
            "notificationTargets": [{"targetRef": t.slug} for t in sorted(policy.targets.all(), key=lambda t: t.slug)],
        },
    }


# --- parsing helpers -------------------------------------------------------------------


def _need(node, key: str, path: str, types, *, required: bool = True, default=None):
    if not isinstance(node, dict):
        raise OpenSLOError(path, "must be a mapping.")
    if key not in node or node[key] is None:
        if required:
            raise OpenSLOError(f"{path}.{key}", "is required.")
        return default
    value = node[key]
    types = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        names = "/".join(t.__name__ for t in types).replace("str", "string").replace("dict", "mapping")
        raise OpenSLOError(f"{path}.{key}", f"must be a {names}.")
    return value


def _fraction(value, path: str, *, allow_one: bool = False, scale: int = 1) -> Decimal:
    upper = scale
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise OpenSLOError(path, f"must be a number between 0 and {upper}.")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise OpenSLOError(path, f"must be a number between 0 and {upper}.")
    if not number.is_finite() or not (0 < number < upper or (allow_one and number == upper)):
        raise OpenSLOError(path, f"must be between 0 and {upper} (got {value}).")
    number = number / scale
    if number != number.quantize(Decimal("0.000001")):
        raise OpenSLOError(path, "has more than 6 decimal places." if scale == 1 else "has more than 4 decimal places.")
    return number.quantize(Decimal("0.000001"))


def _duration(value, path: str, *, minutes_if_number: bool = False) -> int:
    if minutes_if_number and isinstance(value, int) and not isinstance(value, bool):
        value = f"{value}m"
    if not isinstance(value, str):
        raise OpenSLOError(path, "must be a duration like 5m, 1h or 28d.")
    try:
        return maths.parse_duration(value)
    except ValueError as exc:
        raise OpenSLOError(path, str(exc))


def _display(metadata: dict) -> str:
    return str(metadata.get("displayName") or metadata["name"])[:200]


def _name(value, path: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 120:
        raise OpenSLOError(path, "must be 1-120 letters, digits, - or _.")
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
        raise OpenSLOError(path, "must be 1-120 letters, digits, - or _.")
    return value


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        text = f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged"
        if self.ignored:
            text += f", {len(self.ignored)} fields ignored"
        return text

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "ignored": self.ignored,
            "notes": self.notes,
        }


class _Reader:
    """Walks the documents, recording every key it reads; the rest is reported as ignored."""

    def __init__(self, result: ImportResult):
        self.result = result

    def unused(self, node: dict, path: str, used) -> None:
        for key in node:
            if key not in used:
                why = UNUSED.get(key, "not used by this platform")
                self.result.ignored.append(f"{path}.{key} ({why})")

    def note(self, text: str) -> None:
        if text not in self.result.notes:
            self.result.notes.append(text)


@dataclass
class Doc:
    path: str
    doc: dict

    @property
    def spec(self) -> dict:
        return self.doc["spec"]

    @property
    def metadata(self) -> dict:
        return self.doc["metadata"]

    @property
    def name(self) -> str:
        return self.doc["metadata"]["name"]


def parse(text: str, reader: _Reader) -> dict[str, dict[str, Doc]]:
    try:
        raw = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "document"
        raise OpenSLOError(where, f"is not valid YAML ({getattr(exc, 'problem', None) or exc}).")
    if len(raw) == 1 and isinstance(raw[0], list):
        raw = raw[0]  # a YAML list of documents, as some tools write them
    if not raw:
        raise OpenSLOError("documents", "is empty: give at least one OpenSLO document.")
    if len(raw) > MAX_DOCUMENTS:
        raise OpenSLOError("documents", f"has more than {MAX_DOCUMENTS} documents.")
    buckets: dict[str, dict[str, Doc]] = {kind: {} for kind in KINDS}
    for i, doc in enumerate(raw):
        path = f"documents[{i}]"
        kind = _check_document(doc, path, reader, expect_kind=None)
        if doc["metadata"]["name"] in buckets[kind]:
            raise OpenSLOError(f"{path}.metadata.name", f"{kind} {doc['metadata']['name']!r} appears twice.")
        buckets[kind][doc["metadata"]["name"]] = Doc(path, doc)
    return buckets


def _check_document(doc, path: str, reader: _Reader, *, expect_kind: str | None, inline: bool = False) -> str:
    if not isinstance(doc, dict):
        raise OpenSLOError(path, "must be a mapping with apiVersion, kind, metadata and spec.")
    if (not inline or "apiVersion" in doc) and doc.get("apiVersion") != API_VERSION:
        raise OpenSLOError(f"{path}.apiVersion", f"must be {API_VERSION} (got {doc.get('apiVersion')!r}).")
    kind = doc.get("kind", expect_kind if inline else None)
    if expect_kind and kind != expect_kind:
        raise OpenSLOError(f"{path}.kind", f"must be {expect_kind} (got {kind!r}).")
    if kind not in KINDS:
        raise OpenSLOError(f"{path}.kind", f"must be one of {', '.join(KINDS)} (got {kind!r}).")
    metadata = _need(doc, "metadata", path, dict)
    _name(_need(metadata, "name", f"{path}.metadata", str), f"{path}.metadata.name")
    _need(metadata, "displayName", f"{path}.metadata", str, required=False)
    annotations = _need(metadata, "annotations", f"{path}.metadata", dict, required=False, default={})
    for key in annotations:
        if str(key) not in OUR_ANNOTATIONS:
            reader.result.ignored.append(f"{path}.metadata.annotations.{key} (not used by this platform)")
    reader.unused(metadata, f"{path}.metadata", ("name", "displayName", "annotations"))
    _need(doc, "spec", path, dict)
    reader.unused(doc, path, ("apiVersion", "kind", "metadata", "spec"))
    return kind


def _annotations(doc: dict) -> dict:
    return {str(k): v for k, v in (doc["metadata"].get("annotations") or {}).items()}


def _description(spec: dict, path: str) -> str:
    return str(_need(spec, "description", path, str, required=False, default=""))


# --- kinds --------------------------------------------------------------------------------


@dataclass
class Source:
    """Where an SLI's numbers come from: a Prometheus query (with its server) or pushed samples."""

    kind: str  # SLI.Source
    query: str = ""
    url: str = ""


def _datasources(docs: dict[str, Doc], reader: _Reader) -> dict[str, tuple[str, str]]:
    """DataSource name -> (type, Prometheus URL)."""
    out = {}
    for name, d in docs.items():
        here = f"{d.path}.spec"
        kind = _need(d.spec, "type", here, str).strip()
        details = _need(d.spec, "connectionDetails", here, dict, required=False, default={})
        _description(d.spec, here)
        reader.unused(d.spec, here, ("type", "connectionDetails", "description"))
        url = ""
        if kind.lower() == "prometheus":
            url = str(_need(details, "url", f"{here}.connectionDetails", str, required=False, default="")).strip()
            if url:
                try:
                    URLValidator(schemes=["http", "https"])(url)
                except ValidationError:
                    raise OpenSLOError(f"{here}.connectionDetails.url", f"is not an http(s) URL: {url!r}.")
            else:
                reader.note(f"DataSource {name}: no connectionDetails.url; its SLIs use the server's PROMETHEUS_URL.")
            reader.unused(details, f"{here}.connectionDetails", ("url",))
        elif details:
            reader.unused(details, f"{here}.connectionDetails", ())
        out[name] = (kind, url)
    return out


def _source(node, path: str, datasources, reader: _Reader, what: str) -> Source:
    source = _need(node, "metricSource", path, dict)
    here = f"{path}.metricSource"
    ref = _need(source, "metricSourceRef", here, str, required=False)
    kind = _need(source, "type", here, str, required=False)
    url = ""
    if ref is not None:
        if ref not in datasources:
            raise OpenSLOError(f"{here}.metricSourceRef", f"refers to no DataSource in the document: {ref!r}.")
        ds_kind, url = datasources[ref]
        if kind is not None and kind.lower() != ds_kind.lower():
            raise OpenSLOError(f"{here}.type", f"is {kind!r} but DataSource {ref!r} is {ds_kind!r}.")
        kind = ds_kind
    if kind is None:
        raise OpenSLOError(f"{here}.type", "is required when there is no metricSourceRef.")
    spec = _need(source, "spec", here, dict, required=kind.lower() == "prometheus", default={})
    reader.unused(source, here, ("metricSourceRef", "type", "spec"))
    if kind.lower() == "prometheus":
        query = _need(spec, "query", f"{here}.spec", str)
        if not query.strip():
            raise OpenSLOError(f"{here}.spec.query", "must not be empty.")
        reader.unused(spec, f"{here}.spec", ("query",))
        return Source(SLI.Source.PROMETHEUS, query.strip(), url)
    if kind.lower() != "push":
        reader.note(
            f"{what}: metric source {kind!r} is not read by this platform; kept as a pushed-sample SLI "
            "(send its good and total counts to /api/v1/slo-samples/)."
        )
        reader.unused(spec, f"{here}.spec", ())
    elif spec:
        reader.unused(spec, f"{here}.spec", ())
    return Source(SLI.Source.PUSH)


@dataclass
class Indicator:
    """An SLI document (top-level or inline) read: a ratio or a threshold metric."""

    name: str
    path: str  # of the SLI document (or the inline indicator)
    display: str
    description: str
    annotations: dict
    metric: str  # "ratio" or "threshold"
    source: str = SLI.Source.PUSH
    good_query: str = ""
    total_query: str = ""
    threshold_query: str = ""
    url: str = ""


def _indicator(d: Doc, datasources, reader: _Reader) -> Indicator:
    spec, path = d.spec, f"{d.path}.spec"
    what = f"SLI {d.name}"
    description = _description(spec, path)
    common = {
        "name": d.name,
        "path": d.path,
        "display": _display(d.metadata),
        "description": description,
        "annotations": _annotations(d.doc),
    }
    has_ratio, has_threshold = "ratioMetric" in spec, "thresholdMetric" in spec
    if has_ratio == has_threshold:
        raise OpenSLOError(f"{path}.ratioMetric", "give exactly one of ratioMetric or thresholdMetric.")
    reader.unused(spec, path, ("description", "ratioMetric", "thresholdMetric"))
    if has_threshold:
        node = _need(spec, "thresholdMetric", path, dict)
        src = _source(node, f"{path}.thresholdMetric", datasources, reader, what)
        reader.unused(node, f"{path}.thresholdMetric", ("metricSource",))
        return Indicator(**common, metric="threshold", source=src.kind, threshold_query=src.query, url=src.url)
    ratio = _need(spec, "ratioMetric", path, dict)
    here = f"{path}.ratioMetric"
    _need(ratio, "counter", here, bool, required=False)
    reader.unused(ratio, here, ("good", "bad", "total", "raw", "rawType"))
    if "raw" in ratio:
        for part in ("good", "bad", "total"):
            if part in ratio:
                raise OpenSLOError(f"{here}.{part}", "cannot be used together with raw.")
        raw_type = _need(ratio, "rawType", here, str)
        if raw_type not in ("success", "failure"):
            raise OpenSLOError(f"{here}.rawType", f"must be success or failure (got {raw_type!r}).")
        src = _source(_need(ratio, "raw", here, dict), f"{here}.raw", datasources, reader, what)
        if src.kind == SLI.Source.PROMETHEUS:
            mean = f"avg_over_time(({src.query})[5m:])"
            good = mean if raw_type == "success" else f"1 - {mean}"
            reader.note(f"{what}: the raw ratio counts as one event per 5 minutes, good by the ratio's mean over them.")
            return Indicator(**common, metric="ratio", source=src.kind, good_query=good, total_query="vector(1)")
        return Indicator(**common, metric="ratio", source=src.kind)
    if "rawType" in ratio:
        raise OpenSLOError(f"{here}.rawType", "is only for a raw ratio.")
    if "good" in ratio and "bad" in ratio:
        raise OpenSLOError(f"{here}.bad", "give good or bad, not both.")
    if "good" not in ratio and "bad" not in ratio:
        raise OpenSLOError(f"{here}.good", "is required (or bad, or raw with rawType).")
    part = "good" if "good" in ratio else "bad"
    numerator = _source(_need(ratio, part, here, dict), f"{here}.{part}", datasources, reader, what)
    total = _source(_need(ratio, "total", here, dict), f"{here}.total", datasources, reader, what)
    for p in (part, "total"):
        reader.unused(ratio[p], f"{here}.{p}", ("metricSource",))
    if numerator.kind != total.kind:
        raise OpenSLOError(here, f"{part} and total must use the same metric source type.")
    if numerator.url != total.url:
        raise OpenSLOError(f"{here}.total.metricSource", f"must use the same Prometheus server as {part}.")
    good = numerator.query
    if part == "bad" and numerator.kind == SLI.Source.PROMETHEUS:
        good = f"({total.query}) - ({numerator.query})"
    return Indicator(
        **common,
        metric="ratio",
        source=numerator.kind,
        good_query=good,
        total_query=total.query,
        url=numerator.url,
    )


HISTOGRAM = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)_bucket\s*(\{[^}]*\})?")


def histogram_queries(query: str, op: str, value: float) -> tuple[str, str] | None:
    """Good and total PromQL for `value op threshold` over a Prometheus histogram, or None.

    The first `<name>_bucket{...}` selector in the query names the histogram; good events are
    the bucket at the threshold (`le`, which counts values at or below it), or all but it for
    gt/gte; total events are `<name>_count` with the same labels.
    """
    match = HISTOGRAM.search(query)
    if not match:
        return None
    name, labels = match.group(1), (match.group(2) or "{}")[1:-1]
    matchers = [m.strip() for m in labels.split(",") if m.strip() and not re.match(r"le\s*!?[=~]", m.strip())]
    le = format(value, "g")
    bucket = "{" + ", ".join([*matchers, f'le="{le}"']) + "}"
    count = "{" + ", ".join(matchers) + "}" if matchers else ""
    below = f"sum(increase({name}_bucket{bucket}[5m]))"
    total = f"sum(increase({name}_count{count}[5m]))"
    good = below if op in ("lt", "lte") else f"{total} - {below}"
    return good, total


def _condition(d: Doc, reader: _Reader, *, path_spec: str) -> dict:
    spec = d.spec
    severity = _need(spec, "severity", path_spec, str)
    if severity not in BurnRateAlert.Severity.values:
        raise OpenSLOError(
            f"{path_spec}.severity", f"must be page or ticket, the platform's alert levels (got {severity!r})."
        )
    condition = _need(spec, "condition", path_spec, dict)
    here = f"{path_spec}.condition"
    kind = _need(condition, "kind", here, str, required=False, default="burnrate")
    if kind != "burnrate":
        raise OpenSLOError(f"{here}.kind", f"must be burnrate (got {kind!r}).")
    op = _need(condition, "op", here, str, required=False, default="gt")
    if op not in ("gt", "gte"):
        raise OpenSLOError(
            f"{here}.op", f"must be gt or gte: a burn-rate alert fires when the budget burns faster (got {op!r})."
        )
    threshold = _need(condition, "threshold", here, (int, float))
    if threshold <= 0:
        raise OpenSLOError(f"{here}.threshold", "must be positive.")
    windows = ", ".join(maths.duration_label(w) for w in maths.BURN_WINDOWS)
    lookback = _duration(_need(condition, "lookbackWindow", here, (str, int)), f"{here}.lookbackWindow")
    if lookback not in maths.BURN_WINDOWS:
        raise OpenSLOError(f"{here}.lookbackWindow", f"must be one of the burn-rate windows {windows}.")
    after_text = _need(condition, "alertAfter", here, (str, int), required=False, default="0m")
    after = 0 if str(after_text).strip() in ("0", "0m", "0s", "0h") else _duration(after_text, f"{here}.alertAfter")
    if after and (after not in maths.BURN_WINDOWS or after > lookback):
        raise OpenSLOError(
            f"{here}.alertAfter", f"must be 0m or a burn-rate window ({windows}) no longer than the lookbackWindow."
        )
    reader.unused(condition, here, ("kind", "op", "threshold", "lookbackWindow", "alertAfter"))
    reader.unused(spec, path_spec, ("severity", "condition", "description"))
    return {
        "condition_slug": d.name,
        "condition_name": str(d.metadata.get("displayName") or ""),
        "condition_description": _description(spec, path_spec),
        "severity": severity,
        "op": op,
        "threshold": float(threshold),
        "lookback_window": lookback,
        "alert_after": after,
    }


def _policy(d: Doc, conditions: dict[str, Doc], targets: dict[str, Doc], known_targets, reader: _Reader) -> dict:
    spec, path = d.spec, f"{d.path}.spec"
    fields = {"name": _display(d.metadata), "description": _description(spec, path)}
    for key, attr, default in (
        ("alertWhenBreaching", "alert_when_breaching", True),
        ("alertWhenResolved", "alert_when_resolved", True),
        ("alertWhenNoData", "alert_when_no_data", False),
    ):
        fields[attr] = _need(spec, key, path, bool, required=False, default=default)
    if fields["alert_when_no_data"]:
        reader.result.ignored.append(f"{path}.alertWhenNoData ({UNUSED['alertWhenNoData']})")
    if not fields["alert_when_breaching"]:
        reader.note(f"AlertPolicy {d.name}: alertWhenBreaching is false, so it never opens alerts.")
    items = _need(spec, "conditions", path, list)
    if len(items) != 1:
        raise OpenSLOError(f"{path}.conditions", "must have exactly one condition (OpenSLO v1 allows one).")
    here = f"{path}.conditions[0]"
    item = items[0]
    if isinstance(item, dict) and "conditionRef" in item:
        ref = _need(item, "conditionRef", here, str)
        if ref not in conditions:
            raise OpenSLOError(f"{here}.conditionRef", f"refers to no AlertCondition in the document: {ref!r}.")
        reader.unused(item, here, ("conditionRef",))
        cond = conditions[ref]
        fields.update(_condition(cond, reader, path_spec=f"{cond.path}.spec"))
    else:
        _check_document(item, here, reader, expect_kind="AlertCondition", inline=True)
        fields.update(_condition(Doc(here, item), reader, path_spec=f"{here}.spec"))
    target_slugs = []
    for j, item in enumerate(_need(spec, "notificationTargets", path, list, required=False, default=[])):
        here = f"{path}.notificationTargets[{j}]"
        if isinstance(item, dict) and "targetRef" in item:
            ref = _need(item, "targetRef", here, str)
            if ref not in targets and ref not in known_targets:
                raise OpenSLOError(f"{here}.targetRef", f"refers to no AlertNotificationTarget: {ref!r}.")
            reader.unused(item, here, ("targetRef",))
            target_slugs.append(ref)
        else:
            _check_document(item, here, reader, expect_kind="AlertNotificationTarget", inline=True)
            name = item["metadata"]["name"]
            if name in targets and targets[name].doc is not item:
                raise OpenSLOError(f"{here}.metadata.name", f"AlertNotificationTarget {name!r} appears twice.")
            targets[name] = Doc(here, item)
            target_slugs.append(name)
    reader.unused(
        spec,
        path,
        (
            "description",
            "alertWhenBreaching",
            "alertWhenResolved",
            "alertWhenNoData",
            "conditions",
            "notificationTargets",
        ),
    )
    return {"fields": fields, "targets": target_slugs}


def _target(d: Doc, reader: _Reader) -> dict:
    path = f"{d.path}.spec"
    target = _need(d.spec, "target", path, str).strip()
    if not target:
        raise OpenSLOError(f"{path}.target", "must not be empty.")
    reader.unused(d.spec, path, ("target", "description"))
    return {"name": _display(d.metadata), "description": _description(d.spec, path), "target": target[:100]}


# Calendar durations: unit by the OpenSLO shorthand (M month, Q quarter, Y year, w week).
CALENDAR_DURATIONS = {
    "1w": SLO.CalendarUnit.WEEK,
    "7d": SLO.CalendarUnit.WEEK,
    "1M": SLO.CalendarUnit.MONTH,
    "1Q": SLO.CalendarUnit.QUARTER,
    "3M": SLO.CalendarUnit.QUARTER,
    "1Y": SLO.CalendarUnit.YEAR,
    "1y": SLO.CalendarUnit.YEAR,
    "12M": SLO.CalendarUnit.YEAR,
}
CALENDAR_DURATION_NAMES = {
    SLO.CalendarUnit.WEEK: "1w",
    SLO.CalendarUnit.MONTH: "1M",
    SLO.CalendarUnit.QUARTER: "1Q",
    SLO.CalendarUnit.YEAR: "1Y",
}
START_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def _window(path: str, spec: dict, reader: _Reader) -> dict:
    windows = _need(spec, "timeWindow", f"{path}.spec", list)
    if len(windows) != 1:
        raise OpenSLOError(f"{path}.spec.timeWindow", "must have exactly one entry.")
    here = f"{path}.spec.timeWindow[0]"
    window = windows[0]
    duration = str(_need(window, "duration", here, str)).strip()
    calendar = _need(window, "calendar", here, dict, required=False)
    rolling = _need(window, "isRolling", here, bool, required=False, default=calendar is None)
    reader.unused(window, here, ("duration", "isRolling", "calendar"))
    if rolling:
        if calendar is not None:
            raise OpenSLOError(f"{here}.calendar", "a rolling window has no calendar.")
        seconds = _duration(duration, f"{here}.duration")
        if seconds % maths.DAY or not 1 <= seconds // maths.DAY <= 366:
            raise OpenSLOError(f"{here}.duration", "a rolling window is a whole number of days, 1d to 366d.")
        return {
            "window_kind": SLO.WindowKind.ROLLING,
            "window_days": seconds // maths.DAY,
            "calendar_unit": "",
            "calendar_timezone": "UTC",
            "calendar_start": None,
        }
    unit = CALENDAR_DURATIONS.get(duration)
    if unit is None and duration == "1m":
        # OpenSLO's "m" is minutes, but no calendar period lasts a minute: the one reading
        # that can be honoured is a month (said in the notes, never silently).
        unit = SLO.CalendarUnit.MONTH
        reader.note(
            f"{here}.duration: a calendar window of 1m (one minute) cannot be evaluated; read as 1M (one month)."
        )
    if unit is None:
        raise OpenSLOError(
            f"{here}.duration", "a calendar window is 1w (week), 1M (month), 1Q or 3M (quarter) or 1Y (year)."
        )
    calendar = calendar or {}
    tz = str(_need(calendar, "timeZone", f"{here}.calendar", str, required=False, default="UTC")).strip()
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise OpenSLOError(f"{here}.calendar.timeZone", f"is not an IANA time zone like Europe/Paris (got {tz!r}).")
    start = calendar.get("startTime")
    anchor = None
    if start is not None:
        text = str(start).strip()
        for fmt in START_FORMATS:
            try:
                anchor = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if anchor is None:
            raise OpenSLOError(f"{here}.calendar.startTime", "must be a date and time like 2020-01-01 00:00:00.")
        if unit != SLO.CalendarUnit.WEEK and anchor.day > 28:
            raise OpenSLOError(
                f"{here}.calendar.startTime",
                "a month, quarter or year period starts on day 1 to 28 (not every month has a 29th).",
            )
        if maths.is_default_anchor(anchor, unit):
            anchor = None  # the platform's own periods: stored as the default
    reader.unused(calendar, f"{here}.calendar", ("timeZone", "startTime"))
    return {
        "window_kind": SLO.WindowKind.CALENDAR,
        "window_days": 30,
        "calendar_unit": unit,
        "calendar_timezone": "UTC" if tz == "Etc/UTC" else tz,
        "calendar_start": None if anchor is None else anchor.replace(tzinfo=zone).astimezone(UTC),
    }


def _objective(here: str, objective, budgeting: str, reader: _Reader) -> dict:
    if not isinstance(objective, dict):
        raise OpenSLOError(here, "must be a mapping.")
    for key in ("indicator", "indicatorRef"):
        if key in objective:
            raise OpenSLOError(f"{here}.{key}", "composite SLOs (an indicator per objective) are not supported.")
    if "target" in objective and "targetPercent" in objective:
        raise OpenSLOError(f"{here}.targetPercent", "give target or targetPercent, not both.")
    if "target" in objective:
        target = _fraction(objective["target"], f"{here}.target")
    elif "targetPercent" in objective:
        target = _fraction(objective["targetPercent"], f"{here}.targetPercent", scale=100)
    else:
        raise OpenSLOError(f"{here}.target", "is required (or targetPercent).")
    fields = {"target": target, "timeslice_seconds": None, "timeslice_target": None}
    used = {"displayName", "target", "targetPercent", "op", "value"}
    if budgeting in (SLO.Budgeting.TIMESLICES, SLO.Budgeting.RATIO_TIMESLICES):
        used.add("timeSliceWindow")
        asked = objective.get("timeSliceWindow")
        seconds = _duration(
            _need(objective, "timeSliceWindow", here, (str, int)), f"{here}.timeSliceWindow", minutes_if_number=True
        )
        if seconds > maths.DAY:
            raise OpenSLOError(
                f"{here}.timeSliceWindow", f"must be at most 1d: slices are evaluated within a day (got {asked})."
            )
        supported = maths.supported_slice(seconds)
        if supported != seconds:
            reader.note(
                f"{here}.timeSliceWindow: {asked} slices are evaluated as {maths.duration_label(supported)} slices, "
                "the nearest multiple of the 5-minute samples"
                + (
                    "; a slice's ratio is that of its 5 minutes (good / total events in them)."
                    if seconds < supported
                    else "."
                )
            )
        fields["timeslice_seconds"] = supported
    if budgeting == SLO.Budgeting.TIMESLICES:
        used.add("timeSliceTarget")
        if "timeSliceTarget" not in objective:
            raise OpenSLOError(f"{here}.timeSliceTarget", "is required for Timeslices.")
        fields["timeslice_target"] = _fraction(objective["timeSliceTarget"], f"{here}.timeSliceTarget", allow_one=True)
    reader.unused(objective, here, used)
    op = _need(objective, "op", here, str, required=False)
    if op is not None and op not in OPS:
        raise OpenSLOError(f"{here}.op", f"must be lt, lte, gt or gte (got {op!r}).")
    value = _need(objective, "value", here, (int, float), required=False)
    display = _need(objective, "displayName", here, str, required=False)
    return {"fields": fields, "op": op, "value": value, "display": display}


# --- import --------------------------------------------------------------------------------


def _actor(user):
    """Who the import writes as: the importing user, or the platform (a command without one)."""
    return user if user is not None else permissions.SYSTEM


def _apply(result: ImportResult, label: str, obj, fields: dict, *, update, create, user):
    if obj is None:
        created = create()
        result.created.append(label)
        return created
    if all(getattr(obj, k) == v for k, v in fields.items()):
        result.unchanged.append(label)
        return obj
    if user is not None and not permissions.can_change(user, obj):
        raise PermissionDenied(f"You may not change {label}.")
    updated = update()
    result.updated.append(label)
    return updated


def _same_policy(a: dict, b: dict) -> bool:
    return all(a.get(k) == b.get(k) for k in ("metadata", "spec"))


def _may_change_shared(user, organization, slos) -> bool:
    """Org-wide policies and targets: admins, or whoever may change every SLO using them."""
    if user is None or permissions.is_org_admin(user, organization):
        return True
    return all(permissions.can_change(user, slo) for slo in slos)


@transaction.atomic
def import_documents(*, user, organization, text: str, dry_run: bool = False) -> ImportResult:
    """Create or update what an OpenSLO document describes, all or nothing.

    `user` is checked for the right to create/change each SLI and SLO; None (the
    management command run by an operator) skips those checks. With `dry_run` the
    result says what would be created, updated, unchanged and ignored, and nothing is kept.
    """
    result = ImportResult(dry_run=dry_run)
    reader = _Reader(result)
    docs = parse(text, reader)
    org_services = {s.slug: s for s in Service.objects.filter(organization=organization).select_related("team")}
    for name, d in docs["Service"].items():
        if name not in org_services:
            raise OpenSLOError(f"{d.path}.metadata.name", f"no service {name!r} in {organization}.")
        if d.metadata.get("displayName") is not None:
            result.ignored.append(f"{d.path}.metadata.displayName (services are matched by name, not changed)")
        _description(d.spec, f"{d.path}.spec")
        reader.unused(d.spec, f"{d.path}.spec", ())
    datasources = _datasources(docs["DataSource"], reader)
    indicators = {name: _indicator(d, datasources, reader) for name, d in docs["SLI"].items()}

    # Alert policies: top-level ones and those inlined in SLOs; their conditions and targets.
    targets: dict[str, Doc] = dict(docs["AlertNotificationTarget"])
    known_targets = set(NotificationTarget.objects.filter(organization=organization).values_list("slug", flat=True))
    known_policies = set(AlertPolicy.objects.filter(organization=organization).values_list("slug", flat=True))
    policy_docs: dict[str, Doc] = dict(docs["AlertPolicy"])
    slo_policies: dict[str, list[str]] = {}
    for name, d in docs["SLO"].items():
        refs = []
        items = _need(d.spec, "alertPolicies", f"{d.path}.spec", list, required=False, default=[])
        for j, item in enumerate(items):
            here = f"{d.path}.spec.alertPolicies[{j}]"
            if isinstance(item, str) or (isinstance(item, dict) and "alertPolicyRef" in item):
                ref = item if isinstance(item, str) else _need(item, "alertPolicyRef", here, str)
                if ref not in policy_docs and ref not in known_policies:
                    raise OpenSLOError(here, f"refers to no AlertPolicy: {ref!r}.")
                if isinstance(item, dict):
                    reader.unused(item, here, ("alertPolicyRef",))
                refs.append(ref)
            else:
                _check_document(item, here, reader, expect_kind="AlertPolicy", inline=True)
                pname = item["metadata"]["name"]
                if pname in policy_docs and _same_policy(policy_docs[pname].doc, item):
                    refs.append(pname)  # the same policy inlined in several SLOs
                    continue
                if pname in policy_docs:
                    raise OpenSLOError(
                        f"{here}.metadata.name", f"AlertPolicy {pname!r} appears twice, with different contents."
                    )
                policy_docs[pname] = Doc(here, item)
                refs.append(pname)
        if len(set(refs)) != len(refs):
            raise OpenSLOError(f"{d.path}.spec.alertPolicies", "names one AlertPolicy twice.")
        slo_policies[name] = refs
    policies = {
        name: _policy(d, docs["AlertCondition"], targets, known_targets, reader) for name, d in policy_docs.items()
    }
    target_fields = {name: _target(d, reader) for name, d in targets.items()}
    used_conditions = {p["fields"]["condition_slug"] for p in policies.values()}
    for name, d in docs["AlertCondition"].items():
        if name not in used_conditions:
            _condition(d, reader, path_spec=f"{d.path}.spec")
            reader.note(f"AlertCondition {name}: used by no AlertPolicy, so not imported.")

    # SLOs: one platform SLO per objective, each with its SLI.
    sli_plans: dict[str, dict] = {}  # slug -> {"fields", "service", "path"}
    slo_plans: dict[str, dict] = {}
    for name, d in docs["SLO"].items():
        path, spec = d.path, d.spec
        service = _need(spec, "service", f"{path}.spec", str)
        if service not in org_services:
            raise OpenSLOError(f"{path}.spec.service", f"no service {service!r} in {organization}.")
        has_inline, has_ref = "indicator" in spec, "indicatorRef" in spec
        if has_inline and has_ref:
            raise OpenSLOError(f"{path}.spec.indicatorRef", "give indicator or indicatorRef, not both.")
        indicator, existing_ref = None, None
        if has_inline:
            here = f"{path}.spec.indicator"
            node = _need(spec, "indicator", f"{path}.spec", dict)
            _check_document(node, here, reader, expect_kind="SLI", inline=True)
            iname = node["metadata"]["name"]
            if iname in indicators:
                raise OpenSLOError(f"{here}.metadata.name", f"SLI {iname!r} appears twice.")
            indicator = _indicator(Doc(here, node), datasources, reader)
            indicators[iname] = indicator
        elif has_ref:
            ref = _need(spec, "indicatorRef", f"{path}.spec", str)
            if ref in indicators:
                indicator = indicators[ref]
            elif SLI.objects.filter(organization=organization, slug=ref).exists():
                existing_ref = ref
            else:
                raise OpenSLOError(f"{path}.spec.indicatorRef", f"refers to no SLI {ref!r}.")
        else:
            raise OpenSLOError(f"{path}.spec.indicatorRef", "is required (or an inline indicator).")
        window = _window(path, spec, reader)
        method = _need(spec, "budgetingMethod", f"{path}.spec", str)
        if method not in BUDGETING:
            raise OpenSLOError(
                f"{path}.spec.budgetingMethod", f"must be Occurrences, Timeslices or RatioTimeslices (got {method!r})."
            )
        objectives = _need(spec, "objectives", f"{path}.spec", list)
        if not objectives:
            raise OpenSLOError(f"{path}.spec.objectives", "must have at least one objective.")
        ann = _annotations(d.doc)
        owner = ann.get(f"{ANNOTATION}owner")
        alerting = str(ann.get(f"{ANNOTATION}alerting", "true")).lower() not in ("false", "off", "no")
        if not alerting and slo_policies[name]:
            raise OpenSLOError(
                f"{path}.metadata.annotations.{ANNOTATION}alerting", "is false but the SLO has alertPolicies."
            )
        if alerting and not slo_policies[name]:
            reader.note(f"SLO {name}: no alertPolicies; the platform's multiwindow burn-rate alerts apply.")
        common = {
            **window,
            "budgeting": BUDGETING[method],
            "description": _description(spec, f"{path}.spec"),
            "alerting": alerting,
            "owner": get_user_model().objects.filter(email__iexact=owner).first() if owner else None,
        }
        if owner and common["owner"] is None:
            reader.note(f"SLO {name}: no user {owner!r}; imported without an owner.")
        reader.unused(
            spec,
            f"{path}.spec",
            (
                "description",
                "service",
                "indicator",
                "indicatorRef",
                "timeWindow",
                "budgetingMethod",
                "objectives",
                "alertPolicies",
            ),
        )
        many = len(objectives) > 1
        for i, objective in enumerate(objectives):
            here = f"{path}.spec.objectives[{i}]"
            obj = _objective(here, objective, BUDGETING[method], reader)
            slug = f"{name}-{i + 1}" if many else name
            if len(slug) > 120:
                raise OpenSLOError(f"{path}.metadata.name", "is too long for several objectives (at most 117).")
            if slug in slo_plans:
                raise OpenSLOError(f"{path}.metadata.name", f"gives SLO {slug!r}, which another document gives too.")
            if many:
                display = obj["display"] or f"{_display(d.metadata)} {i + 1}"
            else:
                display = d.metadata.get("displayName") or obj["display"] or name
            if indicator is None or indicator.metric == "ratio":
                for key in ("op", "value"):
                    if obj[key] is not None:
                        result.ignored.append(f"{here}.{key} (only a thresholdMetric objective compares values)")
                sli_slug = existing_ref or indicator.name
                if indicator is not None:
                    _plan_ratio_sli(sli_plans, indicator, service)
            else:
                for key in ("op", "value"):
                    if obj[key] is None:
                        raise OpenSLOError(f"{here}.{key}", "is required with a thresholdMetric indicator.")
                sli_slug = _plan_threshold_sli(
                    sli_plans, indicator, service, obj["op"], float(obj["value"]), here, reader
                )
            slo_plans[slug] = {
                "path": here if many else path,
                "fields": {
                    **common,
                    **obj["fields"],
                    "name": display[:200],
                    "openslo_name": name if many else "",
                },
                "sli": sli_slug,
                "service": service,
                "service_path": f"{path}.spec.service",
                "policies": slo_policies[name],
            }
    # SLI documents no SLO uses: ratio ones are imported if they say their service.
    for name, ind in indicators.items():
        if name in sli_plans or any(p["sli"] == name for p in slo_plans.values()):
            continue
        if ind.metric == "threshold":
            if not any(s.get("base") == name for s in sli_plans.values()):
                reader.note(f"SLI {name}: a thresholdMetric becomes SLIs through its SLOs' objectives; none uses it.")
            continue
        service = ind.annotations.get(f"{ANNOTATION}service")
        if not service:
            raise OpenSLOError(
                f"{ind.path}.metadata.annotations",
                f"say which service it measures ({ANNOTATION}service) or use it in an SLO.",
            )
        _plan_ratio_sli(sli_plans, ind, service)

    # --- writes ---
    _write_targets(result, organization, target_fields, user)
    policy_objs = _write_policies(result, organization, policies, user)
    slis: dict[str, SLI] = {}
    for slug, plan in sli_plans.items():
        path, fields, service_slug = plan["path"], dict(plan["fields"]), plan["service"]
        if service_slug not in org_services:
            raise OpenSLOError(f"{path}.metadata.annotations.{ANNOTATION}service", f"no service {service_slug!r}.")
        service = org_services[service_slug]
        existing = SLI.objects.filter(organization=organization, slug=slug).first()
        if existing is None and user is not None and not permissions.can_create(user, SLI, team=service.team):
            raise PermissionDenied(f"You may not add SLIs to {service.name}.")
        fields["service"] = service
        try:
            slis[slug] = _apply(
                result,
                f"SLI {slug}",
                existing,
                fields,
                update=lambda e=existing, f=fields: services.sli_update(actor=_actor(user), sli=e, **f),
                create=lambda f=fields, n=slug: services.sli_create(actor=_actor(user), slug=n, **f),
                user=user,
            )
        except ValidationError as exc:
            raise OpenSLOError(path, "; ".join(exc.messages))

    for slug, plan in slo_plans.items():
        path, fields = plan["path"], dict(plan["fields"])
        sli = slis.get(plan["sli"]) or SLI.objects.select_related("service").get(
            organization=organization, slug=plan["sli"]
        )
        if sli.service.slug != plan["service"]:
            raise OpenSLOError(
                plan["service_path"],
                f"SLI {sli.slug!r} measures {sli.service.slug}, not {plan['service']}.",
            )
        existing = SLO.objects.filter(organization=organization, slug=slug).first()
        if existing is None and user is not None and not permissions.can_create(user, SLO, team=sli.service.team):
            raise PermissionDenied(f"You may not add SLOs to {sli.service.name}.")
        fields["sli"] = sli
        label = f"SLO {slug}"
        wanted = set(_policy_pks(organization, plan["policies"], policy_objs))
        try:
            if existing is None:
                services.slo_create(actor=_actor(user), slug=slug, alert_policies=wanted, **fields)
                result.created.append(label)
            elif all(getattr(existing, k) == v for k, v in fields.items()) and wanted == set(
                existing.alert_policies.values_list("pk", flat=True)
            ):
                result.unchanged.append(label)
            else:
                if user is not None and not permissions.can_change(user, existing):
                    raise PermissionDenied(f"You may not change {label}.")
                services.slo_update(actor=_actor(user), slo=existing, alert_policies=wanted, **fields)
                result.updated.append(label)
        except ValidationError as exc:
            raise OpenSLOError(path, "; ".join(exc.messages))
    if dry_run:
        transaction.set_rollback(True)
    return result


def _policy_pks(organization, names: list[str], policy_objs: dict[str, AlertPolicy]) -> list[int]:
    pks = []
    for name in names:
        obj = policy_objs.get(name) or AlertPolicy.objects.get(organization=organization, slug=name)
        pks.append(obj.pk)
    return pks


def _sli_base_fields(ind: Indicator) -> dict:
    kind_default = SLI.Kind.LATENCY if ind.metric == "threshold" else SLI.Kind.OTHER
    kind = ind.annotations.get(f"{ANNOTATION}kind", kind_default)
    if kind not in SLI.Kind.values:
        raise OpenSLOError(
            f"{ind.path}.metadata.annotations.{ANNOTATION}kind", f"must be one of {', '.join(SLI.Kind.values)}."
        )
    url = ind.url or str(ind.annotations.get(f"{ANNOTATION}prometheus-url", ""))
    return {"kind": kind, "description": ind.description, "prometheus_url": url}


def _plan_ratio_sli(plans: dict, ind: Indicator, service: str) -> None:
    if ind.name in plans:
        return  # the first SLO using it says its service; a mismatch is refused at the SLO's path
    service = ind.annotations.get(f"{ANNOTATION}service") or service
    plans[ind.name] = {
        "path": ind.path,
        "service": service,
        "fields": {
            **_sli_base_fields(ind),
            "name": ind.display,
            "source": ind.source,
            "good_query": ind.good_query,
            "total_query": ind.total_query,
            "threshold_query": "",
            "threshold_op": "",
            "threshold_value": None,
        },
    }


def _plan_threshold_sli(plans, ind: Indicator, service: str, op: str, value: float, here: str, reader) -> str:
    slug = f"{ind.name}{threshold_suffix(op, value)}"
    if len(slug) > 120:
        raise OpenSLOError(f"{ind.path}.metadata.name", "is too long to name its threshold SLIs.")
    if slug in plans:
        return slug
    source, good, total = ind.source, "", ""
    if source == SLI.Source.PROMETHEUS:
        queries = histogram_queries(ind.threshold_query, op, value)
        if queries is None:
            source = SLI.Source.PUSH
            reader.note(
                f"SLI {slug}: the thresholdMetric query is not a Prometheus histogram (no _bucket series), so "
                "events cannot be counted from it; kept as a pushed-sample SLI."
            )
        else:
            good, total = queries
            reader.note(
                f'SLI {slug}: good events are the histogram bucket le="{format(value, "g")}"'
                + (" (values at the threshold count as good)" if op == "lt" else "")
                + (" (values at the threshold count as bad)" if op == "gte" else "")
                + "; that bucket must exist."
            )
    service = ind.annotations.get(f"{ANNOTATION}service") or service
    plans[slug] = {
        "path": here,
        "service": service,
        "base": ind.name,
        "fields": {
            **_sli_base_fields(ind),
            "name": f"{ind.display} {OP_SYMBOLS[op]} {format(value, 'g')}"[:200],
            "source": source,
            "good_query": good,
            "total_query": total,
            "threshold_query": ind.threshold_query if source == SLI.Source.PROMETHEUS else "",
            "threshold_op": op,
            "threshold_value": value,
        },
    }
    return slug


def _write_targets(result: ImportResult, organization, target_fields: dict, user) -> None:
    for slug, fields in target_fields.items():
        existing = NotificationTarget.objects.filter(organization=organization, slug=slug).first()
        label = f"AlertNotificationTarget {slug}"
        if existing is None:
            NotificationTarget.objects.create(organization=organization, slug=slug, **fields)
            result.created.append(label)
        elif all(getattr(existing, k) == v for k, v in fields.items()):
            result.unchanged.append(label)
        else:
            slos = SLO.objects.filter(alert_policies__targets=existing).distinct()
            if not _may_change_shared(user, organization, slos):
                raise PermissionDenied(f"You may not change {label}: SLOs you cannot change use it.")
            for k, v in fields.items():
                setattr(existing, k, v)
            existing.save()
            result.updated.append(label)


def _write_policies(result: ImportResult, organization, policies: dict, user) -> dict[str, AlertPolicy]:
    out = {}
    for slug, plan in policies.items():
        fields = plan["fields"]
        existing = AlertPolicy.objects.filter(organization=organization, slug=slug).first()
        label = f"AlertPolicy {slug}"
        target_pks = set(
            NotificationTarget.objects.filter(organization=organization, slug__in=plan["targets"]).values_list(
                "pk", flat=True
            )
        )
        if existing is None:
            existing = AlertPolicy.objects.create(organization=organization, slug=slug, **fields)
            existing.targets.set(target_pks)
            result.created.append(label)
        elif all(getattr(existing, k) == v for k, v in fields.items()) and target_pks == set(
            existing.targets.values_list("pk", flat=True)
        ):
            result.unchanged.append(label)
        else:
            if not _may_change_shared(user, organization, existing.slos.all()):
                raise PermissionDenied(f"You may not change {label}: SLOs you cannot change use it.")
            for k, v in fields.items():
                setattr(existing, k, v)
            existing.save()
            existing.targets.set(target_pks)
            result.updated.append(label)
            services.slo_status_refresh(actor=permissions.SYSTEM, slo_ids=existing.slos.values_list("pk", flat=True))
        out[slug] = existing
    return out
