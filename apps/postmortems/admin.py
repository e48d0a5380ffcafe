from django.contrib import admin

from apps.core.admin import OrgScopedAdmin, OrgScopedInline

from . import models


class CatalogueAdmin(OrgScopedAdmin):
    """Templates and factor categories: org admins manage their org's own rows; the defaults
    (no organization) are read-only to them and changed by superusers."""

    def get_queryset(self, request):
        qs = self.model._default_manager.all()
        if request.user.is_superuser:
            return qs
        from django.db.models import Q

        from apps.core import permissions

        return qs.filter(Q(organization__in=permissions.admin_org_ids(request.user)) | Q(organization__isnull=True))

    def has_view_permission(self, request, obj=None):
        from apps.core.admin import is_admin_user

        if obj is not None and obj.organization_id is None:
            return is_admin_user(request.user)
        return super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.organization_id is None:
            return request.user.is_superuser
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if not request.user.is_superuser and "organization" in form.base_fields:
            # Only superusers edit the defaults every organization shares.
            form.base_fields["organization"].required = True
            form.base_fields["organization"].empty_label = None
        return form


@admin.register(models.PostmortemTemplate)
class PostmortemTemplateAdmin(CatalogueAdmin):
    list_display = ["name", "organization", "min_severity", "max_severity", "publish_within_business_days"]
    list_filter = ["organization"]
    fieldsets = [
        (None, {"fields": ["organization", "name", ("min_severity", "max_severity"), "publish_within_business_days"]}),
        # The template has one prompt per Markdown field of a postmortem.
        ("Prompts (Markdown)", {"fields": list(models.MARKDOWN_FIELDS)}),
    ]


@admin.register(models.ContributingFactorCategory)
class ContributingFactorCategoryAdmin(CatalogueAdmin):
    list_display = ["name", "slug", "organization", "description"]
    list_filter = ["organization"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(models.Incident)
class IncidentAdmin(OrgScopedAdmin):
    list_display = ["title", "severity", "status", "team", "source", "started_at", "resolved_at"]
    list_filter = ["severity", "status", "source", "organization"]
    search_fields = ["title", "external_id"]
    date_hierarchy = "started_at"
    filter_horizontal = ["services"]
    raw_id_fields = ["created_by"]


class TimelineInline(OrgScopedInline):
    model = models.TimelineEntry


class FactorInline(OrgScopedInline):
    model = models.ContributingFactor


class LinkInline(OrgScopedInline):
    model = models.SupportingLink


class ReviewInline(OrgScopedInline):
    model = models.PostmortemReview
    raw_id_fields = ["reviewer"]


@admin.register(models.Postmortem)
class PostmortemAdmin(OrgScopedAdmin):
    list_display = ["title", "team", "status", "publish_due_on", "published_at"]
    list_filter = ["status", "organization"]
    search_fields = ["title", "summary"]
    raw_id_fields = ["incident", "authors"]
    filter_horizontal = ["tags"]
    inlines = [TimelineInline, FactorInline, LinkInline, ReviewInline]
    readonly_fields = ["submitted_at", "published_at", "publish_due_on"]


@admin.register(models.ActionItem)
class ActionItemAdmin(OrgScopedAdmin):
    list_display = ["title", "team", "owner", "priority", "status", "due_date", "closed_at"]
    list_filter = ["status", "kind", "priority", "organization"]
    search_fields = ["title"]
    raw_id_fields = ["postmortem", "owner"]


@admin.register(models.Tag)
class TagAdmin(OrgScopedAdmin):
    list_display = ["name", "organization"]
    search_fields = ["name"]
