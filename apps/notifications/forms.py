from django import forms

from apps.core.forms import BootstrapForm

from . import kinds
from .models import Target


class PreferencesForm(BootstrapForm):
    kinds = forms.MultipleChoiceField(
        label="Send me", choices=kinds.choices, required=False, widget=forms.CheckboxSelectMultiple
    )


class TargetForm(BootstrapForm):
    name = forms.CharField(max_length=120)
    team = forms.ModelChoiceField(queryset=None, required=False, empty_label="The whole organization (leader digest)")
    channel = forms.ChoiceField(choices=Target.Channel.choices)
    address = forms.CharField(
        max_length=500, help_text="An email address, or the https:// URL Slack or Microsoft Teams gave you."
    )
    kinds = forms.MultipleChoiceField(choices=kinds.choices, widget=forms.CheckboxSelectMultiple)
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, teams=None, fixed_team=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        if fixed_team:
            del self.fields["team"]
