from django.contrib import admin, messages

from apps.core.admin import OrgScopedAdmin, OrgScopedInline

from . import services
from .models import Change, Deployment, IncidentDeploymentLink, Integration, RawEvent, ServiceMapping


class ServiceMappingInline(OrgScopedInline):
    model = ServiceMapping
    fields = ["key", "service"]


@admin.register(Integration)
class IntegrationAdmin(OrgScopedAdmin):
    list_display = ["name", "kind", "organization", "team", "is_active", "last_delivery_at", "secret_rotated_at"]
    list_filter = ["kind", "is_active", "organization"]
    search_fields = ["name"]
    # The secret and the intake token are never shown here; the UI shows the secret once.
    fields = ["organization", "team", "name", "kind", "production_environments", "is_active"]
    readonly_fields = ["kind"]
    inlines = [ServiceMappingInline]

    def get_readonly_fields(self, request, obj=None):
        return ["kind", "organization"] if obj else []

    def has_add_permission(self, request, obj=None):
        # Adding one mints a secret that must be shown once: that happens in the app (Delivery → Integrations).
        return False


@admin.register(RawEvent)
class RawEventAdmin(OrgScopedAdmin):
    list_display = ["received_at", "integration", "event_type", "delivery_id", "status", "attempts", "short_error"]
    list_filter = ["status", "integration__kind", "organization"]
    search_fields = ["delivery_id", "event_type", "subject", "error"]
    date_hierarchy = "received_at"
    readonly_fields = [
        "integration",
        "organization",
        "delivery_id",
        "event_type",
        "payload",
        "headers",
        "received_at",
        "status",
        "subject",
        "occurred_at",
        "attempts",
        "error",
        "note",
        "processed_at",
    ]
    actions = ["retry"]

    @admin.display(description="Error")
    def short_error(self, obj):
        return (obj.error or obj.note)[:80]

    @admin.action(description="Process the selected events again")
    def retry(self, request, queryset):
        count = services.raw_events_retry(actor=request.user, raw_event_ids=list(queryset.values_list("pk", flat=True)))
        messages.success(request, f"Queued {count} event(s) for processing.")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Deployment)
class DeploymentAdmin(OrgScopedAdmin):
    list_display = ["finished_at", "service", "environment", "is_production", "status", "source", "external_id"]
    list_filter = ["status", "is_production", "source", "organization"]
    search_fields = ["external_id", "repository", "sha"]
    date_hierarchy = "finished_at"
    raw_id_fields = ["service", "team", "integration"]


@admin.register(Change)
class ChangeAdmin(OrgScopedAdmin):
    list_display = ["committed_at", "repository", "sha", "service", "author"]
    list_filter = ["source", "organization"]
    search_fields = ["sha", "repository", "message"]
    date_hierarchy = "committed_at"
    raw_id_fields = ["service", "team", "integration"]


@admin.register(IncidentDeploymentLink)
class IncidentDeploymentLinkAdmin(OrgScopedAdmin):
    list_display = ["incident", "deployment", "method", "set_by", "updated_at"]
    list_filter = ["method"]
    raw_id_fields = ["incident", "deployment"]
    readonly_fields = ["set_by"]

    def save_model(self, request, obj, form, change):
        services.incident_link_set(actor=request.user, incident=obj.incident, deployment=obj.deployment, note=obj.note)
