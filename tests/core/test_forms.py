"""The one place a service's ValidationError becomes form errors (every app's views use it)."""

from django import forms
from django.core.exceptions import ValidationError

from apps.core.forms import add_service_errors


class NameForm(forms.Form):
    name = forms.CharField()


def test_field_errors_land_on_their_field_and_the_rest_on_top():
    form = NameForm({"name": "x"})
    assert form.is_valid()
    add_service_errors(form, ValidationError({"name": "Taken.", "team": "Belongs to another organization."}))
    assert form.errors["name"] == ["Taken."]
    assert form.non_field_errors() == ["Belongs to another organization."]


def test_a_message_without_a_field_goes_on_top():
    form = NameForm({"name": "x"})
    assert form.is_valid()
    add_service_errors(form, ValidationError(["One.", "Two."]))
    assert form.non_field_errors() == ["One.", "Two."]
    assert "name" not in form.errors
