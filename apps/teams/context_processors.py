from .middleware import current_organization
from .selectors import organizations_for_user


def organization(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # The app a page belongs to is its first path segment: /slos/12/ -> "slos".
    org = current_organization(request)
    return {
        "current_org": org if org else None,
        "user_orgs": organizations_for_user(user),
        "nav_section": request.path.strip("/").split("/", 1)[0],
    }
