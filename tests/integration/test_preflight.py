"""First deployment: `python -m hubspot_sync preflight` and `create-properties` against the sandbox and a
fresh warehouse, and the reverse-ETL DAG failing once, without retries, saying what the preflight says.
"""

from __future__ import annotations

import json

import httpx
import psycopg
import pytest

from hubspot_sandbox.testing import run_sandbox
from hubspot_sync.__main__ import main
from hubspot_sync.preflight import property_body
from tests.dags import test_reverse_etl_dag as reverse_etl_dag

pytestmark = pytest.mark.integration

# The example models' source tables, empty: the shape their queries need.
APP_TABLES = """
CREATE SCHEMA app;
CREATE TABLE app.product_usage (email text, events_30d int, active_days_30d int, last_seen_at timestamptz);
CREATE TABLE app.support_tickets (company_id bigint, severity text, status text, opened_at timestamptz);
CREATE TABLE app.invoices (deal_id bigint, paid_at timestamptz, due_date date);
"""


def preflight(capsys, *args: str) -> tuple[int, str]:
    code = main([*args])
    return code, capsys.readouterr().out


def deal_property(hubspot, name: str) -> httpx.Response:
    with hubspot.http() as http:
        return http.get(f"/crm/v3/properties/deals/{name}")


def test_a_fresh_deployment_is_told_what_to_create_and_creates_the_properties(hubspot, warehouse, capsys):
    code, out = preflight(capsys, "preflight")

    assert code == 1
    assert "ok    warehouse: connection 'postgres_default' opens" in out
    assert "ok    HubSpot: the token holds every scope" in out
    for model, table in [
        ("contact_usage_score", "product_usage"),
        ("company_churn_risk", "support_tickets"),
        ("deal_billing_status", "invoices"),
    ]:
        assert f"FIX   model {model} (" in out
        assert f'a source table is missing from the warehouse (relation "app.{table}" does not exist)' in out
    assert (
        "FIX   model deal_billing_status (deals): property billing_status does not exist on deals: "
        "`python -m hubspot_sync create-properties --apply` creates it as enumeration (select) in group "
        "dealinformation with options active, past_due, cancelled"
    ) in out

    code, out = preflight(capsys, "create-properties")
    assert code == 0
    assert "deals.billing_status: enumeration (select)" in out
    assert deal_property(hubspot, "billing_status").status_code == 404  # a dry run creates nothing

    code, out = preflight(capsys, "create-properties", "--apply")
    assert code == 0
    assert "created deals.billing_status" in out
    created = deal_property(hubspot, "billing_status").json()
    assert (created["type"], created["fieldType"], created["groupName"]) == (
        "enumeration",
        "select",
        "dealinformation",
    )
    assert [option["value"] for option in created["options"]] == ["active", "past_due", "cancelled"]

    with psycopg.connect(warehouse) as conn:
        conn.execute(APP_TABLES)
    code, out = preflight(capsys, "preflight")
    assert code == 0, out
    assert "FIX" not in out
    assert "Ready: every check passed." in out
    assert preflight(capsys, "create-properties") == (0, "No property to create.\n")


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (
            "reader",
            "FIX   HubSpot: the private app lacks the scopes crm.objects.companies.write, "
            "crm.objects.contacts.write, crm.objects.deals.write: add them",
        ),
        ("not-a-token", "FIX   HubSpot: HubSpot properties.get_all refused: HTTP 401"),
    ],
    ids=["missing_write_scopes", "invalid_token"],
)
def test_scopes_and_tokens_are_named(warehouse, monkeypatch, capsys, token, expected):
    reads = [
        f"crm.{kind}.{name}.read"
        for kind in ("objects", "schemas")
        for name in ("contacts", "companies", "deals")
    ]
    with run_sandbox(scoped_tokens={"reader": reads}) as hubspot:
        connection = {"conn_type": "http", "host": hubspot.url, "password": token}
        monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(connection))
        code, out = preflight(capsys, "preflight")
        assert hubspot.sandbox.table("contacts").live == {}  # the write probe wrote nothing
    assert code == 1
    assert expected in out
    assert token not in out or token == "reader"


@pytest.mark.parametrize(
    ("pg_type", "expected"),
    [
        ("int4", "number"),
        ("numeric", "number"),
        ("timestamptz", "datetime"),
        ("date", "date"),
        ("text", "string"),
    ],
)
def test_a_property_without_a_declaration_takes_its_type_from_the_query_column(pg_type, expected):
    body = property_body("contacts", "seats_used", None, pg_type)
    assert (body["type"], body["label"], body["groupName"]) == (expected, "Seats used", "contactinformation")


def test_a_column_of_no_hubspot_type_leaves_the_property_to_be_declared():
    assert property_body("contacts", "profile", None, "jsonb") is None
    flag = property_body("contacts", "is_trial", None, "bool")
    assert (flag["type"], flag["fieldType"]) == ("bool", "booleancheckbox")
    assert [option["value"] for option in flag["options"]] == ["true", "false"]


def test_reverse_etl_on_a_fresh_deployment_fails_once_per_model_saying_what_is_missing(
    airflow_db, hubspot, warehouse, webhook, sync_config
):
    sync_config({"dag_defaults": {"retries": 2, "retry_delay_seconds": 1}})

    dag_run, states = reverse_etl_dag.run_dag()

    assert dag_run.state == "failed"
    assert states == {
        "migrate": "success",
        "push_contact_usage_score": "failed",
        "push_company_churn_risk": "failed",
        "push_deal_billing_status": "failed",
    }
    alerts = [json.loads(request["body"]) for request in webhook]
    task_alerts = [alert for alert in alerts if alert["event"] in ("task_failure", "task_retry")]
    assert sorted(alert["event"] for alert in task_alerts) == ["task_failure"] * 3  # no retry
    for alert in task_alerts:
        assert "a source table is missing from the warehouse" in alert["exception"]
        assert "python -m hubspot_sync preflight" in alert["exception"]
    assert hubspot.stats()["total"] == 0


def test_a_two_way_field_missing_in_hubspot_is_named(hubspot, warehouse, sync_config, capsys):
    extra = {
        "properties": {"favourite_colour": "string"},
        "two_way": {"fields": {"favourite_colour": "default"}},
    }
    sync_config({"objects": {"contacts": extra}})

    code, out = preflight(capsys, "preflight")

    assert code == 1
    assert (
        "FIX   two-way fields of contacts: favourite_colour do not exist in HubSpot: create them there" in out
    )
    assert "ok    two-way fields of deals: dealstage exist and are writable" in out
