"""Minimisation and pseudonymisation: only kept properties are asked for and stored, a narrower setting strips
the rows already stored (once), a denied value is in no table, and a pseudonymised email lands as its HMAC."""

from __future__ import annotations

import hashlib
import hmac
import json

import psycopg
import pytest
from psycopg.types.json import Jsonb

from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.migrations import apply_migrations
from hubspot_sync.privacy.minimise import PropertyPolicy, narrow
from tests.integration.test_extract_dag import run_extract, task_summaries
from tests.integration.test_extract_failures import run_metrics, task_alerts
from tests.integration.test_privacy_erasure import create
from tests.integration.test_reconcile import findings, run_dag

pytestmark = pytest.mark.integration

KEY = "test-pseudonym-key-0123456789abcdef"
ONLY_CONTACTS = {"companies": {"enabled": False}, "deals": {"enabled": False}}
# Values no seeded record holds, so that finding one anywhere means it was stored.
PEOPLE = [
    {
        "email": f"Person.{n}@Example.com",
        "firstname": f"Firstly{n}",
        "city": f"Zanzicity{n}",
        "country": f"Xland{n}",
    }
    for n in range(3)
]


def hits(url: str, needle: str) -> set[str]:
    """schema.table.column of every text, JSONB or array column of `hubspot` and `hubspot_sync` holding it."""
    found = set()
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns AS c "
            "JOIN information_schema.tables AS t USING (table_schema, table_name) "
            "WHERE c.table_schema IN ('hubspot', 'hubspot_sync') AND t.table_type = 'BASE TABLE' "
            "AND c.data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY')"
        ).fetchall()
        assert len(columns) > 40, "the search covers every table"
        for schema, table, column in columns:
            query = psycopg.sql.SQL("SELECT EXISTS (SELECT FROM {} WHERE {}::text ILIKE %s)").format(
                psycopg.sql.Identifier(schema, table), psycopg.sql.Identifier(column)
            )
            if conn.execute(query, (f"%{needle}%",)).fetchone()[0]:
                found.add(f"{schema}.{table}.{column}")
    return found


def stored_properties(url: str) -> dict[str, dict]:
    with psycopg.connect(url) as conn:
        return {
            row["email"]: row
            for row in (
                json.loads(json.dumps(properties)) | {"_email_column": email}
                for email, properties in conn.execute("SELECT email, properties FROM hubspot.contacts")
            )
        }


@pytest.fixture
def requested(monkeypatch) -> list[str]:
    """Every property name the extraction asks HubSpot for (list URLs, search bodies, batch reads)."""
    names: list[str] = []
    list_pages, search, batch_read = HubSpotHook.iter_list_pages, HubSpotHook.search, HubSpotHook.batch_read

    def logged_list_pages(self, object_type, properties, **kwargs):
        names.extend(properties)
        return list_pages(self, object_type, properties, **kwargs)

    def logged_search(self, object_type, body):
        names.extend(body.get("properties") or ())
        return search(self, object_type, body)

    def logged_batch_read(self, object_type, ids, properties, **kwargs):
        names.extend(properties)
        return batch_read(self, object_type, ids, properties, **kwargs)

    monkeypatch.setattr(HubSpotHook, "iter_list_pages", logged_list_pages)
    monkeypatch.setattr(HubSpotHook, "search", logged_search)
    monkeypatch.setattr(HubSpotHook, "batch_read", logged_batch_read)
    return names


def test_listed_keeps_only_allowed_values_and_a_narrower_setting_strips_stored_rows_once(
    airflow_db, hubspot, warehouse, sync_config, requested
):
    sync_config({"dag_defaults": {"retries": 0}, "objects": ONLY_CONTACTS})
    with hubspot.http() as http:
        ids = [create(http, "contacts", person) for person in PEOPLE]
    assert run_extract().state == "success"
    assert "Zanzicity0" in json.dumps(stored_properties(warehouse))  # `all` keeps every property
    assert "city" in requested

    sync_config(
        {
            "dag_defaults": {"retries": 0},
            "objects": {
                **ONLY_CONTACTS,
                "contacts": {"properties_kept": "listed", "keep": ["country"], "never_store": ["city"]},
            },
        }
    )
    requested.clear()
    with hubspot.http() as http:  # a change, so that the incremental run searches and lands one record
        response = http.patch(
            f"/crm/v3/objects/contacts/{ids[0]}", json={"properties": {"city": "Zanzicity9"}}
        )
        assert response.status_code == 200, response.text
    narrowed = run_extract()
    assert narrowed.state == "success"

    minimised = task_summaries(warehouse, narrowed.run_id)["extract_contacts"][1]["minimised"]
    assert minimised["rows_stripped"] == 3
    assert {"city", "usage_score"} <= set(minimised["properties_dropped"])
    assert "country" not in minimised["properties_dropped"]
    assert requested
    assert not {"city", "usage_score"} & set(requested)
    assert {"country", "email", "lastmodifieddate"} <= set(requested)
    for row in stored_properties(warehouse).values():
        assert row["country"].startswith("Xland")
        assert not {"city", "usage_score"} & set(row)
    for value in ("Zanzicity0", "Zanzicity1", "Zanzicity9"):
        assert hits(warehouse, value) == set(), value  # names in the catalog are fine, values nowhere

    again = run_extract()
    assert again.state == "success"
    assert "minimised" not in task_summaries(warehouse, again.run_id)["extract_contacts"][1]
    with psycopg.connect(warehouse) as conn:
        assert conn.execute("SELECT count(*) FROM hubspot_sync.minimisation").fetchone()[0] == 1


def expected_hash(text: str) -> str:
    return hmac.new(KEY.encode(), text.strip().lower().encode(), hashlib.sha256).hexdigest()


def test_a_pseudonymised_email_lands_as_its_hmac_and_joins(
    airflow_db, hubspot, warehouse, sync_config, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_VAR_HUBSPOT_SYNC_PSEUDONYM_KEY", KEY)
    settings = {"dag_defaults": {"retries": 0}, "reconcile": {"values_differ": "report"}}
    sync_config({**settings, "objects": {**ONLY_CONTACTS, "contacts": {"pseudonymise": ["email"]}}})
    with hubspot.http() as http:
        ids = {create(http, "contacts", person): person for person in PEOPLE}
    assert run_extract().state == "success"
    # firstname landed in clear; pseudonymised later, the rows already stored are hashed once.
    sync_config(
        {**settings, "objects": {**ONLY_CONTACTS, "contacts": {"pseudonymise": ["email", "firstname"]}}}
    )
    switched = run_extract()
    assert switched.state == "success"
    minimised = task_summaries(warehouse, switched.run_id)["extract_contacts"][1]["minimised"]
    assert (minimised["properties_pseudonymised"], minimised["rows_pseudonymised"]) == (["firstname"], 3)

    with psycopg.connect(warehouse) as conn:
        rows = dict(
            conn.execute(
                "SELECT id, jsonb_build_array(email, properties ->> 'email', firstname, "
                "properties ->> 'firstname') FROM hubspot.contacts"
            )
        )
        # A table keyed by the same hash of the address, as another system would compute it.
        conn.execute("CREATE TABLE public.signups (email_hash text, plan text)")
        conn.execute(
            "INSERT INTO public.signups SELECT * FROM unnest(%s::text[], %s::text[])",
            ([expected_hash(f"  {p['email'].upper()} ") for p in PEOPLE], [f"plan{n}" for n in range(3)]),
        )
        joined = dict(
            conn.execute(
                "SELECT c.id, s.plan FROM hubspot.contacts AS c "
                "JOIN public.signups AS s ON s.email_hash = c.email"
            )
        )
    for record_id, person in ids.items():
        email_hash = expected_hash(person["email"])
        name_hash = hmac.new(KEY.encode(), person["firstname"].encode(), hashlib.sha256).hexdigest()
        assert rows[record_id] == [email_hash, email_hash, name_hash, name_hash]
    assert joined == {record_id: f"plan{PEOPLE.index(person)}" for record_id, person in ids.items()}
    for person in PEOPLE:
        assert hits(warehouse, person["email"]) == set()
        assert hits(warehouse, person["firstname"]) == set()

    # Reconciliation hashes HubSpot's values the same way before comparing: no difference found.
    reconciled = run_dag("hubspot_reconcile")
    assert not [kinds for kinds in findings(warehouse, reconciled.run_id) if kinds[1] == "values_differ"]

    # An erasure requested by the clear address finds the row that holds its hash.
    erased = next(record_id for record_id, person in ids.items() if person is PEOPLE[0])
    with psycopg.connect(warehouse) as conn:
        conn.execute("INSERT INTO hubspot_sync.erasure_requests (email) VALUES (%s)", (PEOPLE[0]["email"],))
    run_dag("hubspot_reconcile")
    with psycopg.connect(warehouse) as conn:
        remaining = {record_id for (record_id,) in conn.execute("SELECT id FROM hubspot.contacts")}
        request = conn.execute("SELECT status, contact_id, records_erased FROM hubspot_sync.erasure_requests")
        assert request.fetchall() == [("done", erased, 1)]
    assert remaining == set(ids) - {erased}
    assert hits(warehouse, PEOPLE[0]["email"]) == set()


def test_a_missing_key_fails_the_task_once_naming_where_to_put_it(
    airflow_db, hubspot, warehouse, sync_config, webhook, monkeypatch
):
    monkeypatch.delenv("AIRFLOW_VAR_HUBSPOT_SYNC_PSEUDONYM_KEY", raising=False)
    sync_config(
        {
            "dag_defaults": {"retries": 2, "retry_delay_seconds": 1},
            "objects": {**ONLY_CONTACTS, "contacts": {"pseudonymise": ["email"]}},
        }
    )
    with hubspot.http() as http:
        create(http, "contacts", PEOPLE[0])
    dag_run = run_extract()

    assert dag_run.state == "failed"
    alerts = task_alerts(webhook)
    assert [(alert["event"], alert["task_id"]) for alert in alerts] == [("task_failure", "extract_contacts")]
    assert "Variable hubspot_sync_pseudonym_key" in alerts[0]["exception"]
    assert "connection hubspot_sync_pseudonym" in alerts[0]["exception"]
    metrics = run_metrics(warehouse, dag_run.run_id)
    assert [key for key in metrics if key[0] == "extract_contacts"] == [("extract_contacts", 1)]  # no retry
    assert hits(warehouse, PEOPLE[0]["email"]) == set()


def test_narrowing_goes_batch_by_batch_and_runs_once_per_change(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        apply_migrations(conn)
        conn.execute("ALTER TABLE hubspot.contacts ADD COLUMN email text, ADD COLUMN notes text")
        for record_id in range(1, 6):
            values = {"email": f"Row{record_id}@Example.com", "notes": f"secret{record_id}", "country": "NO"}
            conn.execute(
                "INSERT INTO hubspot.contacts (id, properties, email, notes, updated_at) "
                "VALUES (%s, %s, %s, %s, now())",
                (record_id, Jsonb(values), values["email"], values["notes"]),
            )
        # `notes` was a typed column before it was denied: its column is cleared too.
        settings = policy(never_store=frozenset({"notes"}), pseudonymised=frozenset({"email"}))
        applied = narrow(conn, "contacts", settings, batch_rows=2)
        assert applied == {
            "properties_dropped": ["notes"],
            "columns_cleared": ["notes"],
            "rows_stripped": 5,
            "properties_pseudonymised": ["email"],
            "rows_pseudonymised": 5,
        }
        rows = conn.execute(
            "SELECT id, properties, email, notes FROM hubspot.contacts ORDER BY id"
        ).fetchall()
        assert narrow(conn, "contacts", settings, batch_rows=2) is None  # applied once
    for record_id, properties, email, notes in rows:
        expected = hmac.new(KEY.encode(), f"row{record_id}@example.com".encode(), hashlib.sha256).hexdigest()
        assert (properties, email, notes) == ({"email": expected, "country": "NO"}, expected, None)
    assert hits(fresh_db, "secret") == set()
    assert hits(fresh_db, "@example.com") == set()


def policy(**settings) -> PropertyPolicy:
    return PropertyPolicy(
        **{
            "listed": False,
            "kept": frozenset(),
            "never_store": frozenset(),
            "pseudonymised": frozenset(),
            "email_properties": frozenset({"email"}),
            "key": KEY.encode(),
            **settings,
        }
    )
