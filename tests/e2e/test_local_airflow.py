"""`make airflow` end to end: the real services, the real scheduler, driven through the REST API v2.

Starts the stack as `make airflow` does (its own state directory, databases and port, so a stack of
your own keeps running), then: a second start says it is already running; the API refuses anonymous
and wrong-password callers; the DAG that writes to HubSpot came up paused; the extraction's first
scheduled run and a manual run triggered with params both succeed under the LocalExecutor and land
every sandbox record in the warehouse; the stop leaves no process behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from hubspot_sandbox.testing import free_port
from scripts.airflow_local import alive
from scripts.pg import with_database

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
SEED = {"companies": 20, "contacts": 60, "deals": 30}
RUN_TIMEOUT_S = 180  # generous: a loaded CI machine runs tasks several times slower


@pytest.fixture
def stack(tmp_path, pg_url):
    """Runs scripts/airflow_local.py with args; stops the stack and drops its databases afterwards."""
    name = f"e2e_{uuid.uuid4().hex[:8]}"
    state = tmp_path / "airflow-local"
    port = free_port()
    # Without the test session's Airflow settings (SQLite home, fixture DAG bundles), as from a shell.
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    seed = ",".join(f"{kind}={count}" for kind, count in SEED.items())

    def run(*flags: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "scripts/airflow_local.py", "--state-dir", str(state), "--name", name]
        return subprocess.run(
            [*command, "--port", str(port), "--seed", seed, *flags],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=280,
        )

    yield run, state, port, with_database(pg_url, f"{name}_warehouse")
    run("--stop")
    with psycopg.connect(pg_url, autocommit=True) as admin:
        for suffix in ("airflow", "warehouse"):
            admin.execute(f"DROP DATABASE IF EXISTS {name}_{suffix} WITH (FORCE)")


def wait_for_run(api: httpx.Client, dag_id: str, run_id: str | None = None) -> dict:
    """The DAG's run `run_id` (or its first run) once finished; fails with its task states otherwise."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        runs = api.get(f"/api/v2/dags/{dag_id}/dagRuns", params={"order_by": "run_after"}).json()
        found = [r for r in runs["dag_runs"] if run_id in (None, r["dag_run_id"])][:1]
        if found and found[0]["state"] in ("success", "failed"):
            run = found[0]
            break
        if time.monotonic() > deadline:
            pytest.fail(f"no finished {dag_id} run {run_id or ''} within {RUN_TIMEOUT_S}s: {runs}")
        time.sleep(2)
    if run["state"] != "success":
        tasks = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances").json()
        states = {task["task_id"]: task["state"] for task in tasks["task_instances"]}
        pytest.fail(f"{dag_id} run {run['dag_run_id']} {run['state']}: {states}")
    return run


def test_make_airflow_runs_the_extraction_under_the_real_scheduler(stack):
    run, state, port, warehouse_url = stack
    started = run()
    assert started.returncode == 0, started.stdout + started.stderr
    password = json.loads((state / "secrets.json").read_text())["password"]
    url = f"http://127.0.0.1:{port}"
    assert f"{url}  (user admin, password {password})" in started.stdout
    again = run()
    assert again.returncode == 0
    assert "already running" in again.stdout

    health = httpx.get(f"{url}/api/v2/monitor/health", timeout=60).json()
    assert {part: health[part]["status"] for part in health} == dict.fromkeys(
        ("metadatabase", "scheduler", "triggerer", "dag_processor"), "healthy"
    )
    assert httpx.get(f"{url}/api/v2/dags", timeout=60).status_code == 401
    wrong = httpx.post(f"{url}/auth/token", json={"username": "admin", "password": "guess"}, timeout=60)
    assert wrong.status_code == 401
    token = httpx.post(f"{url}/auth/token", json={"username": "admin", "password": password}, timeout=60)
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    with httpx.Client(base_url=url, headers=headers, timeout=60) as api:
        dags = {dag["dag_id"]: dag for dag in api.get("/api/v2/dags").json()["dags"]}
        assert dags["hubspot_reverse_etl"]["is_paused"] is True
        assert dags["hubspot_extract"]["is_paused"] is False
        assert all(dag["description"] for dag in dags.values())

        scheduled = wait_for_run(api, "hubspot_extract")
        assert scheduled["run_type"] == "scheduled"
        manual = api.post(
            "/api/v2/dags/hubspot_extract/dagRuns",
            json={"logical_date": None, "conf": {"objects": ["companies"], "full_refresh": True}},
        )
        assert manual.status_code == 200, manual.text
        wait_for_run(api, "hubspot_extract", manual.json()["dag_run_id"])

    with psycopg.connect(warehouse_url) as conn:
        counts = {kind: conn.execute(f"SELECT count(*) FROM hubspot.{kind}").fetchone()[0] for kind in SEED}
        companies_read = conn.execute(
            "SELECT records_read FROM hubspot_sync.run_metrics WHERE task_id = 'extract_companies' "
            "ORDER BY started_at DESC LIMIT 1"
        ).fetchone()[0]
    assert counts == SEED
    assert companies_read == SEED["companies"]  # the full refresh the manual run asked for

    pids = json.loads((state / "pids.json").read_text())["pids"]
    stopped = run("--stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not [name for name, process in pids.items() if alive(process)]
    assert "No local Airflow is running" in run("--stop").stdout
