"""Latency of the write-back under the real Airflow services: an UPDATE's commit to the value in HubSpot.

Starts the api-server, scheduler, dag-processor and triggerer with scripts/airflow_local.py in a private
state directory (its own metadata and warehouse databases on $HUBSPOT_SYNC_PG_URL, its own sandbox and
port), waits for the first extraction to mirror the contacts, unpauses hubspot_writeback, then makes N
edits one after the other: each is an UPDATE of a two-way column committed in PostgreSQL, timed until the
sandbox answers the new value. The path measured is the real one: trigger, pg_notify, the AssetWatcher's
trigger in the triggerer, an asset event, a DAG run scheduled on it, the push. Stops everything after.

    python bench/bench_writeback_latency.py              # 20 edits
    python bench/bench_writeback_latency.py --edits 5

Reported: p50, p95 and max seconds, and each edit's latency.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

PG_URL_ENV = "HUBSPOT_SYNC_PG_URL"
SEED = "companies=5,contacts=60,deals=10"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=180, help="seconds one edit may take")
    args = parser.parse_args()
    base_url = os.environ.get(PG_URL_ENV)
    if not base_url:
        sys.exit(f"{PG_URL_ENV} is not set: run `make bench`, which provides a PostgreSQL")

    from hubspot_sandbox.testing import free_port

    state = Path(tempfile.mkdtemp(prefix="hubspot-sync-latency-"))
    name = f"hs_latency_{uuid.uuid4().hex[:6]}"
    local = [sys.executable, str(ROOT / "scripts" / "airflow_local.py"), "--state-dir", str(state)]
    started = subprocess.run(
        [*local, "--name", name, "--port", str(free_port()), "--seed", SEED], check=False
    )
    try:
        if started.returncode != 0:
            sys.exit(f"the Airflow services did not start; logs in {state}/logs")
        env = {**os.environ, **read_env(state / "env.sh")}
        latencies = measure(env, args.edits, args.timeout)
    finally:
        subprocess.run([*local, "--stop"], check=False, capture_output=True)
        drop_databases(base_url, name)
    shutil.rmtree(state, ignore_errors=True)  # kept, with its logs, when the run failed
    ordered = sorted(latencies)
    report = {
        "bench": "writeback_latency",
        "edits": len(latencies),
        "p50_seconds": round(statistics.median(ordered), 2),
        "p95_seconds": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 2),
        "max_seconds": round(ordered[-1], 2),
        "latencies": [round(value, 2) for value in latencies],
    }
    print(json.dumps(report, indent=2))
    return 0


def read_env(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line.startswith("export ") and not line.startswith("export PATH="):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = shlex.split(value)[0] if value else ""
    return env


def measure(env: dict[str, str], edits: int, timeout: float) -> list[float]:
    import psycopg

    warehouse = json.loads(env["AIRFLOW_CONN_POSTGRES_DEFAULT"])
    hubspot = json.loads(env["AIRFLOW_CONN_HUBSPOT_DEFAULT"])
    url = warehouse_url(warehouse)
    contacts = wait_for_mirror(url)
    airflow = [sys.executable, "-m", "airflow"]
    subprocess.run(
        [*airflow, "dags", "unpause", "hubspot_writeback"], env=env, check=True, capture_output=True
    )
    wait_for_listener(url)
    http = httpx.Client(base_url=hubspot["host"], headers={"Authorization": f"Bearer {hubspot['password']}"})
    latencies = []
    with psycopg.connect(url, autocommit=True) as conn:
        for number in range(edits + 1):  # the first edit warms up: the first run parses and starts cold
            record_id = contacts[number % len(contacts)]
            value = f"Latency {number} {uuid.uuid4().hex[:6]}"
            conn.execute("UPDATE hubspot.contacts SET jobtitle = %s WHERE id = %s", (value, record_id))
            committed = time.monotonic()
            while True:
                answer = http.get(f"/crm/v3/objects/contacts/{record_id}", params={"properties": "jobtitle"})
                if answer.status_code == 200 and answer.json()["properties"].get("jobtitle") == value:
                    break
                if time.monotonic() - committed > timeout:
                    sys.exit(f"edit {number} did not reach HubSpot within {timeout:.0f}s")
                time.sleep(0.1)
            elapsed = time.monotonic() - committed
            print(
                f"edit {number}: {elapsed:.2f}s{' (warm-up, not counted)' if number == 0 else ''}", flush=True
            )
            if number:
                latencies.append(elapsed)
    return latencies


def warehouse_url(connection: dict) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(
        host=connection.get("host"),
        port=connection.get("port") or 5432,
        dbname=connection.get("schema"),
        user=connection.get("login"),
        password=connection.get("password") or None,
    )


def wait_for_mirror(url: str, deadline_s: float = 300) -> list[int]:
    """Contact ids once the first extraction has landed them and installed the capture trigger."""
    import psycopg

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(url) as conn:
                ready = conn.execute(
                    "SELECT to_regclass('hubspot.contacts') IS NOT NULL AND EXISTS "
                    "(SELECT 1 FROM pg_trigger WHERE tgname = 'writeback_capture')"
                ).fetchone()[0]
                ids = (
                    [row[0] for row in conn.execute("SELECT id FROM hubspot.contacts ORDER BY id")]
                    if ready
                    else []
                )
        except psycopg.Error:
            ids = []
        if ids:
            return ids
        time.sleep(1)
    sys.exit("the first extraction did not mirror the contacts in time")


def wait_for_listener(url: str, deadline_s: float = 300) -> None:
    """Until the triggerer's watcher LISTENs: a notification sent before that reaches nobody (the
    edit then waits for the cron safety net, which is not what is measured here)."""
    import psycopg

    deadline = time.monotonic() + deadline_s
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            listening = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query ILIKE 'LISTEN%hubspot_sync_outbox%'"
            ).fetchone()[0]
            if listening:
                return
            time.sleep(0.5)
    sys.exit("the triggerer never started listening for outbox notifications")


def drop_databases(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        for suffix in ("airflow", "warehouse"):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}_{suffix}" WITH (FORCE)')


if __name__ == "__main__":
    raise SystemExit(main())
