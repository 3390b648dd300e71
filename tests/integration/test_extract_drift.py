"""Schema drift, dirty values and very long property lists, end to end through hubspot_extract."""

import json

import psycopg
import pytest

from tests.integration.mirror import sandbox_records, warehouse_records
from tests.integration.test_extract_dag import cursor_positions, run_extract, task_summaries

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


def _create_string_properties(http, object_type, names):
    for name in names:
        created = http.post(
            f"/crm/v3/properties/{object_type}",
            json={
                "name": name,
                "label": name,
                "type": "string",
                "fieldType": "text",
                "groupName": "contactinformation",
            },
        )
        assert created.status_code == 201, created.text


# (property, value, reason): HubSpot string properties that the sync configuration types (or
# leaves to `properties` only, for `free_text`), each value one PostgreSQL cannot take as it is.
HOSTILE_VALUES = [
    ("title_text", "CEO\u0000x", "NUL characters (removed)"),
    ("free_text", "a\u0000b", "NUL characters (removed)"),
    ("seen_at", "0001-01-01T00:00:00+01:00", "outside the years 1 to 9999"),
    ("seen_at", "-99999999999999", "outside the years 1 to 9999"),
    ("seen_on", "0001-01-01T00:00:00+01:00", "outside the years 1 to 9999"),
    ("score", "1e1000000", "outside PostgreSQL numeric's range"),
    ("score", "1e-20000", "outside PostgreSQL numeric's range"),
]
TYPED = {"title_text": "string", "seen_at": "datetime", "seen_on": "date", "score": "number"}


def test_one_record_per_hostile_value_is_rejected_by_field_while_the_rest_lands(
    airflow_db, hubspot, warehouse, sync_config
):
    sync_config(
        {
            "dag_defaults": {"retries": 0},
            "thresholds": {"max_reject_share": 1.0},  # every record read here is hostile
            "objects": {"contacts": {"properties": TYPED}},
        }
    )
    hubspot.seed(companies=5, contacts=60, deals=5)
    ids = sorted(sandbox_records(hubspot, "contacts"))
    with hubspot.http() as http:
        _create_string_properties(http, "contacts", [*TYPED, "free_text"])
        relabelled = http.patch("/crm/v3/properties/contacts/free_text", json={"label": "Free\u0000text"})
        assert relabelled.status_code == 200, relabelled.text

        def write(targets):
            inputs = [
                {
                    "id": str(record_id),
                    "properties": {name: value, "score": "7" if name != "score" else value},
                }
                for record_id, (name, value, _) in targets.items()
            ]
            assert (
                http.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs}).status_code == 200
            )

        full_load = dict(zip(ids[: len(HOSTILE_VALUES)], HOSTILE_VALUES, strict=True))
        write(full_load)
        first = run_extract(objects=["contacts"])
        assert first.state == "success"
        # The same values again, on other records, through the incremental (search) path.
        incremental = dict(zip(ids[-len(HOSTILE_VALUES) :], HOSTILE_VALUES, strict=True))
        write(incremental)
        cursor_before = cursor_positions(warehouse)["contacts"]
        second = run_extract(objects=["contacts"])
        assert second.state == "success"

    assert cursor_positions(warehouse)["contacts"] > cursor_before
    assert set(warehouse_records(warehouse, "contacts")) == set(ids)  # every record landed
    with psycopg.connect(warehouse) as conn:
        # The second run re-reads the first run's records too: they fall inside the search lookback. A
        # record refused again stays one row, counted again, with the run that saw it last.
        counts = dict(conn.execute("SELECT record_id::bigint, count FROM hubspot_sync.rejects").fetchall())
        assert counts == {
            record_id: 2 if record_id in full_load else 1 for record_id in {**full_load, **incremental}
        }
        for run, targets in ((second, {**full_load, **incremental}),):
            rejects = conn.execute(
                "SELECT record_id, field, reason FROM hubspot_sync.rejects WHERE run_id = %s", (run.run_id,)
            ).fetchall()
            assert {(int(record_id), field) for record_id, field, _ in rejects} == {
                (record_id, name) for record_id, (name, _, _) in targets.items()
            }
            for record_id, field, reason in rejects:
                name, value, expected = targets[int(record_id)]
                assert expected in reason, (field, reason)
                assert value.replace("\u0000", "") not in reason
            for record_id, (name, value, _) in targets.items():
                row = conn.execute(
                    "SELECT properties ->> %s, properties ->> 'score', score, title_text, seen_at, seen_on "
                    "FROM hubspot.contacts WHERE id = %s",
                    (name, record_id),
                ).fetchone()
                stored, score_text, score, title_text, seen_at, seen_on = row
                assert stored == value.replace("\u0000", "")  # what PostgreSQL can hold is kept
                typed = {"title_text": title_text, "seen_at": seen_at, "seen_on": seen_on, "score": score}
                if name == "title_text":
                    assert title_text == "CEOx"
                elif name in typed:
                    assert typed[name] is None
                if name != "score":  # the record's other fields landed
                    assert (score_text, score) == ("7", 7)
        label = conn.execute(
            "SELECT label FROM hubspot_sync.property_catalog "
            "WHERE object_type = 'contacts' AND name = 'free_text'"
        ).fetchone()[0]
    assert label == "Freetext"  # a property definition cannot stall the run either
    summary = task_summaries(warehouse, second.run_id)["extract_contacts"][1]
    assert summary["mode"] == "incremental"


def test_a_type_changed_in_the_configuration_retypes_the_column_and_the_run_goes_on(
    airflow_db, hubspot, warehouse, sync_config
):
    def configure(properties):
        sync_config(
            {
                "dag_defaults": {"retries": 0},
                "thresholds": {"max_reject_share": 1.0},
                "objects": {"contacts": {"properties": properties}},
            }
        )

    def column_types():
        with psycopg.connect(warehouse) as conn:
            return dict(
                conn.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'hubspot' AND table_name = 'contacts' "
                    "AND column_name IN ('plan_size', 'plan_code')"
                ).fetchall()
            )

    configure({"plan_size": "number", "plan_code": "string"})
    hubspot.seed(companies=5, contacts=40, deals=5)
    ids = sorted(sandbox_records(hubspot, "contacts"))
    with hubspot.http() as http:
        _create_string_properties(http, "contacts", ["plan_size", "plan_code"])
        values = [
            {
                "id": str(record_id),
                "properties": {"plan_size": f"{n}.5", "plan_code": "42" if n % 2 else "gold"},
            }
            for n, record_id in enumerate(ids[:10])
        ]
        assert http.post("/crm/v3/objects/contacts/batch/update", json={"inputs": values}).status_code == 200
    assert run_extract(objects=["contacts"]).state == "success"
    assert column_types() == {"plan_size": "numeric", "plan_code": "text"}

    configure({"plan_size": "string", "plan_code": "number"})  # both directions at once
    second = run_extract(objects=["contacts"])
    assert second.state == "success"
    assert column_types() == {"plan_size": "text", "plan_code": "numeric"}
    with psycopg.connect(warehouse) as conn:
        stored = {
            record_id: (size, code)
            for record_id, size, code in conn.execute("SELECT id, plan_size, plan_code FROM hubspot.contacts")
        }
        rejects = conn.execute(
            "SELECT record_id, field, reason FROM hubspot_sync.rejects WHERE run_id = %s", (second.run_id,)
        ).fetchall()
    for n, record_id in enumerate(ids[:10]):
        assert stored[record_id] == (f"{n}.5", 42 if n % 2 else None)
    assert all(stored[record_id] == (None, None) for record_id in ids[10:])
    gold = {str(record_id) for n, record_id in enumerate(ids[:10]) if not n % 2}
    assert {record_id for record_id, field, _ in rejects if field == "plan_code"} == gold
    assert all(
        "not a number for a number column" in reason for _, field, reason in rejects if field == "plan_code"
    )
    notes = task_summaries(warehouse, second.run_id)["extract_contacts"][1]["drift"]["configuration"]
    assert (
        "hubspot.contacts.plan_size changed from numeric to text as configured: 10 values refilled"
        in " ".join(notes)
    )
    assert any(
        "plan_code changed from text to numeric as configured: 5 values refilled from properties, 5 rejected"
        in n
        for n in notes
    )


def test_a_column_postgresql_will_not_retype_fails_the_run_once_saying_how_to_migrate(
    airflow_db, hubspot, warehouse, webhook, sync_config
):
    sync_config(
        {"dag_defaults": {"retries": 0}, "objects": {"contacts": {"properties": {"plan_size": "number"}}}}
    )
    hubspot.seed(companies=5, contacts=20, deals=5)
    with hubspot.http() as http:
        _create_string_properties(http, "contacts", ["plan_size"])
    assert run_extract(objects=["contacts"]).state == "success"
    with psycopg.connect(warehouse) as conn:
        conn.execute("CREATE VIEW public.plan_sizes AS SELECT id, plan_size FROM hubspot.contacts")

    sync_config(
        {
            "dag_defaults": {"retries": 2, "retry_delay_seconds": 1},
            "objects": {"contacts": {"properties": {"plan_size": "string"}}},
        }
    )
    refused = run_extract(objects=["contacts"])
    assert refused.state == "failed"
    alerts = [json.loads(request["body"]) for request in webhook]
    failures = [alert for alert in alerts if alert["event"] in ("task_failure", "task_retry")]
    assert [alert["event"] for alert in failures] == ["task_failure"]  # final: a retry cannot fix it
    message = failures[0]["exception"]
    assert "hubspot.contacts.plan_size is numeric but configured as string (text)" in message
    assert "ALTER TABLE hubspot.contacts ALTER COLUMN plan_size TYPE text" in message
    with psycopg.connect(warehouse) as conn:
        assert conn.execute("SELECT count(*) FROM public.plan_sizes").fetchone()[0] == 20  # nothing half-done
