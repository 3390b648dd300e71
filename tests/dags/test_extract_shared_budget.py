"""Three object tasks in three real `airflow tasks test` processes, each with several readers, against a
sandbox whose limit they could pass together many times over: the budget shared in PostgreSQL keeps
them under it, and every record lands."""

from __future__ import annotations

import psycopg
import pytest

from hubspot_sync.migrations import apply_migrations
from tests.connections import use_sandbox
from tests.dags.test_reverse_etl_concurrency import own_airflow_home
from tests.integration.mirror import sandbox_records, warehouse_records

pytestmark = pytest.mark.integration
OBJECTS = ("companies", "contacts", "deals")
BURST = 12  # requests per 10 s: a sixteenth of Professional's, so a few dozen calls pass it


def start_task(task_id: str, env: dict[str, str]):
    import os
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "airflow", "tasks", "test", "hubspot_extract", task_id],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **env},
    )


def test_object_tasks_in_parallel_processes_stay_under_one_limit(
    airflow_db, hubspot, warehouse, sync_config, tmp_path, monkeypatch
):
    sync_config(
        {
            "dag_defaults": {"retries": 0},
            "parallel": {"requests_in_flight": 4, "split_min_records": 1_000},
            "thresholds": {"association_sweep_hours": 0},
        }
    )
    hubspot.seed(companies=1_500, contacts=6_000, deals=3_000)
    hubspot.set_limits(tier="starter", tiers={"starter": {"burst_max": BURST}})
    use_sandbox(monkeypatch, hubspot, requests_per_10s=BURST, backoff_base_seconds=0.02)
    with psycopg.connect(warehouse, autocommit=True) as conn:
        apply_migrations(conn)
    hubspot.reset_stats()

    tasks = {
        object_type: start_task(
            f"extract_{object_type}", own_airflow_home(airflow_db, tmp_path / object_type)
        )
        for object_type in OBJECTS
    }
    for object_type, process in tasks.items():
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, f"{object_type}: {output[-4000:]}"
    stats = hubspot.stats()
    standard_calls = stats["total"] - stats["byEndpoint"].get("POST /crm/v3/objects/{objectType}/search", 0)
    # Together they needed more than one window's worth (how much search takes over varies): three
    # buckets of their own would have sent it at three times the limit's rate ...
    assert standard_calls > BURST
    # ... and the shared one never passed it.
    assert stats["rateLimited"]["total"] == 0
    hubspot.set_limits(tier="off")  # the check below reads HubSpot too
    for object_type in OBJECTS:
        assert warehouse_records(warehouse, object_type) == sandbox_records(hubspot, object_type), object_type
