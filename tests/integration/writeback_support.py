"""Running the extraction and the write-back under dag.test(), and reading both sides of two-way fields."""

from __future__ import annotations

import psycopg
from psycopg import sql


def run_dag_state(dag_id: str, **params) -> str:
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.test_dag_integrity import DAGS_DIR

    bag = DagBag(dag_folder=str(DAGS_DIR / f"{dag_id}.py"), safe_mode=False)
    assert bag.import_errors == {}
    return bag.dags[dag_id].test(run_conf=params or None).state


def run_dag(dag_id: str, **params) -> None:
    state = run_dag_state(dag_id, **params)
    assert state == "success", f"{dag_id} ended {state}"


def hubspot_values(hubspot, object_type: str, ids: list[int], fields: list[str]) -> dict[int, dict]:
    found = {}
    with hubspot.http() as http:
        for start in range(0, len(ids), 100):
            body = http.post(
                f"/crm/v3/objects/{object_type}/batch/read",
                json={"inputs": [{"id": str(i)} for i in ids[start : start + 100]], "properties": fields},
            ).json()
            for record in body["results"]:
                found[int(record["id"])] = {
                    field: (record["properties"].get(field) or None) for field in fields
                }
    return found


def hubspot_write(hubspot, object_type: str, record_id: int, properties: dict, user_id: int = 7):
    """An edit made by a person in HubSpot (CRM_UI), through the sandbox's control API."""
    body = {"objectType": object_type, "id": str(record_id), "properties": properties, "userId": user_id}
    return hubspot.control("POST", "write", body)


def warehouse_values(url: str, object_type: str, ids: list[int], fields: list[str]) -> dict[int, dict]:
    query = sql.SQL("SELECT id, {} FROM {} WHERE id = ANY(%s)").format(
        sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(f)) for f in fields),
        sql.Identifier("hubspot", object_type),
    )
    with psycopg.connect(url) as conn:
        return {row[0]: dict(zip(fields, row[1:], strict=True)) for row in conn.execute(query, (ids,))}


def execute(url: str, statement: str, params=None):
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def write_calls(hubspot) -> int:
    """API calls that write, since the last stats reset."""
    counts = hubspot.stats()["byEndpoint"]
    return sum(n for endpoint, n in counts.items() if _writes(endpoint))


def _writes(endpoint: str) -> bool:
    method, _, path = endpoint.partition(" ")
    if method in ("PATCH", "DELETE", "PUT"):
        return True
    writes = ("/batch/update", "/batch/create", "/batch/archive", "/batch/upsert", "/merge", "{objectType}")
    return method == "POST" and path.endswith(writes)
