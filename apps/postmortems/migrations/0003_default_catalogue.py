"""The default contributing-factor catalogue and postmortem templates every organization starts with."""

from django.db import migrations

CATEGORIES = [
    ("change", "Change / deployment", "A code, config or infrastructure change introduced the fault."),
    ("configuration", "Configuration", "A wrong or drifting setting, flag or secret."),
    ("capacity", "Capacity / load", "Traffic, data growth or resource limits exceeded what was provisioned."),
    ("dependency", "Dependency failure", "An internal or third-party service we rely on failed or degraded."),
    ("software-bug", "Software defect", "A bug in our code."),
    ("infrastructure", "Infrastructure / hardware", "Hosts, network, storage or cloud-provider faults."),
    ("monitoring-gap", "Monitoring / alerting gap", "We did not see it, or saw it late."),
    ("process", "Process / communication", "Runbooks, hand-offs, on-call or coordination fell short."),
    ("testing-gap", "Testing gap", "Tests or staging did not catch it."),
    ("security", "Security", "Abuse, attack or a vulnerability."),
    ("data", "Data quality", "Corrupt, missing or unexpected data."),
]

PROMPTS = {
    "summary": "What happened, in two or three sentences a newcomer understands.",
    "impact": "Who was affected, for how long, and how badly (requests failed, orders lost, SLO budget spent).",
    "root_causes": "The conditions that made this possible. Ask *why* until you reach things we can change. "
    "No blame: describe systems and decisions, not people.",
    "trigger": "What set it off (a deploy, a traffic spike, a certificate expiring...).",
    "detection": "How did we find out? Alert, customer report, luck? How long did it take?",
    "resolution": "What stopped the bleeding, and what fixed it for good.",
    "went_well": "What helped: alerts that fired, runbooks that worked, tools and people that made a difference.",
    "went_wrong": "What made it worse or slower: missing signals, confusing dashboards, hand-offs.",
    "got_lucky": "Where it could have been much worse, and only chance prevented it.",
}

TEMPLATES = [
    ("Major incident (SEV1-SEV2)", 1, 2, 5, PROMPTS),
    (
        "Minor incident (SEV3-SEV5)",
        3,
        5,
        None,
        {
            "summary": PROMPTS["summary"],
            "impact": PROMPTS["impact"],
            "root_causes": PROMPTS["root_causes"],
            "resolution": PROMPTS["resolution"],
            "went_well": PROMPTS["went_well"],
            "went_wrong": PROMPTS["went_wrong"],
        },
    ),
]


def forwards(apps, schema_editor):
    Category = apps.get_model("postmortems", "ContributingFactorCategory")
    Template = apps.get_model("postmortems", "PostmortemTemplate")
    for slug, name, description in CATEGORIES:
        Category.objects.update_or_create(
            organization=None, slug=slug, defaults={"name": name, "description": description}
        )
    for name, low, high, days, prompts in TEMPLATES:
        Template.objects.update_or_create(
            organization=None,
            name=name,
            defaults={"min_severity": low, "max_severity": high, "publish_within_business_days": days, **prompts},
        )


class Migration(migrations.Migration):
    dependencies = [("postmortems", "0002_postmortems")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
