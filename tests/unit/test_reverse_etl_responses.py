"""Reading batch answers: which input failed and why, without the values HubSpot quotes."""

import json

from hubspot_sync.reverse_etl.diff import Change
from hubspot_sync.reverse_etl.responses import batch_input, describe_error, input_errors

KEYS = ["a@example.com", "b@example.com", "c@example.com"]


def validation_error(ids, name="customer_tier", code="INVALID_OPTION", value="diamond"):
    problems = [{"isValid": False, "name": name, "error": code, "message": f"{value} was not one of ..."}]
    return {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": "Property values were not valid: " + json.dumps(problems),
        "context": {"ids": ids, "propertyName": [name]},
    }


def test_inputs_for_update_by_id_and_by_unique_property():
    change = Change("a@example.com", "upsert", {"score": "5"}, {"score": None})
    assert batch_input(change, {"score": "5"}, "email") == {
        "id": "a@example.com",
        "idProperty": "email",
        "properties": {"score": "5"},
    }
    assert batch_input(Change("7", "update", {}, {}), {"score": "5"}, "id") == {
        "id": "7",
        "properties": {"score": "5"},
    }


def test_complete_answer_has_no_failed_inputs():
    assert input_errors(KEYS, 200, {"status": "COMPLETE", "results": []}) == {}


def test_207_names_the_failed_inputs_with_reason_and_correlation_id():
    body = {
        "status": "COMPLETE",
        "numErrors": 2,
        "errors": [
            validation_error(["B@example.com"]),
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": "gone",
                "context": {"ids": [KEYS[2]]},
            },
        ],
    }
    failed = input_errors(KEYS, 207, body, {"x-hubspot-correlation-id": "corr-1"})

    assert set(failed) == {"b@example.com", "c@example.com"}
    assert failed["b@example.com"].category == "VALIDATION_ERROR"
    assert failed["b@example.com"].reason == "customer_tier: INVALID_OPTION"
    assert "diamond" not in failed["b@example.com"].reason
    assert failed["c@example.com"].category == "OBJECT_NOT_FOUND"
    assert {problem.correlation_id for problem in failed.values()} == {"corr-1"}


def test_an_error_naming_no_input_leaves_the_whole_batch_unconfirmed():
    body = {"numErrors": 1, "errors": [{"category": "INTERNAL", "message": "something", "context": {}}]}
    failed = input_errors(KEYS, 207, body)
    assert set(failed) == set(KEYS)


def test_unparseable_validation_message_is_truncated():
    error = {"category": "VALIDATION_ERROR", "message": "Property values were not valid: [" + "x" * 999}
    assert len(describe_error(error)) <= 300
