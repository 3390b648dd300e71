"""Erasure both ways: a contact deleted for good in HubSpot, or named in hubspot_sync.erasure_requests, leaves
no value anywhere in the `hubspot` and `hubspot_sync` schemas (every text, JSONB and array column of every
table searched), only a tombstone; other people's rows stay."""

from __future__ import annotations

import json

import psycopg
import pytest
from psycopg import sql

from tests.integration.test_reconcile import run_dag

pytestmark = pytest.mark.integration

PERSON = {"email": "erin.erasable@example.com", "firstname": "Erinzo", "lastname": "Erasable"}
OTHER = {"email": "otto.other@example.com", "firstname": "Ottokar", "lastname": "Otherling"}


def create(http, object_type: str, properties: dict) -> int:
    response = http.post(f"/crm/v3/objects/{object_type}", json={"properties": properties})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def value_hits(url: str, person: dict, record_id: int) -> set[str]:
    """schema.table.column of every text, JSONB or array column holding the email, a name or the id."""
    needles = [person["email"], person["firstname"], person["lastname"]]
    id_pattern = rf"(^|[^0-9]){record_id}([^0-9]|$)"
    hits = set()
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns AS c "
            "JOIN information_schema.tables AS t USING (table_schema, table_name) "
            "WHERE c.table_schema IN ('hubspot', 'hubspot_sync') AND t.table_type = 'BASE TABLE' "
            "AND (c.data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY'))"
        ).fetchall()
        assert len(columns) > 40, "the search covers every table"
        for schema, table, column in columns:
            found = conn.execute(
                sql.SQL(
                    "SELECT EXISTS (SELECT FROM {table} "
                    "WHERE {column}::text ILIKE ANY(%s) OR {column}::text ~ %s)"
                ).format(table=sql.Identifier(schema, table), column=sql.Identifier(column)),
                ([f"%{needle}%" for needle in needles], id_pattern),
            ).fetchone()[0]
            if found:
                hits.add(f"{schema}.{table}.{column}")
    return hits


def leave_copies(url: str, record_id: int, email: str, name: str) -> None:
    """What the sync writes about a contact in its own tables (write-back, reverse ETL, rejects, findings)."""
    key = str(record_id)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO hubspot_sync.rejects "
            "(dag_id, run_id, task_id, object_type, record_id, field, reason) "
            "VALUES ('d', 'r', 't', 'contacts', %s, 'phone', 'not a phone number'), "
            "('d', 'r', 't', 'contacts', %s, 'usage_score', 'not a number')",
            (key, email),
        )
        conn.execute(
            "INSERT INTO hubspot_sync.push_state (model, record_key, object_type, pushed) "
            "VALUES ('contact_usage_score', %s, 'contacts', %s)",
            (email, json.dumps({"usage_score": "7", "nickname": name})),
        )
        conn.execute(
            "INSERT INTO hubspot_sync.push_audit (model, object_type, record_key, property, new_value, "
            "operation, outcome, dag_id, run_id, task_id, try_number) "
            "VALUES ('contact_usage_score', 'contacts', %s, 'nickname', %s, 'upsert', 'success', "
            "'d', 'r', 't', 1)",
            (email, name),
        )
        conn.execute(
            "INSERT INTO hubspot_sync.push_preview (model, record_key, property, new_value, action, run_id) "
            "VALUES ('contact_usage_score', %s, 'nickname', %s, 'upsert', 'r'), "
            "('contact_usage_score', %s, 'nickname', %s, 'update', 'r')",
            (email, name, key, name),
        )
        conn.execute(
            "INSERT INTO hubspot_sync.outbox (object_type, record_id, field, operation, value, base_value, "
            "changed_at, changed_by) "
            "VALUES ('contacts', %s, 'jobtitle', 'update', %s, 'null', now(), 'alice')",
            (record_id, json.dumps(f"Head of {name}")),
        )
        conn.execute(
            "INSERT INTO hubspot_sync.conflicts (object_type, record_id, field, postgres_value, "
            "postgres_changed_at, hubspot_value, winner, rule) "
            "VALUES ('contacts', %s, 'jobtitle', %s, now(), %s, 'hubspot', 'hubspot_wins')",
            (record_id, json.dumps(name), name),
        )
        conn.execute(
            "INSERT INTO hubspot_sync.reconcile_findings (run_id, object_type, record_id, kind, detail) "
            "VALUES ('earlier', 'contacts', %s, 'stale', '{}'), "
            "('earlier', 'deal_contact_associations', 1, 'association_extra', %s)",
            (record_id, json.dumps({"to_id": record_id})),
        )


@pytest.fixture
def two_people(airflow_db, hubspot, warehouse, sync_config):
    """Two contacts with a company and a deal each, extracted, with copies in every hubspot_sync table."""
    # Two of a handful of contacts removed is far above the default reconcile.max_delete_share.
    sync_config({"dag_defaults": {"retries": 0}, "reconcile": {"max_delete_share": 0.5}})
    hubspot.seed(companies=3, contacts=5, deals=2, associations=False)
    ids = {}
    with hubspot.http() as http:
        for label, person in (("person", PERSON), ("other", OTHER)):
            contact = create(http, "contacts", person)
            company = create(http, "companies", {"name": f"Company of {label}"})
            deal = create(http, "deals", {"dealname": f"Deal of {label}"})
            http.put(f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}")
            http.put(f"/crm/v4/objects/deals/{deal}/associations/default/contacts/{contact}")
            ids[label] = contact
    run_dag("hubspot_extract")
    for label, person in (("person", PERSON), ("other", OTHER)):
        leave_copies(warehouse, ids[label], person["email"], person["firstname"])
    return ids


@pytest.mark.parametrize("origin", ["deleted_in_hubspot", "request_by_email", "request_by_id"])
def test_an_erased_contact_leaves_no_value_anywhere(hubspot, warehouse, two_people, origin):
    person, other = two_people["person"], two_people["other"]
    before = value_hits(warehouse, PERSON, person)
    assert {
        "hubspot.contacts.properties",
        "hubspot_sync.rejects.record_id",
        "hubspot_sync.push_state.record_key",
        "hubspot_sync.push_audit.new_value",
        "hubspot_sync.push_preview.record_key",
        "hubspot_sync.outbox.value",
        "hubspot_sync.conflicts.hubspot_value",
        "hubspot_sync.reconcile_findings.detail",
    } <= before
    with psycopg.connect(warehouse) as conn:
        assert conn.execute(
            "SELECT count(*) FROM hubspot.deal_contact_associations WHERE contact_id = %s", (person,)
        ).fetchone() == (1,)
    other_before = value_hits(warehouse, OTHER, other)

    with hubspot.http() as http:
        if origin == "deleted_in_hubspot":
            response = http.post("/crm/v3/objects/contacts/gdpr-delete", json={"objectId": str(person)})
            assert response.status_code == 204
        else:
            column, value = (
                ("email", PERSON["email"].upper()) if origin.endswith("email") else ("contact_id", person)
            )
            with psycopg.connect(warehouse) as conn:
                conn.execute(
                    sql.SQL("INSERT INTO hubspot_sync.erasure_requests ({}) VALUES (%s)").format(
                        sql.Identifier(column)
                    ),
                    (value,),
                )
        run_dag("hubspot_reconcile")
        assert http.get(f"/crm/v3/objects/contacts/{person}").status_code == 404
        assert http.get(f"/crm/v3/objects/contacts/{other}").status_code == 200

    assert value_hits(warehouse, PERSON, person) == set()
    assert value_hits(warehouse, OTHER, other) == other_before, "other people's rows stay"
    with psycopg.connect(warehouse) as conn:
        for table in ("contact_company_associations", "deal_contact_associations"):
            count = conn.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE contact_id = %s").format(
                    sql.Identifier("hubspot", table)
                ),
                (person,),
            ).fetchone()[0]
            assert count == 0, table
        tombstone = conn.execute(
            "SELECT object_type, record_id, reason FROM hubspot_sync.erasures"
        ).fetchall()
        reason = "deleted_in_hubspot" if origin == "deleted_in_hubspot" else "erasure_request"
        assert tombstone == [("contacts", person, reason)]
        requests = conn.execute(
            "SELECT status, email, contact_id, records_erased FROM hubspot_sync.erasure_requests"
        ).fetchall()
        if origin != "deleted_in_hubspot":
            assert requests == [("done", None, person, 1)]
