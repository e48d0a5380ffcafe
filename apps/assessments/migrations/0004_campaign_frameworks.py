"""A campaign holds several frameworks (CALMS and SRE practices); one assessment per team and framework.

Step 1 of 3: the many-to-many beside the old foreign key (which gives up its reverse name), and the
uniqueness of assessments widened to (campaign, team, framework)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("assessments", "0003_load_sre_v1")]

    operations = [
        migrations.AlterField(
            model_name="campaign",
            name="framework",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="assessments.framework"
            ),
        ),
        migrations.AddField(
            model_name="campaign",
            name="frameworks",
            field=models.ManyToManyField(related_name="campaigns", to="assessments.framework"),
        ),
        migrations.RemoveConstraint(model_name="assessment", name="uniq_assessment_per_team"),
        migrations.AddConstraint(
            model_name="assessment",
            constraint=models.UniqueConstraint(
                fields=("campaign", "team", "framework"), name="uniq_assessment_per_framework"
            ),
        ),
    ]
