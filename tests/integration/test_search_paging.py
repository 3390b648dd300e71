"""ChangedRecords against the sandbox over HTTP: exactly once, past the 10,000 cap, through ties and churn,
with search bodies under HubSpot's 3,000 characters however many properties an account has, and with the
search index lagging writes as HubSpot's does."""

import collections
import json
import time

import psycopg
import pytest

from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.search_paging import MAX_BODY_CHARS, ChangedRecords
from tests.integration.mirror import sandbox_records, warehouse_records
from tests.integration.test_extract_dag import run_extract, task_summaries

pytestmark = pytest.mark.integration
LAST_MODIFIED = "lastmodifieddate"
LONG_NAMES = [f"long_custom_property_name_for_search_bodies_{number:03d}" for number in range(200)]


def pager(hook, start_ms, end_ms, search=None, properties=(LAST_MODIFIED, "email")):
    return ChangedRecords(
        search=search or (lambda request: hook.search("contacts", request)),
        last_modified_property=LAST_MODIFIED,
        start_ms=start_ms,
        end_ms=end_ms,
        properties=list(properties),
    )


def create_long_properties(hubspot) -> None:
    with hubspot.http() as http:
        for name in LONG_NAMES:
            body = {"name": name, "label": name, "type": "string", "fieldType": "text"}
            created = http.post(
                "/crm/v3/properties/contacts", json={**body, "groupName": "contactinformation"}
            )
            assert created.status_code == 201, created.text


def update_contacts(hubspot, ids, properties) -> None:
    with hubspot.http() as http:
        for start in range(0, len(ids), 100):
            inputs = [{"id": str(i), "properties": properties(i)} for i in ids[start : start + 100]]
            response = http.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs})
            assert response.status_code == 200, response.text


def yielded_ids(changed: ChangedRecords) -> collections.Counter:
    return collections.Counter(int(record["id"]) for page in changed.pages() for record in page)


def test_25000_records_sharing_one_millisecond_are_read_once_each(hubspot):
    hubspot.seed(contacts=27_000)
    stamp = int(time.time() * 1000) - 60_000
    touched = hubspot.bulk_touch("contacts", count=25_000, timestampMs=stamp)
    hubspot.bulk_touch(
        "contacts",
        ids=[str(i) for i in range(int(touched["lastId"]) + 1, int(touched["lastId"]) + 501)],
        timestampMs=stamp + 5,
    )
    hook = HubSpotHook()
    changed = pager(hook, stamp - 1_000, stamp + 1_000)
    counts = yielded_ids(changed)
    assert len(counts) == 25_500
    assert set(counts.values()) == {1}
    # Near the minimum of ceil(25,500 / 200) = 128 requests: each tie is read by id once it spans
    # two pages, re-reading those two pages (their order inside a millisecond is not guaranteed).
    assert changed.stats.requests <= 128 + 2 * 3


def test_window_larger_than_the_search_cap_is_read_once_each(hubspot):
    hubspot.seed(contacts=12_000)
    hook = HubSpotHook()
    changed = pager(hook, 0, int(time.time() * 1000))
    counts = yielded_ids(changed)
    assert len(counts) == 12_000
    assert set(counts.values()) == {1}
    assert changed.stats.restarts >= 1
    assert changed.stats.requests <= 60 + 2


def test_records_modified_while_the_window_is_read_are_not_skipped(hubspot):
    hubspot.seed(contacts=3_000)
    hook = HubSpotHook()
    end_ms = int(time.time() * 1000)
    all_ids = sorted(int(i) for i in hubspot.sandbox.tables["contacts"].live)
    calls = {"count": 0}

    def churning_search(request):
        # Between pages, records already read are modified: they leave the window (their new
        # last-modified is after its end) and every later record shifts under offset paging.
        calls["count"] += 1
        if calls["count"] in (3, 6, 9):
            with hubspot.http() as http:
                inputs = [
                    {"id": str(i), "properties": {"jobtitle": f"moved {calls['count']}"}} for i in read[-50:]
                ]
                http.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs})
        return hook.search("contacts", request)

    read: list[int] = []
    changed = pager(hook, 0, end_ms, search=churning_search)
    for page in changed.pages():
        read.extend(int(record["id"]) for record in page)
    assert sorted(set(read)) == all_ids
    assert len(read) == len(all_ids)


def test_a_property_list_too_long_for_a_search_body_is_left_to_batch_read(hubspot):
    hubspot.seed(contacts=500, associations=False)
    create_long_properties(hubspot)
    hook = HubSpotHook()
    body_lengths = []

    def measured_search(request):
        body_lengths.append(len(json.dumps(request)))
        return hook.search("contacts", request)

    short = pager(hook, 0, int(time.time() * 1000), properties=[LAST_MODIFIED, "email"])
    assert short.whole_records
    assert all("email" in record["properties"] for page in short.pages() for record in page)

    long = pager(hook, 0, int(time.time() * 1000), measured_search, [LAST_MODIFIED, *LONG_NAMES])
    assert not long.whole_records
    counts = yielded_ids(long)
    assert len(counts) == 500
    assert set(counts.values()) == {1}
    assert body_lengths
    assert max(body_lengths) <= MAX_BODY_CHARS


def test_an_incremental_run_with_200_long_custom_properties_lands_every_value(
    airflow_db, hubspot, warehouse, sync_config
):
    sync_config({"dag_defaults": {"retries": 0}})
    hubspot.seed(contacts=450, companies=10)
    create_long_properties(hubspot)
    assert run_extract(objects=["contacts"]).state == "success"  # first load: the list API
    changed = sorted(sandbox_records(hubspot, "contacts"))[:300]
    update_contacts(hubspot, changed, lambda i: {name: f"{name[-3:]} of {i}" for name in LONG_NAMES[::7]})
    hubspot.reset_stats()

    second = run_extract(objects=["contacts"])
    assert second.state == "success"
    summary = task_summaries(warehouse, second.run_id)["extract_contacts"][1]
    assert summary["mode"] == "incremental"
    assert summary["search"]["whole_records"] is False
    mirrored = warehouse_records(warehouse, "contacts")
    assert mirrored == sandbox_records(hubspot, "contacts")
    assert mirrored[changed[-1]][LONG_NAMES[-4]] == f"196 of {changed[-1]}"
    assert hubspot.stats()["byStatus"].get("400", 0) == 0  # the sandbox refuses bodies over 3,000


def test_writes_the_index_has_not_seen_yet_are_read_by_the_next_run(
    airflow_db, hubspot, warehouse, sync_config
):
    sync_config({"dag_defaults": {"retries": 0}})
    hubspot.seed(contacts=300, companies=10)
    assert run_extract(objects=["contacts"]).state == "success"
    hubspot.set_config(searchLagMs=1_000, searchLagJitterMs=1_000)
    changed = sorted(sandbox_records(hubspot, "contacts"))[:120]
    update_contacts(hubspot, changed, lambda i: {"jobtitle": f"lagged {i}"})

    assert run_extract(objects=["contacts"]).state == "success"  # right after the writes: may see none
    time.sleep(2.2)  # the longest lag + jitter: a scheduled run comes minutes later
    assert run_extract(objects=["contacts"]).state == "success"
    with psycopg.connect(warehouse) as conn:
        titles = dict(
            conn.execute("SELECT id, jobtitle FROM hubspot.contacts WHERE id = ANY(%s)", (changed,))
        )
    assert titles == {i: f"lagged {i}" for i in changed}
    assert warehouse_records(warehouse, "contacts") == sandbox_records(hubspot, "contacts")
