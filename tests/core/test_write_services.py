"""The write rule (docs/CONVENTIONS.md, "Writes"): every public function of an app's services
module or package is a write service and takes a required keyword-only `actor`; jobs, imports,
intake and the seed pass `permissions.SYSTEM`, never None."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

APPS = Path(__file__).resolve().parents[2] / "apps"


def _service_modules() -> list[str]:
    names = []
    for app in sorted(p.name for p in APPS.iterdir() if p.is_dir()):
        if (APPS / app / "services.py").exists():
            names.append(f"apps.{app}.services")
        elif (APPS / app / "services" / "__init__.py").exists():
            package = importlib.import_module(f"apps.{app}.services")
            names.append(package.__name__)
            names += [m.name for m in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")]
    return names


def _write_services() -> list[tuple[str, str]]:
    found = []
    for module_name in _service_modules():
        module = importlib.import_module(module_name)
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("_") and fn.__module__ == module_name:
                found.append((module_name, name))
    return found


@pytest.mark.parametrize(("module_name", "name"), _write_services(), ids=lambda v: v)
def test_write_service_takes_a_required_actor(module_name, name):
    fn = getattr(importlib.import_module(module_name), name)
    actor = inspect.signature(fn).parameters.get("actor")
    assert actor is not None, f"{module_name}.{name} takes no actor"
    assert actor.kind is inspect.Parameter.KEYWORD_ONLY, f"{module_name}.{name}: actor must be keyword-only"
    assert actor.default is inspect.Parameter.empty, f"{module_name}.{name}: actor must be required"


def test_every_app_has_write_services():
    modules = {m.split(".")[1] for m, _name in _write_services()}
    assert {"delivery", "slos", "postmortems", "scoring", "assessments", "sre", "teams"} <= modules


def test_no_caller_passes_a_missing_actor():
    offenders = [
        f"{path.relative_to(APPS.parent)}:{n}"
        for path in APPS.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bactor\s*=\s*None\b", line)
    ]
    assert offenders == [], "pass permissions.SYSTEM, not None: " + ", ".join(offenders)
