"""Framework versions shipped as data (YAML files beside this module).

`load_file` / `validate` read and check a file; `install` writes it through the
model classes it is given, so the same code runs in a data migration (with
historical models) and in `manage.py load_framework` (with the real ones).
Dimensions are whatever the file lists (CALMS has five, SRE practices eight).
Installing is idempotent: the same file twice changes nothing. A version that
a campaign already uses is never rewritten; a file that differs from it is an
error that asks for a new version number.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

DIRECTORY = Path(__file__).resolve().parent
BUILT_IN = ("calms_v1.yaml", "sre_v1.yaml")
# The framework family the team score's self-assessment pillar and perception gaps read
# (their evidence is written for CALMS' five dimensions); any other family, such as "sre",
# is assessed, scored and shown the same way but stays out of the team score.
SCORED_FAMILY = "calms"
LEVEL_COUNT = 5


class FrameworkDataError(ValueError):
    """The file is not a valid framework definition (the message says where)."""


@dataclass(frozen=True)
class InstallResult:
    framework: object
    action: str  # "created", "updated" or "unchanged"


def load_file(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_absolute() and not path.exists():
        path = DIRECTORY / path
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FrameworkDataError(f"{path}: no such file")
    except yaml.YAMLError as exc:
        raise FrameworkDataError(f"{path}: not valid YAML ({exc})")
    return validate(data, source=str(path.name))


def _weight(value, where: str) -> Decimal:
    try:
        weight = Decimal(str(value if value is not None else 1)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise FrameworkDataError(f"{where}: weight must be a number")
    if weight <= 0 or weight >= 1000:
        raise FrameworkDataError(f"{where}: weight must be above 0 and below 1000")
    return weight


def _text(value, where: str, *, required: bool = True, limit: int | None = None) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise FrameworkDataError(f"{where} is missing")
    if limit and len(text) > limit:
        raise FrameworkDataError(f"{where} is longer than {limit} characters")
    return text


def validate(data, *, source: str = "framework") -> dict:
    """Check the structure and return a normalised copy (weights as Decimal, texts trimmed)."""
    if not isinstance(data, dict):
        raise FrameworkDataError(f"{source}: expected a mapping at the top level")
    try:
        version = int(data.get("version"))
    except (TypeError, ValueError):
        raise FrameworkDataError(f"{source}: version must be a whole number")
    if version < 1:
        raise FrameworkDataError(f"{source}: version must be 1 or more")
    out = {
        "key": _text(data.get("key"), f"{source}: key", limit=40),
        "version": version,
        "name": _text(data.get("name"), f"{source}: name", limit=120),
        "description": _text(data.get("description"), f"{source}: description", required=False),
        "dimensions": [],
    }
    dims = data.get("dimensions")
    if not isinstance(dims, list) or not dims:
        raise FrameworkDataError(f"{source}: dimensions must be a non-empty list")
    seen_dims = set()
    for d_index, dim in enumerate(dims):
        where = f"{source}: dimensions[{d_index}]"
        if not isinstance(dim, dict):
            raise FrameworkDataError(f"{where}: expected a mapping")
        key = _text(dim.get("key"), f"{where}.key", limit=40)
        if key in seen_dims:
            raise FrameworkDataError(f"{where}: duplicate dimension key {key!r}")
        seen_dims.add(key)
        questions = dim.get("questions")
        if not isinstance(questions, list) or not questions:
            raise FrameworkDataError(f"{where} ({key}): questions must be a non-empty list")
        norm_dim = {
            "key": key,
            "name": _text(dim.get("name"), f"{where}.name", limit=120),
            "description": _text(dim.get("description"), f"{where}.description", required=False),
            "weight": _weight(dim.get("weight"), f"{where} ({key})"),
            "questions": [],
        }
        seen_questions = set()
        for q_index, question in enumerate(questions):
            q_where = f"{where}.questions[{q_index}]"
            if not isinstance(question, dict):
                raise FrameworkDataError(f"{q_where}: expected a mapping")
            q_key = _text(question.get("key"), f"{q_where}.key", limit=60)
            if q_key in seen_questions:
                raise FrameworkDataError(f"{q_where}: duplicate question key {q_key!r}")
            seen_questions.add(q_key)
            levels = question.get("levels")
            if not isinstance(levels, list) or len(levels) != LEVEL_COUNT:
                raise FrameworkDataError(
                    f"{q_where} ({q_key}): levels must list exactly {LEVEL_COUNT} descriptors (0-4)"
                )
            norm_dim["questions"].append(
                {
                    "key": q_key,
                    "text": _text(question.get("text"), f"{q_where}.text", limit=300),
                    "guidance": _text(question.get("guidance"), f"{q_where}.guidance", required=False),
                    "weight": _weight(question.get("weight"), f"{q_where} ({q_key})"),
                    "levels": [_text(level, f"{q_where}.levels[{i}]") for i, level in enumerate(levels)],
                }
            )
        out["dimensions"].append(norm_dim)
    return out


def snapshot(framework, Dimension, Question) -> dict:
    """The stored framework in the normalised shape `validate` returns (to compare with a file)."""
    dims = []
    for dim in Dimension.objects.filter(framework=framework).order_by("order", "pk"):
        dims.append(
            {
                "key": dim.key,
                "name": dim.name,
                "description": dim.description,
                "weight": Decimal(dim.weight).quantize(Decimal("0.01")),
                "questions": [
                    {
                        "key": q.key,
                        "text": q.text,
                        "guidance": q.guidance,
                        "weight": Decimal(q.weight).quantize(Decimal("0.01")),
                        "levels": list(q.level_descriptors),
                    }
                    for q in Question.objects.filter(dimension=dim).order_by("order", "pk")
                ],
            }
        )
    return {
        "key": framework.key,
        "version": framework.version,
        "name": framework.name,
        "description": framework.description,
        "dimensions": dims,
    }


def _campaign_lookup(Campaign) -> str:
    # The data migrations 0002/0003 run against the historical Campaign, which had one `framework`.
    return "frameworks" if any(f.name == "frameworks" for f in Campaign._meta.get_fields()) else "framework"


def install(data: dict, *, Framework, Dimension, Question, Campaign, organization=None) -> InstallResult:
    """Create or update one framework version from validated `data` (call inside a transaction)."""
    framework = Framework.objects.filter(organization=organization, key=data["key"], version=data["version"]).first()
    if framework is not None:
        if snapshot(framework, Dimension, Question) == data:
            return InstallResult(framework, "unchanged")
        if Campaign.objects.filter(**{_campaign_lookup(Campaign): framework}).exists():
            raise FrameworkDataError(
                f"{data['name']} v{data['version']} is already used by a campaign and cannot change; "
                f"give the file a new version number instead."
            )
        # Not in use yet: rebuild its contents from the file.
        Question.objects.filter(dimension__framework=framework).delete()
        Dimension.objects.filter(framework=framework).delete()
        Framework.objects.filter(pk=framework.pk).update(name=data["name"], description=data["description"])
        framework.refresh_from_db()
        action = "updated"
    else:
        framework = Framework.objects.create(
            organization=organization,
            key=data["key"],
            version=data["version"],
            name=data["name"],
            description=data["description"],
        )
        action = "created"
    for d_order, dim in enumerate(data["dimensions"]):
        dimension = Dimension.objects.create(
            framework=framework,
            key=dim["key"],
            name=dim["name"],
            description=dim["description"],
            weight=dim["weight"],
            order=d_order,
        )
        Question.objects.bulk_create(
            [
                Question(
                    dimension=dimension,
                    key=q["key"],
                    text=q["text"],
                    guidance=q["guidance"],
                    weight=q["weight"],
                    level_descriptors=q["levels"],
                    order=q_order,
                )
                for q_order, q in enumerate(dim["questions"])
            ]
        )
    return InstallResult(framework, action)
