from django.contrib import admin

from apps.core.admin import OrgScopedAdmin, OrgScopedInline

from .models import Initiative, InitiativeCheck, InitiativeProgress


class InitiativeCheckInline(OrgScopedInline):
    model = InitiativeCheck
    fields = ["order", "kind", "name", "metric", "operator", "value", "when_missing", "service_check", "hint"]
    extra = 0


class InitiativeProgressInline(OrgScopedInline):
    model = InitiativeProgress
    fields = ["day", "passing", "total"]
    readonly_fields = ["day", "passing", "total"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Initiative)
class InitiativeAdmin(OrgScopedAdmin):
    list_display = ["name", "organization", "status", "start_date", "target_date", "owner"]
    list_filter = ["organization", "status"]
    search_fields = ["name", "reason"]
    autocomplete_fields = ["owner"]
    filter_horizontal = ["teams", "services"]
    readonly_fields = ["graduated_at", "graduated_by", "graduated_level", "created_by"]
    inlines = [InitiativeCheckInline, InitiativeProgressInline]
