"""Build the hourly rollups of samples stored before rollups existed (idempotent)."""

from django.db import migrations

SQL = (
    "INSERT INTO slos_slirollup (sli_id, hour, good, total) "
    "SELECT sli_id, bucket - bucket % 3600, SUM(good), SUM(total) FROM slos_slisample WHERE true "
    "GROUP BY sli_id, bucket - bucket % 3600 "
    "ON CONFLICT (sli_id, hour) DO UPDATE SET good = excluded.good, total = excluded.total"
)


class Migration(migrations.Migration):
    dependencies = [("slos", "0002_sli_rollup")]

    operations = [migrations.RunSQL(SQL, reverse_sql=migrations.RunSQL.noop)]
