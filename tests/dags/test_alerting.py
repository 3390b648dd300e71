"""Failure alerts through the real callback path: dag.test() posting to a local webhook server."""

import json
import logging
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from hubspot_sync.notifiers import WebhookNotifier, build_alert

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "pat-test-0000-very-secret-token"


def failing_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(FIXTURES / "alerting_probe.py"), safe_mode=False)
    assert bag.import_errors == {}
    return bag.dags["alerting_probe"]


@pytest.fixture
def dag_callbacks_with_comms(monkeypatch):
    """Give DAG-level callbacks under dag.test() the task-state and XCom access the DAG processor gives
    them in production (dag.test() runs them in-process without any), through Airflow's in-process
    execution API, as its own test supervisor does for triggers."""
    import psutil
    import structlog
    from airflow.models.dagrun import DagRun
    from airflow.sdk.execution_time.supervisor import (
        InProcessSupervisorComms,
        InProcessTestSupervisor,
        set_supervisor_comms,
    )

    original = DagRun.execute_dag_callbacks

    def with_comms(self, dag, success=True, relevant_ti=None, reason="success"):
        supervisor = InProcessTestSupervisor(
            id=relevant_ti.id,
            pid=os.getpid(),
            process=psutil.Process(),
            process_log=structlog.get_logger(logger_name="task").bind(),
            client=InProcessTestSupervisor._api_client(),
        )
        supervisor.comms = InProcessSupervisorComms(supervisor=supervisor)
        with set_supervisor_comms(supervisor.comms):
            return original(self, dag, success=success, relevant_ti=relevant_ti, reason=reason)

    monkeypatch.setattr(DagRun, "execute_dag_callbacks", with_comms)


def test_failed_run_posts_one_dag_failure_alert_without_secrets(
    airflow_db, webhook, monkeypatch, dag_callbacks_with_comms
):
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        json.dumps({"conn_type": "http", "host": "http://127.0.0.1:1", "password": SECRET}),
    )
    dag_run = failing_dag().test()

    assert dag_run.state == "failed"
    alerts = [json.loads(request["body"]) for request in webhook]
    dag_failures = [alert for alert in alerts if alert["event"] == "dag_failure"]
    assert len(dag_failures) == 1
    alert = dag_failures[0]
    assert alert["dag_id"] == "alerting_probe"
    assert alert["run_id"] == dag_run.run_id
    # The callback's own task is whichever failure the scheduler saw last: either of the two.
    assert alert["task_id"] in ("uses_token_then_fails", "also_fails")
    assert alert["try_number"] == 1
    assert alert["log_url"]
    assert "alerting_probe" in alert["text"]
    # The DAG-level alert names every task that failed and why, not just "task_failure".
    assert [failed["task_id"] for failed in alert["failed_tasks"]] == ["uses_token_then_fails", "also_fails"]
    reasons = {failed["task_id"]: failed["exception"] for failed in alert["failed_tasks"]}
    assert reasons["uses_token_then_fails"].startswith("RuntimeError: HubSpot refused the request made with")
    assert reasons["also_fails"] == "ValueError: contacts record 42: field email: not an email address"
    assert alert["exception"] == reasons[alert["task_id"]]
    assert "also_fails: ValueError: contacts record 42" in alert["text"]
    assert [alert["event"] for alert in alerts].count("task_failure") == 2
    task_alert = next(
        alert
        for alert in alerts
        if alert["event"] == "task_failure" and alert["task_id"] == "uses_token_then_fails"
    )
    assert task_alert["exception"].startswith("RuntimeError: HubSpot refused the request made with")
    for request in webhook:
        assert SECRET not in request["body"]
        assert SECRET not in json.dumps(request["headers"])


def test_missing_alert_connection_warns_once_and_does_not_fail(caplog):
    context = {
        "dag": SimpleNamespace(dag_id="d"),
        "ti": SimpleNamespace(task_id="t", dag_id="d", run_id="r", try_number=1, log_url="http://x"),
        "exception": ValueError("bad"),
    }
    notifier = WebhookNotifier("task_failure", http_conn_id="not_defined_anywhere")
    with caplog.at_level(logging.INFO, logger="hubspot_sync.notifiers"):
        notifier(context)
        notifier(context)
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "not_defined_anywhere" in warnings[0].getMessage()


def test_alert_payload_is_slack_compatible_and_truncates_long_errors():
    context = {
        "dag": SimpleNamespace(dag_id="hubspot_extract"),
        "ti": SimpleNamespace(
            task_id="extract_contacts",
            dag_id="hubspot_extract",
            run_id="scheduled__1",
            try_number=3,
            log_url="http://airflow/log",
        ),
        "exception": RuntimeError("x" * 5000),
    }
    payload = build_alert("task_retry", context)
    assert payload["text"].startswith("HubSpot sync: task will retry: hubspot_extract.extract_contacts")
    assert payload["try_number"] == 3
    assert len(payload["exception"]) == 500
    assert payload["log_url"] == "http://airflow/log"
