"""Step 2 of 3: each campaign's one framework becomes the first entry of its `frameworks`."""

from django.db import migrations


def forward(apps, schema_editor):
    Campaign = apps.get_model("assessments", "Campaign")
    Through = Campaign.frameworks.through
    Through.objects.bulk_create(
        [Through(campaign_id=pk, framework_id=fw) for pk, fw in Campaign.objects.values_list("pk", "framework_id")],
        ignore_conflicts=True,
    )


def backward(apps, schema_editor):
    # Back to one framework: the first by key (CALMS before SRE practices); a campaign holding
    # several keeps only that one's assessments reachable through the old field.
    Campaign = apps.get_model("assessments", "Campaign")
    for campaign in Campaign.objects.all():
        first = campaign.frameworks.order_by("key", "-version").first()
        if first is not None:
            Campaign.objects.filter(pk=campaign.pk).update(framework_id=first.pk)


class Migration(migrations.Migration):
    dependencies = [("assessments", "0004_campaign_frameworks")]

    operations = [migrations.RunPython(forward, backward)]
