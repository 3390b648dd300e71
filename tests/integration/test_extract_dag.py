"""hubspot_extract end to end: the sandbox over HTTP, real PostgreSQL, the real Airflow runtime."""

import psycopg
import pytest

from tests.integration.mirror import (
    sandbox_associations,
    sandbox_records,
    warehouse_associations,
    warehouse_records,
)

pytestmark = pytest.mark.integration
OBJECTS = ("companies", "contacts", "deals")


def run_extract(**params):
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.test_dag_integrity import DAGS_DIR

    bag = DagBag(dag_folder=str(DAGS_DIR / "hubspot_extract.py"), safe_mode=False)
    dag_run = bag.dags["hubspot_extract"].test(run_conf=params or None)
    return dag_run


def assert_mirror_equal(hubspot, url):
    for object_type in OBJECTS:
        assert warehouse_records(url, object_type) == sandbox_records(hubspot, object_type), object_type
        archived_ids = set(sandbox_records(hubspot, object_type, archived=True))
        assert archived_ids <= set(warehouse_records(url, object_type, archived=True)), object_type
    live = {object_type: sorted(sandbox_records(hubspot, object_type)) for object_type in OBJECTS}
    assert warehouse_associations(url) == sandbox_associations(hubspot, live)


@pytest.fixture(autouse=True)
def no_retries(sync_config):
    sync_config({"dag_defaults": {"retries": 0}})


def test_first_run_mirrors_the_sandbox(airflow_db, hubspot, warehouse):
    hubspot.seed(companies=100, contacts=500, deals=200)
    dag_run = run_extract()
    assert dag_run.state == "success"
    assert_mirror_equal(hubspot, warehouse)
    with psycopg.connect(warehouse) as conn:
        summaries = conn.execute(
            "SELECT task_id, status, records_read FROM hubspot_sync.run_metrics ORDER BY task_id"
        ).fetchall()
    assert [row[1] for row in summaries] == ["success"] * 4
