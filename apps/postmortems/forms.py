from django import forms
from django.contrib.auth import get_user_model

from apps.core import permissions
from apps.core.forms import BootstrapForm, BootstrapModelForm
from apps.teams.models import Service, Team
from apps.teams.selectors import org_people
from apps.teams.widgets import PeoplePicker

from .models import (
    MARKDOWN_FIELDS,
    TAG_RULE,
    ActionItem,
    Incident,
    Postmortem,
    PostmortemReview,
    clean_tag_names,
)

User = get_user_model()


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.email})" if obj.name else obj.email


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.email})" if obj.name else obj.email


class IncidentForm(BootstrapModelForm):
    class Meta:
        model = Incident
        fields = [
            "team",
            "title",
            "severity",
            "status",
            "services",
            "started_at",
            "detected_at",
            "mitigated_at",
            "resolved_at",
            "description",
        ]
        widgets = {
            "started_at": DateTimeLocalInput(),
            "detected_at": DateTimeLocalInput(),
            "mitigated_at": DateTimeLocalInput(),
            "resolved_at": DateTimeLocalInput(),
            "description": forms.Textarea(attrs={"rows": 4}),
            "services": forms.SelectMultiple(attrs={"size": 6}),
        }

    def __init__(self, *args, user, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        teams = Team.objects.filter(organization=organization).order_by("name")
        self.fields["team"].queryset = permissions.editable_teams(user, Incident, teams)
        self.fields["services"].queryset = Service.objects.filter(organization=organization).order_by("name")
        self.fields["services"].help_text = "The services users saw fail (Ctrl/⌘-click for several)."
        # A person always says when it started (only an alert source may not know yet).
        self.fields["started_at"].required = True
        self.instance.organization = organization


class PostmortemForm(BootstrapModelForm):
    tags = forms.CharField(
        required=False,
        max_length=1000,
        help_text=f"Comma-separated, e.g. database, capacity, third-party: {TAG_RULE}; spaces become hyphens.",
    )
    reviewers = PeopleChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=PeoplePicker(),
        help_text="Named reviewers approve or ask for changes before publication.",
    )
    authors = PeopleChoiceField(queryset=User.objects.none(), required=False, widget=PeoplePicker())

    class Meta:
        model = Postmortem
        fields = ["title", "users_affected", *MARKDOWN_FIELDS]
        widgets = {name: forms.Textarea(attrs={"rows": 4, "class": "font-monospace"}) for name in MARKDOWN_FIELDS}
        labels = {"root_causes": "Root causes and contributing factors (narrative)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        people = org_people(self.instance.organization)
        for name in ("reviewers", "authors"):
            self.fields[name].queryset = people
            self.fields[name].widget.organization = self.instance.organization
        if self.instance.pk and not self.is_bound:
            self.initial["tags"] = ", ".join(t.name for t in self.instance.tags.all())
            self.initial["reviewers"] = [r.reviewer_id for r in self.instance.reviews.all()]
            self.initial["authors"] = [a.pk for a in self.instance.authors.all()]
        template = self.instance.template
        for name in MARKDOWN_FIELDS:
            prompt = getattr(template, name, "").strip() if template else ""
            self.fields[name].help_text = "Markdown."
            if prompt and prompt != "-":
                self.fields[name].widget.attrs["placeholder"] = prompt

    def clean_tags(self) -> list[str]:
        return clean_tag_names((self.cleaned_data.get("tags") or "").split(","))

    def tag_names(self) -> list[str]:
        return self.cleaned_data.get("tags") or []


class TimelineEntryForm(BootstrapForm):
    at = forms.DateTimeField(label="When", widget=DateTimeLocalInput())
    description = forms.CharField(label="What happened", widget=forms.Textarea(attrs={"rows": 1}))


class FactorForm(BootstrapForm):
    category = forms.ModelChoiceField(queryset=None)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 1}))
    is_root_cause = forms.BooleanField(label="Root cause", required=False)

    def __init__(self, *args, categories=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories


class LinkForm(BootstrapForm):
    title = forms.CharField(max_length=200)
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Links must be http(s) addresses.")
        return url


class BaseListFormSet(forms.BaseFormSet):
    def rows(self) -> list[dict]:
        return [
            {k: v for k, v in f.cleaned_data.items() if k != "DELETE"}
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]


TimelineFormSet = forms.formset_factory(TimelineEntryForm, formset=BaseListFormSet, extra=2, can_delete=True)
FactorFormSet = forms.formset_factory(FactorForm, formset=BaseListFormSet, extra=1, can_delete=True)
LinkFormSet = forms.formset_factory(LinkForm, formset=BaseListFormSet, extra=1, can_delete=True)


class ReviewForm(BootstrapForm):
    decision = forms.ChoiceField(
        choices=[
            (PostmortemReview.Decision.APPROVED, "Approve"),
            (PostmortemReview.Decision.CHANGES_REQUESTED, "Ask for changes"),
        ],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Markdown.")


class ActionItemForm(BootstrapModelForm):
    owner = PersonChoiceField(queryset=User.objects.none(), required=False)

    class Meta:
        model = ActionItem
        fields = ["title", "kind", "priority", "team", "owner", "due_date", "status", "tracker_url"]
        widgets = {"due_date": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(organization=organization).order_by("name")
        self.fields["owner"].queryset = org_people(organization)
        self.fields["tracker_url"].assume_scheme = "https"
