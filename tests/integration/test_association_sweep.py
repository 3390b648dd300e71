"""Associations through hubspot_extract: inline full loads, paging, the rolling sweep, the idle cost."""

import time

import psycopg
import pytest

from hubspot_sync.extract.associations import extract_associations
from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.objects import ASSOCIATION_TYPES
from hubspot_sync.run_metrics import RunSummary
from tests.integration.mirror import sandbox_records
from tests.integration.test_extract_dag import run_extract, task_summaries

pytestmark = pytest.mark.integration
BATCH_READ = "POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read"
LIST = "GET /crm/v3/objects/{objectType}"
SEARCH = "POST /crm/v3/objects/{objectType}/search"
PROPERTIES = "GET /crm/v3/properties/{objectType}"
READ_INPUTS = 1_000  # source records a v4 association batch read takes
HOUR_MS = 3_600_000


def _create(http, object_type: str, properties: list[dict]) -> list[int]:
    ids = []
    for start in range(0, len(properties), 100):
        inputs = [{"properties": p} for p in properties[start : start + 100]]
        response = http.post(f"/crm/v3/objects/{object_type}/batch/create", json={"inputs": inputs})
        assert response.status_code == 201, response.text
        ids += [int(record["id"]) for record in response.json()["results"]]
    return sorted(ids)


def _associate(http, from_type: str, from_id: int, contacts: list[int]) -> None:
    for start in range(0, len(contacts), 1000):
        links = [{"from": {"id": str(from_id)}, "to": {"id": str(c)}} for c in contacts[start : start + 1000]]
        response = http.post(
            f"/crm/v4/associations/{from_type}/contacts/batch/associate/default", json={"inputs": links}
        )
        assert response.status_code == 200, response.text


CONTACT_COMPANY = next(a for a in ASSOCIATION_TYPES if a.table == "contact_company_associations")


def _linked(url: str, table: str, column: str, key: str, record_id: int) -> set[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"SELECT {column} FROM hubspot.{table} WHERE {key} = %s", (record_id,))
        return {row[0] for row in rows}


def test_records_with_more_associations_than_a_page_land_whole(airflow_db, hubspot, warehouse, sync_config):
    # Every record's associations read every run: the removals below change no record.
    sync_config({"dag_defaults": {"retries": 0}, "thresholds": {"association_sweep_hours": 0}})
    hubspot.seed(companies=5, contacts=50, deals=10)
    with hubspot.http() as http:
        (company,) = _create(http, "companies", [{"name": "Many contacts"}])
        (deal,) = _create(http, "deals", [{"dealname": "Many contacts"}])
        contacts = _create(http, "contacts", [{"email": f"big{i}@example.org"} for i in range(1_050)])
        _associate(http, "companies", company, contacts)
        _associate(http, "deals", deal, contacts)  # 1,050 contacts: 100 inline, then three v4 pages of 500
    hubspot.reset_stats()
    first = run_extract()
    assert first.state == "success"
    assert _linked(warehouse, "deal_contact_associations", "contact_id", "deal_id", deal) == set(contacts)
    assert _linked(warehouse, "contact_company_associations", "contact_id", "company_id", company) == set(
        contacts
    )
    # The full load reads associations inline with the records: one list page per 100 records; only the
    # deal with more than its inline page is read again, by v4 batch read (its first page and two more).
    endpoints = hubspot.stats()["byEndpoint"]
    assert endpoints[LIST] == sum(-(-n // 100) + 1 for n in (5 + 1, 50 + 1_050, 10 + 1))  # + archive page
    assert endpoints[BATCH_READ] == 3

    gone = [contacts[3], contacts[700], contacts[-1]]
    with hubspot.http() as http:
        for contact in gone:
            response = http.delete(f"/crm/v4/objects/deals/{deal}/associations/contacts/{contact}")
            assert response.status_code == 204, response.text
    hubspot.reset_stats()
    second = run_extract()
    assert second.state == "success"
    remaining = set(contacts) - set(gone)
    assert _linked(warehouse, "deal_contact_associations", "contact_id", "deal_id", deal) == remaining
    details = task_summaries(warehouse, second.run_id)["extract_associations"][1]
    assert details["deal_contact_associations"]["paged_sources"] == 1
    assert details["deal_contact_associations"]["failed_sources"] == 0
    # The whole sweep: one call per 1,000 live source records and association type, plus the deal's pages.
    live = {"contacts": 50 + 1_050, "deals": 10 + 1}
    assert (
        hubspot.stats()["byEndpoint"][BATCH_READ]
        == -(-live["contacts"] // READ_INPUTS) + 2 * -(-live["deals"] // READ_INPUTS) + 2
    )


def test_an_association_only_change_is_caught_within_one_sweep_period(airflow_db, hubspot, warehouse):
    """Runs every quarter of an hour with a one-hour period: each reads a slice, and a change HubSpot
    made without touching the record is in the mirror by the end of the hour, not before the sweep
    reaches it."""
    hubspot.seed(companies=5, contacts=3_500, deals=5)
    assert run_extract().state == "success"  # the full load, associations inline
    contacts = sorted(sandbox_records(hubspot, "contacts"))
    company = sorted(sandbox_records(hubspot, "companies"))[0]
    last = contacts[-1]  # the sweep reaches it last
    assert company not in _linked(warehouse, "contact_company_associations", "company_id", "contact_id", last)
    with hubspot.http() as http:
        response = http.put(f"/crm/v4/objects/contacts/{last}/associations/default/companies/{company}")
        assert response.status_code == 200, response.text

    start_ms = int(time.time() * 1000)
    swept = []
    hook = HubSpotHook(budget_conn_factory=lambda: psycopg.connect(warehouse))
    with psycopg.connect(warehouse, autocommit=True) as conn:
        for quarter in range(5):
            summary = RunSummary("associations")
            now_ms = start_ms + quarter * HOUR_MS // 4
            extract_associations(
                hook, conn, [CONTACT_COMPANY], summary, f"run-{quarter}", HOUR_MS, now_ms=now_ms
            )
            swept.append(summary.details["contact_company_associations"]["swept_sources"])
            linked = _linked(warehouse, "contact_company_associations", "company_id", "contact_id", last)
            assert (company in linked) == (quarter == 4), quarter
    hook.close()
    # The first run starts the clock; then each quarter owes 875 records, read 1,000 a call.
    assert swept == [0, 0, 1_000, 1_000, 1_500]
    assert sum(swept) == 3_500


def test_a_run_with_nothing_changed_costs_a_handful_of_calls(airflow_db, hubspot, warehouse, sync_config):
    sync_config({"dag_defaults": {"retries": 0}})
    hubspot.seed(companies=30, contacts=400, deals=60)
    assert run_extract().state == "success"
    hubspot.reset_stats()
    idle = run_extract()
    assert idle.state == "success"
    calls = hubspot.stats()["byEndpoint"]
    # Per object type: its properties, one search, one archive page; the sweep owes less than a batch.
    assert calls == {PROPERTIES: 3, SEARCH: 3, LIST: 3}, calls
