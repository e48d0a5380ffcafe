from django import forms
from django.contrib import admin, messages
from django.forms.models import BaseInlineFormSet
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from import_export.admin import ImportExportMixin

from apps.core.admin import OrgScopedAdmin, OrgScopedInline, admin_scope

from . import backstage, resources
from .models import Department, Organization, OrgMembership, Service, Team, TeamMembership


class ScopedImportExportMixin(ImportExportMixin):
    """Pass the admin user to the resources so lookups stay inside their orgs."""

    def get_resource_kwargs(self, request, *args, **kwargs):
        return {"user": request.user}

    def has_import_permission(self, request):
        return self.has_add_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)


class OrgMembershipInline(OrgScopedInline):
    model = OrgMembership
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(OrgScopedAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [OrgMembershipInline]

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(OrgMembership)
class OrgMembershipAdmin(OrgScopedAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__email", "user__name", "organization__name"]
    autocomplete_fields = ["user", "organization"]


@admin.register(Department)
class DepartmentAdmin(OrgScopedAdmin):
    list_display = ["name", "parent", "organization"]
    list_filter = ["organization"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]


class TeamMembershipInline(OrgScopedInline):
    model = TeamMembership
    autocomplete_fields = ["user"]


class ServiceInlineFormSet(BaseInlineFormSet):
    """Service rows on their team's page: the organization is the team's, not a column."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        # Set before validation, so (organization, slug) uniqueness is checked too.
        form.instance.organization_id = self.instance.organization_id
        return form


class ServiceInlineForm(forms.ModelForm):
    def _get_validation_exclusions(self):
        # The organization is not a column here but is part of the slug's uniqueness.
        return super()._get_validation_exclusions() - {"organization"}


class ServiceInline(OrgScopedInline):
    model = Service
    formset = ServiceInlineFormSet
    form = ServiceInlineForm
    fields = ["name", "slug", "tier", "lifecycle", "repository_url", "runbook_url"]
    prepopulated_fields = {"slug": ["name"]}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".yaml,.yml"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        return [single(d, initial) for d in data] if isinstance(data, list | tuple) else [single(data, initial)]


class BackstageImportForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none())
    files = MultipleFileField(help_text="One or more catalog-info.yaml files (kinds Group and Component).")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = admin_scope(user, Organization.objects.all())


@admin.register(Team)
class TeamAdmin(ScopedImportExportMixin, OrgScopedAdmin):
    resource_classes = [resources.TeamResource]
    list_display = ["name", "department", "organization", "member_count", "service_count"]
    list_filter = ["organization", "department"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["department"]
    inlines = [TeamMembershipInline, ServiceInline]
    change_list_template = "admin/teams/team/change_list.html"

    @admin.display(description="members")
    def member_count(self, obj):
        return obj.memberships.count()

    @admin.display(description="services")
    def service_count(self, obj):
        return obj.services.count()

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("department", "organization")

    def get_urls(self):
        extra = [
            path(
                "import-backstage/",
                self.admin_site.admin_view(self.import_backstage_view),
                name="teams_team_import_backstage",
            )
        ]
        return extra + super().get_urls()

    def import_backstage_view(self, request):
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = BackstageImportForm(request.POST or None, request.FILES or None, user=request.user)
        errors = []
        if request.method == "POST" and form.is_valid():
            texts = [(f.name, f.read().decode("utf-8", errors="replace")) for f in form.cleaned_data["files"]]
            try:
                result = backstage.import_catalog(
                    actor=request.user, organization=form.cleaned_data["organization"], texts=texts
                )
            except backstage.CatalogError as exc:
                errors = exc.errors
            else:
                messages.success(
                    request,
                    f"Imported {len(result.departments)} departments, {len(result.teams)} teams and "
                    f"{len(result.services)} services.",
                )
                return redirect("admin:teams_team_changelist")
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "errors": errors,
            "title": "Import from a Backstage catalog",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/teams/team/import_backstage.html", context)


@admin.register(TeamMembership)
class TeamMembershipAdmin(ScopedImportExportMixin, OrgScopedAdmin):
    resource_classes = [resources.TeamMembershipResource]
    list_display = ["user", "team", "role"]
    list_filter = ["role", "team__organization", "team"]
    search_fields = ["user__email", "user__name", "team__name"]
    autocomplete_fields = ["user", "team"]


@admin.register(Service)
class ServiceAdmin(ScopedImportExportMixin, OrgScopedAdmin):
    resource_classes = [resources.ServiceResource]
    list_display = ["name", "team", "tier", "lifecycle", "organization"]
    list_filter = ["tier", "lifecycle", "organization", "team"]
    search_fields = ["name", "slug", "description", "team__name"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["team"]
