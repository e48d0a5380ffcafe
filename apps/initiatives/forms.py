from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from apps.core.forms import BootstrapForm
from apps.scoring import metrics
from apps.scoring.models import LEVEL_NAMES, Check
from apps.teams.models import Service, Team

from . import selectors
from .models import Initiative, InitiativeCheck


class InitiativeForm(BootstrapForm):
    name = forms.CharField(max_length=160)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Why this matters, for the teams.")
    owner = forms.ModelChoiceField(queryset=None, required=False)
    start_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    target_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(choices=Initiative.Status.choices, initial=Initiative.Status.DRAFT)
    teams = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.SelectMultiple(attrs={"size": 6}), help_text="Teams in scope."
    )
    services = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.SelectMultiple(attrs={"size": 6}), help_text="Services in scope."
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            get_user_model()
            .objects.filter(Q(org_memberships__organization=organization) | Q(teams__organization=organization))
            .distinct()
            .order_by("email")
        )
        self.fields["teams"].queryset = Team.objects.filter(organization=organization).order_by("name")
        self.fields["services"].queryset = Service.objects.filter(organization=organization).order_by("name")


class CheckForm(BootstrapForm):
    kind = forms.ChoiceField(choices=InitiativeCheck.Kind.choices, initial=InitiativeCheck.Kind.METRIC)
    name = forms.CharField(max_length=160, required=False)
    metric = forms.ChoiceField(choices=[("", "—"), *metrics.choices()], required=False)
    operator = forms.ChoiceField(choices=Check.Operator.choices, initial=Check.Operator.GTE)
    value = forms.FloatField(required=False)
    when_missing = forms.ChoiceField(choices=Check.Missing.choices, initial=Check.Missing.FAIL)
    service_check = forms.ChoiceField(choices=[], required=False)
    hint = forms.CharField(required=False, label="How to pass (shown to the teams that fail)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service_check"].choices = [("", "—"), *selectors.service_check_choices()]

    def spec(self) -> dict | None:
        """The check as the service takes it, or None for a row left empty."""
        data = self.cleaned_data if self.is_bound else {}
        if not data or not (data.get("metric") or data.get("service_check")):
            return None
        return {
            k: data.get(k)
            for k in ("kind", "name", "metric", "operator", "value", "when_missing", "service_check", "hint")
        }


CheckFormSet = forms.formset_factory(CheckForm, extra=2)


class GraduateForm(BootstrapForm):
    level = forms.TypedChoiceField(
        coerce=int,
        choices=[(n, f"{n} · {name}") for n, name in LEVEL_NAMES.items() if n >= 2],
        initial=2,
        help_text="The level whose checks they join.",
    )
