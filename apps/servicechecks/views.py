"""The org page: checks x teams. Org admins and leaders see every team; anyone else the teams they belong to."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from apps.core import permissions
from apps.teams.middleware import organization_or_404

from . import selectors


@login_required
@require_GET
def index(request):
    org = organization_or_404(request)
    whole_org = permissions.sees_whole_org(request.user, org)
    team_ids = None if whole_org else permissions.team_ids(request.user)
    matrix = selectors.org_matrix(organization=org, today=timezone.localdate(), team_ids=team_ids)
    return render(
        request,
        "servicechecks/index.html",
        {
            "organization": org,
            "today": timezone.localdate(),
            "nav_section": "servicechecks",
            "whole_org": whole_org,
            **matrix,
        },
    )
