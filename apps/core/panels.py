"""Panels other apps add to shared pages (the team page, the service page).

An app calls `register("team", template=..., context=fn, order=...)` in its
AppConfig.ready(); the page renders each panel with `fn(request, obj)`. This
keeps the teams app ignorant of SLOs, DORA or scores while its page shows them.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    template: str
    context: Callable
    order: int


_panels: dict[str, list[Panel]] = {}


def register(page: str, *, template: str, context: Callable, order: int = 100) -> None:
    panels = _panels.setdefault(page, [])
    if not any(p.template == template for p in panels):
        panels.append(Panel(template=template, context=context, order=order))
        panels.sort(key=lambda p: p.order)


def render_context(page: str, request, obj) -> list[dict]:
    """[{"template": ..., **context}] for every panel of `page`."""
    return [{"template": p.template, **p.context(request, obj)} for p in _panels.get(page, [])]
