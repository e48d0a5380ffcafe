from django import forms

from apps.core.forms import BootstrapForm

from .models import Runbook, ToilItem
from .services import MAX_OVERRIDE_HOURS


class OverrideForm(BootstrapForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="Why deploys may go out anyway.")
    hours = forms.FloatField(min_value=0.25, max_value=MAX_OVERRIDE_HOURS, initial=4, help_text="How long it lasts.")


class ToilItemForm(BootstrapForm):
    title = forms.CharField(label="What", help_text="The recurring manual work, e.g. “Rotate TLS certificates”.")
    category = forms.ChoiceField(choices=ToilItem.Category.choices)
    hours_per_week = forms.DecimalField(
        label="Hours a week", max_digits=5, decimal_places=1, help_text="Person-hours it takes in a typical week."
    )
    automatable = forms.BooleanField(required=False, initial=True, help_text="Could a machine do it?")
    owner = forms.ModelChoiceField(queryset=None, required=False, help_text="Who on the team looks after it.")
    status = forms.ChoiceField(choices=ToilItem.Status.choices, initial=ToilItem.Status.ACTIVE)
    started_on = forms.DateField(
        label="Done since", required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Empty: today."
    )
    ended_on = forms.DateField(
        label="Automated away or stopped on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Only for work automated away or no longer done. Empty: today.",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, team, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = team.members.order_by("name", "email")


class ToilReviewForm(BootstrapForm):
    capacity_hours = forms.DecimalField(
        label="Team hours a week",
        max_digits=7,
        decimal_places=1,
        help_text="Person-hours all members work in a week; the toil share is toil hours over these.",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="What changed.")


class RunbookForm(BootstrapForm):
    team = forms.ModelChoiceField(queryset=None, help_text="The team that keeps it up to date.")
    title = forms.CharField()
    url = forms.URLField(label="Link", required=False, help_text="Where the runbook lives (wiki, repository)…")
    body = forms.CharField(
        label="…or the runbook itself",
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="Markdown.",
    )
    services = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.SelectMultiple(attrs={"size": 6}), help_text="Services it covers."
    )
    slos = forms.ModelMultipleChoiceField(
        label="SLO alerts",
        queryset=None,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="SLOs whose burn-rate alerts it answers; their notifications link to it.",
    )
    incident_types = forms.CharField(
        required=False, help_text="Kinds of incident it covers, separated by commas (e.g. database failover)."
    )

    def __init__(self, *args, teams, organization, **kwargs):
        from apps.slos.models import SLO
        from apps.teams.models import Service

        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["services"].queryset = Service.objects.filter(organization=organization).order_by("name")
        self.fields["slos"].queryset = (
            SLO.objects.filter(sli__service__organization=organization).select_related("sli__service").order_by("name")
        )
        self.fields["slos"].label_from_instance = lambda slo: f"{slo.name} ({slo.sli.service.name})"


class IncidentRunbookForm(BootstrapForm):
    runbook = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="No runbook was used", label="Runbook used"
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["runbook"].queryset = Runbook.objects.filter(team__organization=organization).order_by("title")
