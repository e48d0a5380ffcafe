from django import forms
from django.core.exceptions import ValidationError

from apps.core.forms import BootstrapForm
from apps.teams.models import Service

from . import normalizers
from .models import Integration

PATTERN_HELP = {
    "deploy_workflow": "GitHub and GitLab only. The GitHub workflow name or file (deploy\\.yml), or GitLab "
    "pipeline name, whose runs are production deployments: a regular expression matching the whole name, "
    "any case, for example Deploy|Release.",
    "deploy_job": "Set it to count jobs instead of whole runs: the job name, for example deploy-prod|release.*.",
    "deploy_branch": "Only runs from this branch, for example main. Empty: any branch.",
}


def _pattern_field(label: str, name: str) -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=300,
        label=label,
        help_text=PATTERN_HELP[name],
        widget=forms.TextInput(attrs={"spellcheck": "false", "class": "font-monospace"}),
    )


class PatternsForm(BootstrapForm):
    """Deployment patterns, checked as the user types them: a clear error, never a silent non-match."""

    deploy_workflow = _pattern_field("Deployment workflow or pipeline", "deploy_workflow")
    deploy_job = _pattern_field("Deployment job", "deploy_job")
    deploy_branch = _pattern_field("Deployment branch", "deploy_branch")

    def clean(self):
        cleaned = super().clean()
        for name in PATTERN_HELP:
            value = (cleaned.get(name) or "").strip()
            why = normalizers.pattern_error(value) if value else None
            if why:
                self.add_error(name, why)
            elif name in cleaned:
                cleaned[name] = value
        return cleaned

    def patterns(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in PATTERN_HELP if name in self.fields}


class IntegrationForm(PatternsForm):
    name = forms.CharField(max_length=200, help_text="For example “GitHub – checkout repos”.")
    kind = forms.ChoiceField(choices=Integration.Kind.choices)
    team = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="The whole organization", help_text="Which team this source feeds."
    )
    production_environments = forms.CharField(
        max_length=500,
        initial="production, prod",
        help_text="Comma-separated environment names that count as production.",
    )
    secret = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to generate one. PagerDuty creates its own signing secret: paste it here.",
    )

    field_order = ["name", "kind", "team", "production_environments", *PATTERN_HELP, "secret"]

    def __init__(self, *args, teams, allow_org_wide: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["team"].required = not allow_org_wide
        if not allow_org_wide:
            self.fields["team"].empty_label = None


class IntegrationEditForm(PatternsForm):
    name = forms.CharField(max_length=200)
    production_environments = forms.CharField(
        max_length=500, help_text="Comma-separated environment names that count as production."
    )
    is_active = forms.BooleanField(required=False, label="Accept deliveries")
    mappings = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "font-monospace"}),
        help_text="One per line: key = service-slug. The key is a repository (owner/name) for "
        "GitHub and GitLab, or the service name or id PagerDuty, Opsgenie or Alertmanager report.",
    )

    field_order = ["name", "production_environments", *PATTERN_HELP, "is_active", "mappings"]

    def __init__(self, *args, services, kind: str = "github", **kwargs):
        super().__init__(*args, **kwargs)
        if kind not in ("github", "gitlab"):  # only Git sources run CI
            for name in PATTERN_HELP:
                del self.fields[name]
        self.services = {s.slug.lower(): s for s in services}

    def clean_mappings(self) -> dict[str, Service]:
        result: dict[str, Service] = {}
        errors = []
        for number, line in enumerate(self.cleaned_data.get("mappings", "").splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, slug = line.rpartition("=")
            key, slug = key.strip(), slug.strip().lower()
            if not sep or not key or not slug:
                errors.append(f"Line {number}: write “key = service-slug”.")
            elif slug not in self.services:
                errors.append(f"Line {number}: no service “{slug}” here.")
            elif key.lower() in (k.lower() for k in result):
                errors.append(f"Line {number}: “{key}” is mapped twice.")
            else:
                result[key] = self.services[slug]
        if errors:
            raise ValidationError(errors)
        return result


class SecretForm(BootstrapForm):
    secret = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to generate a new secret.",
    )


class IncidentLinkForm(BootstrapForm):
    AUTO, NONE = "auto", "none"
    choice = forms.ChoiceField(label="Deployment that caused the incident")
    note = forms.CharField(required=False, max_length=300)

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = {str(d.pk): d for d in candidates}
        self.fields["choice"].choices = [
            (self.AUTO, "Automatic: the latest production deployment of an impacted service before it started"),
            (self.NONE, "No deployment caused it"),
        ] + [
            (
                pk,
                f"{d.service or d.repository or 'deployment'} · {d.environment} · "
                f"{d.finished_at:%Y-%m-%d %H:%M} UTC · {d.get_status_display()}"
                if d.finished_at
                else f"{d.service or d.repository} · {d.environment} · {d.get_status_display()}",
            )
            for pk, d in self.candidates.items()
        ]

    def deployment(self):
        return self.candidates.get(self.cleaned_data["choice"])


class UnattributedMapForm(BootstrapForm):
    """Map an unattributed repository or provider service to one of the organization's services."""

    service = forms.ModelChoiceField(
        queryset=Service.objects.none(),
        empty_label="Choose a service",
        help_text="Its commits, deployments and incidents so far, and everything sent under this key from now on.",
    )

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        self.fields["service"].label_from_instance = lambda s: f"{s.name} ({s.team.name})"
