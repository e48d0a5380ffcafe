from django import forms

from apps.core.forms import BootstrapModelForm

from .models import Service


class ServiceForm(BootstrapModelForm):
    class Meta:
        model = Service
        fields = ["name", "slug", "description", "tier", "lifecycle", "repository_url", "runbook_url"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
