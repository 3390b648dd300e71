"""Failure and retry alerts, posted as JSON to an HTTP webhook connection (Slack-compatible `text`).

A DAG-level callback is not handed any exception, so each task that fails for good leaves its one-line
summary in an XCom (`remember_failure`); the DAG-level alert collects the failed tasks of the run and
their summaries. Summaries carry exception texts with Airflow's secrets masked; the project's own
errors name records and fields, never their values.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from airflow.exceptions import AirflowNotFoundException
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk import BaseHook, BaseNotifier

log = logging.getLogger(__name__)

DEFAULT_ALERT_CONN_ID = "hubspot_sync_alerts"
AlertEvent = Literal["dag_failure", "task_failure", "task_retry"]
_HEADLINES = {"dag_failure": "DAG run failed", "task_failure": "task failed", "task_retry": "task will retry"}
_EXCEPTION_CHARS = 500
# XCom key under which a task that failed for good keeps its exception summary for the DAG-level alert.
FAILURE_XCOM_KEY = "hubspot_sync_failure"
# Connection ids already reported as missing in this process: one warning each, not one per callback.
_warned_missing: set[str] = set()


def build_alert(
    event: AlertEvent, context: Any, failed_tasks: dict[str, str | None] | None = None
) -> dict[str, Any]:
    """The alert payload for a callback context: who failed, where, why in one line, and where to look.

    `failed_tasks` (task id -> exception summary, None when unknown) is what a DAG-level alert
    reports; without it, the context's task instance and exception are.
    """
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_id = getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None)
    dag_run = context.get("dag_run")
    run_id = context.get("run_id") or getattr(dag_run, "run_id", None) or getattr(ti, "run_id", None)
    task_id = getattr(ti, "task_id", None)
    exception = context.get("exception")
    summary = _summarize(exception) if exception is not None else None
    if failed_tasks and task_id in failed_tasks:
        summary = failed_tasks[task_id]
    payload = {
        "event": event,
        "dag_id": dag_id,
        "task_id": task_id,
        "run_id": run_id,
        "try_number": getattr(ti, "try_number", None),
        "exception": summary or context.get("reason"),
        "failed_tasks": [
            {"task_id": failed, "exception": why} for failed, why in (failed_tasks or {}).items()
        ],
        "log_url": getattr(ti, "log_url", None),
    }
    where = f"{dag_id}" + (f".{task_id}" if task_id and not failed_tasks else "")
    text = f"HubSpot sync: {_HEADLINES[event]}: {where} (run {run_id}"
    text += f", try {payload['try_number']})" if not failed_tasks else ")"
    if failed_tasks:
        text += "".join(
            f"\n{failed}: {why or 'failed (no exception recorded)'}" for failed, why in failed_tasks.items()
        )
    elif payload["exception"]:
        text += f"\n{payload['exception']}"
    if payload["log_url"]:
        text += f"\nLogs: {payload['log_url']}"
    payload["text"] = text
    return payload


def remember_failure(context: Any) -> None:
    """Keep a failed task's exception summary for the DAG-level alert (a task failure callback)."""
    ti = context.get("ti") or context.get("task_instance")
    exception = context.get("exception")
    if ti is None or exception is None:
        return
    try:
        ti.xcom_push(key=FAILURE_XCOM_KEY, value=_summarize(exception))
    except Exception as error:  # the alerts must not fail; the DAG-level one then lacks this text
        log.warning("Could not keep the failure summary for the run's alert: %s", type(error).__name__)


def failed_tasks(context: Any) -> dict[str, str | None]:
    """Task id -> exception summary of every task of the run that failed for good, in task order."""
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    run_id = context.get("run_id") or getattr(ti, "run_id", None)
    dag_id = getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None)
    if ti is None or run_id is None or dag_id is None:
        return {}
    try:
        states = ti.get_task_states(dag_id=dag_id, run_ids=[run_id]).get(run_id, {})
    except Exception as error:
        log.warning("Could not list the run's failed tasks: %s", type(error).__name__)
        return {ti.task_id: None}
    order = {task_id: index for index, task_id in enumerate(getattr(dag, "task_ids", []) or [])}
    failed = sorted(
        (task for task, state in states.items() if state == "failed"), key=lambda t: order.get(t, 0)
    )
    summaries: dict[str, str | None] = {}
    for task_id in failed:
        try:
            summaries[task_id] = ti.xcom_pull(task_ids=task_id, key=FAILURE_XCOM_KEY, run_id=run_id)
        except Exception as error:
            log.warning("Could not read the failure summary of %s: %s", task_id, type(error).__name__)
            summaries[task_id] = None
    return summaries


def _summarize(exception: BaseException | str) -> str:
    if isinstance(exception, BaseException):
        summary = f"{type(exception).__name__}: {exception}"
    else:
        summary = str(exception)
    summary = _redact(summary)
    return summary if len(summary) <= _EXCEPTION_CHARS else summary[: _EXCEPTION_CHARS - 1] + "…"


def _redact(text: str) -> str:
    """Mask every value Airflow knows to be secret (connection passwords, sensitive variables)."""
    try:
        from airflow.sdk._shared.secrets_masker import redact
    except ImportError:  # pragma: no cover - the masker moved; an alert still goes out
        return text
    return str(redact(text))


class WebhookNotifier(BaseNotifier):
    """Posts one alert per callback to the webhook connection; a missing connection only logs a warning."""

    template_fields = ()

    def __init__(self, event: AlertEvent, http_conn_id: str = DEFAULT_ALERT_CONN_ID, endpoint: str = ""):
        super().__init__()
        self.event = event
        self.http_conn_id = http_conn_id
        self.endpoint = endpoint

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        # Nothing here is templated. Skipping also avoids asking the context's DAG for a Jinja
        # environment, which the serialized DAG handed to DAG-level callbacks cannot provide.
        return

    def notify(self, context: Any) -> None:
        payload = build_alert(
            self.event, context, failed_tasks(context) if self.event == "dag_failure" else None
        )
        post_alert(payload, self.http_conn_id, self.endpoint)


def post_alert(
    payload: dict[str, Any], http_conn_id: str = DEFAULT_ALERT_CONN_ID, endpoint: str = ""
) -> None:
    """Post one alert payload (with its `text`) to the webhook; a missing connection only logs it."""
    try:
        BaseHook.get_connection(http_conn_id)
    except AirflowNotFoundException:
        if http_conn_id not in _warned_missing:
            _warned_missing.add(http_conn_id)
            log.warning(
                "No alert sent: Airflow connection '%s' is not defined. Add an HTTP connection whose "
                "host is the webhook URL (e.g. a Slack incoming webhook) to receive alerts.",
                http_conn_id,
            )
        log.info("Alert not sent: %s", payload["text"])
        return
    hook = HttpHook(method="POST", http_conn_id=http_conn_id)
    try:
        hook.run(endpoint, json=payload, extra_options={"timeout": 10})
    except Exception as error:
        # The webhook URL may embed a secret (Slack does): name the error type only.
        log.error("Alert to connection '%s' failed: %s", http_conn_id, type(error).__name__)
