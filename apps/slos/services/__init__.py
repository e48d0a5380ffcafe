"""Writes of the SLO catalog, one module per concern (every public function takes a required
keyword-only `actor` and checks it with apps.core.permissions; jobs pass permissions.SYSTEM):

- `definitions`: SLIs, SLOs, error budget policies, alert settings;
- `ingest`: push validation and the samples upsert (with the hourly rollups);
- `sync`: the Prometheus sync;
- `status`: burn-rate alert evaluation and the stored status (SLOStatusRecord);
- `notify`: alert notifications (webhook, e-mail).

Everything is re-exported here, so `services.slo_create(...)` keeps working."""

from .definitions import (
    SLI_SYNC_FIELDS,
    alert_settings_set,
    alert_settings_update,
    policy_set,
    policy_update,
    sli_create,
    sli_update,
    slo_create,
    slo_delete,
    slo_update,
)
from .ingest import (
    MAX_PUSH_SAMPLES,
    MAX_REPORTED_ERRORS,
    SAMPLE_FIELDS,
    PayloadTooLarge,
    _checked_rows,
    _copy_text,
    _samples_upsert_postgresql,
    _samples_upsert_sqlite,
    _well_formed_rows,
    samples_push,
    samples_upsert,
    validate_push,
)
from .notify import alert_notify
from .status import (
    SEVERITY_RANK,
    STATUS_FIELDS,
    alerts_evaluate,
    alerts_evaluate_all,
    slo_status_refresh,
    slo_status_refresh_all,
)
from .sync import SYNC_BACKFILL_DAYS, SYNC_LAG_SECONDS, SYNC_STEPS_PER_QUERY, sli_sync

__all__ = [
    "MAX_PUSH_SAMPLES",
    "MAX_REPORTED_ERRORS",
    "SAMPLE_FIELDS",
    "SEVERITY_RANK",
    "SLI_SYNC_FIELDS",
    "STATUS_FIELDS",
    "SYNC_BACKFILL_DAYS",
    "SYNC_LAG_SECONDS",
    "SYNC_STEPS_PER_QUERY",
    "PayloadTooLarge",
    "_checked_rows",
    "_copy_text",
    "_samples_upsert_postgresql",
    "_samples_upsert_sqlite",
    "_well_formed_rows",
    "alert_notify",
    "alert_settings_set",
    "alert_settings_update",
    "alerts_evaluate",
    "alerts_evaluate_all",
    "policy_set",
    "policy_update",
    "samples_push",
    "samples_upsert",
    "sli_create",
    "sli_sync",
    "sli_update",
    "slo_create",
    "slo_delete",
    "slo_status_refresh",
    "slo_status_refresh_all",
    "slo_update",
    "validate_push",
]
