"""Properties API and per-type validation of written values."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.objects import SimplePublicObjectInputForCreate
from hubspot.crm.properties import PropertyCreate, PropertyUpdate

from hubspot_sandbox.properties import VALID_FIELD_TYPES
from tests.sandbox.conftest import OBJECT_TYPES, assert_hubspot_error


@pytest.mark.parametrize("object_type", OBJECT_TYPES)
def test_every_type_lists_full_property_shapes(sdk, object_type):
    properties = sdk.crm.properties.core_api.get_all(object_type).results
    names = {p.name for p in properties}
    assert {"hs_object_id", "createdate"} <= names
    for prop in properties:
        assert prop.modification_metadata.read_only_value in (True, False)
        assert prop.type in ("string", "number", "bool", "date", "datetime", "enumeration", "phone_number")
        assert prop.created_at is not None


def test_custom_property_lifecycle_between_two_syncs(sdk, http):
    created = sdk.crm.properties.core_api.create(
        "contacts",
        PropertyCreate(
            name="plan_seats",
            label="Plan seats",
            type="number",
            field_type="number",
            group_name="contactinformation",
        ),
    )
    assert created.hubspot_defined is False
    contact = http.post("/crm/v3/objects/contacts", json={"properties": {"plan_seats": "12"}}).json()
    got = http.get(f"/crm/v3/objects/contacts/{contact['id']}", params={"properties": "plan_seats"}).json()
    assert got["properties"]["plan_seats"] == "12"

    updated = sdk.crm.properties.core_api.update(
        "contacts", "plan_seats", PropertyUpdate(label="Seats", type="string", field_type="text")
    )
    assert updated.type == "string"
    assert updated.label == "Seats"
    assert sdk.crm.properties.core_api.get_by_name("contacts", "plan_seats").type == "string"

    sdk.crm.properties.core_api.archive("contacts", "plan_seats")
    assert "plan_seats" not in {p.name for p in sdk.crm.properties.core_api.get_all("contacts").results}
    assert "plan_seats" in {
        p.name for p in sdk.crm.properties.core_api.get_all("contacts", archived=True).results
    }
    gone = http.get(f"/crm/v3/objects/contacts/{contact['id']}", params={"properties": "plan_seats"}).json()
    assert "plan_seats" not in gone["properties"]
    write = http.patch(f"/crm/v3/objects/contacts/{contact['id']}", json={"properties": {"plan_seats": "3"}})
    assert_hubspot_error(write, 400, "VALIDATION_ERROR")


def test_enumeration_property_with_options(sdk, http):
    sdk.crm.properties.core_api.create(
        "deals",
        PropertyCreate(
            name="risk",
            label="Risk",
            type="enumeration",
            field_type="select",
            group_name="dealinformation",
            options=[
                {"label": "Low", "value": "low", "displayOrder": 0, "hidden": False},
                {"label": "High", "value": "high", "displayOrder": 1, "hidden": False},
            ],
        ),
    )
    assert http.post("/crm/v3/objects/deals", json={"properties": {"risk": "high"}}).status_code == 201
    assert_hubspot_error(http.post("/crm/v3/objects/deals", json={"properties": {"risk": "medium"}}), 400)


def test_property_errors(http):
    assert_hubspot_error(http.get("/crm/v3/properties/contacts/nope"), 404, "OBJECT_NOT_FOUND")
    duplicate = {"name": "email", "label": "E", "type": "string", "fieldType": "text", "groupName": "g"}
    assert_hubspot_error(http.post("/crm/v3/properties/contacts", json=duplicate), 409)
    bad_type = {**duplicate, "name": "x", "type": "float"}
    assert_hubspot_error(http.post("/crm/v3/properties/contacts", json=bad_type), 400, "VALIDATION_ERROR")
    assert_hubspot_error(http.delete("/crm/v3/properties/contacts/email"), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("properties", "error_code"),
    [
        ({"no_such_property": "1"}, "PROPERTY_DOESNT_EXIST"),
        ({"hs_object_id": "5"}, "READ_ONLY_VALUE"),
        ({"lastmodifieddate": "2024-01-01T00:00:00.000Z"}, "READ_ONLY_VALUE"),
        ({"usage_score": "twelve"}, "INVALID_FLOAT"),
        ({"is_vip": "yes"}, "INVALID_BOOLEAN"),
        ({"signup_date": "2024-13-01"}, "INVALID_DATE"),
        ({"signup_date": "1704067200001"}, "INVALID_DATE"),  # epoch ms that is not midnight UTC
        ({"last_login_at": "yesterday"}, "INVALID_DATE"),
        ({"customer_tier": "diamond"}, "INVALID_OPTION"),
        ({"interests": "analytics;cooking"}, "INVALID_OPTION"),
        ({"email": "not-an-email"}, "INVALID_EMAIL"),
        ({"firstname": {"nested": True}}, "INVALID_TYPE"),
        ({"firstname": "x" * 65_537}, "MAX_LENGTH_EXCEEDED"),
    ],
)
def test_invalid_values_are_400_validation_errors(http, properties, error_code):
    body = assert_hubspot_error(
        http.post("/crm/v3/objects/contacts", json={"properties": properties}), 400, "VALIDATION_ERROR"
    )
    assert body["message"].startswith("Property values were not valid: ")
    problems = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert problems[0]["error"] == error_code
    assert problems[0]["name"] == next(iter(properties))


@pytest.mark.parametrize(
    ("name", "written", "stored"),
    [
        ("signup_date", "1704067200000", "2024-01-01"),
        ("last_login_at", "1704067200123", "2024-01-01T00:00:00.123Z"),
        ("last_login_at", "2024-01-01T01:00:00+01:00", "2024-01-01T00:00:00.000Z"),
        ("is_vip", "TRUE", "true"),
        ("is_vip", True, "true"),
        ("usage_score", 42, "42"),
        ("usage_score", "1.50", "1.5"),
        ("interests", "security;analytics", "security;analytics"),
    ],
)
def test_values_are_normalised_like_hubspot(sdk, http, name, written, stored):
    created = http.post("/crm/v3/objects/contacts", json={"properties": {name: written}})
    assert created.status_code == 201, created.text
    got = sdk.crm.contacts.basic_api.get_by_id(created.json()["id"], properties=[name])
    assert got.properties[name] == stored


def test_empty_string_clears_a_value(sdk, http):
    created = sdk.crm.objects.basic_api.create(
        "contacts", SimplePublicObjectInputForCreate(properties={"firstname": "A"})
    )
    http.patch(f"/crm/v3/objects/contacts/{created.id}", json={"properties": {"firstname": ""}})
    assert sdk.crm.contacts.basic_api.get_by_id(created.id).properties["firstname"] is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("usage_score", "1e999999"),
        ("usage_score", "NaN"),
        ("last_login_at", "99999999999999999999"),
        ("signup_date", "-99999999999999999999"),
    ],
)
def test_out_of_range_values_are_400_not_500(http, name, value):
    assert_hubspot_error(
        http.post("/crm/v3/objects/contacts", json={"properties": {name: value}}), 400, "VALIDATION_ERROR"
    )


def test_big_integral_numbers_keep_every_digit(sdk, http):
    created = http.post("/crm/v3/objects/companies", json={"properties": {"annualrevenue": "1E+30"}}).json()
    got = sdk.crm.companies.basic_api.get_by_id(created["id"], properties=["annualrevenue"])
    assert got.properties["annualrevenue"] == "1" + "0" * 30


def _contact_with(sdk, **properties: str) -> str:
    return sdk.crm.objects.basic_api.create(
        "contacts", SimplePublicObjectInputForCreate(properties=properties)
    ).id


@pytest.mark.parametrize("write", ["update", "batch_update", "batch_upsert"])
def test_null_does_not_clear_a_value(sdk, http, write):
    # Only "" clears a property; a null value in a write is ignored, single or batch (updating records:
    # https://developers.hubspot.com/docs/api/crm/contacts#update-contacts). A sync that maps NULL to null
    # would silently keep stale values in HubSpot.
    contact_id = _contact_with(sdk, email="ada@example.com", firstname="Ada", lastname="Lovelace")
    values = {"firstname": None, "lastname": "King"}
    if write == "update":
        answer = http.patch(f"/crm/v3/objects/contacts/{contact_id}", json={"properties": values})
    elif write == "batch_update":
        answer = http.post(
            "/crm/v3/objects/contacts/batch/update",
            json={"inputs": [{"id": contact_id, "properties": values}]},
        )
    else:
        upsert = {"id": "ada@example.com", "idProperty": "email", "properties": values}
        answer = http.post("/crm/v3/objects/contacts/batch/upsert", json={"inputs": [upsert]})
    assert answer.status_code == 200, answer.text
    record = sdk.crm.contacts.basic_api.get_by_id(
        contact_id, properties=["firstname", "lastname"], properties_with_history=["firstname"]
    )
    assert record.properties["firstname"] == "Ada"
    assert record.properties["lastname"] == "King"
    assert [entry.value for entry in record.properties_with_history["firstname"]] == ["Ada"]


def test_null_in_a_create_sets_nothing(sdk, http):
    created = http.post("/crm/v3/objects/contacts", json={"properties": {"firstname": None, "lastname": "L"}})
    assert created.status_code == 201, created.text
    assert "firstname" not in created.json()["properties"]
    got = sdk.crm.contacts.basic_api.get_by_id(created.json()["id"], properties=["firstname", "lastname"])
    assert got.properties["firstname"] is None
    assert got.properties["lastname"] == "L"


def _definition(name: str, type_name: str, field_type: str) -> dict:
    body = {"name": name, "label": name, "type": type_name, "fieldType": field_type, "groupName": "g"}
    if type_name == "enumeration":
        body["options"] = [{"label": "Yes", "value": "true"}, {"label": "No", "value": "false"}]
    return body


@pytest.mark.parametrize(
    ("type_name", "field_type"),
    [
        (type_name, field_type)
        for type_name, valid in VALID_FIELD_TYPES.items()
        for field_type in sorted(valid)
    ],
)
def test_every_documented_type_and_field_type_pair_is_accepted(http, type_name, field_type):
    # The valid pairs: https://developers.hubspot.com/docs/api/crm/properties#property-type-and-fieldtype-values
    created = http.post("/crm/v3/properties/contacts", json=_definition("p_ok", type_name, field_type))
    assert created.status_code == 201, created.text
    assert (created.json()["type"], created.json()["fieldType"]) == (type_name, field_type)


@pytest.mark.parametrize(
    ("type_name", "field_type"),
    [
        ("number", "select"),
        ("number", "text"),
        ("string", "booleancheckbox"),
        ("string", "number"),
        ("bool", "checkbox"),
        ("date", "text"),
        ("datetime", "number"),
        ("enumeration", "text"),
        ("phone_number", "text"),
    ],
)
def test_incompatible_type_and_field_type_are_refused(http, type_name, field_type):
    # Since February 2021 the v3 properties API answers 400 to a type and fieldType that do not go together
    # (https://developers.hubspot.com/changelog/crm-object-property-validattion), on create and on update.
    refused = http.post("/crm/v3/properties/contacts", json=_definition("p_bad", type_name, field_type))
    assert "not compatible" in assert_hubspot_error(refused, 400, "VALIDATION_ERROR")["message"]
    assert http.get("/crm/v3/properties/contacts/p_bad").status_code == 404
    assert (
        http.post("/crm/v3/properties/contacts", json=_definition("p_bad", "string", "text")).status_code
        == 201
    )
    changed = http.patch(
        "/crm/v3/properties/contacts/p_bad", json={"type": type_name, "fieldType": field_type}
    )
    assert_hubspot_error(changed, 400, "VALIDATION_ERROR")
    kept = http.get("/crm/v3/properties/contacts/p_bad").json()
    assert (kept["type"], kept["fieldType"]) == ("string", "text")


@pytest.mark.parametrize("object_type", OBJECT_TYPES)
def test_built_in_properties_follow_the_pairs(http, object_type):
    for definition in http.get(f"/crm/v3/properties/{object_type}").json()["results"]:
        assert definition["fieldType"] in VALID_FIELD_TYPES[definition["type"]], definition["name"]
