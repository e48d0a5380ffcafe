from django.http import Http404
from django.utils.functional import SimpleLazyObject

SESSION_KEY = "current_org_id"


def _current_organization(request):
    from .selectors import organizations_for_user

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    orgs = organizations_for_user(user)
    wanted = request.session.get(SESSION_KEY)
    if wanted and (chosen := orgs.filter(pk=wanted).first()):
        return chosen
    # Until someone switches, start in the organization they joined first (their home org).
    home = orgs.filter(memberships__user=user).order_by("memberships__created_at").first()
    return home or orgs.first()


class CurrentOrganizationMiddleware:
    """`request.organization`: the org chosen in the switcher, or the user's first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = SimpleLazyObject(lambda: _current_organization(request))
        return self.get_response(request)


def current_organization(request):
    """The organization the request works in, or None.

    Read it through here: `request.organization` is lazy (the API's token user is only
    known inside the view), and a lazy object wrapping None is not None itself.
    """
    org = getattr(request, "organization", None)
    return org if org else None


def organization_or_404(request):
    """The request's organization, for pages that make no sense without one."""
    org = current_organization(request)
    if org is None:
        raise Http404("Choose an organization first.")
    return org
