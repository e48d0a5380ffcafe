from django import forms

from apps.core.forms import BootstrapForm

from .services import MAX_OVERRIDE_HOURS


class OverrideForm(BootstrapForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="Why deploys may go out anyway.")
    hours = forms.FloatField(min_value=0.25, max_value=MAX_OVERRIDE_HOURS, initial=4, help_text="How long it lasts.")
