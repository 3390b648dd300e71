"""Every DAG file parses cleanly, fast, offline, and carries the conventions operators rely on."""

import socket
import time
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(DAGS_DIR.glob("*.py"))
EXPECTED_DAG_IDS = {"hubspot_extract", "hubspot_reverse_etl", "hubspot_reconcile"}


class NoNetworkAllowed(AssertionError):
    pass


@pytest.fixture
def offline(monkeypatch):
    """Connections point nowhere reachable, and any socket connect or PostgreSQL connect fails the test."""
    monkeypatch.setenv("AIRFLOW_CONN_POSTGRES_DEFAULT", "postgresql://nobody:secret@127.0.0.1:1/none")
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", "http://:token@127.0.0.1:1")
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise NoNetworkAllowed(f"network access while parsing: {args[1:] if len(args) > 1 else args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    import psycopg

    monkeypatch.setattr(psycopg, "connect", refuse)
    monkeypatch.setattr(psycopg.Connection, "connect", refuse)
    return attempts


def parse(path: Path):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(path), safe_mode=False)


def test_plugins_folder_loads_no_package_module_as_a_plugin():
    # Airflow imports every .py under plugins/ as a top-level module named after the file;
    # plugins/hubspot_sync/hooks/hubspot.py would then shadow the `hubspot` SDK (.airflowignore).
    from airflow._shared.module_loading import find_path_from_directory

    plugins = Path(__file__).resolve().parents[2] / "plugins"
    assert list(find_path_from_directory(str(plugins), ".airflowignore", "glob")) == []


def test_all_expected_dags_exist():
    assert {path.stem for path in DAG_FILES} == EXPECTED_DAG_IDS


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda path: path.name)
def test_dag_file_parses_offline_fast_and_complete(dag_file, offline):
    parse(dag_file)  # warm-up: imports Airflow itself, which is not what is being timed
    started = time.perf_counter()
    bag = parse(dag_file)
    elapsed = time.perf_counter() - started

    assert bag.import_errors == {}
    assert offline == []
    assert elapsed < 1.0, f"{dag_file.name} took {elapsed:.2f}s to parse"
    assert list(bag.dags) == [dag_file.stem]
    dag = bag.dags[dag_file.stem]
    assert dag.doc_md
    assert dag.doc_md.strip()
    assert "hubspot" in dag.tags
    assert dag.on_failure_callback
    assert dag.max_active_runs == 1
    assert dag.timetable.__class__.__name__ == "CronDataIntervalTimetable"
    for task in dag.tasks:
        assert task.owner
        assert task.owner != "airflow"
        assert task.retries >= 1
        assert task.on_failure_callback
        assert task.on_retry_callback
