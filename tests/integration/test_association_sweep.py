"""The association sweep through hubspot_extract: records with more associations than HubSpot's page."""

import psycopg
import pytest

from tests.integration.test_extract_dag import run_extract, task_summaries

pytestmark = pytest.mark.integration
BATCH_READ = "POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read"


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


def _linked(url: str, table: str, column: str, key: str, record_id: int) -> set[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"SELECT {column} FROM hubspot.{table} WHERE {key} = %s", (record_id,))
        return {row[0] for row in rows}


def test_records_with_more_associations_than_a_page_land_whole(airflow_db, hubspot, warehouse, sync_config):
    sync_config({"dag_defaults": {"retries": 0}})
    hubspot.seed(companies=5, contacts=50, deals=10)
    with hubspot.http() as http:
        (company,) = _create(http, "companies", [{"name": "Many contacts"}])
        (deal,) = _create(http, "deals", [{"dealname": "Many contacts"}])
        contacts = _create(http, "contacts", [{"email": f"big{i}@example.org"} for i in range(1_050)])
        _associate(http, "companies", company, contacts)
        _associate(http, "deals", deal, contacts)  # 1,050 contacts: three pages of HubSpot's 500
    hubspot.reset_stats()
    first = run_extract()
    assert first.state == "success"
    assert _linked(warehouse, "deal_contact_associations", "contact_id", "deal_id", deal) == set(contacts)
    assert _linked(warehouse, "contact_company_associations", "contact_id", "company_id", company) == set(
        contacts
    )
    details = task_summaries(warehouse, first.run_id)["extract_associations"][1]
    assert details["deal_contact_associations"]["paged_sources"] == 1
    assert details["deal_contact_associations"]["failed_sources"] == 0
    # One call per 100 source records and association type, plus the deal's two further pages.
    live = {"contacts": 50 + 1_050, "deals": 10 + 1}
    expected_calls = -(-live["contacts"] // 100) + 2 * -(-live["deals"] // 100) + 2
    assert hubspot.stats()["byEndpoint"][BATCH_READ] == expected_calls

    # Removals past the first page are seen too.
    gone = [contacts[3], contacts[700], contacts[-1]]
    with hubspot.http() as http:
        for contact in gone:
            response = http.delete(f"/crm/v4/objects/deals/{deal}/associations/contacts/{contact}")
            assert response.status_code == 204, response.text
    second = run_extract()
    assert second.state == "success"
    remaining = set(contacts) - set(gone)
    assert _linked(warehouse, "deal_contact_associations", "contact_id", "deal_id", deal) == remaining
