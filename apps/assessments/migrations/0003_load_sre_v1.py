"""Install the built-in SRE practices question bank (apps/assessments/frameworks/sre_v1.yaml)."""

from django.db import migrations


def load(apps, schema_editor):
    from apps.assessments import frameworks

    data = frameworks.load_file(frameworks.DIRECTORY / "sre_v1.yaml")
    frameworks.install(
        data,
        Framework=apps.get_model("assessments", "Framework"),
        Dimension=apps.get_model("assessments", "Dimension"),
        Question=apps.get_model("assessments", "Question"),
        Campaign=apps.get_model("assessments", "Campaign"),
    )


class Migration(migrations.Migration):
    dependencies = [("assessments", "0002_load_calms_v1")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
