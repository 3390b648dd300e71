"""How hubspot_extract fails: finally, with the real cause, without values, and never left 'running'."""

import json
import threading
import time

import psycopg
import pytest

from tests.integration.mirror import sandbox_records
from tests.integration.test_extract_dag import run_extract, task_summaries

pytestmark = pytest.mark.integration


def run_metrics(url, run_id):
    with psycopg.connect(url) as conn:
        return {
            (task_id, try_number): (status, details)
            for task_id, try_number, status, details in conn.execute(
                "SELECT task_id, try_number, status, details FROM hubspot_sync.run_metrics WHERE run_id = %s",
                (run_id,),
            )
        }


def task_alerts(webhook):
    alerts = [json.loads(request["body"]) for request in webhook]
    return [alert for alert in alerts if alert["event"] in ("task_failure", "task_retry")]


def test_a_failed_reject_gate_fails_the_run_even_with_retries(
    airflow_db, hubspot, warehouse, webhook, sync_config
):
    sync_config({"dag_defaults": {"retries": 2, "retry_delay_seconds": 1}})
    hubspot.seed(companies=20, contacts=400, deals=20, dirty_share=0.3)
    dag_run = run_extract(objects=["contacts"])

    assert dag_run.state == "failed"
    alerts = task_alerts(webhook)
    assert [(alert["event"], alert["task_id"]) for alert in alerts] == [("task_failure", "extract_contacts")]
    assert "hubspot_sync.rejects" in alerts[0]["exception"]
    assert "Accepted rows are committed" in alerts[0]["exception"]
    metrics = run_metrics(warehouse, dag_run.run_id)
    assert [key for key in metrics if key[0] == "extract_contacts"] == [("extract_contacts", 1)]  # no retry
    assert metrics[("extract_contacts", 1)][0] == "failed"
    with psycopg.connect(warehouse) as conn:
        landed = conn.execute("SELECT count(*) FROM hubspot.contacts").fetchone()[0]
        rejected = conn.execute(
            "SELECT count(DISTINCT record_id) FROM hubspot_sync.rejects WHERE run_id = %s", (dag_run.run_id,)
        ).fetchone()[0]
    assert landed == len(sandbox_records(hubspot, "contacts"))  # the rows that passed are committed
    assert rejected > 0.05 * landed


def test_a_warehouse_outage_reports_its_cause_and_the_next_run_marks_the_try_abandoned(
    airflow_db, hubspot, warehouse, webhook, sync_config
):
    sync_config({"dag_defaults": {"retries": 0}})
    hubspot.seed(companies=20, contacts=6_000, deals=20)
    # Slow list pages down so the outage lands inside the contacts full load, after its first commit.
    hubspot.set_faults(
        {"latencyMs": 40, "latencyRate": 1.0, "endpoints": ["GET /crm/v3/objects/{objectType}"]}
    )
    terminated = []

    def cut_the_warehouse_off_after_a_contacts_batch():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not terminated:
            with psycopg.connect(warehouse, autocommit=True) as conn:
                exists = conn.execute("SELECT to_regclass('hubspot_sync.cursors')").fetchone()[0]
                progress = (
                    exists
                    and conn.execute(
                        "SELECT list_after FROM hubspot_sync.cursors WHERE object_type = 'contacts'"
                    ).fetchone()
                )
                if progress and progress[0]:
                    terminated.extend(
                        conn.execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        ).fetchall()
                    )
            time.sleep(0.05)

    watcher = threading.Thread(target=cut_the_warehouse_off_after_a_contacts_batch)
    watcher.start()
    try:
        failed = run_extract(objects=["contacts"])
    finally:
        watcher.join()
    assert terminated
    assert failed.state == "failed"
    alerts = task_alerts(webhook)
    assert [alert["task_id"] for alert in alerts] == ["extract_contacts"]
    message = alerts[0]["exception"]
    with psycopg.connect(warehouse) as conn:
        where = f"{conn.info.host}:{conn.info.port}"  # a socket directory on an embedded server
    assert f"Lost the warehouse connection (PostgreSQL at {where}) while extracting contacts" in message
    assert "the connection is closed" not in message
    assert "rows changed in" in message
    assert "cursor: the full load resumes after paging cursor" in message
    assert run_metrics(warehouse, failed.run_id)[("extract_contacts", 1)][0] == "running"  # nobody could say

    hubspot.clear_faults()
    rerun = run_extract(objects=["contacts"])
    assert rerun.state == "success"
    status, details = run_metrics(warehouse, failed.run_id)[("extract_contacts", 1)]
    assert status == "abandoned"
    assert details["abandoned_noticed_by"].startswith(f"hubspot_extract/{rerun.run_id}/")
    assert task_summaries(warehouse, rerun.run_id)["extract_contacts"][1]["mode"] == "full_load_resumed"


def test_a_running_try_is_marked_abandoned_only_once_its_session_is_gone(airflow_db, warehouse):
    from hubspot_sync.migrations import apply_migrations
    from hubspot_sync.run_metrics import RunInfo, RunSummary, mark_abandoned, record_run

    live, other = RunInfo("dag", "run-1", "task", 1), RunInfo("dag", "run-2", "task", 1)
    with psycopg.connect(warehouse, autocommit=True) as sweeper:
        apply_migrations(sweeper)
        holder = psycopg.connect(warehouse, autocommit=True)
        record_run(holder, live, RunSummary("contacts"), "running")
        finished = psycopg.connect(warehouse, autocommit=True)
        record_run(finished, other, RunSummary("contacts"), "running")
        record_run(finished, other, RunSummary("contacts"), "success")

        assert mark_abandoned(sweeper, RunInfo("dag", "run-3", "task")) == []  # live: left alone
        pid = holder.info.backend_pid
        holder.close()  # as a kill -9 or a lost connection would end it
        while sweeper.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0]:
            time.sleep(0.01)  # the server ends the session a moment after the client leaves
        assert mark_abandoned(sweeper, RunInfo("dag", "run-3", "task")) == [("dag", "run-1", "task", 1)]
        statuses = dict(sweeper.execute("SELECT run_id, status FROM hubspot_sync.run_metrics").fetchall())
        noticed = sweeper.execute(
            "SELECT finished_at IS NOT NULL, details ? 'abandoned_noticed_at' FROM hubspot_sync.run_metrics "
            "WHERE run_id = 'run-1'"
        ).fetchone()
        finished.close()
    assert statuses == {"run-1": "abandoned", "run-2": "success"}
    assert noticed == (True, True)


def test_a_hubspot_network_error_names_the_base_url(airflow_db, hubspot, monkeypatch):
    from hubspot_sandbox.testing import free_port
    from hubspot_sync.hooks.hubspot import HubSpotHook, HubSpotUnavailableError

    unreachable = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        json.dumps(
            {
                "conn_type": "http",
                "host": unreachable,
                "password": "token",
                "extra": {"max_attempts": 2, "backoff_base_seconds": 0.01},
            }
        ),
    )
    with pytest.raises(HubSpotUnavailableError) as raised:
        next(HubSpotHook().iter_list_pages("contacts", ["email"]))
    assert f"at {unreachable} gave up after 2 failures" in str(raised.value)
    assert "a network error" in str(raised.value)
