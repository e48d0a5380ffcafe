"""The built-in contributing-factor category a postmortem uses when a runbook was missing or wrong."""

from django.db import migrations

SLUG = "runbook"
NAME = "Runbook missing or wrong"
DESCRIPTION = "Responders had no runbook for this, or the runbook they followed was out of date or wrong."


def forwards(apps, schema_editor):
    Category = apps.get_model("postmortems", "ContributingFactorCategory")
    Category.objects.update_or_create(organization=None, slug=SLUG, defaults={"name": NAME, "description": DESCRIPTION})


def backwards(apps, schema_editor):
    Category = apps.get_model("postmortems", "ContributingFactorCategory")
    Category.objects.filter(organization=None, slug=SLUG, factors__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sre", "0003_runbooks"),
        ("postmortems", "0003_default_catalogue"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
