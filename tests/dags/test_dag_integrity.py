"""Every DAG file parses cleanly, fast, offline, and carries the conventions operators rely on."""

import json
import socket
import time
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(DAGS_DIR.glob("*.py"))
EXPECTED_DAG_IDS = {"hubspot_extract", "hubspot_reverse_etl", "hubspot_reconcile", "hubspot_writeback"}
WRITES_TO_HUBSPOT = {"hubspot_reconcile", "hubspot_reverse_etl", "hubspot_writeback"}


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


def test_plugins_folder_loads_only_the_dashboard_plugin():
    # Airflow imports every .py under plugins/ as a top-level module named after the file;
    # plugins/hubspot_sync/hooks/hubspot.py would then shadow the `hubspot` SDK (.airflowignore).
    from airflow._shared.module_loading import find_path_from_directory

    plugins = Path(__file__).resolve().parents[2] / "plugins"
    found = list(find_path_from_directory(str(plugins), ".airflowignore", "glob"))
    assert found == [str(plugins / "hubspot_sync_dashboard.py")]


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
    assert dag.description
    assert "\n" not in dag.description  # one line in the DAG list
    # Whatever the deployment's dags_are_paused_at_creation, nothing writes to HubSpot unasked.
    assert dag.is_paused_upon_creation is (True if dag.dag_id in WRITES_TO_HUBSPOT else None)
    assert "hubspot" in dag.tags
    assert dag.on_failure_callback
    assert dag.max_active_runs == 1
    # The write-back runs when edits are notified (an asset), with a cron as safety net.
    expected = "AssetOrTimeSchedule" if dag.dag_id == "hubspot_writeback" else "CronDataIntervalTimetable"
    assert dag.timetable.__class__.__name__ == expected
    for task in dag.tasks:
        assert task.owner
        assert task.owner != "airflow"
        assert task.retries >= 1
        assert task.on_failure_callback
        assert task.on_retry_callback


@pytest.fixture
def broken_model(sync_config):
    """The shipped configuration plus a model whose SQL file does not exist."""
    path = sync_config(
        {
            "dag_defaults": {"retries": 0},
            "models": {
                "lost_model": {
                    "sql": "models/no_such_model.sql",
                    "object_type": "companies",
                    "key": {"column": "company_id", "property": "id"},
                    "properties": {"churn_risk": "churn_risk"},
                }
            },
        }
    )
    return path


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda path: path.name)
def test_a_broken_model_leaves_every_dag_parsing(dag_file, broken_model, offline):
    bag = parse(dag_file)
    assert bag.import_errors == {}
    assert list(bag.dags) == [dag_file.stem]
    if dag_file.stem == "hubspot_reverse_etl":
        dag = bag.dags[dag_file.stem]
        assert "push_lost_model" in dag.task_ids
        assert "no_such_model.sql" in dag.get_task("push_lost_model").doc_md


def test_a_broken_model_fails_only_its_task_naming_model_and_file(airflow_db, broken_model, webhook):
    dag = parse(DAGS_DIR / "hubspot_reverse_etl.py").dags["hubspot_reverse_etl"]
    # Only the broken model is selected: the others skip, and its task fails before any connection.
    dag_run = dag.test(run_conf={"models": ["lost_model"]}, mark_success_pattern="^migrate$")

    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert dag_run.state == "failed"
    assert states.pop("push_lost_model") == "failed"
    assert set(states.values()) == {"success", "skipped"}
    failure = next(
        alert
        for alert in map(json.loads, (request["body"] for request in webhook))
        if alert["event"] == "task_failure"
    )
    assert failure["task_id"] == "push_lost_model"
    assert failure["try_number"] == 1  # not retried: the declaration would not change
    assert "model lost_model" in failure["exception"]
    assert "no_such_model.sql" in failure["exception"]
    assert str(broken_model) in failure["exception"]


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda path: path.name)
def test_a_model_name_unfit_for_a_task_id_fails_only_the_reverse_etl_dag(dag_file, sync_config, offline):
    model = {
        "sql": "models/company_churn_risk.sql",
        "object_type": "companies",
        "key": {"column": "company_id"},
        "properties": {"churn_risk": "churn_risk"},
    }
    sync_config({"models": {"Churn Risk": model}})
    bag = parse(dag_file)
    if dag_file.stem == "hubspot_reverse_etl":
        (error,) = bag.import_errors.values()
        assert "models.Churn Risk: a model name must be lower case" in error
    else:
        assert bag.import_errors == {}
        assert list(bag.dags) == [dag_file.stem]


def test_object_types_extract_at_once_between_migrate_and_associations(offline, sync_config):
    dag = parse(DAGS_DIR / "hubspot_extract.py").dags["hubspot_extract"]
    objects = [
        task_id
        for task_id in dag.task_ids
        if task_id.startswith("extract_") and task_id != "extract_associations"
    ]
    assert len(objects) == 3
    for task_id in objects:
        task = dag.get_task(task_id)
        assert task.upstream_task_ids == {"migrate"}  # no chain between object types
        assert task.downstream_task_ids == {"extract_associations"}
    assert dag.max_active_tasks == len(objects)

    sync_config({"parallel": {"max_active_tasks": 2}})
    assert parse(DAGS_DIR / "hubspot_extract.py").dags["hubspot_extract"].max_active_tasks == 2
