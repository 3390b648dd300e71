"""CRM search: operators, caps, sorting, paging, the 10,000 cap, archived records and index lag."""

from __future__ import annotations

import time

import pytest
from hubspot.crm.contacts import PublicObjectSearchRequest, SimplePublicObjectInputForCreate

from tests.sandbox.conftest import assert_hubspot_error

SEARCH = "/crm/v3/objects/contacts/search"


def _contact(http, **properties) -> str:
    response = http.post("/crm/v3/objects/contacts", json={"properties": properties})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _ids(http, filters, **extra) -> list[str]:
    body = {"filterGroups": [{"filters": filters}], "limit": 200, **extra}
    response = http.post(SEARCH, json=body)
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["results"]]


@pytest.fixture
def people(http) -> dict[str, str]:
    return {
        "ada": _contact(
            http,
            email="ada@analytical.org",
            firstname="Ada",
            usage_score="90",
            interests="analytics;security",
            is_vip="true",
            signup_date="2024-03-01",
            customer_tier="gold",
        ),
        "alan": _contact(
            http,
            email="alan@bletchley.uk",
            firstname="Alan",
            usage_score="45",
            interests="automation",
            is_vip="false",
            signup_date="2024-06-15",
            customer_tier="silver",
        ),
        "grace": _contact(http, email="grace@navy.mil", firstname="Grace", usage_score="70"),
    }


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"propertyName": "firstname", "operator": "EQ", "value": "ada"}, {"ada"}),
        ({"propertyName": "firstname", "operator": "NEQ", "value": "Ada"}, {"alan", "grace"}),
        ({"propertyName": "usage_score", "operator": "LT", "value": "70"}, {"alan"}),
        ({"propertyName": "usage_score", "operator": "LTE", "value": "70"}, {"alan", "grace"}),
        ({"propertyName": "usage_score", "operator": "GT", "value": "70"}, {"ada"}),
        ({"propertyName": "usage_score", "operator": "GTE", "value": "70"}, {"ada", "grace"}),
        (
            {"propertyName": "usage_score", "operator": "BETWEEN", "value": "40", "highValue": "75"},
            {"alan", "grace"},
        ),
        ({"propertyName": "customer_tier", "operator": "IN", "values": ["gold", "platinum"]}, {"ada"}),
        ({"propertyName": "customer_tier", "operator": "NOT_IN", "values": ["gold"]}, {"alan", "grace"}),
        ({"propertyName": "customer_tier", "operator": "HAS_PROPERTY"}, {"ada", "alan"}),
        ({"propertyName": "customer_tier", "operator": "NOT_HAS_PROPERTY"}, {"grace"}),
        ({"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*.uk"}, {"alan"}),
        ({"propertyName": "email", "operator": "NOT_CONTAINS_TOKEN", "value": "*.uk"}, {"ada", "grace"}),
        ({"propertyName": "interests", "operator": "EQ", "value": "security"}, {"ada"}),
        (
            {"propertyName": "interests", "operator": "IN", "values": ["automation", "security"]},
            {"ada", "alan"},
        ),
        ({"propertyName": "is_vip", "operator": "EQ", "value": "true"}, {"ada"}),
        ({"propertyName": "signup_date", "operator": "GTE", "value": "1714521600000"}, {"alan"}),
    ],
)
def test_every_operator(http, people, flt, expected):
    names = {v: k for k, v in people.items()}
    assert {names[i] for i in _ids(http, [flt])} == expected


def test_groups_are_ored_and_filters_anded(http, people):
    body = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "firstname", "operator": "EQ", "value": "Ada"},
                    {"propertyName": "usage_score", "operator": "GT", "value": "95"},
                ]
            },
            {"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "Grace"}]},
        ]
    }
    response = http.post(SEARCH, json=body).json()
    assert [r["id"] for r in response["results"]] == [people["grace"]]


@pytest.mark.parametrize(
    ("groups", "filters_per_group"),
    [(6, 1), (1, 7), (4, 5)],  # too many groups, too many in one group, 20 > 18 in all
)
def test_filter_caps(http, groups, filters_per_group):
    flt = {"propertyName": "firstname", "operator": "HAS_PROPERTY"}
    body = {"filterGroups": [{"filters": [flt] * filters_per_group} for _ in range(groups)]}
    assert_hubspot_error(http.post(SEARCH, json=body), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "body",
    [
        {"limit": 201},
        {"limit": "ten"},
        {"after": "abc"},
        {"sorts": ["firstname", "lastname"]},
        {"filterGroups": [{"filters": [{"propertyName": "nope", "operator": "EQ", "value": "1"}]}]},
        {"filterGroups": [{"filters": [{"propertyName": "firstname", "operator": "LIKE", "value": "1"}]}]},
        {"filterGroups": [{"filters": [{"propertyName": "firstname", "operator": "IN"}]}]},
        {"filterGroups": "nope"},
    ],
)
def test_invalid_search_requests(http, body):
    assert_hubspot_error(http.post(SEARCH, json=body), 400, "VALIDATION_ERROR")


def test_sdk_search_and_sort_orders(hubspot, sdk):
    hubspot.seed(contacts=60, associations=False)
    request = PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}],
        sorts=["-lastmodifieddate"],
        properties=["lastmodifieddate", "usage_score"],
        limit=200,
    )
    result = sdk.crm.contacts.search_api.do_search(public_object_search_request=request)
    assert result.total == 60
    stamps = [r.properties["lastmodifieddate"] for r in result.results]
    assert stamps == sorted(stamps, reverse=True)
    by_score = sdk.crm.contacts.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(
            sorts=[{"propertyName": "usage_score", "direction": "ASCENDING"}],
            properties=["usage_score"],
            limit=100,
        )
    )
    scores = [float(r.properties["usage_score"]) for r in by_score.results]
    assert scores == sorted(scores)
    default_order = sdk.crm.contacts.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(limit=100)
    )
    assert [r.id for r in default_order.results] == sorted((r.id for r in default_order.results), key=int)


def test_search_paging_visits_each_record_once_in_order(hubspot, http):
    hubspot.seed(contacts=650, associations=False)
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}
        ],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["lastmodifieddate"],
        "limit": 200,
    }
    seen, stamps = [], []
    after = None
    while True:
        page = http.post(SEARCH, json={**body, **({"after": after} if after else {})}).json()
        assert page["total"] == 650
        seen += [r["id"] for r in page["results"]]
        stamps += [r["properties"]["lastmodifieddate"] for r in page["results"]]
        if "paging" not in page:
            break
        after = page["paging"]["next"]["after"]
        assert after.isdigit()
    assert len(seen) == 650 == len(set(seen))
    assert stamps == sorted(stamps)


def test_ten_thousand_result_cap(hubspot, http):
    hubspot.seed(contacts=10_050, associations=False)
    body = {"limit": 200, "sorts": ["hs_object_id"]}
    last = http.post(SEARCH, json={**body, "after": "9800"}).json()
    assert last["total"] == 10_050
    assert len(last["results"]) == 200
    assert last["paging"]["next"]["after"] == "10000"  # HubSpot hands out the cursor, then refuses it
    assert_hubspot_error(http.post(SEARCH, json={**body, "after": "10000"}), 400, "VALIDATION_ERROR")
    clipped = http.post(SEARCH, json={**body, "after": "9900"}).json()
    assert len(clipped["results"]) == 100


def test_tie_break_on_object_id_when_many_records_share_a_millisecond(hubspot, http):
    hubspot.seed(contacts=450, associations=False)
    stamp = 1_750_000_000_000
    hubspot.bulk_touch("contacts", count=450, timestampMs=stamp)
    seen: list[str] = []
    last_id = "0"
    while True:
        body = {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "lastmodifieddate", "operator": "EQ", "value": str(stamp)},
                        {"propertyName": "hs_object_id", "operator": "GT", "value": last_id},
                    ]
                },
                {"filters": [{"propertyName": "lastmodifieddate", "operator": "GT", "value": str(stamp)}]},
            ],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            "limit": 200,
        }
        page = http.post(SEARCH, json=body).json()
        if not page["results"]:
            break
        seen += [r["id"] for r in page["results"]]
        last_id = seen[-1]
    assert len(seen) == 450 == len(set(seen))
    assert seen == sorted(seen, key=int)


def test_archived_and_merged_records_never_appear(http, people):
    http.delete(f"/crm/v3/objects/contacts/{people['alan']}")
    http.post(
        "/crm/v3/objects/contacts/merge",
        json={"primaryObjectId": people["ada"], "objectIdToMerge": people["grace"]},
    )
    found = http.post(SEARCH, json={"limit": 100}).json()
    assert [r["id"] for r in found["results"]] == [people["ada"]]


def test_index_lag_hides_fresh_writes_until_it_passes(hubspot, sdk, http):
    hubspot.set_config(searchLagMs=300)
    created = sdk.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "lag@example.com"})
    )
    assert http.post(SEARCH, json={}).json()["total"] == 0
    assert sdk.crm.contacts.basic_api.get_by_id(created.id).id == created.id  # reads are not lagged
    time.sleep(0.4)
    assert http.post(SEARCH, json={}).json()["total"] == 1
    http.patch(f"/crm/v3/objects/contacts/{created.id}", json={"properties": {"firstname": "Later"}})
    eq_later = [{"propertyName": "firstname", "operator": "EQ", "value": "Later"}]
    assert _ids(http, eq_later) == []  # the old version is still what search sees
    time.sleep(0.4)
    assert _ids(http, eq_later) == [created.id]


def test_free_text_query(http, people):
    response = http.post(SEARCH, json={"query": "bletchley"}).json()
    assert [r["id"] for r in response["results"]] == [people["alan"]]


@pytest.mark.parametrize("object_type", ["companies", "deals", "tickets", "line_items"])
def test_sdk_search_for_every_other_type_uses_hs_lastmodifieddate(hubspot, sdk, object_type):
    hubspot.seed(**{object_type: 30}, associations=False)
    request = PublicObjectSearchRequest(
        filter_groups=[
            {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GT", "value": "0"}]}
        ],
        sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}],
        limit=10,
    )
    page = sdk.crm.objects.search_api.do_search(object_type, public_object_search_request=request)
    assert page.total == 30
    assert page.paging.next.after == "10"
    stamps = [r.updated_at for r in page.results]
    assert stamps == sorted(stamps, reverse=True)
