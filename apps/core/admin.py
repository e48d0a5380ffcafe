"""Admin base: an org admin sees and changes only their own organizations' rows.

Every ModelAdmin of a domain model inherits `OrgScopedAdmin`; access is decided
by apps.core.permissions, not by Django's per-model permission flags.
"""

from django.contrib import admin
from django.db.models import Q

from . import permissions


def admin_scope(user, queryset):
    """Rows of `queryset` in organizations the user administers (all for superusers)."""
    if user.is_superuser:
        return queryset
    pol = permissions.policy_for(queryset.model)
    field = "pk" if pol.org_path == "self" else pol.org_path
    return queryset.filter(Q(**{f"{field}__in": permissions.admin_org_ids(user)}))


def is_admin_user(user) -> bool:
    return bool(user.is_active and user.is_staff and (user.is_superuser or permissions.admin_org_ids(user)))


class ScopedChoicesMixin:
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Choices are limited to the admin's own organizations: a crafted POST
        # naming another org's row fails form validation.
        related = db_field.related_model
        if permissions.is_registered(related) and "queryset" not in kwargs:
            kwargs["queryset"] = admin_scope(request.user, related._default_manager.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OrgScopedAdmin(ScopedChoicesMixin, admin.ModelAdmin):
    list_per_page = 50

    def get_queryset(self, request):
        return admin_scope(request.user, super().get_queryset(request))

    def has_module_permission(self, request):
        return is_admin_user(request.user)

    def has_view_permission(self, request, obj=None):
        return is_admin_user(request.user) and (obj is None or permissions.can_change(request.user, obj))

    def has_change_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return is_admin_user(request.user)


class OrgScopedInline(ScopedChoicesMixin, admin.TabularInline):
    extra = 0

    def get_queryset(self, request):
        return admin_scope(request.user, super().get_queryset(request))

    def _allowed(self, request, obj=None):
        return is_admin_user(request.user) and (obj is None or permissions.can_change(request.user, obj))

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, obj)

    def has_add_permission(self, request, obj=None):
        return self._allowed(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, obj)
