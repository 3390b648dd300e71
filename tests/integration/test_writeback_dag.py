"""hubspot_writeback end to end: edits made in PostgreSQL reach the sandbox over HTTP under dag.test()."""

import pytest

from tests.integration.writeback_support import (
    execute,
    hubspot_values,
    run_dag,
    warehouse_values,
    write_calls,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def mirrored(airflow_db, hubspot, warehouse, sync_config):
    # lifecyclestage is hubspot_wins as shipped: here it is pushed, to show refusals and retries.
    sync_config(
        {
            "dag_defaults": {"retries": 0},
            "objects": {
                "contacts": {"two_way": {"fields": {"jobtitle": "default", "lifecyclestage": "default"}}}
            },
        }
    )
    hubspot.seed(companies=3, contacts=12, deals=6, associations=False)
    run_dag("hubspot_extract")
    contacts = [row[0] for row in execute(warehouse, "SELECT id FROM hubspot.contacts ORDER BY id")]
    deals = [row[0] for row in execute(warehouse, "SELECT id FROM hubspot.deals ORDER BY id")]
    return contacts, deals


def status(url, object_type, record_id):
    rows = execute(
        url,
        f"SELECT pending_changes, failed_changes, last_pushed_at IS NOT NULL, last_error "
        f"FROM hubspot_sync.{object_type}_sync_status WHERE id = %s",
        (record_id,),
    )
    return rows[0] if rows else None


def test_edits_creates_and_archives_reach_hubspot_and_refused_values_stay_visible(
    mirrored, hubspot, warehouse
):
    contacts, deals = mirrored
    execute(warehouse, "UPDATE hubspot.contacts SET jobtitle = 'Head of Data' WHERE id = %s", (contacts[0],))
    execute(
        warehouse,
        "UPDATE hubspot.contacts SET jobtitle = 'First', lifecyclestage = 'customer' WHERE id = %s",
        (contacts[1],),
    )
    execute(warehouse, "UPDATE hubspot.contacts SET jobtitle = 'Last' WHERE id = %s", (contacts[1],))
    # Not an option of the enumeration: HubSpot refuses it, the other rows still go.
    execute(
        warehouse,
        "UPDATE hubspot.contacts SET lifecyclestage = 'not-an-option' WHERE id = %s",
        (contacts[2],),
    )
    execute(warehouse, "UPDATE hubspot.deals SET dealstage = 'closedwon' WHERE id = %s", (deals[0],))
    execute(warehouse, "UPDATE hubspot.deals SET archived = true WHERE id = %s", (deals[1],))
    new_id = execute(
        warehouse,
        "INSERT INTO hubspot.contacts (email, firstname, jobtitle) "
        "VALUES ('new.person@example.org', 'New', 'Intern') RETURNING id",
    )[0][0]
    assert new_id < 0
    hubspot.reset_stats()

    run_dag("hubspot_writeback")

    assert hubspot_values(hubspot, "contacts", contacts[:3], ["jobtitle", "lifecyclestage"]) == {
        contacts[0]: {"jobtitle": "Head of Data", "lifecyclestage": _lifecycle(hubspot, contacts[0])},
        contacts[1]: {"jobtitle": "Last", "lifecyclestage": "customer"},
        contacts[2]: {
            "jobtitle": _title(warehouse, contacts[2]),
            "lifecyclestage": _lifecycle(hubspot, contacts[2]),
        },
    }
    assert _lifecycle(hubspot, contacts[2]) != "not-an-option"
    assert hubspot_values(hubspot, "deals", [deals[0]], ["dealstage"]) == {
        deals[0]: {"dealstage": "closedwon"}
    }
    with hubspot.http() as http:
        assert http.get(f"/crm/v3/objects/deals/{deals[1]}").status_code == 404  # archived
        found = http.get("/crm/v3/objects/contacts/new.person@example.org", params={"idProperty": "email"})
    assert found.status_code == 200
    created_id = int(found.json()["id"])
    assert execute(warehouse, "SELECT count(*) FROM hubspot.contacts WHERE id < 0") == [(0,)]
    assert warehouse_values(warehouse, "contacts", [created_id], ["email", "jobtitle"]) == {
        created_id: {"email": "new.person@example.org", "jobtitle": "Intern"}
    }
    assert status(warehouse, "contacts", contacts[1])[:3] == (0, 0, True)
    pending, failed, _, error = status(warehouse, "contacts", contacts[2])
    assert (pending, failed) == (0, 1)
    assert error.startswith("lifecyclestage: ")
    assert "not-an-option" not in error  # the reason, never the value
    # Two contacts fields in one call, one deal call; the refused row cost extra calls, bounded.
    assert write_calls(hubspot) <= 8

    # Settled: nothing more to send, and the extraction's return trip of the pushed values is no edit.
    run_dag("hubspot_extract")
    hubspot.reset_stats()
    run_dag("hubspot_writeback")
    assert write_calls(hubspot) == 0
    assert execute(warehouse, "SELECT count(*) FROM hubspot_sync.outbox WHERE status = 'pending'") == [(0,)]

    # An operator's reset after fixing the value: it is retried.
    execute(warehouse, "UPDATE hubspot.contacts SET lifecyclestage = 'lead' WHERE id = %s", (contacts[2],))
    run_dag("hubspot_writeback")
    assert _lifecycle(hubspot, contacts[2]) == "lead"
    assert status(warehouse, "contacts", contacts[2])[:2] == (0, 0)


def test_under_hubspot_wins_a_postgres_edit_is_reverted_and_recorded(
    airflow_db, hubspot, warehouse, sync_config
):
    sync_config({"dag_defaults": {"retries": 0}})  # as shipped: lifecyclestage is hubspot_wins
    hubspot.seed(companies=2, contacts=4, deals=2, associations=False)
    run_dag("hubspot_extract")
    record_id = execute(warehouse, "SELECT min(id) FROM hubspot.contacts")[0][0]
    before = _lifecycle(hubspot, record_id)
    edited = "customer" if before != "customer" else "lead"
    execute(warehouse, "UPDATE hubspot.contacts SET lifecyclestage = %s WHERE id = %s", (edited, record_id))
    hubspot.reset_stats()

    run_dag("hubspot_writeback")

    assert write_calls(hubspot) == 0
    assert _lifecycle(hubspot, record_id) == before
    assert warehouse_values(warehouse, "contacts", [record_id], ["lifecyclestage"]) == {
        record_id: {"lifecyclestage": before}
    }
    recorded = execute(
        warehouse,
        "SELECT field, winner, rule FROM hubspot_sync.conflicts WHERE record_id = %s",
        (record_id,),
    )
    assert recorded == [("lifecyclestage", "hubspot", "hubspot_wins")]
    run_dag("hubspot_writeback")  # settled: the revert itself is no new edit
    assert len(execute(warehouse, "SELECT 1 FROM hubspot_sync.conflicts")) == 1


def test_a_create_whose_answer_was_lost_is_not_duplicated(mirrored, hubspot, warehouse):
    execute(
        warehouse,
        "INSERT INTO hubspot.deals (dealname, dealstage) VALUES ('Big one', 'appointmentscheduled')",
    )
    hubspot.set_faults(
        {
            "script": [
                {
                    "endpoint": "POST /crm/v3/objects/{objectType}/batch/create",
                    "call": 1,
                    "fault": 502,  # a gateway error after HubSpot applied the create
                    "afterApply": True,
                }
            ]
        }
    )
    run_dag("hubspot_writeback")
    assert hubspot.stats()["faultsInjected"] == {"502 after apply": 1}  # created, answer lost, call retried
    hubspot.clear_faults()
    with hubspot.http() as http:
        body = {
            "filterGroups": [
                {"filters": [{"propertyName": "dealname", "operator": "EQ", "value": "Big one"}]}
            ]
        }
        found = http.post("/crm/v3/objects/deals/search", json=body).json()
    assert found["total"] == 1
    (deal_id,) = [int(record["id"]) for record in found["results"]]
    assert execute(warehouse, "SELECT id FROM hubspot.deals WHERE dealname = 'Big one'") == [(deal_id,)]
    run_dag("hubspot_writeback")
    assert execute(warehouse, "SELECT count(*) FROM hubspot_sync.outbox WHERE status <> 'synced'") == [(0,)]


def _lifecycle(hubspot, record_id):
    return hubspot_values(hubspot, "contacts", [record_id], ["lifecyclestage"])[record_id]["lifecyclestage"]


def _title(url, record_id):
    return warehouse_values(url, "contacts", [record_id], ["jobtitle"])[record_id]["jobtitle"]


def test_an_edit_follows_a_merge_and_a_deleted_property_fails_alone(
    airflow_db, hubspot, warehouse, sync_config
):
    hubspot.seed(contacts=6, associations=False)
    with hubspot.http() as http:
        created = http.post(
            "/crm/v3/properties/contacts",
            json={
                "name": "nps_note",
                "label": "NPS note",
                "type": "string",
                "fieldType": "text",
                "groupName": "g",
            },
        )
        assert created.status_code == 201, created.text
    sync_config(
        {
            "dag_defaults": {"retries": 0},
            "objects": {
                "companies": {"enabled": False},
                "deals": {"enabled": False},
                "contacts": {
                    "properties": {"nps_note": "string"},
                    "two_way": {"fields": {"nps_note": "default"}},
                },
            },
        }
    )
    run_dag("hubspot_extract")
    primary, other, plain = [
        row[0] for row in execute(warehouse, "SELECT id FROM hubspot.contacts ORDER BY id")
    ][:3]
    execute(warehouse, "UPDATE hubspot.contacts SET jobtitle = 'Merged edit' WHERE id = %s", (primary,))
    execute(
        warehouse,
        "UPDATE hubspot.contacts SET nps_note = 'gone soon', jobtitle = 'Kept' WHERE id = %s",
        (plain,),
    )
    with hubspot.http() as http:
        merged = http.post(
            "/crm/v3/objects/contacts/merge",
            json={"primaryObjectId": str(primary), "objectIdToMerge": str(other)},
        )
        survivor = int(merged.json()["id"])
        assert survivor not in (primary, other)
        assert http.delete("/crm/v3/properties/contacts/nps_note").status_code == 204

    run_dag("hubspot_writeback")

    # Pushed onto the record the merge made; the deleted property's edit failed alone, saying why.
    assert hubspot_values(hubspot, "contacts", [survivor, plain], ["jobtitle"]) == {
        survivor: {"jobtitle": "Merged edit"},
        plain: {"jobtitle": "Kept"},
    }
    failed = execute(
        warehouse, "SELECT record_id, field, error_category FROM hubspot_sync.outbox WHERE status = 'failed'"
    )
    assert failed == [(plain, "nps_note", "PROPERTY_DOESNT_EXIST")]
    assert execute(warehouse, "SELECT count(*) FROM hubspot_sync.conflicts") == [(0,)]
