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


def make_postmortem(cast, *, actor=None, incident=None, reviewers=(), status="draft", **fields):
    """A postmortem of `cast.team` with the fields needed to submit, moved to `status` through the services."""
    from apps.postmortems import services

    actor = actor or cast.member
    incident = incident or IncidentFactory(team=cast.team)
    if not incident.services.exists():
        incident.services.add(cast.service)
    pm, _ = services.postmortem_create(actor=actor, incident=incident)
    content = {
        "summary": "The checkout API returned errors.",
        "impact": "Customers could not pay.",
        "root_causes": "Connection pool exhausted.",
        "resolution": "Rolled back.",
        **fields,
    }
    pm = services.postmortem_update(actor=actor, postmortem=pm, reviewers=list(reviewers) or [cast.lead], **content)
    if status in ("in_review", "published"):
        pm = services.postmortem_submit(actor=actor, postmortem=pm)
    if status == "published":
        for review in pm.reviews.select_related("reviewer"):
            services.postmortem_review(actor=review.reviewer, postmortem=pm, decision="approved")
        pm = services.postmortem_publish(actor=actor, postmortem=pm)
    pm.refresh_from_db()
    return pm
