"""Small rules every app's services share: errors as text, and "that belongs to another organization"."""

from __future__ import annotations

from django.core.exceptions import ValidationError


def error_text(exc: BaseException, *, with_fields: bool = True, limit: int = 4000) -> str:
    """A ValidationError (or any error) as one line: for a stored event or log `field: message; ...`,
    for a person's flash message (`with_fields=False`) just the messages."""
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict") and with_fields:
            text = "; ".join(
                f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
                for field, messages in exc.message_dict.items()
            )
        elif hasattr(exc, "error_dict"):
            text = " ".join(m for messages in exc.message_dict.values() for m in messages)
        else:
            text = " ".join(exc.messages)
    else:
        text = str(exc)
    return text[:limit]


def foreign_message(label: str) -> str:
    """The one wording of "not in this organization", e.g. foreign_message("The owning team")."""
    return f"{label} belongs to another organization."


def organization_id_of(obj) -> int | None:
    if obj is None:
        return None
    if type(obj).__name__ == "Organization":
        return obj.pk
    return getattr(obj, "organization_id", None)


def require_same_organization(organization, *, field: str, obj, label: str | None = None) -> None:
    """Raise a field error when `obj` (a team, service, department... or None) is outside `organization`."""
    if obj is None:
        return
    org_id = getattr(organization, "pk", organization)
    if organization_id_of(obj) != org_id:
        raise ValidationError({field: foreign_message(label or f"The {field.replace('_', ' ')}")})
