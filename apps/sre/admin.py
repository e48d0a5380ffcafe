from django.contrib import admin

from apps.core.admin import OrgScopedAdmin

from .models import GateDecision, GateOverride, IncidentRunbook, Runbook, ToilItem, ToilReview


@admin.register(GateDecision)
class GateDecisionAdmin(OrgScopedAdmin):
    list_display = ("service", "decided_at", "allowed", "kind", "ref")
    list_filter = ("allowed", "kind")
    readonly_fields = ("service", "decided_at", "allowed", "kind", "ref", "reason", "override", "requested_by", "slos")


@admin.register(GateOverride)
class GateOverrideAdmin(OrgScopedAdmin):
    list_display = ("service", "expires_at", "created_by")


@admin.register(ToilItem)
class ToilItemAdmin(OrgScopedAdmin):
    list_display = ("title", "team", "category", "hours_per_week", "status")
    list_filter = ("status", "category")


@admin.register(ToilReview)
class ToilReviewAdmin(OrgScopedAdmin):
    list_display = ("team", "reviewed_on", "capacity_hours", "toil_hours", "saved_hours")


@admin.register(Runbook)
class RunbookAdmin(OrgScopedAdmin):
    list_display = ("title", "team", "last_reviewed_on", "updated_at")
    list_filter = ("last_reviewed_on",)
    search_fields = ("title", "body", "url")
    filter_horizontal = ("services", "slos")
    readonly_fields = ("last_reviewed_by",)


@admin.register(IncidentRunbook)
class IncidentRunbookAdmin(OrgScopedAdmin):
    list_display = ("incident", "runbook", "set_by", "updated_at")
    readonly_fields = ("set_by",)
