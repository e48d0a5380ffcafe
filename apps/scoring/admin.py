from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse

from apps.core.admin import OrgScopedAdmin, OrgScopedInline, admin_scope

from . import selectors, services
from .models import Check, Exemption, ExemptionEvent, Scorecard, ScoringRun, Snapshot


class CheckInline(OrgScopedInline):
    model = Check
    fields = [
        "level",
        "order",
        "key",
        "name",
        "metric",
        "operator",
        "value",
        "when_missing",
        "informational_until",
        "hint",
    ]
    extra = 0


@admin.register(Scorecard)
class ScorecardAdmin(OrgScopedAdmin):
    list_display = [
        "organization",
        "name",
        "weight_self_assessment",
        "weight_delivery",
        "weight_reliability",
        "weight_learning",
        "gap_threshold",
    ]
    inlines = [CheckInline]
    change_form_template = "scoring/admin/scorecard_change_form.html"
    actions = ["run_scoring"]

    def get_urls(self):
        return [
            path(
                "<int:pk>/run/",
                self.admin_site.admin_view(self.run_view),
                name="scoring_scorecard_run",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        card = admin_scope(request.user, Scorecard.objects.all()).filter(pk=object_id).first()
        if card is not None:
            extra_context = {**(extra_context or {}), "grace": selectors.grace_preview(scorecard=card)}
        return super().change_view(request, object_id, form_url, extra_context)

    def run_view(self, request, pk):
        if request.method != "POST":
            return redirect(reverse("admin:scoring_scorecard_change", args=[pk]))
        card = get_object_or_404(admin_scope(request.user, Scorecard.objects.select_related("organization")), pk=pk)
        run = services.scoring_request(actor=request.user, organization=card.organization, trigger="admin")
        self.message_user(request, f"Scoring queued for {card.organization} (run {run.pk}).", messages.SUCCESS)
        return redirect(reverse("admin:scoring_scorecard_change", args=[pk]))

    @admin.action(description="Run scoring now for the selected organizations")
    def run_scoring(self, request, queryset):
        for card in queryset.select_related("organization"):
            services.scoring_request(actor=request.user, organization=card.organization, trigger="admin")
        self.message_user(request, f"Scoring queued for {queryset.count()} organization(s).", messages.SUCCESS)


class ExemptionEventInline(OrgScopedInline):
    model = ExemptionEvent
    fields = ["created_at", "action", "actor", "expires_on", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Exemption)
class ExemptionAdmin(OrgScopedAdmin):
    """Read-only here: decisions go through the scorecard page so that every one is audited."""

    list_display = ["team", "level_check", "status", "expires_on", "requested_by", "decided_by", "created_at"]
    list_filter = ["status"]
    search_fields = ["team__name", "level_check__name", "reason"]
    readonly_fields = [
        "team",
        "level_check",
        "status",
        "reason",
        "justification",
        "expires_on",
        "requested_by",
        "decided_by",
        "decided_at",
    ]
    inlines = [ExemptionEventInline]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Snapshot)
class SnapshotAdmin(OrgScopedAdmin):
    list_display = ["team", "date", "level", "overall", "self_assessment", "delivery", "reliability", "learning"]
    list_filter = ["level", "date"]
    search_fields = ["team__name"]
    date_hierarchy = "date"
    readonly_fields = [f.name for f in Snapshot._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ScoringRun)
class ScoringRunAdmin(OrgScopedAdmin):
    list_display = ["organization", "as_of", "status", "trigger", "teams_scored", "started_at", "finished_at"]
    list_filter = ["status", "trigger"]
    readonly_fields = [f.name for f in ScoringRun._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
