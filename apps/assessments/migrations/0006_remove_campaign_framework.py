"""Step 3 of 3: the old single framework of a campaign goes; `frameworks` is the only source."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("assessments", "0005_copy_campaign_framework")]

    operations = [migrations.RemoveField(model_name="campaign", name="framework")]
