"""A searchable person picker for forms (a multiple choice of an organization's people)."""

from django import forms
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe


class PeoplePicker(forms.SelectMultiple):
    """Chosen people as removable chips; a search box finds more (htmx, teams:people_search).

    Renders only the chosen people, not every person of the organization, so a big
    organization costs one query. The form sets `organization` (the search's scope);
    the field's queryset still decides what is valid."""

    template_name = "widgets/people_picker.html"
    organization = None

    def get_context(self, name, value, attrs):
        context = forms.Widget.get_context(self, name, value, attrs)
        ids = [v for v in context["widget"]["value"] if str(v).isdigit()]
        queryset = getattr(self.choices, "queryset", None)
        context["selected"] = list(queryset.filter(pk__in=ids)) if queryset is not None and ids else []
        org_id = getattr(self.organization, "pk", self.organization)
        context["search_url"] = f"{reverse('teams:people_search')}?organization={org_id}"
        return context

    def render(self, name, value, attrs=None, renderer=None):
        # The project's template engine (templates/widgets/), not the form renderer's.
        html = render_to_string(self.template_name, self.get_context(name, value, attrs))
        return mark_safe(html)  # noqa: S308 - rendered by an autoescaping template # nosec B308, B703
