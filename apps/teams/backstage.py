"""Import teams and services from Backstage catalog descriptor files.

Backstage describes an org as entities: `Group` (spec.type team, department,
business-unit...; spec.parent) and `Component` (spec.owner, spec.lifecycle).
Groups of type "team" become teams, other groups become departments (nested
through spec.parent), components become services owned by their team.

The whole upload is validated first; any bad entity refuses the lot.
"""

from dataclasses import dataclass, field

import yaml
from django.db import transaction

from . import services
from .models import Organization, Service

TEAM_GROUP_TYPES = {"team", "squad"}
LIFECYCLES = {lc.value for lc in Service.Lifecycle}


class CatalogError(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class CatalogResult:
    departments: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _entity_name(ref: str) -> str:
    """`group:default/payments` -> `payments`."""
    ref = (ref or "").strip()
    if ":" in ref:
        ref = ref.split(":", 1)[1]
    return ref.rsplit("/", 1)[-1]


def _tier(meta: dict, spec: dict) -> int:
    raw = (meta.get("annotations") or {}).get("devops-maturity/tier") or spec.get("tier")
    for tag in meta.get("tags") or []:
        if str(tag).startswith("tier-"):
            raw = raw or str(tag)[5:]
    if raw in (None, ""):
        return Service.Tier.TIER_2
    value = int(str(raw).removeprefix("tier-"))
    if value not in (1, 2, 3):
        raise ValueError(f"tier must be 1, 2 or 3, not {raw}")
    return value


def _links(meta: dict) -> tuple[str, str]:
    annotations = meta.get("annotations") or {}
    repository = ""
    if slug := annotations.get("github.com/project-slug"):
        repository = f"https://github.com/{slug}"
    elif location := annotations.get("backstage.io/source-location"):
        repository = location.removeprefix("url:").strip()
    runbook = ""
    for link in meta.get("links") or []:
        text = f"{link.get('title', '')} {link.get('type', '')}".lower()
        if "runbook" in text or "playbook" in text:
            runbook = link.get("url", "")
            break
    return repository, runbook


def parse_documents(texts: list[tuple[str, str]]) -> list[tuple[str, dict]]:
    """[(source label, entity)] from (filename, YAML text) pairs; YAML errors become CatalogError."""
    entities, errors = [], []
    for filename, text in texts:
        try:
            for index, doc in enumerate(yaml.safe_load_all(text), start=1):
                if doc is None:
                    continue
                if not isinstance(doc, dict):
                    errors.append(f"{filename} document {index}: not a mapping")
                    continue
                entities.append((f"{filename} document {index}", doc))
        except yaml.YAMLError as exc:
            errors.append(f"{filename}: invalid YAML ({exc})")
    if errors:
        raise CatalogError(errors)
    return entities


def import_catalog(*, actor, organization: Organization, texts: list[tuple[str, str]]) -> CatalogResult:
    """Validate every entity, then write them all in one transaction (idempotent: upserts by name)."""
    entities = parse_documents(texts)
    errors: list[str] = []
    result = CatalogResult()
    groups: dict[str, dict] = {}
    components: list[tuple[str, dict]] = []

    for where, doc in entities:
        kind = doc.get("kind")
        meta = doc.get("metadata") or {}
        name = meta.get("name")
        label = f"{where} ({kind} {name or '?'})"
        if not name:
            errors.append(f"{label}: metadata.name is required")
            continue
        if kind == "Group":
            groups[name] = {"doc": doc, "label": label}
        elif kind == "Component":
            components.append((label, doc))
        else:
            result.skipped.append(f"{kind} {name}")

    for entry in groups.values():
        parent = (entry["doc"].get("spec") or {}).get("parent")
        if (
            parent
            and _entity_name(parent) not in groups
            and not organization.departments.filter(slug=_entity_name(parent)).exists()
        ):
            errors.append(f"{entry['label']}: spec.parent “{parent}” is not in the catalog")

    team_names = {n for n, e in groups.items() if (e["doc"].get("spec") or {}).get("type", "team") in TEAM_GROUP_TYPES}
    existing_teams = set(organization.teams.values_list("slug", flat=True))
    parsed_components = []
    for label, doc in components:
        meta, spec = doc.get("metadata") or {}, doc.get("spec") or {}
        owner = _entity_name(spec.get("owner", ""))
        if not owner:
            errors.append(f"{label}: spec.owner is required")
            continue
        if owner not in team_names and owner not in existing_teams:
            errors.append(f"{label}: spec.owner “{spec.get('owner')}” is not a team in the catalog or the organization")
            continue
        lifecycle = str(spec.get("lifecycle", "production")).lower()
        if lifecycle not in LIFECYCLES:
            errors.append(f"{label}: spec.lifecycle must be one of {', '.join(sorted(LIFECYCLES))}")
            continue
        try:
            tier = _tier(meta, spec)
        except ValueError as exc:
            errors.append(f"{label}: {exc}")
            continue
        parsed_components.append((label, meta, owner, lifecycle, tier))

    if errors:
        raise CatalogError(errors)

    with transaction.atomic():
        departments = {}

        def department_for(group_name, seen=()):
            if group_name in departments:
                return departments[group_name]
            if group_name not in groups:
                return organization.departments.filter(slug=group_name).first()
            if group_name in seen:
                raise CatalogError([f"{groups[group_name]['label']}: spec.parent forms a cycle"])
            doc = groups[group_name]["doc"]
            spec = doc.get("spec") or {}
            parent = department_for(_entity_name(spec["parent"]), (*seen, group_name)) if spec.get("parent") else None
            dept = services.department_upsert(
                actor=actor, organization=organization, slug=group_name, name=_display_name(doc), parent=parent
            )
            departments[group_name] = dept
            result.departments.append(dept.name)
            return dept

        for name in groups:
            if name not in team_names:
                department_for(name)
        teams = {}
        for name in team_names:
            doc = groups[name]["doc"]
            spec = doc.get("spec") or {}
            parent = department_for(_entity_name(spec["parent"])) if spec.get("parent") else None
            team = services.team_upsert(
                actor=actor,
                organization=organization,
                slug=name,
                name=_display_name(doc),
                department=parent if parent is not None and parent._meta.model_name == "department" else None,
                description=(doc.get("metadata") or {}).get("description", "") or "",
            )
            teams[name] = team
            result.teams.append(team.name)
        for _label, meta, owner, lifecycle, tier in parsed_components:
            team = teams.get(owner) or organization.teams.get(slug=owner)
            repository, runbook = _links(meta)
            service = services.service_upsert(
                actor=actor,
                organization=organization,
                team=team,
                slug=meta["name"],
                name=meta.get("title") or meta["name"],
                description=meta.get("description", "") or "",
                lifecycle=lifecycle,
                tier=tier,
                repository_url=repository,
                runbook_url=runbook,
            )
            result.services.append(service.name)
    return result


def _display_name(doc: dict) -> str:
    meta, spec = doc.get("metadata") or {}, doc.get("spec") or {}
    profile = spec.get("profile") or {}
    return profile.get("displayName") or meta.get("title") or meta["name"]
