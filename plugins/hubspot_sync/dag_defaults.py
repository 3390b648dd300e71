"""What every HubSpot sync DAG shares: owner, retries, alert callbacks, tags. Read from the config."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from hubspot_sync.config import SyncConfig
from hubspot_sync.notifiers import WebhookNotifier, remember_failure


def default_args(config: SyncConfig) -> dict[str, Any]:
    """Task-level defaults: retries, and an alert when a task fails for good or is about to retry."""
    alerts = config.connections.alerts
    retry = config.dag_defaults
    return {
        "owner": retry.owner,
        "retries": retry.retries,
        "retry_delay": timedelta(seconds=retry.retry_delay_seconds),
        "retry_exponential_backoff": retry.retry_exponential_backoff,
        "max_retry_delay": timedelta(seconds=retry.max_retry_delay_seconds),
        "pre_execute": refuse_unknown_conf,
        "on_failure_callback": [remember_failure, WebhookNotifier("task_failure", http_conn_id=alerts)],
        "on_retry_callback": [WebhookNotifier("task_retry", http_conn_id=alerts)],
    }


def dag_kwargs(config: SyncConfig, *tags: str, writes_to_hubspot: bool = False) -> dict[str, Any]:
    """DAG-level arguments shared by the sync DAGs (pass `schedule`, `doc_md`, `params` per DAG).

    A DAG that writes to HubSpot starts paused wherever it is deployed, whatever the deployment's
    `dags_are_paused_at_creation`: someone runs `python -m hubspot_sync preflight` and unpauses it.
    """
    return {
        "default_args": default_args(config),
        "on_failure_callback": [WebhookNotifier("dag_failure", http_conn_id=config.connections.alerts)],
        "tags": ["hubspot", *tags],
        "catchup": False,
        "max_active_runs": 1,
        # None: the deployment's setting decides for DAGs that only read HubSpot.
        "is_paused_upon_creation": True if writes_to_hubspot else None,
    }


def refuse_unknown_conf(context: Any) -> None:
    """Fail the task, without retries, when the run's conf holds a key that is not a DAG param.

    Airflow validates the values of declared params when a run is created but accepts any other key,
    so a typo (`objectz`) would silently run everything. Every task checks before doing anything.
    """
    dag, dag_run = context.get("dag"), context.get("dag_run")
    conf = getattr(dag_run, "conf", None) or {}
    declared = set(getattr(dag, "params", None) or {})
    unknown = sorted(set(conf) - declared)
    if unknown:
        raise AirflowFailException(
            f"unknown key(s) in the run's conf: {', '.join(unknown)}; "
            f"this DAG accepts {', '.join(sorted(declared)) or 'no params'}. Trigger it again without them."
        )


# ISO 8601 date-time as the trigger form's picker and people write it: date, time to the minute or
# finer, optional UTC offset. Enforced as a pattern because Airflow's `format: date-time` check needs
# an optional package (rfc3339-validator) and passes anything without it.
DATE_TIME_PATTERN = (
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[T ]([01]\d|2[0-3]):[0-5]\d"
    r"(:[0-5]\d(\.\d{1,6})?)?(Z|z|[+-]([01]\d|2[0-3]):?[0-5]\d)?$"
)


def pick_list(choices: list[str]) -> dict[str, Any]:
    """Param schema for a multi-select of `choices` in the trigger form (empty list: all of them)."""
    schema: dict[str, Any] = {"type": "array", "uniqueItems": True, "items": {"type": "string"}}
    if choices:  # JSON Schema wants a non-empty enum: with no choice configured, any name is accepted
        schema["examples"] = list(choices)
        schema["items"]["enum"] = list(choices)
    return schema
