"""Delivery pages by concern: pages (DORA, deployments, integrations, incident links),
evidence (commits, incidents, unattributed keys), intake (the webhook endpoint)."""
