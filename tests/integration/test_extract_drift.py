"""Schema drift, dirty values and very long property lists, end to end through hubspot_extract."""

import psycopg
import pytest

from tests.integration.mirror import sandbox_records, warehouse_records
from tests.integration.test_extract_dag import run_extract, task_summaries

pytestmark = pytest.mark.integration


def test_drift_is_reported_and_dirty_values_are_rejected_while_the_run_goes_on(
    airflow_db, hubspot, warehouse, sync_config
):
    sync_config(
        {
            "dag_defaults": {"retries": 0},
            "objects": {
                "contacts": {"properties": {"customer_tier": "enumeration", "usage_score": "number"}}
            },
        }
    )
    hubspot.seed(companies=50, contacts=1_000, deals=50, dirty_share=0.03)
    first = run_extract(objects=["contacts"])
    assert first.state == "success"
    assert warehouse_records(warehouse, "contacts") == sandbox_records(hubspot, "contacts")
    with psycopg.connect(warehouse) as conn:
        rejects = conn.execute(
            "SELECT field, reason, count(*) FROM hubspot_sync.rejects WHERE run_id = %s GROUP BY 1, 2",
            (first.run_id,),
        ).fetchall()
        rejected_emails_kept = conn.execute(
            "SELECT count(*) FROM hubspot.contacts c JOIN hubspot_sync.rejects r ON r.record_id = c.id::text "
            "WHERE r.field = 'email' AND c.email IS NULL AND c.properties->>'email' IS NOT NULL"
        ).fetchone()[0]
    assert ("email", "not a valid email address") in {(field, reason) for field, reason, _ in rejects}
    assert rejected_emails_kept > 0  # the typed column is NULL, the text is still in `properties`

    with hubspot.http() as http:
        assert http.delete("/crm/v3/properties/contacts/customer_tier").status_code == 204
        changed = http.patch(
            "/crm/v3/properties/contacts/usage_score", json={"type": "string", "fieldType": "text"}
        )
        assert changed.status_code == 200, changed.text
    second = run_extract(objects=["contacts"])
    assert second.state == "success"
    drift = task_summaries(warehouse, second.run_id)["extract_contacts"][1]["drift"]
    assert drift["removed"] == ["customer_tier"]
    assert drift["type_changed"] == ["usage_score: number -> string"]
    assert any("customer_tier does not exist in HubSpot" in note for note in drift["configuration"])
    assert any(
        "usage_score is configured as number but HubSpot reports string" in n for n in drift["configuration"]
    )


def test_a_property_list_too_long_for_a_url_is_read_in_parts(airflow_db, hubspot, warehouse, sync_config):
    sync_config({"dag_defaults": {"retries": 0}})
    hubspot.seed(contacts=250, companies=10)
    names = [f"long_custom_property_name_for_url_chunking_{number:03d}" for number in range(200)]
    with hubspot.http() as http:
        for name in names:
            created = http.post(
                "/crm/v3/properties/contacts",
                json={
                    "name": name,
                    "label": name,
                    "type": "string",
                    "fieldType": "text",
                    "groupName": "contactinformation",
                },
            )
            assert created.status_code == 201, created.text
        ids = sorted(sandbox_records(hubspot, "contacts"))[:100]
        http.post(
            "/crm/v3/objects/contacts/batch/update",
            json={
                "inputs": [
                    {"id": str(i), "properties": {names[-1]: f"value {i}", names[0]: "first"}} for i in ids
                ]
            },
        )
    dag_run = run_extract(objects=["contacts"])
    assert dag_run.state == "success"
    mirrored = warehouse_records(warehouse, "contacts")
    assert mirrored == sandbox_records(hubspot, "contacts")
    assert mirrored[ids[0]][names[-1]] == f"value {ids[0]}"
    assert hubspot.stats()["byStatus"].get("414", 0) == 0
