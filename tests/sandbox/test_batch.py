"""Batch endpoints: SDK round trips, all-or-nothing writes, 207 partial answers, caps and conflicts.

HubSpot's rules, cited per test:
- ERRORS: https://developers.hubspot.com/docs/api-reference/error-handling (error body with `errors[]`
  of message/code/context; 207 multi-status only for batch create inputs with an `objectWriteTraceId`)
- UPDATE_207: https://developers.hubspot.com/changelog/simplifying-batch-update-response-codes-for-crm-v3-apis
- UPSERT: https://developers.hubspot.com/docs/api-reference/latest/crm/objects/contacts/batch/upsert-contacts
"""

from __future__ import annotations

import pytest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
)
from hubspot.crm.objects import BatchInputSimplePublicObjectBatchInputForCreate as AnyCreateInput

from tests.sandbox.conftest import OBJECT_TYPES, assert_hubspot_error

CONTACTS = "/crm/v3/objects/contacts"


def _create_contacts(sdk, count: int) -> list[str]:
    inputs = [{"properties": {"email": f"c{i}@example.com", "firstname": f"C{i}"}} for i in range(count)]
    result = sdk.crm.contacts.batch_api.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs))
    assert result.status == "COMPLETE"
    return [r.id for r in result.results]


def _contact(http, raw_id: str, *names: str) -> dict:
    response = http.get(f"{CONTACTS}/{raw_id}", params={"properties": ",".join(names)})
    assert response.status_code == 200, response.text
    return response.json()["properties"]


def _contact_count(http) -> int:
    return len(http.get(CONTACTS, params={"limit": 100}).json()["results"])


@pytest.mark.parametrize("object_type", OBJECT_TYPES)
def test_batch_create_and_archive_for_every_type(sdk, object_type):
    properties = {
        "contacts": {"email": "x{}@example.com"},
        "companies": {"name": "Co {}"},
        "deals": {"dealname": "D {}"},
        "tickets": {"subject": "T {}"},
        "line_items": {"name": "L {}"},
    }[object_type]
    inputs = [{"properties": {k: v.format(i) for k, v in properties.items()}} for i in range(3)]
    created = sdk.crm.objects.batch_api.create(object_type, AnyCreateInput(inputs=inputs))
    ids = [r.id for r in created.results]
    assert len(ids) == 3
    sdk.crm.objects.batch_api.archive(object_type, {"inputs": [{"id": i} for i in ids]})
    assert sdk.crm.objects.basic_api.get_page(object_type, limit=10).results == []


def test_batch_read_names_unknown_ids_in_a_207(sdk):
    # Batch read stays per input: found records plus one OBJECT_NOT_FOUND entry (ERRORS).
    ids = _create_contacts(sdk, 3)
    read = sdk.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": i} for i in ids], properties=["firstname"], properties_with_history=[]
        )
    )
    assert sorted(r.properties["firstname"] for r in read.results) == ["C0", "C1", "C2"]

    partial = sdk.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": ids[0]}, {"id": "777"}, {"id": "778"}], properties=[], properties_with_history=[]
        )
    )
    assert type(partial).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert partial.num_errors == 1
    assert partial.errors[0].category == "OBJECT_NOT_FOUND"
    assert partial.errors[0].context == {"ids": ["777", "778"]}


INVALID_UPDATES = {
    "unknown_property": ({"no_such_property": "x"}, "PROPERTY_DOESNT_EXIST", "no_such_property"),
    "read_only_property": ({"hs_object_id": "5"}, "READ_ONLY_VALUE", "hs_object_id"),
    "bad_number": ({"usage_score": "not a number"}, "INVALID_FLOAT", "usage_score"),
    "option_not_in_enumeration": ({"customer_tier": "diamond"}, "INVALID_OPTION", "customer_tier"),
}


@pytest.mark.parametrize("operation", ["update", "upsert"])
@pytest.mark.parametrize(("properties", "code", "name"), INVALID_UPDATES.values(), ids=INVALID_UPDATES)
def test_one_invalid_input_fails_the_whole_write_and_writes_nothing(
    sdk, http, operation, properties, code, name
):
    # One invalid input: one 400 VALIDATION_ERROR naming inputs and properties; nothing written (ERRORS).
    ids = _create_contacts(sdk, 3)
    key = {
        "update": lambda i: {"id": ids[i]},
        "upsert": lambda i: {"id": f"c{i}@example.com", "idProperty": "email"},
    }
    inputs = [
        {**key[operation](0), "properties": {"firstname": "Changed"}},
        {**key[operation](1), "properties": {"firstname": "Changed", **properties}},
        {**key[operation](2), "properties": {"firstname": "Changed"}},
    ]

    body = assert_hubspot_error(
        http.post(f"{CONTACTS}/batch/{operation}", json={"inputs": inputs}), 400, "VALIDATION_ERROR"
    )

    named = key[operation](1)["id"]
    assert body["context"] == {"ids": [named], "propertyName": [name]}
    assert [(e["code"], e["in"], e["context"]["ids"]) for e in body["errors"]] == [(code, name, [named])]
    assert body["message"].startswith("Property values were not valid: ")
    assert [_contact(http, i, "firstname")["firstname"] for i in ids] == ["C0", "C1", "C2"]


def test_invalid_create_fails_whole_naming_input_indexes(http):
    # Batch create without objectWriteTraceId is all-or-nothing too (ERRORS).
    response = http.post(
        "/crm/v3/objects/companies/batch/create",
        json={
            "inputs": [
                {"properties": {"name": "Ok"}},
                {"properties": {"industry": "NOT_AN_OPTION"}},
                {"properties": {"numberofemployees": "many"}},
            ]
        },
    )
    body = assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert body["context"] == {"inputIndex": ["1", "2"], "propertyName": ["industry", "numberofemployees"]}
    assert [e["context"]["inputIndex"] for e in body["errors"]] == [["1"], ["2"]]
    assert http.get("/crm/v3/objects/companies").json()["results"] == []


def test_refusals_can_name_only_properties(hubspot, sdk, http):
    # Answers captured from portals name the properties but not the inputs; clients must cope (ERRORS).
    hubspot.set_config(batchErrorsNameInputs=False)
    ids = _create_contacts(sdk, 2)
    inputs = [{"id": ids[0], "properties": {"usage_score": "x"}}, {"id": ids[1], "properties": {}}]
    body = assert_hubspot_error(http.post(f"{CONTACTS}/batch/update", json={"inputs": inputs}), 400)
    assert body["context"] == {"propertyName": ["usage_score"]}
    assert body["errors"][0]["context"] == {"propertyName": ["usage_score"]}


def test_batch_update_of_a_missing_id_is_a_207_and_the_rest_is_written(sdk, http):
    # HubSpot: "200 when batch updates are fully successful or a 207 Multi-Status response when one or
    # more of the batch operations fails" (UPDATE_207); a record that does not exist is such an operation.
    ids = _create_contacts(sdk, 2)
    inputs = [
        {"id": ids[0], "properties": {"firstname": "New"}},
        {"id": "999", "properties": {"firstname": "G"}},
    ]
    response = http.post(f"{CONTACTS}/batch/update", json={"inputs": inputs})
    assert response.status_code == 207
    body = response.json()
    assert [r["properties"]["firstname"] for r in body["results"]] == ["New"]
    assert [(e["category"], e["context"]) for e in body["errors"]] == [("OBJECT_NOT_FOUND", {"ids": ["999"]})]
    assert _contact(http, ids[0], "firstname")["firstname"] == "New"


def test_batch_read_by_email(sdk):
    _create_contacts(sdk, 2)
    read = sdk.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": "c1@example.com"}],
            id_property="email",
            properties=["email"],
            properties_with_history=[],
        )
    )
    assert read.results[0].properties["email"] == "c1@example.com"


def test_batch_upsert_by_email_reports_new_and_existing(sdk):
    _create_contacts(sdk, 1)
    result = sdk.crm.contacts.batch_api.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                {"id": "c0@example.com", "idProperty": "email", "properties": {"firstname": "Updated"}},
                {"id": "fresh@example.com", "idProperty": "email", "properties": {"firstname": "Fresh"}},
            ]
        )
    )
    by_name = {r.properties["firstname"]: r for r in result.results}
    assert by_name["Updated"].new is False
    assert by_name["Fresh"].new is True
    assert by_name["Fresh"].properties["email"] == "fresh@example.com"


@pytest.mark.parametrize(
    "emails",
    [("c0@example.com", "C0@Example.com"), ("new@example.com", "NEW@example.com")],
    ids=["existing_record", "new_record"],
)
def test_upsert_inputs_resolving_to_one_record_are_refused(sdk, http, emails):
    # Two inputs for one record (emails differ only in case) fail the upsert whole (UPSERT).
    existing = _create_contacts(sdk, 1)
    inputs = [
        {"id": email, "idProperty": "email", "properties": {"firstname": f"V{n}"}}
        for n, email in enumerate(emails)
    ]
    body = assert_hubspot_error(http.post(f"{CONTACTS}/batch/upsert", json={"inputs": inputs}), 400)
    assert body["context"] == {"ids": list(emails)}
    assert _contact_count(http) == 1
    assert _contact(http, existing[0], "firstname")["firstname"] == "C0"


def test_batch_create_with_a_duplicate_email_fails_whole(sdk, http):
    # The whole create fails with 409 naming only the first existing id:
    # https://github.com/HubSpot/hubspot-api-python/issues/51 (HubSpot's answer quoted there).
    existing = _create_contacts(sdk, 2)
    response = http.post(
        f"{CONTACTS}/batch/create",
        json={
            "inputs": [
                {"properties": {"email": "new@example.com"}},
                {"properties": {"email": "c0@example.com"}},
                {"properties": {"email": "C1@example.com"}},
            ]
        },
    )
    body = assert_hubspot_error(response, 409, "CONFLICT")
    assert body["message"] == f"Contact already exists. Existing ID: {existing[0]}"
    assert _contact_count(http) == 2


def test_create_with_trace_ids_answers_per_input(sdk, http):
    # Inputs with a unique objectWriteTraceId enable multi-status: good inputs are created, bad ones are
    # reported per input, and each result and error echoes its trace id (ERRORS, "Multi-status errors").
    existing = _create_contacts(sdk, 1)
    inputs = [
        {"objectWriteTraceId": "t-ok", "properties": {"email": "ok@example.com"}},
        {"objectWriteTraceId": "t-bad", "properties": {"email": "bad@example.com", "usage_score": "x"}},
        {"objectWriteTraceId": "t-dup", "properties": {"email": "c0@example.com"}},
    ]
    response = http.post(f"{CONTACTS}/batch/create", json={"inputs": inputs})

    assert response.status_code == 207
    body = response.json()
    assert [r["objectWriteTraceId"] for r in body["results"]] == ["t-ok"]
    errors = {e["context"]["objectWriteTraceId"][0]: e for e in body["errors"]}
    assert errors["t-bad"]["category"] == "VALIDATION_ERROR"
    assert errors["t-bad"]["context"]["propertyName"] == ["usage_score"]
    assert errors["t-dup"]["category"] == "CONFLICT"
    assert errors["t-dup"]["message"] == f"Contact already exists. Existing ID: {existing[0]}"
    assert _contact_count(http) == 2


@pytest.mark.parametrize(
    "traces", [["a", None], ["a", "a"]], ids=["some_inputs_without", "repeated_trace_id"]
)
def test_trace_ids_must_be_on_every_input_and_unique(http, traces):
    inputs = [
        {"properties": {"email": f"t{n}@example.com"}, **({"objectWriteTraceId": t} if t else {})}
        for n, t in enumerate(traces)
    ]
    assert_hubspot_error(http.post(f"{CONTACTS}/batch/create", json={"inputs": inputs}), 400)
    assert _contact_count(http) == 0


@pytest.mark.parametrize("operation", ["read", "create", "update", "upsert", "archive"])
def test_more_than_100_inputs_is_a_400(http, operation):
    inputs = [{"id": str(i), "properties": {}} for i in range(101)]
    response = http.post(f"{CONTACTS}/batch/{operation}", json={"inputs": inputs})
    assert_hubspot_error(response, 400, "VALIDATION_ERROR")


def test_batch_archive_via_sdk(sdk):
    ids = _create_contacts(sdk, 2)
    sdk.crm.contacts.batch_api.archive(BatchInputSimplePublicObjectId(inputs=[{"id": ids[0]}]))
    remaining = sdk.crm.contacts.basic_api.get_page(limit=10).results
    assert [r.id for r in remaining] == [ids[1]]


def test_duplicate_ids_in_batch_update_are_rejected(http):
    inputs = [{"id": "5", "properties": {}}, {"id": "5", "properties": {}}]
    assert_hubspot_error(http.post(f"{CONTACTS}/batch/update", json={"inputs": inputs}), 400)


def test_sdk_reads_a_traced_create_207(sdk):
    # The official SDK sends objectWriteTraceId and reads the 207 back as a response with errors (ERRORS).
    inputs = [
        {"objectWriteTraceId": "good", "properties": {"email": "good@example.com"}},
        {"objectWriteTraceId": "bad", "properties": {"email": "bad@example.com", "usage_score": "x"}},
    ]
    answer = sdk.crm.contacts.batch_api.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs))
    assert type(answer).__name__ == "BatchResponseSimplePublicObjectWithErrors"
    assert [r.object_write_trace_id for r in answer.results] == ["good"]
    assert [e.context["objectWriteTraceId"] for e in answer.errors] == [["bad"]]
