"""Failure and retry alerts, posted as JSON to an HTTP webhook connection (Slack-compatible `text`)."""

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
# Connection ids already reported as missing in this process: one warning each, not one per callback.
_warned_missing: set[str] = set()


def build_alert(event: AlertEvent, context: Any) -> dict[str, Any]:
    """The alert payload for a callback context: who failed, where, why in one line, and where to look."""
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_id = getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None)
    dag_run = context.get("dag_run")
    run_id = context.get("run_id") or getattr(dag_run, "run_id", None) or getattr(ti, "run_id", None)
    task_id = getattr(ti, "task_id", None)
    exception = context.get("exception")
    summary = _summarize(exception) if exception is not None else context.get("reason")
    payload = {
        "event": event,
        "dag_id": dag_id,
        "task_id": task_id,
        "run_id": run_id,
        "try_number": getattr(ti, "try_number", None),
        "exception": summary,
        "log_url": getattr(ti, "log_url", None),
    }
    where = f"{dag_id}" + (f".{task_id}" if task_id else "")
    text = f"HubSpot sync: {_HEADLINES[event]}: {where} (run {run_id}, try {payload['try_number']})"
    if summary:
        text += f"\n{summary}"
    if payload["log_url"]:
        text += f"\nLogs: {payload['log_url']}"
    payload["text"] = text
    return payload


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
        payload = build_alert(self.event, context)
        try:
            BaseHook.get_connection(self.http_conn_id)
        except AirflowNotFoundException:
            if self.http_conn_id not in _warned_missing:
                _warned_missing.add(self.http_conn_id)
                log.warning(
                    "No alert sent: Airflow connection '%s' is not defined. Add an HTTP connection whose "
                    "host is the webhook URL (e.g. a Slack incoming webhook) to receive alerts.",
                    self.http_conn_id,
                )
            log.info("Alert not sent: %s", payload["text"])
            return
        hook = HttpHook(method="POST", http_conn_id=self.http_conn_id)
        try:
            hook.run(self.endpoint, json=payload, extra_options={"timeout": 10})
        except Exception as error:
            # The webhook URL may embed a secret (Slack does): name the error type only.
            log.error("Alert to connection '%s' failed: %s", self.http_conn_id, type(error).__name__)
