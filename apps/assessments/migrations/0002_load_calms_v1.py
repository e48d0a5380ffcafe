"""Install the built-in CALMS v1 question bank (apps/assessments/frameworks/calms_v1.yaml)."""

from django.db import migrations


def load(apps, schema_editor):
    from apps.assessments import frameworks

    data = frameworks.load_file(frameworks.DIRECTORY / "calms_v1.yaml")
    frameworks.install(
        data,
        Framework=apps.get_model("assessments", "Framework"),
        Dimension=apps.get_model("assessments", "Dimension"),
        Question=apps.get_model("assessments", "Question"),
        Campaign=apps.get_model("assessments", "Campaign"),
    )


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
