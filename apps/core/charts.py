"""Charts are drawn by static/js/app.js from `<canvas data-chart="{{ config }}">`; every app builds
the config in Python and passes it through here: one JSON form, one escaping (safe inside either
quote style), None for no chart so templates show their empty state."""

from __future__ import annotations

import json

from django.utils.html import escape
from django.utils.safestring import SafeString


def chart_attr(config: dict | None) -> SafeString | None:
    if not config:
        return None
    return escape(json.dumps(config, separators=(",", ":"), default=str))
