"""Admin base: an org admin sees and changes only their own organizations' rows.

Every ModelAdmin of a domain model inherits `OrgScopedAdmin`; access is decided
by apps.core.permissions, not by Django's per-model permission flags.
"""

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth import get_user_model
from django.db.models import Q

from . import permissions


def admin_scope(user, queryset):
    """Rows of `queryset` in organizations the user administers (all for superusers)."""
    if user.is_superuser:
        return queryset
    pol = permissions.policy_for(queryset.model)
    field = "pk" if pol.org_path == "self" else pol.org_path
    return queryset.filter(Q(**{f"{field}__in": permissions.admin_org_ids(user)}))


def scope_related(user, queryset):
    """What an admin may be offered of a related model (a filter's or a form's choices):
    rows of their organizations; for people, the people of their organizations."""
    if user.is_superuser:
        return queryset
    model = queryset.model
    if permissions.is_registered(model):
        pol = permissions.policy_for(model)
        if pol.org_path != "self" and get_fields_from_path(model, pol.org_path)[-1].null:
            # Rows without an organization are the built-in defaults everyone uses (CALMS v1).
            mine = Q(**{f"{pol.org_path}__in": permissions.admin_org_ids(user)})
            return queryset.filter(mine | Q(**{f"{pol.org_path}__isnull": True}))
        return admin_scope(user, queryset)
    if model is get_user_model():
        return queryset.filter(org_memberships__organization_id__in=permissions.admin_org_ids(user)).distinct()
    return queryset


class ScopedRelatedFieldListFilter(admin.RelatedOnlyFieldListFilter):
    """ "By organization", "By team"...: only related rows that the admin's visible rows use
    and that are in the admin's own organizations (a person in two organizations must not
    show the other one's name)."""

    def field_choices(self, field, request, model_admin):
        used = model_admin.get_queryset(request).distinct().values_list(f"{self.field_path}__pk", flat=True)
        allowed = scope_related(request.user, field.related_model._default_manager.all()).values("pk")
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False, limit_choices_to=Q(pk__in=used) & Q(pk__in=allowed), ordering=ordering
        )


class ScopedAllValuesFieldListFilter(admin.AllValuesFieldListFilter):
    """A plain-value filter across a relation ("dimension__key"): Django lists the values of
    every row of the related table; here only those of the admin's visible rows."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        values = model_admin.get_queryset(request).distinct().order_by(field_path).values_list(field_path, flat=True)
        self.lookup_choices = [v for v in dict.fromkeys(values) if v is not None]


class ScopedListFiltersMixin:
    """Every list filter's choices come from the admin's own organizations."""

    def get_list_filter(self, request):
        scoped = []
        for item in super().get_list_filter(request):
            path, filter_class = (
                (item, None) if isinstance(item, str) else (item if isinstance(item, tuple) else (None, item))
            )
            if path is None:
                scoped.append(item)  # a SimpleListFilter: its own lookups (none name another org's rows)
                continue
            field = get_fields_from_path(self.model, path)[-1]
            if field.is_relation and filter_class in (
                None,
                admin.RelatedFieldListFilter,
                admin.RelatedOnlyFieldListFilter,
            ):
                scoped.append((path, ScopedRelatedFieldListFilter))
            elif "__" in path and filter_class is None and not field.is_relation and not field.choices:
                scoped.append((path, ScopedAllValuesFieldListFilter))
            else:
                scoped.append(item)
        return scoped


def is_admin_user(user) -> bool:
    return bool(user.is_active and user.is_staff and (user.is_superuser or permissions.admin_org_ids(user)))


class ScopedChoicesMixin:
    # Choices are limited to the admin's own organizations (people: of those organizations):
    # a crafted POST naming another org's row fails form validation.
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scope_related(request.user, db_field.related_model._default_manager.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scope_related(request.user, db_field.related_model._default_manager.all())
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class OrgScopedAdmin(ScopedListFiltersMixin, ScopedChoicesMixin, admin.ModelAdmin):
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
