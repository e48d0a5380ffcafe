from django.contrib import admin

from apps.core.admin import OrgScopedAdmin

from .models import Delivery, Target


@admin.register(Target)
class TargetAdmin(OrgScopedAdmin):
    list_display = ["name", "organization", "team", "channel", "active", "health", "last_attempt_at"]
    list_filter = ["channel", "active", "health"]
    search_fields = ["name", "team__name"]
    readonly_fields = ["health", "last_attempt_at", "last_success_at", "last_error", "consecutive_failures"]
    autocomplete_fields = ["team"]


@admin.register(Delivery)
class DeliveryAdmin(OrgScopedAdmin):
    list_display = ["kind", "period", "subject", "user", "target", "status", "attempts", "sent_at"]
    list_filter = ["kind", "status"]
    search_fields = ["title", "user__email", "target__name"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False  # planned by the jobs
