"""`{% load figures %}`: the one way pages write a figure (apps/core/figures.py defines each rounding).

{{ snapshot.overall|score }}      89 / no data
{{ share|share }}                 75% / no data
{{ hours|duration }}              45 min / 50.2 h / 3.1 d
{{ per_day|deploy_rate }}         1.4/day / 3.0/week / no deployments
{{ level|average }}               2.4
"""

from django import template

from apps.core import figures

register = template.Library()


def _filter(fn):
    """A template variable that does not resolve arrives as "": that is no data, not an error."""

    def wrapped(value):
        return fn(None if value == "" else value)

    wrapped.__name__ = fn.__name__
    wrapped.__doc__ = fn.__doc__
    return wrapped


for _name in ("score", "share", "duration", "days", "deploy_rate", "average", "count", "score_number"):
    register.filter(_name, _filter(getattr(figures, _name)))
