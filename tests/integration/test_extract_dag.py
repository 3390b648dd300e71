"""hubspot_extract end to end: the sandbox over HTTP, real PostgreSQL, the real Airflow runtime."""

import json
import time

import psycopg
import pytest

from hubspot_sync.config import load_config
from tests.integration.killing import exists, kill_when
from tests.integration.mirror import (
    sandbox_associations,
    sandbox_records,
    sandbox_typed,
    warehouse_associations,
    warehouse_records,
    warehouse_typed,
)

pytestmark = pytest.mark.integration
OBJECTS = ("companies", "contacts", "deals")
MIRROR_TABLES = (
    "contacts",
    "companies",
    "deals",
    "contact_company_associations",
    "deal_contact_associations",
    "deal_company_associations",
)


def run_extract(**params):
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.test_dag_integrity import DAGS_DIR

    bag = DagBag(dag_folder=str(DAGS_DIR / "hubspot_extract.py"), safe_mode=False)
    assert bag.import_errors == {}
    return bag.dags["hubspot_extract"].test(run_conf=params or None)


def assert_mirror_equal(hubspot, url):
    config = load_config()
    for object_type in OBJECTS:
        assert warehouse_records(url, object_type) == sandbox_records(hubspot, object_type), object_type
        typed = config.objects[object_type].properties
        assert warehouse_typed(url, object_type, typed) == sandbox_typed(hubspot, object_type, typed), (
            object_type
        )
        archived_ids = set(sandbox_records(hubspot, object_type, archived=True))
        assert archived_ids <= set(warehouse_records(url, object_type, archived=True)), object_type
    live = {object_type: sorted(sandbox_records(hubspot, object_type)) for object_type in OBJECTS}
    assert warehouse_associations(url) == sandbox_associations(hubspot, live)


def row_versions(url):
    """(table, id) -> xmin: any rewrite of a row, even with identical values, changes it."""
    with psycopg.connect(url) as conn:
        versions = {}
        for table in MIRROR_TABLES:
            for row in conn.execute(f"SELECT xmin::text, * FROM hubspot.{table}"):
                versions[(table, row[1:3] if "associations" in table else row[1])] = row[0]
        return versions


def cursor_positions(url):
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT object_type, cursor_ms FROM hubspot_sync.cursors").fetchall())


def task_summaries(url, run_id):
    with psycopg.connect(url) as conn:
        return {
            task_id: (status, details)
            for task_id, status, details in conn.execute(
                "SELECT task_id, status, details FROM hubspot_sync.run_metrics WHERE run_id = %s", (run_id,)
            )
        }


@pytest.fixture
def no_retries(sync_config):
    # Every association read every run: the association-only changes below are seen by the next run.
    sync_config({"dag_defaults": {"retries": 0}, "thresholds": {"association_sweep_hours": 0}})


def make_changes(hubspot):
    """Everything a day in a CRM does, through the public API; returns ids worth checking."""
    with hubspot.http() as http:
        contacts = sorted(sandbox_records(hubspot, "contacts"))
        companies = sorted(sandbox_records(hubspot, "companies"))
        deals = sorted(sandbox_records(hubspot, "deals"))
        updates = [{"id": str(i), "properties": {"firstname": f"Renamed{i}"}} for i in contacts[:250]]
        for start in range(0, len(updates), 100):
            http.post("/crm/v3/objects/contacts/batch/update", json={"inputs": updates[start : start + 100]})
        created = http.post(
            "/crm/v3/objects/contacts/batch/create",
            json={
                "inputs": [
                    {"properties": {"email": f"new{i}@example.org", "firstname": "New"}} for i in range(40)
                ]
            },
        )
        assert created.status_code == 201, created.text
        http.post(
            "/crm/v3/objects/contacts/batch/archive",
            json={"inputs": [{"id": str(i)} for i in contacts[300:320]]},
        )
        http.post(
            "/crm/v3/objects/deals/batch/archive", json={"inputs": [{"id": str(i)} for i in deals[:10]]}
        )
        # A merge leaves a new record with a new id in place of both: (survivor, primary, merged).
        merges = []
        for object_type, primary, merged in (
            ("contacts", contacts[400], contacts[401]),
            ("contacts", contacts[402], contacts[403]),
            ("companies", companies[10], companies[11]),
        ):
            response = http.post(
                f"/crm/v3/objects/{object_type}/merge",
                json={"primaryObjectId": str(primary), "objectIdToMerge": str(merged)},
            )
            assert response.status_code == 200, response.text
            merges.append((object_type, int(response.json()["id"]), primary, merged))
        # Association changes do not bump last-modified: only the sweep can see them.
        for contact in contacts[500:520]:
            http.put(f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{companies[50]}")
        removed = 0
        for contact in contacts[600:700]:
            links = http.get(f"/crm/v4/objects/contacts/{contact}/associations/companies").json()["results"]
            for link in links:
                http.delete(f"/crm/v4/objects/contacts/{contact}/associations/companies/{link['toObjectId']}")
                removed += 1
        assert removed > 0
        new_property = http.post(
            "/crm/v3/properties/contacts",
            json={
                "name": "nps_score",
                "label": "NPS score",
                "type": "number",
                "fieldType": "number",
                "groupName": "contactinformation",
            },
        )
        assert new_property.status_code == 201, new_property.text
        scored = [{"id": str(i), "properties": {"nps_score": str(i % 11)}} for i in contacts[700:800]]
        http.post("/crm/v3/objects/contacts/batch/update", json={"inputs": scored})
    touched = hubspot.bulk_touch("contacts", count=12_000, properties={"hs_lead_status": "OPEN"})
    assert touched["count"] == 12_000
    return {"merges": merges}


def test_extract_mirrors_then_converges_on_every_kind_of_change(airflow_db, hubspot, warehouse, no_retries):
    hubspot.seed(companies=1_000, contacts=12_500, deals=2_000)
    first = run_extract()
    assert first.state == "success"
    assert_mirror_equal(hubspot, warehouse)
    summaries = task_summaries(warehouse, first.run_id)
    assert {status for status, _ in summaries.values()} == {"success"}
    assert summaries["extract_contacts"][1]["mode"] == "full_load"

    checks = make_changes(hubspot)
    second = run_extract()
    assert second.state == "success"
    assert_mirror_equal(hubspot, warehouse)
    contacts_summary = task_summaries(warehouse, second.run_id)["extract_contacts"][1]
    assert contacts_summary["mode"] == "incremental"
    assert contacts_summary["drift"]["added"] == ["nps_score"]
    with psycopg.connect(warehouse) as conn:
        for object_type, survivor, *merged in checks["merges"]:
            rows = conn.execute(
                f"SELECT merged_into_id, archived FROM hubspot.{object_type} WHERE id = ANY(%s)", (merged,)
            )
            assert rows.fetchall() == [(survivor, True)] * 2
        catalog = conn.execute(
            "SELECT type FROM hubspot_sync.property_catalog "
            "WHERE object_type = 'contacts' AND name = 'nps_score'"
        ).fetchone()
        assert catalog == ("number",)

    # The same window again: nothing in the mirror is rewritten, not even with identical values,
    # and the cursors do not move back.
    before = row_versions(warehouse)
    cursors = cursor_positions(warehouse)
    since = contacts_summary["window_start_ms"] + 10 * 60_000
    rerun = run_extract(since=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since / 1000)))
    assert rerun.state == "success"
    assert row_versions(warehouse) == before
    assert all(cursor_positions(warehouse)[name] >= position for name, position in cursors.items())


def test_killed_mid_object_then_rerun_converges_without_duplicates(
    airflow_db, hubspot, warehouse, no_retries
):
    hubspot.seed(companies=200, contacts=6_000, deals=300)
    # Slow list pages down so the kill lands inside the contacts full load.
    hubspot.set_faults(
        {"latencyMs": 40, "latencyRate": 1.0, "endpoints": ["GET /crm/v3/objects/{objectType}"]}
    )

    def a_contacts_page_landed(conn):
        return exists(conn, "hubspot_sync.cursors") and bool(
            (
                conn.execute(
                    "SELECT list_after FROM hubspot_sync.cursors WHERE object_type = 'contacts'"
                ).fetchone()
                or [None]
            )[0]
        )

    kill_when(
        "hubspot_extract",
        warehouse,
        a_contacts_page_landed,
        within=120,
        what="the contacts full load never committed a batch",
    )
    with psycopg.connect(warehouse) as conn:
        partial = conn.execute("SELECT count(*) FROM hubspot.contacts").fetchone()[0]
    assert 0 < partial < 6_000

    hubspot.clear_faults()
    hubspot.reset_stats()
    rerun = run_extract()
    assert rerun.state == "success"
    list_calls = hubspot.stats()["byEndpoint"].get("GET /crm/v3/objects/{objectType}", 0)
    assert_mirror_equal(hubspot, warehouse)
    summary = task_summaries(warehouse, rerun.run_id)["extract_contacts"][1]
    assert summary["mode"] == "full_load_resumed"
    with psycopg.connect(warehouse) as conn:
        killed = conn.execute(
            "SELECT task_id, status FROM hubspot_sync.run_metrics WHERE run_id <> %s", (rerun.run_id,)
        ).fetchall()
    assert ("extract_contacts", "abandoned") in killed  # noticed by the rerun, not left 'running'
    assert all(status != "running" for _, status in killed)
    # Resumed, not restarted: the pages already landed are not read again.
    assert list_calls <= (6_000 - partial) // 100 + 2 + 300 // 100 + 1 + 3


def test_converges_when_a_tenth_of_requests_fail(airflow_db, hubspot, warehouse, no_retries):
    hubspot.seed(companies=500, contacts=10_000, deals=1_000)
    hubspot.set_faults(
        {"errorRate": 0.07, "statuses": [429, 500, 502, 503, 504], "dropRate": 0.03, "seed": 7}
    )
    first = run_extract()
    assert first.state == "success"
    injected = sum(hubspot.stats()["faultsInjected"].values())
    hubspot.clear_faults()
    assert_mirror_equal(hubspot, warehouse)
    with psycopg.connect(warehouse) as conn:
        retries = conn.execute(
            "SELECT sum((details->>'retries')::int) FROM hubspot_sync.run_metrics WHERE run_id = %s",
            (first.run_id,),
        ).fetchone()[0]
    assert injected >= 5
    assert retries >= injected  # every injected failure was retried


def test_daily_limit_fails_the_task_once_with_one_alert(airflow_db, hubspot, warehouse, webhook, sync_config):
    sync_config({"dag_defaults": {"retries": 2, "retry_delay_seconds": 1}})
    hubspot.seed(companies=50, contacts=100, deals=20)
    hubspot.set_limits(tier="starter", dailyUsed=250_000)
    dag_run = run_extract()
    assert dag_run.state == "failed"
    alerts = [json.loads(request["body"]) for request in webhook]
    task_alerts = [alert for alert in alerts if alert["event"] in ("task_failure", "task_retry")]
    # The object types run at once: each fails once, without a retry.
    assert sorted((alert["task_id"], alert["event"]) for alert in task_alerts) == [
        (f"extract_{object_type}", "task_failure") for object_type in sorted(OBJECTS)
    ]
    for alert in task_alerts:
        assert "daily API limit" in alert["exception"]
        assert "resets at midnight" in alert["exception"]
    assert [alert["event"] for alert in alerts].count("dag_failure") == 1
    assert hubspot.stats()["rateLimited"].get("DAILY", 0) == len(OBJECTS)
    # The failed try's summary counts the call and the 429 that stopped it.
    summary = task_summaries(warehouse, dag_run.run_id)["extract_companies"]
    with psycopg.connect(warehouse) as conn:
        counted = conn.execute(
            "SELECT status, api_calls, rate_limited_calls FROM hubspot_sync.run_metrics "
            "WHERE run_id = %s AND task_id = 'extract_companies'",
            (dag_run.run_id,),
        ).fetchone()
    assert summary[0] == "failed"
    assert counted[0] == "failed"
    assert counted[1] >= 1
    assert counted[2] == 1


def test_spaced_sweeps_refresh_the_records_a_run_changed(airflow_db, hubspot, warehouse, sync_config):
    thresholds = {"association_sweep_hours": 1, "archive_sweep_minutes": 60}
    sync_config({"dag_defaults": {"retries": 0}, "thresholds": thresholds})
    hubspot.seed(companies=20, contacts=300, deals=30)
    assert run_extract().state == "success"
    contacts = sorted(sandbox_records(hubspot, "contacts"))
    company = sorted(sandbox_records(hubspot, "companies"))[0]
    untouched, edited = contacts[10], contacts[11]
    with hubspot.http() as http:
        for contact in (untouched, edited):
            http.put(f"/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}")
        http.patch(f"/crm/v3/objects/contacts/{edited}", json={"properties": {"firstname": "Edited"}})
        http.delete(f"/crm/v3/objects/contacts/{contacts[20]}")
    second = run_extract()
    assert second.state == "success"
    summaries = task_summaries(warehouse, second.run_id)
    assert summaries["extract_associations"][1]["full_sweep"] is False
    assert summaries["extract_contacts"][1]["archived_read"] is None  # the archive is read hourly here
    assert contacts[20] in warehouse_records(warehouse, "contacts")
    with psycopg.connect(warehouse) as conn:
        linked = {
            row[0]
            for row in conn.execute(
                "SELECT contact_id FROM hubspot.contact_company_associations WHERE company_id = %s",
                (company,),
            )
        }
    assert edited in linked
    assert untouched not in linked  # until the rolling sweep reaches it, within the hour
