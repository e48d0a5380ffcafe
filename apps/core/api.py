"""Shared pieces of every app's REST API: the role-aware base viewset,
object permission and error format."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import exceptions, serializers, viewsets
from rest_framework import permissions as drf_permissions
from rest_framework.views import exception_handler as drf_exception_handler

from . import permissions


def requested_organization(request, *, unseen_is_bad_input: bool = False):
    """`?organization=<id>` among the organizations the user sees, else the current one.

    An id the user cannot see is a 404, as for any object out of reach, or a 400 naming
    the parameter where the endpoint treats it as a filter (`unseen_is_bad_input`); with
    neither an id nor a current organization, a 400 asks for one.
    """
    from apps.teams.middleware import current_organization
    from apps.teams.models import Organization

    org_id = request.query_params.get("organization")
    if org_id:
        wanted = Organization.objects.filter(pk=org_id if org_id.isdigit() else 0)
        org = permissions.viewable(request.user, wanted).first()
        if org is None:
            if unseen_is_bad_input:
                raise exceptions.ValidationError({"organization": "No such organization."})
            raise exceptions.NotFound("No such organization.")
        return org
    org = current_organization(request)
    if org is None:
        raise exceptions.ValidationError({"organization": "Pass ?organization=<id>."})
    return org


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "This object is still in use."
    default_code = "conflict"


def exception_handler(exc, context):
    # Model validation raised inside a service is a 400 with the fields, not a 500.
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    # Deleting something others still point at (a team that owns services) is a 409 saying what.
    elif isinstance(exc, ProtectedError | RestrictedError):
        blockers = sorted({f"{o._meta.verbose_name}: {o}" for o in list(exc.args[1])[:10]})
        exc = Conflict({"detail": "Still in use; remove or move these first.", "blocked_by": blockers})
    return drf_exception_handler(exc, context)


class RolePermission(drf_permissions.BasePermission):
    """Reads need `can_view` (rows are already scoped, so others get 404);
    writes need `can_change` on the object."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj):
        if request.method in drf_permissions.SAFE_METHODS:
            return permissions.can_view(request.user, obj)
        return permissions.can_change(request.user, obj)


class ScopedModelViewSet(viewsets.ModelViewSet):
    """A model viewset whose rows are what the user may see.

    Subclasses set `queryset` and `serializer_class`; creation is checked with
    `permissions.can_create` against the team/organization the new row names.
    """

    permission_classes = [RolePermission]

    def get_queryset(self):
        return permissions.viewable(self.request.user, super().get_queryset())

    def creation_scope(self, validated_data) -> dict:
        """The {organization, team} a new row will belong to."""
        team = validated_data.get("team")
        organization = validated_data.get("organization") or (team.organization if team else None)
        return {"organization": organization, "team": team}

    def perform_create(self, serializer):
        scope = self.creation_scope(serializer.validated_data)
        if scope["organization"] is not None and not permissions.org_role(self.request.user, scope["organization"]):
            # Naming an org one is not in reads as a missing object, not a hint it exists.
            raise exceptions.ValidationError({"organization": "No such organization."})
        if not permissions.can_create(self.request.user, self.queryset.model, **scope):
            raise exceptions.PermissionDenied("You may not create this here.")
        self.save_new(serializer)

    def save_new(self, serializer):
        """Write the new row; override to call the app's service instead."""
        serializer.save()

    def perform_update(self, serializer):
        # Moving a row to another team or org needs the right to create it there.
        scope = self.creation_scope({**self._current_scope(serializer.instance), **serializer.validated_data})
        if not permissions.can_create(self.request.user, self.queryset.model, **scope):
            raise exceptions.PermissionDenied("You may not move this there.")
        self.save_existing(serializer)

    def save_existing(self, serializer):
        """Write the changed row; override to call the app's service instead (one service per write)."""
        serializer.save()

    def _current_scope(self, instance) -> dict:
        scope = {}
        for name in ("organization", "team"):
            if hasattr(instance, f"{name}_id"):
                scope[name] = getattr(instance, name)
        return scope


class ServiceModelViewSet(ScopedModelViewSet):
    """A scoped viewset whose writes are one service call each (docs/CONVENTIONS.md, "Writes").

    Subclasses implement `create_with(data)` and `update_with(instance, data)`, which pass the
    validated input and `actor=self.request.user` to the app's service and return the row. The
    service checks the caller's rights (PermissionDenied is a 403) and the rules (Django's
    ValidationError is a 400), so these hooks add no check of their own."""

    def perform_create(self, serializer):
        serializer.instance = self.create_with(dict(serializer.validated_data))

    def perform_update(self, serializer):
        serializer.instance = self.update_with(serializer.instance, dict(serializer.validated_data))

    def create_with(self, data: dict):
        raise NotImplementedError(f"{type(self).__name__}.create_with calls the app's create service.")

    def update_with(self, instance, data: dict):
        raise NotImplementedError(f"{type(self).__name__}.update_with calls the app's update service.")


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related-object field that only accepts rows the requester can see:
    an id from another org is "does not exist", exactly like a wrong id."""

    def get_queryset(self):
        request = self.context.get("request")
        queryset = super().get_queryset()
        if request is None:
            return queryset.none()
        return permissions.viewable(request.user, queryset)


class ScopedReadOnlyViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [RolePermission]

    def get_queryset(self):
        return permissions.viewable(self.request.user, super().get_queryset())


__all__ = [
    "RolePermission",
    "ScopedModelViewSet",
    "ScopedPrimaryKeyRelatedField",
    "ScopedReadOnlyViewSet",
    "ServiceModelViewSet",
    "exception_handler",
]
