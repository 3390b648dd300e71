"""Re-reading an old window (a backfill or a `since` run) never puts an older version over a newer one."""

import calendar
import time

import psycopg
import pytest

from tests.integration.test_extract_dag import run_extract

pytestmark = pytest.mark.integration


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def warehouse_row(url: str, record_id: int):
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT properties ->> 'jobtitle', updated_at, xmin::text FROM hubspot.contacts WHERE id = %s",
            (record_id,),
        ).fetchone()


def test_an_old_window_served_by_a_lagging_index_keeps_the_newer_row(
    airflow_db, hubspot, warehouse, sync_config
):
    sync_config({"dag_defaults": {"retries": 0}})
    hubspot.seed(companies=5, contacts=50, deals=5, associations=False)
    record_id = min(int(record.id) for record in hubspot.sandbox.table("contacts"))
    with hubspot.http() as http:
        patch = f"/crm/v3/objects/contacts/{record_id}"
        older = http.patch(patch, json={"properties": {"jobtitle": "Older title"}}).json()
        # The next write reaches the search index only after a minute, as HubSpot's index lags:
        # until then search serves the older version while the list API serves the newer one.
        hubspot.set_config(searchLagMs=60_000)
        newer = http.patch(patch, json={"properties": {"jobtitle": "Newer title"}}).json()
    older_ms = calendar.timegm(time.strptime(older["updatedAt"][:19], "%Y-%m-%dT%H:%M:%S")) * 1000
    assert newer["updatedAt"] > older["updatedAt"]

    assert run_extract(full_refresh=True).state == "success"
    title, updated_at, version = warehouse_row(warehouse, record_id)
    assert title == "Newer title"

    # The older version's window, read again through search: its version of the record is older.
    rerun = run_extract(since=iso(older_ms - 60_000))
    assert rerun.state == "success"
    with hubspot.http() as http:
        seen = http.post(
            "/crm/v3/objects/contacts/search",
            json={
                "filterGroups": [
                    {"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": str(record_id)}]}
                ],
                "properties": ["jobtitle"],
            },
        ).json()["results"]
    assert [hit["properties"]["jobtitle"] for hit in seen] == ["Older title"], "the index should still lag"
    assert warehouse_row(warehouse, record_id) == (title, updated_at, version)
