"""hubspot_reverse_etl through the real Airflow runtime (dag.test) with the shipped example models."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg.types.json import Jsonb

from hubspot_sync.config import DEFAULT_CONFIG_PATH
from hubspot_sync.migrations import apply_migrations
from hubspot_sync.reverse_etl.model_config import MODELS_SQL_DIR

pytestmark = pytest.mark.integration

DAG_FILE = Path(__file__).resolve().parents[2] / "dags" / "hubspot_reverse_etl.py"
MODELS = {
    "contact_usage_score": ("contacts", "email", "usage_score"),
    "company_churn_risk": ("companies", "company_id", "churn_risk"),
    "deal_billing_status": ("deals", "deal_id", "billing_status"),
}


@pytest.fixture(autouse=True)
def no_retries(tmp_path, monkeypatch):
    """The shipped configuration without retries: dag.test() would otherwise wait out a retry delay."""
    config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    config["dag_defaults"]["retries"] = 0
    path = tmp_path / "sync.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("HUBSPOT_SYNC_CONFIG", str(path))
    return config


def run_dag(**conf):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE), safe_mode=False)
    assert bag.import_errors == {}
    dag_run = bag.dags["hubspot_reverse_etl"].test(run_conf=conf or None)
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    return dag_run, states


@pytest.fixture
def demo(hubspot, warehouse):
    """The sandbox seeded, the mirror filled from it, and the example app.* tables derived from the mirror."""
    hubspot.seed(companies=30, contacts=80, deals=40, associations=False)
    with hubspot.http() as http:
        created = http.post(
            "/crm/v3/properties/deals",
            json={
                "name": "billing_status",
                "label": "Billing status",
                "type": "enumeration",
                "fieldType": "select",
                "groupName": "dealinformation",
                "options": [
                    {"label": "Active", "value": "active"},
                    {"label": "Past due", "value": "past_due"},
                    {"label": "Cancelled", "value": "cancelled"},
                ],
            },
        )
        assert created.status_code in (201, 409), created.text  # 409: the sandbox ships it already
    with psycopg.connect(warehouse) as conn:
        apply_migrations(conn)
        for object_type in ("contacts", "companies", "deals"):
            rows = [
                (record.id, Jsonb(record.props))
                for record in hubspot.sandbox.table(object_type)
                if record.props
            ]
            with conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO hubspot.{object_type} (id, properties, updated_at) VALUES (%s, %s, now())",
                    rows,
                )
        conn.execute((MODELS_SQL_DIR / "example_sources.sql").read_text())
    hubspot.reset_stats()
    return hubspot


def expected(url: str, name: str) -> dict[str, str]:
    _, key_column, column = MODELS[name]
    query = (MODELS_SQL_DIR / f"models/{name}.sql").read_text()
    with psycopg.connect(url) as conn:
        rows = conn.execute(query).fetchall()
        columns = [c.name for c in conn.execute(query).description]
    key_index, value_index = columns.index(key_column), columns.index(column)
    return {str(row[key_index]): str(row[value_index]) for row in rows}


def in_sandbox(hubspot, name: str, keys) -> dict[str, str]:
    object_type, _, prop = MODELS[name]
    table = hubspot.sandbox.table(object_type)
    id_property = "email" if object_type == "contacts" else None
    return {key: table.find(key, id_property).props.get(prop) for key in keys}


def test_models_push_then_an_unchanged_run_costs_nothing(airflow_db, demo, warehouse):
    dag_run, states = run_dag()

    assert dag_run.state == "success", states
    assert states == {"migrate": "success", **{f"push_{name}": "success" for name in MODELS}}
    for name in MODELS:
        wanted = expected(warehouse, name)
        assert wanted, f"example data gives model {name} no rows"
        assert in_sandbox(demo, name, wanted) == wanted, name
    with psycopg.connect(warehouse) as conn:
        summaries = conn.execute(
            "SELECT task_id, status, records_written FROM hubspot_sync.run_metrics "
            "WHERE task_id LIKE 'push_%' ORDER BY task_id"
        ).fetchall()
        run_summary = conn.execute(
            "SELECT models_succeeded, models_failed, records_accepted, records_refused_by_hubspot, dry_run "
            "FROM hubspot_sync.reverse_etl_runs WHERE run_id = %s",
            (dag_run.run_id,),
        ).fetchone()
    assert [status for _, status, _ in summaries] == ["success"] * 3
    assert all(written > 0 for _, _, written in summaries)
    assert run_summary == (3, 0, sum(written for _, _, written in summaries), 0, False)

    demo.reset_stats()
    dag_run, _ = run_dag()
    assert dag_run.state == "success"
    assert demo.stats()["total"] == 0


def test_dry_run_of_a_subset_previews_without_calls_and_skips_the_rest(airflow_db, demo, warehouse):
    run_dag(models=["company_churn_risk"])
    with psycopg.connect(warehouse) as conn:
        conn.execute("UPDATE app.support_tickets SET status = 'open', severity = 'high'")
    demo.reset_stats()

    dag_run, states = run_dag(dry_run=True, models=["company_churn_risk"])

    assert dag_run.state == "success"
    assert states["push_company_churn_risk"] == "success"
    assert states["push_contact_usage_score"] == states["push_deal_billing_status"] == "skipped"
    assert demo.stats()["total"] == 0
    wanted = expected(warehouse, "company_churn_risk")
    with psycopg.connect(warehouse) as conn:
        preview = dict(
            conn.execute(
                "SELECT record_key, new_value FROM hubspot_sync.push_preview WHERE action = 'update'"
            )
        )
        models = {row[0] for row in conn.execute("SELECT DISTINCT model FROM hubspot_sync.push_preview")}
    assert models == {"company_churn_risk"}
    assert preview
    assert all(wanted[key] == value == "1" for key, value in preview.items())


def test_a_broken_model_fails_its_task_and_the_others_still_run(
    airflow_db, demo, warehouse, tmp_path, no_retries, monkeypatch
):
    config = no_retries
    config["models"]["broken_model"] = {
        "sql": "models/company_churn_risk.sql",
        "object_type": "companies",
        "key": {"column": "hubspot_id", "property": "id"},
        "properties": {"churn_risk": "churn_risk"},
    }
    # A new file name: load_config() caches by path.
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("HUBSPOT_SYNC_CONFIG", str(tmp_path / "broken.yaml"))

    dag_run, states = run_dag()

    assert dag_run.state == "failed"
    assert states["push_broken_model"] == "failed"
    assert {states[f"push_{name}"] for name in MODELS} == {"success"}
    with psycopg.connect(warehouse) as conn:
        failed = conn.execute(
            "SELECT details ->> 'model' FROM hubspot_sync.run_metrics WHERE status = 'failed'"
        ).fetchall()
    assert failed == [("broken_model",)]
