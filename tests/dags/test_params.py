"""DAG params are checked before a run starts: through Param validation (what the trigger form and the
REST API apply when a run is created) and through dag.test(run_conf=...)."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(DAGS_DIR.glob("*.py"))
PICK_LISTS = {"hubspot_extract": "objects", "hubspot_reverse_etl": "models"}


def parsed(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR / f"{dag_id}.py"), safe_mode=False)
    assert bag.import_errors == {}
    return bag.dags[dag_id]


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda path: path.name)
def test_every_param_has_a_title_and_a_description(dag_file):
    dag = parsed(dag_file.stem)
    for name, param in dag.params.items():
        assert param.schema.get("title"), name
        assert param.description, name


@pytest.mark.parametrize(("dag_id", "name"), list(PICK_LISTS.items()))
def test_choices_render_as_a_multi_select_where_empty_means_all(dag_id, name):
    from hubspot_sync.config import load_config

    config = load_config()
    choices = config.enabled_objects() if name == "objects" else config.model_names()
    param = parsed(dag_id).params.get_param(name)
    # Airflow's trigger form shows an array with `examples` as a multi-select of those values.
    assert param.schema["type"] == "array"
    assert param.schema["examples"] == choices
    assert param.schema["items"]["enum"] == choices
    assert param.value == []
    assert param.resolve(choices[:1]) == choices[:1]


@pytest.mark.parametrize(
    ("dag_id", "name", "value"),
    [
        ("hubspot_extract", "objects", ["contactz"]),
        ("hubspot_extract", "objects", "contacts"),
        ("hubspot_extract", "objects", ["contacts", "contacts"]),
        ("hubspot_reverse_etl", "models", ["no_such_model"]),
        ("hubspot_extract", "since", "not-a-date"),
        ("hubspot_extract", "since", "2026-13-01T00:00:00Z"),
        ("hubspot_extract", "since", "2026-03-01"),
        ("hubspot_extract", "since", "2026-03-01T25:00:00Z"),
        ("hubspot_extract", "since", "yesterday 2026-03-01T00:00:00Z"),
        ("hubspot_extract", "full_refresh", "yes"),
        ("hubspot_reverse_etl", "dry_run", 1),
    ],
)
def test_a_bad_value_is_refused_before_the_run_is_created(airflow_db, dag_id, name, value):
    from airflow.sdk.exceptions import ParamValidationError

    dag = parsed(dag_id)
    with pytest.raises(ParamValidationError, match=f"Invalid input for param {name}"):
        dag.test(run_conf={name: value})


@pytest.mark.parametrize(
    "since",
    [
        None,
        "2026-03-01T00:00:00Z",
        "2026-03-01T00:00:00+01:00",
        "2026-03-01T00:00:00.123456+0100",
        "2026-03-01T08:30",  # the trigger form's date-time picker leaves the offset out: UTC
        "2026-03-01 08:30:00",
    ],
)
def test_since_accepts_iso_date_times_that_the_task_can_read(since):
    from hubspot_sync.values import parse_datetime

    param = parsed("hubspot_extract").params.get_param("since")
    assert param.resolve(since) == since
    if since is not None:
        assert parse_datetime(since).tzinfo is not None


@pytest.mark.parametrize("dag_id", ["hubspot_extract", "hubspot_reverse_etl", "hubspot_reconcile"])
def test_an_unknown_conf_key_fails_the_run_before_any_task_does_work(airflow_db, sync_config, dag_id):
    sync_config({"dag_defaults": {"retries": 2}})  # refused at once even though retries are on
    dag = parsed(dag_id)
    dag_run = dag.test(run_conf={"objectz": ["contacts"]})

    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    tries = {ti.task_id: ti.try_number for ti in dag_run.get_task_instances()}
    assert dag_run.state == "failed"
    assert states.pop("migrate") == "failed"
    assert tries["migrate"] == 1
    assert set(states.values()) <= {"upstream_failed"}
