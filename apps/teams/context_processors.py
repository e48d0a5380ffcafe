from .selectors import organizations_for_user


def organization(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    org = getattr(request, "organization", None)
    return {
        "current_org": org if org else None,
        "user_orgs": organizations_for_user(user),
    }
