"""Admin: frameworks (versioned, read-only once in use), campaigns and a read-only view of assessments."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q

from apps.core import permissions
from apps.core.admin import OrgScopedAdmin, OrgScopedInline, ScopedListFiltersMixin, is_admin_user

from . import services
from .models import Answer, Assessment, Campaign, Dimension, Framework, FrameworkLocked, Question


def _framework_scope(user, queryset, path="organization"):
    """Built-in versions and those of the organizations the user administers."""
    if user.is_superuser:
        return queryset
    return queryset.filter(Q(**{f"{path}__isnull": True}) | Q(**{f"{path}__in": permissions.admin_org_ids(user)}))


def _may_edit_framework(user, framework) -> bool:
    """Owner admins (or superusers for built-ins) edit a version until a campaign uses it."""
    if framework is None:
        return is_admin_user(user)
    if framework.organization_id is None:
        allowed = user.is_superuser
    else:
        allowed = user.is_superuser or framework.organization_id in permissions.admin_org_ids(user)
    return allowed and not framework.is_in_use()


class FrameworkAdminBase(ScopedListFiltersMixin, admin.ModelAdmin):
    def has_module_permission(self, request):
        return is_admin_user(request.user)

    def has_view_permission(self, request, obj=None):
        return is_admin_user(request.user)

    def _framework(self, obj):
        return obj

    def has_change_permission(self, request, obj=None):
        return is_admin_user(request.user) and (obj is None or _may_edit_framework(request.user, self._framework(obj)))

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def has_add_permission(self, request):
        return is_admin_user(request.user)

    def save_model(self, request, obj, form, change):
        try:
            super().save_model(request, obj, form, change)
        except FrameworkLocked as exc:
            messages.error(request, " ".join(exc.messages))


class DimensionInline(admin.TabularInline):
    model = Dimension
    extra = 0
    fields = ["order", "key", "name", "weight", "description"]
    show_change_link = True

    def _editable(self, request, obj):
        return obj is None or _may_edit_framework(request.user, obj)

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_view_permission(self, request, obj=None):
        return is_admin_user(request.user)


@admin.register(Framework)
class FrameworkAdmin(FrameworkAdminBase):
    list_display = ["__str__", "key", "version", "owner", "dimension_count", "question_count", "in_use"]
    list_filter = ["key"]
    search_fields = ["name", "key"]
    inlines = [DimensionInline]
    actions = ["new_version"]

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("organization")
        qs = qs.annotate(
            n_dimensions=Count("dimensions", distinct=True),
            n_questions=Count("dimensions__questions", distinct=True),
            n_campaigns=Count("campaigns", distinct=True),
        )
        return _framework_scope(request.user, qs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organization" and not request.user.is_superuser:
            from apps.teams.models import Organization

            kwargs["queryset"] = Organization.objects.filter(pk__in=permissions.admin_org_ids(request.user))
            kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="owner")
    def owner(self, obj):
        return obj.organization or "Built-in"

    @admin.display(description="dimensions")
    def dimension_count(self, obj):
        return obj.n_dimensions

    @admin.display(description="questions")
    def question_count(self, obj):
        return obj.n_questions

    @admin.display(description="in use", boolean=True)
    def in_use(self, obj):
        return obj.n_campaigns > 0

    @admin.action(description="Create a new version from the selected framework")
    def new_version(self, request, queryset):
        owner = None
        if not request.user.is_superuser:
            admin_orgs = sorted(permissions.admin_org_ids(request.user))
            if not admin_orgs:
                self.message_user(request, "You administer no organization.", messages.ERROR)
                return
            owner_id = admin_orgs[0]
            from apps.teams.models import Organization

            owner = Organization.objects.get(pk=owner_id)
        for framework in queryset:
            copy = services.framework_new_version(framework=framework, actor=request.user, organization=owner)
            self.message_user(request, f"Created {copy} ({copy.organization or 'built-in'}); edit it before use.")


class QuestionForm(forms.ModelForm):
    class Meta:
        model = Question
        fields = ["dimension", "order", "key", "text", "guidance", "weight", "level_descriptors"]
        help_texts = {"level_descriptors": 'A JSON list of 5 texts, for levels 0 to 4: ["…", "…", "…", "…", "…"]'}


@admin.register(Question)
class QuestionAdmin(FrameworkAdminBase):
    form = QuestionForm
    list_display = ["text", "dimension", "framework", "weight", "order"]
    list_filter = ["dimension__framework", "dimension__key"]
    search_fields = ["text", "key", "guidance"]
    list_select_related = ["dimension__framework"]

    def get_queryset(self, request):
        return _framework_scope(request.user, super().get_queryset(request), "dimension__framework__organization")

    def _framework(self, obj):
        return obj.dimension.framework

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "dimension":
            kwargs["queryset"] = _framework_scope(
                request.user, Dimension.objects.select_related("framework"), "framework__organization"
            ).filter(framework__campaigns__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="framework")
    def framework(self, obj):
        return obj.dimension.framework


class AssessmentInline(OrgScopedInline):
    model = Assessment
    fields = ["team", "status", "answered_count", "question_count", "overall_score", "submitted_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(OrgScopedAdmin):
    list_display = ["name", "organization", "framework_names", "opens_on", "closes_on", "team_count"]
    list_filter = ["organization", "frameworks"]
    search_fields = ["name"]
    date_hierarchy = "opens_on"
    inlines = [AssessmentInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("organization")
            .prefetch_related("frameworks")
            .annotate(n_teams=Count("assessments__team", distinct=True))
        )

    def get_readonly_fields(self, request, obj=None):
        # Frameworks change on the campaign's edit page (the service adds assessments and refuses to
        # drop an answered framework).
        return ["organization", "frameworks", "created_by"] if obj else ["created_by"]

    def has_add_permission(self, request, obj=None):
        # Opening a campaign creates each team's assessment: the Assessments page does it.
        return False

    @admin.display(description="frameworks")
    def framework_names(self, obj):
        return ", ".join(str(f) for f in obj.frameworks.all())

    @admin.display(description="teams")
    def team_count(self, obj):
        return obj.n_teams

    def save_model(self, request, obj, form, change):
        services.campaign_update(
            campaign=obj, actor=request.user, name=obj.name, opens_on=obj.opens_on, closes_on=obj.closes_on
        )


class AnswerInline(OrgScopedInline):
    model = Answer
    fields = ["question", "level", "not_applicable", "comment", "evidence_url", "answered_by"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Assessment)
class AssessmentAdmin(OrgScopedAdmin):
    """Read-only: answers change through the team's page and the API, with their rules."""

    list_display = ["team", "campaign", "framework", "status", "answered_count", "overall_score", "submitted_at"]
    list_filter = ["status", "campaign__organization", "campaign", "framework"]
    search_fields = ["team__name", "campaign__name"]
    list_select_related = ["team", "campaign", "framework"]
    inlines = [AnswerInline]
    readonly_fields = [
        "campaign",
        "team",
        "framework",
        "status",
        "submitted_at",
        "submitted_by",
        "overall_score",
        "dimension_scores",
        "answered_count",
        "question_count",
    ]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
