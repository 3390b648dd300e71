"""One local Airflow stack per test session, started as `make airflow` starts it, for every e2e test.

The stack gets its own state directory, databases and port (so a stack of your own keeps running),
the sandbox seeded small, and the alert connection pointed at a local HTTP listener. The teardown
stops it through `--stop` and checks that no process of it is left.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg
import pytest

from hubspot_sandbox.testing import free_port
from scripts.airflow_local import alive
from scripts.pg import with_database

ROOT = Path(__file__).resolve().parents[2]
SEED = {"companies": 20, "contacts": 60, "deals": 30}
RUN_TIMEOUT_S = 180  # generous: a loaded CI machine runs tasks several times slower


class _AlertHandler(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def alerts():
    """The alert webhook: a local HTTP listener; yields the JSON bodies it received, in order."""
    _AlertHandler.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AlertHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, _AlertHandler.received
    server.shutdown()
    server.server_close()


@dataclass
class Stack:
    run: object  # run(*flags) -> CompletedProcess of scripts/airflow_local.py
    started: subprocess.CompletedProcess
    state: Path
    url: str
    hubspot_url: str
    warehouse_url: str
    password: str
    api: httpx.Client  # the REST API, logged in as admin


@pytest.fixture(scope="session")
def stack(tmp_path_factory, pg_url, alerts):
    """The running stack; stopped (and its databases dropped) at the end of the session."""
    name = f"e2e_{uuid.uuid4().hex[:8]}"
    state = tmp_path_factory.mktemp("airflow-local")
    port = free_port()
    # Without the test session's Airflow settings (SQLite home, fixture DAG bundles), as from a shell;
    # the alert connection reaches the services the way `make airflow` passes any AIRFLOW_CONN_*.
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    host, alert_port = alerts[0].server_address
    env["AIRFLOW_CONN_HUBSPOT_SYNC_ALERTS"] = json.dumps(
        {"conn_type": "http", "host": host, "port": alert_port}
    )
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

    started = run()
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        url = f"http://127.0.0.1:{port}"
        password = json.loads((state / "secrets.json").read_text())["password"]
        token = httpx.post(f"{url}/auth/token", json={"username": "admin", "password": password}, timeout=60)
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as api:
            yield Stack(
                run=run,
                started=started,
                state=state,
                url=url,
                hubspot_url=re.search(r"the local sandbox at (\S+)", started.stdout).group(1),
                warehouse_url=with_database(pg_url, f"{name}_warehouse"),
                password=password,
                api=api,
            )
        pids = json.loads((state / "pids.json").read_text())["pids"]
        stopped = run("--stop")
        assert stopped.returncode == 0, stopped.stderr
        assert not [service for service, process in pids.items() if alive(process)]
        assert "No local Airflow is running" in run("--stop").stdout
    finally:
        run("--stop")
        with psycopg.connect(pg_url, autocommit=True) as admin:
            for suffix in ("airflow", "warehouse"):
                admin.execute(f"DROP DATABASE IF EXISTS {name}_{suffix} WITH (FORCE)")


def wait_for_run(api: httpx.Client, dag_id: str, run_id: str | None = None, expect: str = "success") -> dict:
    """The DAG's run `run_id` (or its first scheduled run) once finished in state `expect`; fails with
    its task states otherwise."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    params = {"order_by": "run_after", **({} if run_id else {"run_type": "scheduled"})}
    while True:
        runs = api.get(f"/api/v2/dags/{dag_id}/dagRuns", params=params).json()
        found = [r for r in runs["dag_runs"] if run_id in (None, r["dag_run_id"])][:1]
        if found and found[0]["state"] in ("success", "failed"):
            run = found[0]
            break
        if time.monotonic() > deadline:
            pytest.fail(f"no finished {dag_id} run {run_id or ''} within {RUN_TIMEOUT_S}s: {runs}")
        time.sleep(2)
    if run["state"] != expect:
        pytest.fail(f"{dag_id} run {run['dag_run_id']} {run['state']}: {task_states(api, dag_id, run)}")
    return run


def task_states(api: httpx.Client, dag_id: str, run: dict) -> dict[str, str]:
    tasks = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances").json()
    return {task["task_id"]: task["state"] for task in tasks["task_instances"]}
