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

register.filter("score", figures.score)
register.filter("share", figures.share)
register.filter("duration", figures.duration)
register.filter("days", figures.days)
register.filter("deploy_rate", figures.deploy_rate)
register.filter("average", figures.average)
register.filter("count", figures.count)
register.filter("score_number", figures.score_number)
