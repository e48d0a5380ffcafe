from django import forms

from apps.core.forms import BootstrapForm

from .selectors import PERIODS


class ExemptionRequestForm(BootstrapForm):
    level_check = forms.ModelChoiceField(queryset=None, label="Check", empty_label="Choose a failing check…")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Why this check should not count against the team (e.g. the service is being retired).",
    )
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label="Until",
        help_text="Optional: the date you propose; the org admin sets the final expiry.",
    )

    def __init__(self, *args, checks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level_check"].queryset = checks
        self.fields["level_check"].label_from_instance = lambda c: f"Level {c.level} · {c.name}"


class ExemptionDecisionForm(BootstrapForm):
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    expires_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Expires on")


class LeadershipFilterForm(BootstrapForm):
    department = forms.ModelChoiceField(queryset=None, required=False, empty_label="All departments")
    tier = forms.TypedChoiceField(
        choices=[
            ("", "Any service tier"),
            (1, "Owns a tier-1 service"),
            (2, "Owns a tier-2 service"),
            (3, "Owns a tier-3 service"),
        ],
        coerce=int,
        required=False,
        empty_value=None,
    )
    period = forms.TypedChoiceField(
        choices=[(days, f"Movement over a {name}") for days, name in PERIODS.items()],
        coerce=int,
        required=False,
        empty_value=30,
        initial=30,
    )

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments
        self.fields["department"].label_from_instance = lambda d: d.path
