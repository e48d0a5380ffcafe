"""The decisions' service column keeps one index: the (service, -decided_at) one leads with it.

Only the index is dropped: Django's own AlterField would drop and re-add the foreign key too,
which re-checks every stored decision under a lock."""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "sre_gatedecision_service_id_1d8103d3"


class Migration(migrations.Migration):
    dependencies = [
        ("sre", "0004_runbook_contributing_factor"),
        ("teams", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="gatedecision",
                    name="service",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="gate_decisions",
                        to="teams.service",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    reverse_sql=f'CREATE INDEX {INDEX} ON sre_gatedecision ("service_id")',
                ),
            ],
        ),
    ]
