"""Writes of the delivery app, by concern (docs/CONVENTIONS.md, "Writes"):

- integrations: the sources, their secrets, deployment patterns and key mappings
- intake: webhook deliveries verified and stored once (the outbox), drained by a worker
- records: commits, deployments and incidents a source states; the rework mark
- links: which deployment caused an incident
- evidence: keys no service claimed, and their re-attribution
- bookkeeping: the rollup days made stale

Every public function takes a required keyword-only `actor` and checks it with
apps.core.permissions; intake, jobs, the import command and the demo pass permissions.SYSTEM.
Every function is transactional and idempotent: a retried webhook, task or import changes
nothing the first run did not. `from apps.delivery import services; services.x(...)` keeps working.
"""

from ..resolver import PATH_KINDS, Resolver, split_key
from .bookkeeping import mark_dirty
from .evidence import UnattributedError, evidence_reattribute, service_evidence_reattribute, unattributed_map
from .intake import (
    STALE_AFTER,
    raw_event_process,
    raw_event_receive,
    raw_events_drain,
    raw_events_requeue_stale,
    raw_events_retry,
)
from .integrations import (
    PATTERN_FIELDS,
    PATTERN_KINDS,
    integration_create,
    integration_mappings_set,
    integration_rotate_secret,
    integration_update,
)
from .links import incident_link_refresh, incident_link_set
from .records import apply_parsed, changes_upsert, deployment_apply, deployment_rework_mark, incident_apply

__all__ = [
    "PATH_KINDS",
    "PATTERN_FIELDS",
    "PATTERN_KINDS",
    "STALE_AFTER",
    "Resolver",
    "UnattributedError",
    "apply_parsed",
    "changes_upsert",
    "deployment_apply",
    "deployment_rework_mark",
    "evidence_reattribute",
    "incident_apply",
    "incident_link_refresh",
    "incident_link_set",
    "integration_create",
    "integration_mappings_set",
    "integration_rotate_secret",
    "integration_update",
    "mark_dirty",
    "raw_event_process",
    "raw_event_receive",
    "raw_events_drain",
    "raw_events_requeue_stale",
    "raw_events_retry",
    "service_evidence_reattribute",
    "split_key",
    "unattributed_map",
]
