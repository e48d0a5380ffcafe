from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.forms import BootstrapForm
from apps.teams.models import Team

from . import selectors
from .frameworks import SCORED_FAMILY


class DateInput(forms.DateInput):
    input_type = "date"


class CampaignForm(BootstrapForm):
    name = forms.CharField(max_length=120, help_text="For example “CALMS 2026 Q4”.")
    frameworks = forms.ModelMultipleChoiceField(
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        label="Frameworks",
        help_text="Each team in scope answers each framework ticked here (one version of each).",
    )
    opens_on = forms.DateField(widget=DateInput, label="Opens on")
    closes_on = forms.DateField(widget=DateInput, label="Closes on")
    teams = forms.ModelMultipleChoiceField(
        queryset=None, widget=forms.CheckboxSelectMultiple, help_text="Each team in scope gets an assessment."
    )

    def __init__(self, *args, organization, editing=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["frameworks"].queryset = selectors.frameworks_available(organization)
        self.fields["teams"].queryset = Team.objects.filter(organization=organization).select_related("department")
        self.fields["teams"].label_from_instance = lambda t: f"{t.name} ({t.department})" if t.department else t.name
        if editing is not None:
            # Teams can only be added; a framework leaves only while nobody answered it (the service says).
            self.fields["frameworks"].help_text = (
                "Adding a framework gives every team in scope an assessment of it; a framework "
                "a team has answered stays."
            )
            self.fields["teams"].required = False
            self.fields["teams"].help_text = "Add teams to the scope; teams already in scope keep their assessment."
            in_scope = editing.assessments.values_list("team_id", flat=True)
            self.fields["teams"].queryset = self.fields["teams"].queryset.exclude(pk__in=in_scope)
        else:
            today = timezone.localdate()
            self.fields["opens_on"].initial = today
            self.fields["closes_on"].initial = today + timedelta(days=21)
            # Usually every team takes part; unticking is quicker than ticking twelve boxes.
            self.fields["teams"].initial = list(self.fields["teams"].queryset.values_list("pk", flat=True))
            newest_calms = self.fields["frameworks"].queryset.filter(key=SCORED_FAMILY).first()
            self.fields["frameworks"].initial = [newest_calms.pk] if newest_calms else []

    def clean(self):
        data = super().clean()
        opens_on, closes_on = data.get("opens_on"), data.get("closes_on")
        if opens_on and closes_on and closes_on < opens_on:
            raise ValidationError({"closes_on": "The close date must be on or after the open date."})
        return data
