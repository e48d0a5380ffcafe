"""CSV import/export of the org structure (django-import-export, in the admin).

Rows name organizations, departments and teams by slug and people by email, so
a file exported from one environment imports into another. Every lookup is
limited to organizations the importing user administers, and a file with any
bad row is refused whole (IMPORT_EXPORT_USE_TRANSACTIONS).
"""

from django.contrib.auth import get_user_model
from import_export import fields, resources, widgets

from apps.accounts.services import user_get_or_create
from apps.core.admin import admin_scope

from . import services
from .models import Department, Organization, Service, Team, TeamMembership

User = get_user_model()


class ScopedSlugWidget(widgets.ForeignKeyWidget):
    """Find a row by slug inside the row's organization, with a readable error."""

    def __init__(self, model, *, user=None, within_org=True, label=None, required=True):
        super().__init__(model, field="slug")
        self.user = user
        self.within_org = within_org
        self.label = label or model._meta.verbose_name
        self.required = required

    def get_queryset(self, value, row, *args, **kwargs):
        qs = self.model.objects.all()
        if self.user is not None:
            qs = admin_scope(self.user, qs)
        if self.within_org:
            qs = qs.filter(organization__slug=(row.get("organization") or "").strip())
        return qs

    def clean(self, value, row=None, **kwargs):
        value = (value or "").strip()
        if not value:
            if self.required:
                raise ValueError(f"{self.label} is required.")
            return None
        obj = self.get_queryset(value, row).filter(slug=value).first()
        if obj is None:
            where = f" in organization “{row.get('organization')}”" if self.within_org else " that you administer"
            raise ValueError(f"No {self.label} “{value}”{where}.")
        return obj


class OrgScopedResource(resources.ModelResource):
    """Builds the org-aware widgets with the importing user."""

    scoped_fields: dict[str, tuple] = {}

    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.fields["organization"].widget = ScopedSlugWidget(Organization, user=user, within_org=False)
        for name, (model, required) in self.scoped_fields.items():
            self.fields[name].widget = ScopedSlugWidget(model, user=user, required=required)

    def get_instance(self, instance_loader, row):
        # A row naming an unknown organization is "new" here; the field's own
        # validation then reports it beside every other bad row, instead of
        # one lookup error stopping the whole report.
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None


class TeamResource(OrgScopedResource):
    organization = fields.Field(attribute="organization", column_name="organization")
    department = fields.Field(attribute="department", column_name="department")
    scoped_fields = {"department": (Department, False)}

    class Meta:
        model = Team
        fields = ("organization", "slug", "name", "department", "description")
        import_id_fields = ("organization", "slug")
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


class ServiceResource(OrgScopedResource):
    organization = fields.Field(attribute="organization", column_name="organization")
    team = fields.Field(attribute="team", column_name="team")
    scoped_fields = {"team": (Team, True)}

    class Meta:
        model = Service
        fields = (
            "organization",
            "slug",
            "name",
            "team",
            "tier",
            "lifecycle",
            "repository_url",
            "runbook_url",
            "description",
        )
        import_id_fields = ("organization", "slug")
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True


class TeamMemberWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        email = (value or "").strip().lower()
        if "@" not in email:
            raise ValueError(f"“{value}” is not an email address.")
        return email


class TeamMembershipResource(resources.ModelResource):
    """Columns: organization, team, email, name, role (lead or member).

    People who do not have an account yet are created without a password; they
    set one through "forgot password" (an invitation)."""

    organization = fields.Field(column_name="organization", attribute="team__organization__slug", readonly=True)
    team = fields.Field(attribute="team", column_name="team")
    email = fields.Field(attribute="user__email", column_name="email", widget=TeamMemberWidget(), readonly=True)
    name = fields.Field(attribute="user__name", column_name="name", readonly=True)
    role = fields.Field(attribute="role", column_name="role")

    class Meta:
        model = TeamMembership
        fields = ("organization", "team", "email", "name", "role")
        import_id_fields = ()
        clean_model_instances = False

    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.fields["team"].widget = ScopedSlugWidget(Team, user=user)

    def before_import_row(self, row, **kwargs):
        role = (row.get("role") or "member").strip().lower()
        if role not in TeamMembership.Role.values:
            raise ValueError(f"Role must be one of {', '.join(TeamMembership.Role.values)}, not “{row.get('role')}”.")
        row["role"] = role
        TeamMemberWidget().clean(row.get("email"))

    def get_or_init_instance(self, instance_loader, row):
        team = self.fields["team"].clean(row)
        email = (row.get("email") or "").strip().lower()
        existing = TeamMembership.objects.filter(team=team, user__email__iexact=email).first()
        if existing:
            return existing, False
        return TeamMembership(team=team), True

    def save_instance(self, instance, is_create, row, **kwargs):
        user, _ = user_get_or_create(actor=self.user, email=row["email"], name=(row.get("name") or "").strip())
        membership = services.team_membership_set(actor=self.user, team=instance.team, user=user, role=instance.role)
        instance.pk = membership.pk
        instance.user = user
