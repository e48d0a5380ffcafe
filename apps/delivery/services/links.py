"""Which deployment caused an incident: the default rule, and the link said by hand."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from apps.core import permissions
from apps.core.validation import require_same_organization

from ..models import Deployment, IncidentDeploymentLink
from ..rollups import utc_day
from .bookkeeping import _mark_dirty as mark_dirty


def _auto_deployment(incident) -> Deployment | None:
    if incident.started_at is None:
        return None  # no start yet: nothing came "before" it
    service_ids = list(incident.services.values_list("pk", flat=True))
    if not service_ids:
        return None
    return (
        Deployment.objects.filter(
            service_id__in=service_ids,
            is_production=True,
            status=Deployment.Status.SUCCESS,
            finished_at__lte=incident.started_at,
        )
        .order_by("-finished_at", "-pk")
        .first()
    )


def incident_link_refresh(*, actor, incident) -> IncidentDeploymentLink:
    """Apply the default rule unless someone (or the source) set the link explicitly
    (system work: the signals on incidents, the normalizers, the demo)."""
    permissions.require_change(actor, IncidentDeploymentLink(incident=incident), _LINK_DENIED)
    return _link_refresh(incident)


_LINK_DENIED = "Only the team's lead or an org admin changes this link."


@transaction.atomic
def _link_refresh(incident) -> IncidentDeploymentLink:
    link, _ = IncidentDeploymentLink.objects.select_for_update().get_or_create(incident=incident)
    if link.method == IncidentDeploymentLink.Method.EXPLICIT:
        return link
    deployment = _auto_deployment(incident)
    method = IncidentDeploymentLink.Method.AUTO if deployment else IncidentDeploymentLink.Method.NONE
    if link.deployment_id != (deployment.pk if deployment else None) or link.method != method:
        _mark_link_days(link, deployment, incident)
        _record_link_change(link, deployment, method, actor=permissions.SYSTEM)
        link.deployment = deployment
        link.method = method
        link.set_by = None
        link.save()
    _mark_incident_day(incident)
    return link


@transaction.atomic
def incident_link_set(*, actor, incident, deployment: Deployment | None, note: str = "", automatic: bool = False):
    """Say by hand which deployment caused the incident (None: none did), or go back to the default rule."""
    from apps.postmortems.models import Incident

    permissions.get_for_user(actor, Incident.objects.all(), pk=incident.pk)  # 404 when it is not theirs to see
    link = IncidentDeploymentLink.objects.filter(incident=incident).first() or IncidentDeploymentLink(incident=incident)
    permissions.require_change(actor, link, _LINK_DENIED)
    if automatic:
        IncidentDeploymentLink.objects.filter(incident=incident).update(
            method=IncidentDeploymentLink.Method.NONE, note="", set_by=permissions.person(actor)
        )
        return _link_refresh(incident)
    require_same_organization(incident.organization_id, field="deployment", obj=deployment, label="The deployment")
    link, _ = IncidentDeploymentLink.objects.select_for_update().get_or_create(incident=incident)
    _mark_link_days(link, deployment, incident)
    _record_link_change(link, deployment, IncidentDeploymentLink.Method.EXPLICIT, actor=actor, note=note)
    link.deployment = deployment
    link.method = IncidentDeploymentLink.Method.EXPLICIT
    link.set_by = permissions.person(actor)
    link.note = note[:300]
    link.save()
    return link


def _record_link_change(link, deployment, method: str, *, actor, note: str = "") -> None:
    """Keep who moved the link, when, from where to where (a replayed source event that
    changes nothing records nothing)."""
    from ..models import IncidentLinkChange

    new_id = deployment.pk if deployment else None
    if link.pk and link.deployment_id == new_id and link.method == method:
        return
    IncidentLinkChange.objects.create(
        incident_id=link.incident_id,
        from_deployment_id=link.deployment_id,
        to_deployment_id=new_id,
        from_method=link.method if link.pk else "",
        to_method=method,
        changed_by=permissions.person(actor),
        note=note[:300],
    )


def _mark_link_days(link, new_deployment, incident) -> None:
    for dep in (link.deployment if link.deployment_id else None, new_deployment):
        if dep is not None and dep.finished_at:
            team_id = dep.service.team_id if dep.service_id else dep.team_id
            if team_id:
                mark_dirty(team_id, utc_day(dep.finished_at))


def _mark_incident_day(incident) -> None:
    """The incident's day (restore time), its services' teams from then on (deployments while it
    was open are rework) and its linked deployment's day (that failure's recovery time)."""
    if incident.started_at is not None:  # an unknown start is on no day (until it is told)
        day = utc_day(incident.started_at)
        mark_dirty(incident.team_id, day)
        for team_id in set(incident.services.values_list("team_id", flat=True)) - {incident.team_id}:
            mark_dirty(team_id, day)
    link = IncidentDeploymentLink.objects.filter(incident=incident).select_related("deployment__service").first()
    dep = link.deployment if link else None
    if dep is not None and dep.finished_at:
        team_id = dep.service.team_id if dep.service_id else dep.team_id
        if team_id:
            mark_dirty(team_id, utc_day(dep.finished_at))


def _relink_incidents_after(deployment: Deployment) -> None:
    """A deployment appeared or changed: incidents of its service that started after it may link to it now."""
    from apps.postmortems.models import Incident

    if deployment.service_id is None or deployment.finished_at is None:
        return
    later = (
        Deployment.objects.filter(
            service_id=deployment.service_id,
            is_production=True,
            status=Deployment.Status.SUCCESS,
            finished_at__gt=deployment.finished_at,
        )
        .order_by("finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    window = Q(services=deployment.service_id, started_at__gte=deployment.finished_at)
    if later:
        window &= Q(started_at__lt=later)
    # Only those the rule could move: unlinked, or linked to one finished no later than this one;
    # and whatever links to this one now (it may have failed, or finished later than first said).
    movable = (
        Q(deployment_link__isnull=True)
        | Q(deployment_link__deployment__isnull=True)
        | Q(deployment_link__deployment__finished_at__lte=deployment.finished_at)
    )
    incidents = (
        Incident.objects.filter((window & movable) | Q(deployment_link__deployment=deployment))
        .exclude(deployment_link__method=IncidentDeploymentLink.Method.EXPLICIT)
        .distinct()
        .order_by("started_at")
    )
    for incident in incidents[:500]:
        _link_refresh(incident)
