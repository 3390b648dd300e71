"""Two real `airflow tasks test` processes pushing one model at once: one waits, nothing is sent twice."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dags import test_reverse_etl_dag as reverse_etl_dag

pytestmark = pytest.mark.integration

BATCH_UPSERT = "POST /crm/v3/objects/{objectType}/batch/upsert"
demo, no_retries = reverse_etl_dag.demo, reverse_etl_dag.no_retries


def own_airflow_home(migrated: Path, home: Path) -> dict[str, str]:
    """A copy of the migrated metadata DB per process: SQLite metadata does not take two writers."""
    home.mkdir()
    shutil.copy(migrated / "airflow.db", home / "airflow.db")
    return {"AIRFLOW_HOME": str(home), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db"}


def start_push(model: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "airflow", "tasks", "test", "hubspot_reverse_etl", f"push_{model}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **env},
    )


def finish(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 0, output[-4000:]
    return output


def test_two_runs_of_a_model_at_once_push_each_change_once(
    airflow_db, demo, warehouse, tmp_path, monkeypatch
):
    wanted = reverse_etl_dag.expected(warehouse, "contact_usage_score")
    assert 0 < len(wanted) <= 100, "the example data should fit one batch"
    # A slow batch call keeps whichever push starts first inside its lock while the other one starts.
    demo.set_faults({"latencyMs": 15_000, "endpoints": [BATCH_UPSERT]})
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        json.dumps(
            {"conn_type": "http", "host": demo.url, "password": demo.token, "extra": {"timeout_seconds": 90}}
        ),
    )

    pushes = [
        start_push("contact_usage_score", own_airflow_home(airflow_db, tmp_path / f"run{n}")) for n in (1, 2)
    ]
    outputs = [finish(process) for process in pushes]

    waited = ["waiting for it to finish" in output for output in outputs]
    assert sorted(waited) == [False, True], "exactly one push should have waited for the other"
    assert demo.stats()["byEndpoint"][BATCH_UPSERT] == 1
    assert reverse_etl_dag.in_sandbox(demo, "contact_usage_score", wanted) == wanted
