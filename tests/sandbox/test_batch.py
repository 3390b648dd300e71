"""Batch endpoints: SDK round trips, 207 partial failures, caps and whole-batch conflicts."""

from __future__ import annotations

import pytest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
)
from hubspot.crm.objects import BatchInputSimplePublicObjectBatchInputForCreate as AnyCreateInput

from tests.sandbox.conftest import OBJECT_TYPES, assert_hubspot_error


def _create_contacts(sdk, count: int) -> list[str]:
    inputs = [{"properties": {"email": f"c{i}@example.com", "firstname": f"C{i}"}} for i in range(count)]
    result = sdk.crm.contacts.batch_api.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs))
    assert result.status == "COMPLETE"
    return [r.id for r in result.results]


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


def test_batch_read_update_and_partial_failure(sdk):
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

    updated = sdk.crm.contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                {"id": ids[0], "properties": {"firstname": "New"}},
                {"id": ids[1], "properties": {"usage_score": "not a number"}},
                {"id": "999", "properties": {"firstname": "Ghost"}},
            ]
        )
    )
    assert [r.properties["firstname"] for r in updated.results] == ["New"]
    assert updated.num_errors == 2
    categories = sorted(e.category for e in updated.errors)
    assert categories == ["OBJECT_NOT_FOUND", "VALIDATION_ERROR"]
    validation = next(e for e in updated.errors if e.category == "VALIDATION_ERROR")
    assert validation.context["ids"] == [ids[1]]


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


def test_batch_create_with_a_duplicate_email_fails_whole(sdk, http):
    _create_contacts(sdk, 1)
    response = http.post(
        "/crm/v3/objects/contacts/batch/create",
        json={
            "inputs": [
                {"properties": {"email": "new@example.com"}},
                {"properties": {"email": "c0@example.com"}},
            ]
        },
    )
    assert_hubspot_error(response, 409, "CONFLICT")
    assert (
        http.get("/crm/v3/objects/contacts/new@example.com", params={"idProperty": "email"}).status_code
        == 404
    )


def test_batch_create_reports_invalid_inputs_in_a_207(http):
    response = http.post(
        "/crm/v3/objects/companies/batch/create",
        json={"inputs": [{"properties": {"name": "Ok"}}, {"properties": {"industry": "NOT_AN_OPTION"}}]},
    )
    assert response.status_code == 207
    body = response.json()
    assert body["numErrors"] == 1
    assert len(body["results"]) == 1
    error = body["errors"][0]
    assert error["category"] == "VALIDATION_ERROR"
    assert error["context"]["inputIndex"] == ["1"]
    assert set(error) >= {"status", "category", "message", "context", "errors", "links"}


@pytest.mark.parametrize("operation", ["read", "create", "update", "upsert", "archive"])
def test_more_than_100_inputs_is_a_400(http, operation):
    inputs = [{"id": str(i), "properties": {}} for i in range(101)]
    response = http.post(f"/crm/v3/objects/contacts/batch/{operation}", json={"inputs": inputs})
    assert_hubspot_error(response, 400, "VALIDATION_ERROR")


def test_batch_archive_via_sdk(sdk):
    ids = _create_contacts(sdk, 2)
    sdk.crm.contacts.batch_api.archive(BatchInputSimplePublicObjectId(inputs=[{"id": ids[0]}]))
    remaining = sdk.crm.contacts.basic_api.get_page(limit=10).results
    assert [r.id for r in remaining] == [ids[1]]


def test_duplicate_ids_in_batch_update_are_rejected(http):
    inputs = [{"id": "5", "properties": {}}, {"id": "5", "properties": {}}]
    assert_hubspot_error(http.post("/crm/v3/objects/contacts/batch/update", json={"inputs": inputs}), 400)
