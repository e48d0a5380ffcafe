from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model

from apps.core import permissions
from apps.core.forms import BootstrapForm, BootstrapModelForm
from apps.teams.models import Service, Team

from .models import SLI, SLO, AlertSettings

User = get_user_model()

PERCENT = {"min_value": Decimal("0.001"), "max_value": Decimal("99.9999"), "decimal_places": 4, "max_digits": 7}


class SLIForm(BootstrapModelForm):
    class Meta:
        model = SLI
        fields = [
            "service",
            "name",
            "slug",
            "kind",
            "description",
            "source",
            "prometheus_url",
            "good_query",
            "total_query",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "good_query": forms.Textarea(attrs={"rows": 2, "class": "font-monospace"}),
            "total_query": forms.Textarea(attrs={"rows": 2, "class": "font-monospace"}),
        }
        help_texts = {"slug": "Unique in the organization; used as the OpenSLO name. Leave empty to derive it."}

    def __init__(self, *args, user, organization, **kwargs):
        super().__init__(*args, **kwargs)
        teams = permissions.editable_teams(user, SLI, Team.objects.filter(organization=organization))
        self.fields["service"].queryset = Service.objects.filter(team__in=teams).order_by("name")
        self.fields["slug"].required = False


class SLOForm(BootstrapModelForm):
    target_percent = forms.DecimalField(label="Target (%)", help_text="e.g. 99.9", **PERCENT)
    timeslice_minutes = forms.IntegerField(
        label="Slice length (minutes)", required=False, min_value=5, max_value=1440, help_text="A multiple of 5."
    )
    timeslice_target_percent = forms.DecimalField(
        label="Slice target (%)", required=False, help_text="A slice is good when its ratio reaches this.", **PERCENT
    )

    class Meta:
        model = SLO
        fields = [
            "sli",
            "name",
            "slug",
            "description",
            "owner",
            "window_kind",
            "window_days",
            "calendar_unit",
            "budgeting",
            "alerting",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {"sli": "SLI", "window_kind": "Window", "window_days": "Rolling window (days)"}

    def __init__(self, *args, user, organization, **kwargs):
        super().__init__(*args, **kwargs)
        teams = permissions.editable_teams(user, SLO, Team.objects.filter(organization=organization))
        self.fields["sli"].queryset = SLI.objects.filter(service__team__in=teams).select_related("service")
        self.fields["owner"].queryset = User.objects.filter(org_memberships__organization=organization).order_by(
            "email"
        )
        self.fields["slug"].required = False
        self.fields["calendar_unit"].required = False
        order = ["sli", "name", "slug", "description", "owner", "target_percent", "window_kind", "window_days"]
        order += ["calendar_unit", "budgeting", "timeslice_minutes", "timeslice_target_percent", "alerting"]
        self.order_fields(order)
        if self.instance.pk:
            self.initial["target_percent"] = self.instance.target * 100
            if self.instance.timeslice_seconds:
                self.initial["timeslice_minutes"] = self.instance.timeslice_seconds // 60
            if self.instance.timeslice_target is not None:
                self.initial["timeslice_target_percent"] = self.instance.timeslice_target * 100

    # Model errors on the stored fields belong to the percentage / minutes fields of the form.
    FIELD_MAP = {
        "target": "target_percent",
        "timeslice_seconds": "timeslice_minutes",
        "timeslice_target": "timeslice_target_percent",
    }

    def clean(self):
        data = super().clean()
        # Give the model's clean() the stored values it checks (the form edits them as % and minutes).
        if data.get("target_percent") is not None:
            self.instance.target = data["target_percent"] / 100
        minutes = data.get("timeslice_minutes")
        self.instance.timeslice_seconds = minutes * 60 if minutes else None
        pct = data.get("timeslice_target_percent")
        self.instance.timeslice_target = pct / 100 if pct is not None else None
        return data

    def _update_errors(self, errors):
        if hasattr(errors, "error_dict"):
            errors.error_dict = {self.FIELD_MAP.get(k, k): v for k, v in errors.error_dict.items()}
        super()._update_errors(errors)

    def slo_fields(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k in self.Meta.fields}
        data["target"] = self.cleaned_data["target_percent"] / 100
        minutes = self.cleaned_data.get("timeslice_minutes")
        data["timeslice_seconds"] = minutes * 60 if minutes else None
        pct = self.cleaned_data.get("timeslice_target_percent")
        data["timeslice_target"] = pct / 100 if pct is not None else None
        data["calendar_unit"] = data.get("calendar_unit") or ""
        return data


class PolicyForm(BootstrapForm):
    name = forms.CharField(max_length=200, initial="Error budget policy")
    steps = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "class": "font-monospace"}),
        help_text="One step per line: budget consumed (%) then the agreed action, "
        "e.g. “100: Freeze feature deploys until the budget is positive”.",
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def clean_steps(self):
        from .maths import validate_policy_steps

        steps = []
        for number, line in enumerate(self.cleaned_data["steps"].splitlines(), start=1):
            if not line.strip():
                continue
            pct, sep, action = line.partition(":")
            try:
                value = float(pct.strip().rstrip("%"))
            except ValueError:
                raise forms.ValidationError(f"Line {number}: start with the percentage, then a colon and the action.")
            if not sep:
                raise forms.ValidationError(f"Line {number}: put a colon between the percentage and the action.")
            steps.append({"consumed_percent": int(value) if value.is_integer() else value, "action": action})
        try:
            return validate_policy_steps(steps)
        except ValueError as exc:
            raise forms.ValidationError(str(exc))

    @staticmethod
    def steps_text(steps) -> str:
        return "\n".join(f"{s['consumed_percent']}: {s['action']}" for s in steps)


class AlertSettingsForm(BootstrapModelForm):
    class Meta:
        model = AlertSettings
        fields = ["email", "webhook_url", "notify_tickets"]


class OpenSLOImportForm(BootstrapForm):
    document = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "class": "font-monospace", "spellcheck": "false"}),
        help_text="OpenSLO v1 YAML documents separated by ---.",
    )
    file = forms.FileField(required=False, help_text="…or upload a .yaml file (at most 2 MB).")

    MAX_BYTES = 2 * 1024 * 1024

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload:
            if upload.size > self.MAX_BYTES:
                raise forms.ValidationError("The file is larger than 2 MB.")
            try:
                data["document"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text.")
        if not (data.get("document") or "").strip():
            raise forms.ValidationError("Paste a document or choose a file.")
        return data
