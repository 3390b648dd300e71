"""A write-back that dies mid-push (killed, or failing after HubSpot applied a write) is finished by the
rerun: no edit lost, no record created twice, nothing sent twice that HubSpot already holds."""

import json
import math
import os

import pytest

from tests.integration.killing import kill_when
from tests.integration.writeback_support import execute, hubspot_values, run_dag, run_dag_state, write_calls

pytestmark = pytest.mark.integration
UPDATE = "POST /crm/v3/objects/{objectType}/batch/update"
CREATE = "POST /crm/v3/objects/{objectType}/batch/create"


@pytest.fixture
def contacts(airflow_db, hubspot, warehouse, sync_config):
    sync_config(
        {
            "dag_defaults": {"retries": 0},
            "objects": {"companies": {"enabled": False}, "deals": {"enabled": False}},
        }
    )
    hubspot.seed(contacts=250, associations=False)
    run_dag("hubspot_extract")
    return [row[0] for row in execute(warehouse, "SELECT id FROM hubspot.contacts ORDER BY id")]


def test_kill_9_mid_push_then_rerun_loses_no_edit(contacts, hubspot, warehouse):
    execute(warehouse, "UPDATE hubspot.contacts SET jobtitle = 'Title ' || id")
    # Each batch update takes a while: the push is killed after its first batch, before the last.
    hubspot.set_faults({"latencyMs": 1500, "latencyRate": 1.0, "endpoints": [UPDATE]})

    def a_batch_settled(conn):
        return conn.execute(
            "SELECT count(*) > 0 FROM hubspot_sync.outbox WHERE status = 'synced'"
        ).fetchone()[0]

    kill_when(
        "hubspot_writeback",
        warehouse,
        a_batch_settled,
        within=60,
        what="the killed push never settled a batch",
    )
    synced = execute(warehouse, "SELECT count(*) FROM hubspot_sync.outbox WHERE status = 'synced'")[0][0]
    assert 0 < synced < len(contacts)

    hubspot.clear_faults()
    hubspot.reset_stats()
    run_dag("hubspot_writeback")
    titles = hubspot_values(hubspot, "contacts", contacts, ["jobtitle"])
    assert titles == {record_id: {"jobtitle": f"Title {record_id}"} for record_id in contacts}
    assert execute(warehouse, "SELECT count(*) FROM hubspot_sync.outbox WHERE status <> 'synced'") == [(0,)]
    # What the killed run had settled is not sent again. A chunk it had not settled is written at most
    # twice: by the rerun, and by the killed run's call in flight, which the sandbox may finish later.
    assert write_calls(hubspot) <= 2 * math.ceil((len(contacts) - synced) / 100)


def test_a_push_failing_after_hubspot_applied_it_is_finished_without_duplicates(
    contacts, hubspot, warehouse, monkeypatch
):
    connection = json.loads(os.environ["AIRFLOW_CONN_HUBSPOT_DEFAULT"])
    connection["extra"]["max_attempts"] = 1  # no retry inside the task: it fails with the write applied
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(connection))
    execute(
        warehouse,
        "INSERT INTO hubspot.contacts (email, jobtitle) "
        "VALUES ('one@example.org', 'New'), ('two@example.org', 'New')",
    )
    execute(warehouse, "UPDATE hubspot.contacts SET jobtitle = 'Edited' WHERE id = ANY(%s)", (contacts[:3],))
    hubspot.set_faults(
        {
            "script": [
                {"endpoint": CREATE, "call": 1, "fault": 503, "afterApply": True},
                {"endpoint": UPDATE, "call": 1, "fault": 503, "afterApply": True},
            ]
        }
    )
    assert run_dag_state("hubspot_writeback") == "failed"
    assert hubspot.stats()["faultsInjected"] == {"503 after apply": 1}  # the create's; the task stopped there
    assert run_dag_state("hubspot_writeback") == "failed"  # creates adopted, then an update answer lost
    assert hubspot.stats()["faultsInjected"] == {"503 after apply": 2}

    hubspot.clear_faults()
    hubspot.reset_stats()
    run_dag("hubspot_writeback")
    with hubspot.http() as http:
        for email in ("one@example.org", "two@example.org"):
            body = {
                "filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": email}]}]
            }
            assert http.post("/crm/v3/objects/contacts/search", json=body).json()["total"] == 1
    assert execute(warehouse, "SELECT count(*) FROM hubspot.contacts WHERE id < 0") == [(0,)]
    assert hubspot_values(hubspot, "contacts", contacts[:3], ["jobtitle"]) == {
        record_id: {"jobtitle": "Edited"} for record_id in contacts[:3]
    }
    # Nothing is sent again: the creates were found by their key, the edits are already in HubSpot.
    assert write_calls(hubspot) == 0
    assert execute(warehouse, "SELECT count(*) FROM hubspot_sync.outbox WHERE status <> 'synced'") == [(0,)]
