"""What every HubSpot sync DAG shares: owner, retries, alert callbacks, tags. Read from the config."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hubspot_sync.config import SyncConfig
from hubspot_sync.notifiers import WebhookNotifier


def default_args(config: SyncConfig) -> dict[str, Any]:
    """Task-level defaults: retries, and an alert when a task fails for good or is about to retry."""
    alerts = config.connections.alerts
    return {
        "owner": config.dag_defaults.owner,
        "retries": config.dag_defaults.retries,
        "retry_delay": timedelta(seconds=config.dag_defaults.retry_delay_seconds),
        "retry_exponential_backoff": True,
        "on_failure_callback": [WebhookNotifier("task_failure", http_conn_id=alerts)],
        "on_retry_callback": [WebhookNotifier("task_retry", http_conn_id=alerts)],
    }


def dag_kwargs(config: SyncConfig, *tags: str) -> dict[str, Any]:
    """DAG-level arguments shared by all three DAGs (pass `schedule`, `doc_md`, `params` per DAG)."""
    return {
        "default_args": default_args(config),
        "on_failure_callback": [WebhookNotifier("dag_failure", http_conn_id=config.connections.alerts)],
        "tags": ["hubspot", *tags],
        "catchup": False,
        "max_active_runs": 1,
    }
