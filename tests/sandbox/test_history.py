"""Property history (``propertiesWithHistory``): who wrote each value and when, newest first, read through the
official SDK so every entry must deserialize as its ``ValueWithTimestamp`` model.

HubSpot's shape, e.g. a person's edit in HubSpot:
``{"value": "true", "timestamp": "...", "sourceType": "CRM_UI", "sourceId": "userId:28604240",
"updatedByUserId": 28604240}`` (https://github.com/HubSpot/hubspot-api-nodejs/issues/154); the parameter on
get, list and batch read: https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/basic/get-crm-v3-objects-contacts
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId, SimplePublicObjectInput
from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactCreate

from hubspot_sandbox.sources import integration_source
from tests.sandbox.conftest import assert_hubspot_error

UI_EDIT = "2030-05-06T07:08:09.123Z"


def _create_contact(sdk, **properties: str) -> str:
    return sdk.crm.contacts.basic_api.create(ContactCreate(properties=properties)).id


def _history(sdk, contact_id: str, *names: str) -> dict:
    record = sdk.crm.contacts.basic_api.get_by_id(contact_id, properties_with_history=list(names))
    return record.properties_with_history


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_api_writes_are_the_token_apps_integration_writes_newest_first(hubspot, sdk):
    # Writes through a private app's token are INTEGRATION writes with the app's id as sourceId; the creation
    # value is the oldest entry (https://developers.hubspot.com/docs/api/crm/understanding-the-crm).
    contact_id = _create_contact(sdk, email="ada@example.com", firstname="Ada")
    sdk.crm.contacts.basic_api.update(
        contact_id, SimplePublicObjectInput(properties={"firstname": "Augusta"})
    )
    record = sdk.crm.contacts.basic_api.get_by_id(contact_id, properties_with_history=["firstname", "email"])
    firstname = record.properties_with_history["firstname"]
    assert [entry.value for entry in firstname] == ["Augusta", "Ada"]
    assert {entry.source_type for entry in firstname} == {"INTEGRATION"}
    app_id = firstname[0].source_id
    assert app_id.isdigit()
    assert hubspot.token not in app_id
    assert firstname[1].source_id == app_id
    assert firstname[0].timestamp == record.updated_at
    assert firstname[1].timestamp == record.created_at
    assert firstname[0].updated_by_user_id is None
    [email] = record.properties_with_history["email"]
    assert (email.value, email.source_type, email.timestamp) == (
        "ada@example.com",
        "INTEGRATION",
        record.created_at,
    )


def test_each_token_is_its_own_app():
    # One private app, one id: two tokens never share a sourceId and the id reveals nothing of the token.
    first, second = integration_source("token-one"), integration_source("token-two")
    assert first == integration_source("token-one")
    assert first.source_id != second.source_id
    assert "token" not in first.source_id


def test_a_person_editing_in_hubspot_at_a_given_time(hubspot, sdk, http):
    # A CRM_UI write carries the user's id twice (sourceId "userId:<id>" and updatedByUserId) and moves
    # last-modified like any edit (https://github.com/HubSpot/hubspot-api-nodejs/issues/154).
    contact_id = _create_contact(sdk, firstname="Ada")
    hubspot.control(
        "POST",
        "write",
        {
            "objectType": "contacts",
            "id": contact_id,
            "properties": {"firstname": "Grace"},
            "sourceType": "CRM_UI",
            "userId": 28604240,
            "timestamp": UI_EDIT,
        },
    )
    record = sdk.crm.contacts.basic_api.get_by_id(
        contact_id, properties=["firstname", "lastmodifieddate"], properties_with_history=["firstname"]
    )
    assert record.properties["firstname"] == "Grace"
    assert record.updated_at == _at(UI_EDIT)
    assert record.properties["lastmodifieddate"] == UI_EDIT
    ui_edit, created = record.properties_with_history["firstname"]
    assert (ui_edit.value, ui_edit.source_type, ui_edit.source_id) == ("Grace", "CRM_UI", "userId:28604240")
    assert ui_edit.updated_by_user_id == 28604240
    assert ui_edit.timestamp == _at(UI_EDIT)
    assert created.source_type == "INTEGRATION"
    # The search index sees the UI edit at its time, like any write.
    found = http.post(
        "/crm/v3/objects/contacts/search",
        json={
            "filterGroups": [{"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "Grace"}]}]
        },
    ).json()
    assert [r["id"] for r in found["results"]] == [contact_id]


def test_an_api_write_after_a_ui_edit_is_newest(hubspot, sdk):
    contact_id = _create_contact(sdk, firstname="Ada")
    hubspot.control(
        "POST",
        "write",
        {"objectType": "contacts", "id": contact_id, "properties": {"firstname": "Grace"}, "userId": 7},
    )
    sdk.crm.contacts.basic_api.update(contact_id, SimplePublicObjectInput(properties={"firstname": "Hedy"}))
    history = _history(sdk, contact_id, "firstname")["firstname"]
    assert [(e.value, e.source_type) for e in history] == [
        ("Hedy", "INTEGRATION"),
        ("Grace", "CRM_UI"),
        ("Ada", "INTEGRATION"),
    ]
    assert history[0].timestamp > history[1].timestamp > history[2].timestamp


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"sourceType": "CRM_UI"}, "userId"),
        ({"sourceType": "CRM_UI", "userId": "seven"}, "userId"),
        ({"sourceType": "TELEPATHY", "userId": 7}, "sourceType"),
        ({"userId": 7, "timestamp": "2020-01-01T00:00:00.000Z"}, "back-dated"),
        ({"userId": 7, "properties": {"firstname": None, "no_such": "x"}}, "no_such"),
    ],
)
def test_invalid_control_writes_are_400(hubspot, sdk, body, reason):
    contact_id = _create_contact(sdk, firstname="Ada")
    request = {"objectType": "contacts", "id": contact_id, "properties": {"firstname": "Grace"}, **body}
    answer = httpx.post(f"{hubspot.url}/_sandbox/write", json=request)
    assert reason in assert_hubspot_error(answer, 400, "VALIDATION_ERROR")["message"]
    assert _history(sdk, contact_id, "firstname")["firstname"][0].value == "Ada"


def test_clearing_is_an_entry_with_an_empty_value(sdk):
    # "" clears a value and the history keeps the clearing (https://developers.hubspot.com/docs/api/crm/properties).
    contact_id = _create_contact(sdk, firstname="Ada")
    sdk.crm.contacts.basic_api.update(contact_id, SimplePublicObjectInput(properties={"firstname": ""}))
    history = _history(sdk, contact_id, "firstname")["firstname"]
    assert [e.value for e in history] == ["", "Ada"]


def test_unchanged_values_add_no_entry(sdk):
    contact_id = _create_contact(sdk, firstname="Ada")
    sdk.crm.contacts.basic_api.update(contact_id, SimplePublicObjectInput(properties={"firstname": "Ada"}))
    assert [e.value for e in _history(sdk, contact_id, "firstname")["firstname"]] == ["Ada"]


def test_seeded_calculated_and_imported_values(hubspot, sdk, http):
    # Seeded records stand for an import; values HubSpot computes (a deal's hs_is_closed) are CALCULATED;
    # a bulk import's values are IMPORT entries at the import's time.
    hubspot.seed(contacts=2, deals=1, associations=False)
    deal = sdk.crm.deals.basic_api.get_page(limit=1).results[0]
    [seeded] = sdk.crm.deals.basic_api.get_by_id(
        deal.id, properties_with_history=["dealname"]
    ).properties_with_history["dealname"]
    assert (seeded.source_type, seeded.timestamp) == ("IMPORT", deal.created_at)
    for stage in ("appointmentscheduled", "closedwon"):
        sdk.crm.deals.basic_api.update(deal.id, SimplePublicObjectInput(properties={"dealstage": stage}))
    closed = sdk.crm.deals.basic_api.get_by_id(deal.id, properties_with_history=["hs_is_closed"])
    newest = closed.properties_with_history["hs_is_closed"][0]
    assert (newest.value, newest.source_type, newest.timestamp) == ("true", "CALCULATED", closed.updated_at)

    contact_id = sdk.crm.contacts.basic_api.get_page(limit=1).results[0].id
    hubspot.bulk_touch(
        "contacts", ids=[contact_id], timestampMs=1_800_000_000_000, properties={"city": "Oslo"}
    )
    [imported, *_] = _history(sdk, contact_id, "city")["city"]
    assert (imported.value, imported.source_type) == ("Oslo", "IMPORT")
    assert imported.timestamp == datetime.fromtimestamp(1_800_000_000, UTC)


def test_list_and_batch_read_carry_history(sdk):
    ids = [_create_contact(sdk, firstname=f"P{n}") for n in range(3)]
    sdk.crm.contacts.basic_api.update(ids[1], SimplePublicObjectInput(properties={"firstname": "Changed"}))
    page = sdk.crm.contacts.basic_api.get_page(limit=50, properties_with_history=["firstname"])
    listed = {r.id: [e.value for e in r.properties_with_history["firstname"]] for r in page.results}
    assert listed == {ids[0]: ["P0"], ids[1]: ["Changed", "P1"], ids[2]: ["P2"]}
    batch = sdk.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": i} for i in ids], properties=["firstname"], properties_with_history=["firstname"]
        )
    )
    assert {r.id: [e.value for e in r.properties_with_history["firstname"]] for r in batch.results} == listed


def test_history_limits(hubspot, http):
    # At most 50 records a page with history (https://github.com/HubSpot/hubspot-api-python/issues/143) and
    # at most 50 batch-read inputs: "The maximum number of inputs supported in a batch request for property
    # histories is 50" (HubSpot's answer, quoted in https://github.com/activepieces/activepieces/pull/9359).
    for history in ("firstname", "no_such_property"):
        params = {"limit": 51, "propertiesWithHistory": history}
        assert_hubspot_error(http.get("/crm/v3/objects/contacts", params=params), 400, "VALIDATION_ERROR")
        assert http.get("/crm/v3/objects/contacts", params={**params, "limit": 50}).status_code == 200
    body = {"inputs": [{"id": str(1000 + n)} for n in range(51)], "propertiesWithHistory": ["firstname"]}
    error = assert_hubspot_error(
        http.post("/crm/v3/objects/contacts/batch/read", json=body), 400, "VALIDATION_ERROR"
    )
    assert "property histories is 50" in error["message"]
    body["inputs"] = body["inputs"][:50]
    assert http.post("/crm/v3/objects/contacts/batch/read", json=body).status_code == 207  # ids do not exist
    without_history = {"inputs": [{"id": str(1000 + n)} for n in range(100)], "properties": ["firstname"]}
    assert http.post("/crm/v3/objects/contacts/batch/read", json=without_history).status_code == 207


@pytest.mark.parametrize("path", ["batch/create", "batch/upsert", "batch/update"])
def test_every_api_write_path_is_the_tokens_integration(sdk, http, path):
    contact_id = _create_contact(sdk, email="ada@example.com", firstname="Ada")
    app_id = _history(sdk, contact_id, "firstname")["firstname"][0].source_id
    if path == "batch/create":
        item = {"properties": {"email": "grace@example.com", "firstname": "Grace"}}
    elif path == "batch/upsert":
        item = {"id": "ada@example.com", "idProperty": "email", "properties": {"firstname": "Grace"}}
    else:
        item = {"id": contact_id, "properties": {"firstname": "Grace"}}
    answer = http.post(f"/crm/v3/objects/contacts/{path}", json={"inputs": [item]})
    assert answer.status_code in (200, 201), answer.text
    written_id = answer.json()["results"][0]["id"]
    newest = _history(sdk, written_id, "firstname")["firstname"][0]
    assert (newest.value, newest.source_type, newest.source_id) == ("Grace", "INTEGRATION", app_id)
