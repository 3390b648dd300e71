"""Merges and permanent deletions through hubspot_extract, and the landing rules that keep merges right.

HubSpot gives the record a merge leaves a new id and lists the ids it replaced in `hs_merged_object_ids`
(https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies; deals:
https://developers.hubspot.com/changelog/announcement-deals-now-support-merging).
"""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from hubspot_sync.extract import store
from hubspot_sync.migrations import apply_migrations
from hubspot_sync.objects import ASSOCIATION_TYPES
from hubspot_sync.records import Row
from tests.integration.mirror import sandbox_records, warehouse_associations
from tests.integration.test_extract_dag import assert_mirror_equal, run_extract

pytestmark = pytest.mark.integration


def _merge(hubspot, object_type: str, primary: int, secondary: int) -> int:
    with hubspot.http() as http:
        response = http.post(
            f"/crm/v3/objects/{object_type}/merge",
            json={"primaryObjectId": str(primary), "objectIdToMerge": str(secondary)},
        )
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


def _merge_state(url: str, object_type: str, ids: list[int]) -> dict[int, tuple[int | None, bool]]:
    query = sql.SQL("SELECT id, merged_into_id, archived FROM {} WHERE id = ANY(%s)").format(
        sql.Identifier("hubspot", object_type)
    )
    with psycopg.connect(url) as conn:
        return {row[0]: (row[1], row[2]) for row in conn.execute(query, (ids,))}


def _association_rows_naming(url: str, object_type: str, ids: list[int]) -> set[tuple[str, int, int]]:
    found = set()
    for table, pairs in warehouse_associations(url).items():
        association = next(a for a in ASSOCIATION_TYPES if a.table == table)
        for from_id, to_id, _ in pairs:
            if (association.from_type == object_type and from_id in ids) or (
                association.to_type == object_type and to_id in ids
            ):
                found.add((table, from_id, to_id))
    return found


@pytest.mark.parametrize("object_type", ["contacts", "companies", "deals"])
@pytest.mark.parametrize("sweep_minutes", [0, 60], ids=["full-sweeps", "spaced-sweeps"])
def test_merges_into_new_records_and_merge_chains_land_as_hubspot_has_them(
    airflow_db, hubspot, warehouse, sync_config, object_type, sweep_minutes
):
    # With spaced sweeps, runs between full sweeps still re-read the associations of records linked to
    # one merged away: HubSpot moved those to the new record.
    sync_config(
        {"dag_defaults": {"retries": 0}, "thresholds": {"association_sweep_hours": sweep_minutes / 60}}
    )
    hubspot.seed(companies=20, contacts=80, deals=30)
    assert run_extract().state == "success"
    a, b, d = sorted(sandbox_records(hubspot, object_type))[:3]
    assert _association_rows_naming(warehouse, object_type, [a, b])  # there are associations to move

    c = _merge(hubspot, object_type, a, b)
    assert run_extract().state == "success"
    assert_mirror_equal(hubspot, warehouse)  # C's row and associations as HubSpot has them
    assert _merge_state(warehouse, object_type, [a, b, c]) == {a: (c, True), b: (c, True), c: (None, False)}
    assert _association_rows_naming(warehouse, object_type, [a, b]) == set()

    e = _merge(hubspot, object_type, c, d)
    assert run_extract().state == "success"
    assert_mirror_equal(hubspot, warehouse)
    assert _merge_state(warehouse, object_type, [a, b, c, d, e]) == {
        a: (e, True),
        b: (e, True),
        c: (e, True),
        d: (e, True),
        e: (None, False),
    }
    assert _association_rows_naming(warehouse, object_type, [a, b, c, d]) == set()
    assert _association_rows_naming(warehouse, object_type, [e])


def test_records_deleted_for_good_do_not_stop_a_run(airflow_db, hubspot, warehouse, sync_config):
    # A GDPR deletion and the recycle bin's 90-day purge leave no trace HubSpot reports; the run goes on,
    # and finding what it still holds is reconciliation's job. The association sweep (here every record
    # every run) drops the deleted record's associations.
    sync_config({"dag_defaults": {"retries": 0}, "thresholds": {"association_sweep_hours": 0}})
    hubspot.seed(companies=10, contacts=40, deals=20)
    contacts = sorted(sandbox_records(hubspot, "contacts"))
    deals = sorted(sandbox_records(hubspot, "deals"))
    with hubspot.http() as http:
        http.delete(f"/crm/v3/objects/deals/{deals[0]}")
    assert run_extract().state == "success"
    assert _merge_state(warehouse, "deals", [deals[0]]) == {deals[0]: (None, True)}
    erased = contacts[0]
    assert _association_rows_naming(warehouse, "contacts", [erased])

    with hubspot.http() as http:
        response = http.post("/crm/v3/objects/contacts/gdpr-delete", json={"objectId": str(erased)})
        assert response.status_code == 204, response.text
    hubspot.control("POST", "purge-archived", {"olderThanDays": 0})
    assert run_extract().state == "success"
    assert _association_rows_naming(warehouse, "contacts", [erased]) == set()
    assert erased in _merge_state(warehouse, "contacts", [erased])  # still held: reconciliation removes it
    assert _merge_state(warehouse, "deals", [deals[0]]) == {deals[0]: (None, True)}


@pytest.fixture
def conn(fresh_db):
    with psycopg.connect(fresh_db, autocommit=True) as connection:
        apply_migrations(connection)
        yield connection


def _row(record_id: int, minute: int, merged_ids: tuple[int, ...] = ()) -> Row:
    return Row(
        id=record_id,
        updated_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minute),
        created_at=None,
        archived=False,
        archived_at=None,
        properties={"name": f"v{minute}"},
        typed={},
        merged_ids=list(merged_ids),
    )


def _land(conn, rows: list[Row]) -> None:
    with conn.transaction():
        store.upsert_rows(conn, "companies", rows, [], "run")
        store.mark_merged(conn, "companies", rows, "run")


def test_an_old_version_of_a_merged_record_changes_nothing(conn, fresh_db):
    # A lagging search index can still return C after C was merged into E: C stays merged, and its old
    # list of merged ids does not pull A and B back from E.
    _land(conn, [_row(1, 0), _row(2, 0)])
    _land(conn, [_row(3, 1, (1, 2))])  # A and B into C
    _land(conn, [_row(4, 1), _row(5, 2, (1, 2, 3, 4))])  # C and D into E
    expected = {1: (5, True), 2: (5, True), 3: (5, True), 4: (5, True), 5: (None, False)}
    assert _merge_state(fresh_db, "companies", list(expected)) == expected
    for batch in ([_row(3, 1, (1, 2))], [_row(5, 2, (1, 2, 3, 4)), _row(3, 1, (1, 2))]):
        _land(conn, batch)
        assert _merge_state(fresh_db, "companies", list(expected)) == expected
