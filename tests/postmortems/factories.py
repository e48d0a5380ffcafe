import datetime as dt

import factory
from django.utils import timezone

from apps.postmortems.models import Incident
from tests.factories import TeamFactory


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    team = factory.SubFactory(TeamFactory)
    organization = factory.SelfAttribute("team.organization")
    title = factory.Sequence(lambda n: f"Incident {n}")
    severity = 2
    status = Incident.Status.RESOLVED
    started_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=3))
    detected_at = factory.LazyAttribute(lambda o: o.started_at + dt.timedelta(minutes=5))
    mitigated_at = factory.LazyAttribute(lambda o: o.started_at + dt.timedelta(minutes=30))
    resolved_at = factory.LazyAttribute(lambda o: o.started_at + dt.timedelta(hours=1))
