"""The control API (reset, seed, bulk last-modified, stats, config) and the command line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from hubspot_sandbox.seed import parse_counts
from hubspot_sandbox.testing import sandbox_process
from tests.sandbox.conftest import assert_hubspot_error

ROOT = Path(__file__).resolve().parents[2]


def _snapshot(http) -> list[dict]:
    records = []
    for object_type in ("companies", "contacts", "deals"):
        params = {
            "limit": 100,
            "properties": "email,name,dealname,amount,interests,domain",
            "associations": "companies",
        }
        records += http.get(f"/crm/v3/objects/{object_type}", params=params).json()["results"]
    return records


def test_seed_is_deterministic_for_a_seed_number(hubspot, http):
    counts = {"companies": 10, "contacts": 40, "deals": 15}
    hubspot.seed(seed_number=42, **counts)
    first = _snapshot(http)
    hubspot.reset()
    hubspot.seed(seed_number=42, **counts)
    assert _snapshot(http) == first
    hubspot.reset()
    hubspot.seed(seed_number=43, **counts)
    assert _snapshot(http) != first


def test_seeded_data_is_realistic_and_within_the_fixed_epoch(hubspot, sdk):
    result = hubspot.seed(companies=5, contacts=30, deals=10, tickets=5, line_items=5)
    assert result["created"] == {"companies": 5, "contacts": 30, "deals": 10, "tickets": 5, "line_items": 5}
    contacts = sdk.crm.contacts.basic_api.get_page(
        limit=100, properties=["email", "lifecyclestage", "interests"], associations=["companies"]
    ).results
    for contact in contacts:
        assert "@" in contact.properties["email"]
        assert contact.properties["lifecyclestage"]
        assert contact.created_at.year == 2024
        assert contact.updated_at >= contact.created_at
    assert sum(1 for c in contacts if c.associations) >= 20
    deals = sdk.crm.deals.basic_api.get_page(limit=100, properties=["amount", "dealstage"]).results
    assert all(float(d.properties["amount"]) > 0 for d in deals)


def test_dirty_share(hubspot, http):
    hubspot.seed(contacts=300, dirty_share=0.5, associations=False)
    records = http.get(
        "/crm/v3/objects/contacts", params={"limit": 100, "properties": "email,firstname"}
    ).json()
    dirty = [
        r
        for r in records["results"]
        if "@@" in r["properties"]["email"]
        or r["properties"]["email"] != r["properties"]["email"].lower()
        or r["properties"]["firstname"] != r["properties"]["firstname"].strip()
    ]
    assert 20 < len(dirty) < 80


def test_bulk_touch_gives_one_identical_millisecond(hubspot, http):
    hubspot.seed(contacts=120, associations=False)
    touched = hubspot.bulk_touch(
        "contacts", count=100, timestampMs=1_760_000_000_000, properties={"is_vip": "true"}
    )
    assert touched["count"] == 100
    flt = [{"propertyName": "lastmodifieddate", "operator": "EQ", "value": "1760000000000"}]
    found = http.post(
        "/crm/v3/objects/contacts/search", json={"filterGroups": [{"filters": flt}], "limit": 1}
    ).json()
    assert found["total"] == 100
    by_ids = hubspot.bulk_touch("contacts", ids=[touched["firstId"]])
    assert by_ids["count"] == 1
    assert (
        http.get(f"/crm/v3/objects/contacts/{touched['firstId']}").json()["updatedAt"]
        > "2025-10-09T08:53:20.000Z"
    )


def test_stats_by_template_status_and_reset(hubspot, http):
    http.get("/crm/v3/objects/contacts")
    http.get("/crm/v3/objects/companies/1")
    http.post("/crm/v3/objects/deals/search", json={})
    stats = hubspot.stats()
    assert stats["byEndpoint"] == {
        "GET /crm/v3/objects/{objectType}": 1,
        "GET /crm/v3/objects/{objectType}/{objectId}": 1,
        "POST /crm/v3/objects/{objectType}/search": 1,
    }
    assert stats["byStatus"] == {"200": 2, "404": 1}
    assert stats["total"] == 3
    hubspot.reset_stats()
    assert hubspot.stats()["total"] == 0


def test_reset_empties_everything(hubspot, http):
    hubspot.seed(contacts=5)
    http.post(
        "/crm/v3/properties/contacts",
        json={"name": "tmp", "label": "T", "type": "string", "fieldType": "text", "groupName": "g"},
    )
    hubspot.reset()
    assert http.get("/crm/v3/objects/contacts").json()["results"] == []
    assert_hubspot_error(http.get("/crm/v3/properties/contacts/tmp"), 404)


def test_reset_can_seed_in_the_same_call(hubspot, http):
    hubspot.control("POST", "reset", {"seed": {"contacts": 3, "seed": 1}})
    assert len(http.get("/crm/v3/objects/contacts").json()["results"]) == 3


@pytest.mark.parametrize("body", [{"contacts": -1}, {"widgets": 3}, {"contacts": 1, "dirtyShare": 3}])
def test_invalid_seed_requests(hubspot, body):
    assert_hubspot_error(httpx.post(f"{hubspot.url}/_sandbox/seed", json=body), 400, "VALIDATION_ERROR")


def test_parse_seed_flag():
    assert parse_counts("contacts=10,companies=2") == {"contacts": 10, "companies": 2}
    with pytest.raises(ValueError, match="bad seed entry"):
        parse_counts("contacts=ten")


def test_command_line_flags():
    flags = ("--seed", "contacts=20,companies=3,deals=2", "--rate-limit", "starter", "--search-lag-ms", "5")
    with sandbox_process(*flags, token="cli-token", output=subprocess.DEVNULL) as server:
        assert server.health["records"]["contacts"] == 20
        response = httpx.get(
            f"{server.url}/crm/v3/objects/contacts", headers={"Authorization": "Bearer cli-token"}
        )
        assert response.status_code == 200
        assert response.headers["X-HubSpot-RateLimit-Max"] == "100"
        assert httpx.get(f"{server.url}/_sandbox/config").json()["searchLagMs"] == 5


def _search_ids(http, filters: list[dict]) -> list[str]:
    body = {"filterGroups": [{"filters": filters}], "limit": 100}
    return [r["id"] for r in http.post("/crm/v3/objects/contacts/search", json=body).json()["results"]]


def _by_name(name: str) -> list[dict]:
    return [{"propertyName": "firstname", "operator": "EQ", "value": name}]


@pytest.mark.parametrize("touch", [False, True])
@pytest.mark.parametrize("reach_search", [False, True])
def test_drift_a_sync_can_miss(hubspot, http, touch, reach_search):
    # Search results trail writes and may miss them (https://developers.hubspot.com/docs/api/crm/search), and
    # not every change to a value moves last-modified: drift an incremental sync cannot see and
    # reconciliation exists to catch. History still records the change.
    created = http.post("/crm/v3/objects/contacts", json={"properties": {"firstname": "Ada"}}).json()
    contact_id, before = created["id"], created["updatedAt"]
    drifted = hubspot.control(
        "POST",
        "drift",
        {
            "objectType": "contacts",
            "id": contact_id,
            "properties": {"firstname": "Drifted"},
            "touchLastModified": touch,
            "reachSearch": reach_search,
        },
    )
    assert drifted["propertiesWithHistory"]["firstname"][0]["sourceType"] == "MIGRATION"
    record = http.get(
        f"/crm/v3/objects/contacts/{contact_id}", params={"properties": "firstname,lastmodifieddate"}
    ).json()
    assert record["properties"]["firstname"] == "Drifted"
    assert (record["updatedAt"] > before) is touch
    assert record["properties"]["lastmodifieddate"] == record["updatedAt"]
    assert _search_ids(http, _by_name("Drifted")) == ([contact_id] if reach_search else [])
    assert _search_ids(http, _by_name("Ada")) == ([] if reach_search else [contact_id])
    changed_since = [{"propertyName": "lastmodifieddate", "operator": "GT", "value": before}]
    assert _search_ids(http, changed_since) == ([contact_id] if touch and reach_search else [])

    # The next ordinary write brings search up to date with everything.
    http.patch(f"/crm/v3/objects/contacts/{contact_id}", json={"properties": {"lastname": "L"}})
    assert _search_ids(http, _by_name("Drifted")) == [contact_id]
    assert _search_ids(http, _by_name("Ada")) == []
    assert _search_ids(http, changed_since) == [contact_id]


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"touchLastModified": "false"}, 400, "true or false"),
        ({"reachSearch": 0}, 400, "true or false"),
        ({"id": "999999"}, 404, "999999"),
        ({"objectType": "widgets"}, 400, "widgets"),
        ({"properties": {"firstname": 5, "no_such": "x"}}, 400, "no_such"),
    ],
)
def test_invalid_drift_requests(hubspot, http, body, status, reason):
    created = http.post("/crm/v3/objects/contacts", json={"properties": {"firstname": "Ada"}}).json()
    request = {"objectType": "contacts", "id": created["id"], "properties": {"firstname": "B"}, **body}
    error = assert_hubspot_error(httpx.post(f"{hubspot.url}/_sandbox/drift", json=request), status)
    assert reason in error["message"]
    assert http.get(f"/crm/v3/objects/contacts/{created['id']}").json()["properties"]["firstname"] == "Ada"
