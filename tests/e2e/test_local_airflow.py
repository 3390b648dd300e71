"""`make airflow` end to end: the real services, the real scheduler, driven through the REST API v2.

On the session's stack (tests/e2e/conftest.py): a second start says it is already running; the API
refuses anonymous and wrong-password callers; the DAGs that write to HubSpot came up paused; the
extraction's first scheduled run and a manual run triggered with params both succeed under the
LocalExecutor and land every sandbox record in the warehouse. The session's end checks the stop
leaves no process behind.
"""

from __future__ import annotations

import httpx
import psycopg
import pytest

from tests.e2e.conftest import SEED, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.timeout(600)]

WRITES_TO_HUBSPOT = ("hubspot_reconcile", "hubspot_reverse_etl", "hubspot_writeback")


def test_make_airflow_starts_once_with_a_login_and_the_writing_dags_paused(stack):
    assert f"{stack.url}  (user admin, password {stack.password})" in stack.started.stdout
    again = stack.run()
    assert again.returncode == 0
    assert "already running" in again.stdout

    health = httpx.get(f"{stack.url}/api/v2/monitor/health", timeout=60).json()
    assert {part: health[part]["status"] for part in health} == dict.fromkeys(
        ("metadatabase", "scheduler", "triggerer", "dag_processor"), "healthy"
    )
    assert httpx.get(f"{stack.url}/api/v2/dags", timeout=60).status_code == 401
    wrong = httpx.post(f"{stack.url}/auth/token", json={"username": "admin", "password": "guess"}, timeout=60)
    assert wrong.status_code == 401
    # Filtered with its reason in scripts/airflow_local.py: a one-user stack on 127.0.0.1.
    assert "looks like production" not in (stack.state / "logs" / "api-server.log").read_text()

    dags = {dag["dag_id"]: dag for dag in stack.api.get("/api/v2/dags").json()["dags"]}
    assert {dag_id: dags[dag_id]["is_paused"] for dag_id in (*WRITES_TO_HUBSPOT, "hubspot_extract")} == {
        **dict.fromkeys(WRITES_TO_HUBSPOT, True),
        "hubspot_extract": False,
    }
    assert all(dag["description"] for dag in dags.values())


def test_scheduled_and_manual_extractions_land_every_record(stack):
    scheduled = wait_for_run(stack.api, "hubspot_extract")
    assert scheduled["run_type"] == "scheduled"
    manual = stack.api.post(
        "/api/v2/dags/hubspot_extract/dagRuns",
        json={"logical_date": None, "conf": {"objects": ["companies"], "full_refresh": True}},
    )
    assert manual.status_code == 200, manual.text
    wait_for_run(stack.api, "hubspot_extract", manual.json()["dag_run_id"])

    with psycopg.connect(stack.warehouse_url) as conn:
        counts = {kind: conn.execute(f"SELECT count(*) FROM hubspot.{kind}").fetchone()[0] for kind in SEED}
        companies_read = conn.execute(
            "SELECT records_read FROM hubspot_sync.run_metrics"
            " WHERE run_id = %s AND task_id = 'extract_companies'",
            (manual.json()["dag_run_id"],),
        ).fetchone()[0]
    assert counts == SEED
    assert companies_read == SEED["companies"]  # the full refresh the manual run asked for
