"""Basic CRM object endpoints driven through the official SDK (so every answer must deserialize)."""

from __future__ import annotations

import httpx
import pytest
from hubspot.crm.objects import SimplePublicObjectInput, SimplePublicObjectInputForCreate
from hubspot.crm.objects.exceptions import NotFoundException

from tests.sandbox.conftest import OBJECT_TYPES, assert_hubspot_error

SAMPLE_PROPERTIES = {
    "contacts": {"email": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace"},
    "companies": {"name": "Analytical Engines", "domain": "engines.example"},
    "deals": {
        "dealname": "Big deal",
        "amount": "1200.50",
        "dealstage": "qualifiedtobuy",
        "pipeline": "default",
    },
    "tickets": {"subject": "Broken", "hs_pipeline": "0", "hs_pipeline_stage": "1"},
    "line_items": {"name": "Seat", "price": "10", "quantity": "3"},
}
LAST_MODIFIED = {t: "hs_lastmodifieddate" for t in OBJECT_TYPES} | {"contacts": "lastmodifieddate"}


@pytest.mark.parametrize("object_type", OBJECT_TYPES)
def test_create_get_update_archive_through_the_sdk(sdk, object_type):
    api = sdk.crm.objects.basic_api
    created = api.create(
        object_type, SimplePublicObjectInputForCreate(properties=SAMPLE_PROPERTIES[object_type])
    )
    assert created.id.isdigit()
    assert created.properties["hs_object_id"] == created.id
    assert created.properties["createdate"] == created.properties[LAST_MODIFIED[object_type]]
    assert created.archived is False

    fetched = api.get_by_id(object_type, created.id, properties=list(SAMPLE_PROPERTIES[object_type]))
    for name, value in SAMPLE_PROPERTIES[object_type].items():
        expected = "1200.5" if value == "1200.50" else value
        assert fetched.properties[name] == expected

    first_key = next(iter(SAMPLE_PROPERTIES[object_type]))
    new_value = "ada2@example.com" if first_key == "email" else "Renamed"
    updated = api.update(object_type, created.id, SimplePublicObjectInput(properties={first_key: new_value}))
    assert updated.properties[first_key] == new_value
    assert updated.updated_at > created.updated_at
    assert updated.properties[LAST_MODIFIED[object_type]] > created.properties[LAST_MODIFIED[object_type]]

    api.archive(object_type, created.id)
    with pytest.raises(NotFoundException):
        api.get_by_id(object_type, created.id)
    archived = api.get_by_id(object_type, created.id, archived=True)
    assert archived.archived is True
    assert archived.archived_at is not None


def test_default_properties_and_nulls_for_unset_requested_ones(sdk):
    created = sdk.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "grace@example.com"})
    )
    got = sdk.crm.contacts.basic_api.get_by_id(created.id)
    assert set(got.properties) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }
    assert got.properties["firstname"] is None
    only = sdk.crm.contacts.basic_api.get_by_id(created.id, properties=["email", "no_such_property"])
    assert set(only.properties) == {"email"}


def test_get_by_unique_id_property(sdk):
    created = sdk.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "Linus@Example.com"})
    )
    found = sdk.crm.contacts.basic_api.get_by_id("linus@example.com", id_property="email")
    assert found.id == created.id
    assert found.properties["email"] == "linus@example.com"


def test_duplicate_contact_email_is_a_409_conflict(sdk, http):
    sdk.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "dup@example.com"})
    )
    response = http.post("/crm/v3/objects/contacts", json={"properties": {"email": "DUP@example.com"}})
    body = assert_hubspot_error(response, 409, "CONFLICT")
    assert body["message"].startswith("Contact already exists. Existing ID: ")


@pytest.mark.parametrize("separator", ["repeated", "comma"])
def test_list_pages_visit_every_record_exactly_once(hubspot, http, separator):
    hubspot.seed(contacts=257, associations=False)
    params: dict = {"limit": 100}
    params["properties"] = ["email", "firstname"] if separator == "repeated" else "email,firstname"
    seen: list[str] = []
    after = None
    while True:
        response = http.get(
            "/crm/v3/objects/contacts", params={**params, **({"after": after} if after else {})}
        )
        assert response.status_code == 200
        body = response.json()
        seen.extend(r["id"] for r in body["results"])
        assert all(set(r["properties"]) == {"email", "firstname"} for r in body["results"])
        if "paging" not in body:
            break
        after = body["paging"]["next"]["after"]
        link = body["paging"]["next"]["link"]
        assert link.startswith(hubspot.url)
        assert f"after={after}" in link
    assert len(seen) == 257 == len(set(seen))
    assert seen == sorted(seen, key=int)


def test_list_pages_can_come_highest_id_first(hubspot, http):
    hubspot.seed(contacts=25, associations=False)
    hubspot.set_config(listPageOrder="reversed")
    first = http.get("/crm/v3/objects/contacts", params={"limit": 10}).json()
    second = http.get(first["paging"]["next"]["link"]).json()
    first_ids = [int(r["id"]) for r in first["results"]]
    second_ids = [int(r["id"]) for r in second["results"]]
    assert first_ids == sorted(first_ids, reverse=True)
    assert max(first_ids) < min(second_ids)  # the pages themselves still go up
    assert http.put("/_sandbox/config", json={"listPageOrder": "random"}).status_code == 400
    hubspot.reset()
    assert hubspot.control("GET", "config")["listPageOrder"] == "id"


def test_next_link_can_be_followed_as_given(hubspot, http):
    hubspot.seed(companies=15, associations=False)
    first = http.get("/crm/v3/objects/companies", params={"limit": 10}).json()
    second = http.get(first["paging"]["next"]["link"]).json()
    assert len(second["results"]) == 5
    assert "paging" not in second


def test_sdk_get_page_with_history_and_associations(hubspot, sdk):
    hubspot.seed(companies=3, contacts=5)
    contact_id = sdk.crm.contacts.basic_api.get_page(limit=1).results[0].id
    sdk.crm.contacts.basic_api.update(
        contact_id, SimplePublicObjectInput(properties={"firstname": "Changed"})
    )
    page = sdk.crm.contacts.basic_api.get_page(
        limit=50, properties=["firstname"], properties_with_history=["firstname"], associations=["companies"]
    )
    record = next(r for r in page.results if r.id == contact_id)
    history = record.properties_with_history["firstname"]
    assert history[0].value == "Changed"
    assert len(history) == 2
    assert history[0].source_type == "INTEGRATION"
    assert history[1].source_type == "IMPORT"
    company_links = record.associations["companies"].results
    assert {a.type for a in company_links} <= {"contact_to_company", "contact_to_company_unlabeled"}


def test_list_limits(http):
    assert_hubspot_error(http.get("/crm/v3/objects/contacts", params={"limit": 101}), 400, "VALIDATION_ERROR")
    assert http.get("/crm/v3/objects/contacts", params={"limit": 100}).status_code == 200
    history = {"limit": 51, "propertiesWithHistory": "email"}
    assert_hubspot_error(http.get("/crm/v3/objects/contacts", params=history), 400, "VALIDATION_ERROR")
    assert_hubspot_error(
        http.get("/crm/v3/objects/contacts", params={"after": "%%%"}), 400, "VALIDATION_ERROR"
    )


def test_archived_listing_returns_only_archived(hubspot, sdk):
    hubspot.seed(deals=4, associations=False)
    ids = [r.id for r in sdk.crm.deals.basic_api.get_page(limit=10).results]
    sdk.crm.deals.basic_api.archive(ids[0])
    archived = sdk.crm.deals.basic_api.get_page(limit=10, archived=True).results
    assert [r.id for r in archived] == [ids[0]]
    assert archived[0].archived is True
    assert [r.id for r in sdk.crm.deals.basic_api.get_page(limit=10).results] == ids[1:]


def test_archive_of_missing_record_is_204(http):
    assert http.delete("/crm/v3/objects/contacts/424242").status_code == 204


def test_object_type_aliases(sdk, http):
    created = http.post("/crm/v3/objects/0-1", json={"properties": {"email": "alias@example.com"}})
    assert created.status_code == 201
    assert http.get(f"/crm/v3/objects/contact/{created.json()['id']}").status_code == 200


def test_unknown_record_is_404(http):
    assert_hubspot_error(http.get("/crm/v3/objects/contacts/999999999"), 404, "OBJECT_NOT_FOUND")
    assert_hubspot_error(http.get("/crm/v3/objects/contacts/not-a-number"), 404, "OBJECT_NOT_FOUND")


def test_calculated_properties_follow_their_inputs(sdk):
    item = sdk.crm.line_items.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"name": "Seat", "price": "10", "quantity": "3", "discount": "1"}
        )
    )
    fetched = sdk.crm.line_items.basic_api.get_by_id(item.id, properties=["amount"])
    assert fetched.properties["amount"] == "27"


def test_writes_bump_last_modified_even_within_one_millisecond(sdk):
    created = sdk.crm.companies.basic_api.create(SimplePublicObjectInputForCreate(properties={"name": "A"}))
    stamps = [created.updated_at]
    for value in ("B", "C", "D"):
        stamps.append(
            sdk.crm.companies.basic_api.update(
                created.id, SimplePublicObjectInput(properties={"name": value})
            ).updated_at
        )
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 4


def test_raw_wire_shapes(hubspot, http):
    hubspot.seed(contacts=1, associations=False)
    record = http.get("/crm/v3/objects/contacts").json()["results"][0]
    assert isinstance(record["id"], str)
    assert record["createdAt"].endswith("Z")
    assert len(record["createdAt"]) == 24
    assert all(v is None or isinstance(v, str) for v in record["properties"].values())
    assert isinstance(httpx.get(f"{hubspot.url}/_sandbox/health").json()["records"], dict)


def test_update_by_unique_id_property_through_the_sdk(sdk):
    created = sdk.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "by@example.com"})
    )
    updated = sdk.crm.contacts.basic_api.update(
        "by@example.com", SimplePublicObjectInput(properties={"lastname": "Email"}), id_property="email"
    )
    assert updated.id == created.id
    assert updated.properties["lastname"] == "Email"
