"""Template helpers for the shared layout (templates/base.html, allauth pages)."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def signup_open(context) -> bool:
    """Whether self sign-up is open (settings.SIGNUP_OPEN via the account adapter)."""
    from allauth.account.adapter import get_adapter

    request = context.get("request")
    return bool(request is not None and get_adapter(request).is_open_for_signup(request))


@register.filter
def changeable_by(obj, user) -> bool:
    """`{% if item|changeable_by:request.user %}`: show an edit control only to whoever may
    use it (apps.core.permissions decides, as the view behind the control does)."""
    from apps.core import permissions

    return permissions.can_change(user, obj)
