from django.contrib import admin

from apps.core.admin import OrgScopedAdmin

from .models import SLI, SLO, AlertPolicy, AlertSettings, BurnRateAlert, ErrorBudgetPolicy, NotificationTarget


@admin.register(SLI)
class SLIAdmin(OrgScopedAdmin):
    list_display = ["name", "slug", "service", "kind", "source", "sync_state", "last_synced_at"]
    list_filter = ["kind", "source", "sync_state", "organization"]
    search_fields = ["name", "slug", "service__name"]
    readonly_fields = ["sync_cursor", "sync_state", "last_synced_at", "last_error", "last_error_at"]
    autocomplete_fields = ["service"]


@admin.register(SLO)
class SLOAdmin(OrgScopedAdmin):
    list_display = ["name", "slug", "sli", "target", "window_kind", "window_days", "calendar_unit", "budgeting"]
    list_filter = ["window_kind", "budgeting", "organization"]
    search_fields = ["name", "slug", "sli__name"]
    autocomplete_fields = ["sli", "owner"]


@admin.register(ErrorBudgetPolicy)
class ErrorBudgetPolicyAdmin(OrgScopedAdmin):
    list_display = ["name", "team", "slo"]
    search_fields = ["name", "team__name"]
    autocomplete_fields = ["team", "slo"]


@admin.register(BurnRateAlert)
class BurnRateAlertAdmin(OrgScopedAdmin):
    list_display = ["slo", "severity", "long_window", "short_window", "factor", "opened_at", "resolved_at"]
    list_filter = ["severity"]
    search_fields = ["slo__name"]
    readonly_fields = [f.name for f in BurnRateAlert._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False  # alerts are opened by the evaluation, not by hand


@admin.register(AlertSettings)
class AlertSettingsAdmin(OrgScopedAdmin):
    list_display = ["team", "email", "webhook_url", "notify_tickets"]
    search_fields = ["team__name", "email"]
    autocomplete_fields = ["team"]


@admin.register(AlertPolicy)
class AlertPolicyAdmin(OrgScopedAdmin):
    list_display = ["name", "slug", "severity", "op", "threshold", "lookback_window", "alert_after"]
    list_filter = ["severity", "organization"]
    search_fields = ["name", "slug"]
    filter_horizontal = ["targets"]


@admin.register(NotificationTarget)
class NotificationTargetAdmin(OrgScopedAdmin):
    list_display = ["name", "slug", "target"]
    list_filter = ["organization"]
    search_fields = ["name", "slug", "target"]
