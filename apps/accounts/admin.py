from allauth.account.forms import ResetPasswordForm
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from apps.core import permissions
from apps.core.admin import ScopedListFiltersMixin, is_admin_user
from apps.teams.models import Organization, OrgMembership
from apps.teams.services import org_membership_set

from .models import ApiToken, User
from .services import email_address_trust


class UserCreationForm(forms.ModelForm):
    """Create a person and add them to one of the admin's organizations.

    No password is set here: the new user gets a "set your password" email.
    """

    organization = forms.ModelChoiceField(queryset=Organization.objects.none())
    role = forms.ChoiceField(choices=OrgMembership.Role.choices, initial=OrgMembership.Role.MEMBER)
    send_invite = forms.BooleanField(required=False, initial=True, label="Email a link to set a password")

    class Meta:
        model = User
        fields = ["email", "name"]


@admin.register(User)
class UserAdmin(ScopedListFiltersMixin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "org_memberships__organization"]
    search_fields = ["email", "name"]
    add_form = UserCreationForm
    fieldsets = [
        (None, {"fields": ["email", "name", "password"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "name", "organization", "role", "send_invite"]})]
    readonly_fields = ["last_login", "date_joined"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(org_memberships__organization_id__in=permissions.admin_org_ids(request.user)).distinct()

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Only superusers hand out staff or superuser rights (org admins get
            # staff through their membership).
            fields += ["is_staff", "is_superuser", "groups", "user_permissions"]
        return fields

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None and "organization" in form.base_fields:
            qs = Organization.objects.all()
            if not request.user.is_superuser:
                qs = qs.filter(pk__in=permissions.admin_org_ids(request.user))
            form.base_fields["organization"].queryset = qs
        return form

    def save_model(self, request, obj, form, change):
        if not change:
            obj.set_unusable_password()
        super().save_model(request, obj, form, change)
        if not change:
            email_address_trust(actor=request.user, user=obj)
            org_membership_set(
                actor=request.user,
                organization=form.cleaned_data["organization"],
                user=obj,
                role=form.cleaned_data["role"],
            )
            if form.cleaned_data.get("send_invite"):
                # allauth's own reset flow doubles as the invitation: the link sets a first password.
                reset = ResetPasswordForm(data={"email": obj.email})
                if reset.is_valid():
                    reset.save(request)
                    messages.info(request, f"An invitation to set a password was sent to {obj.email}.")

    def has_module_permission(self, request):
        return is_admin_user(request.user)

    def has_view_permission(self, request, obj=None):
        return is_admin_user(request.user)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return is_admin_user(request.user)

    def has_add_permission(self, request):
        return is_admin_user(request.user)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "key_prefix", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["name", "user__email", "key_prefix"]
    readonly_fields = ["user", "key_prefix", "key_hash", "last_used_at", "created_at"]

    def has_module_permission(self, request):
        return request.user.is_superuser

    has_view_permission = has_change_permission = has_delete_permission = lambda self, request, obj=None: (
        request.user.is_superuser
    )

    def has_add_permission(self, request):
        return False
