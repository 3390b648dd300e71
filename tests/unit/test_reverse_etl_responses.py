"""Reading batch answers: which input failed and why, without the values HubSpot quotes."""

import json

import pytest

from hubspot_sync.reverse_etl.diff import Change
from hubspot_sync.reverse_etl.responses import batch_input, describe_error, input_errors, read_refusal

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


def refusal_400(named_ids: list[str] | None) -> dict:
    """A whole-batch 400 as HubSpot sends it: one problem list, `errors[]` per property (and input)."""
    problems = [
        {"isValid": False, "name": "customer_tier", "error": "INVALID_OPTION", "message": "diamond was..."}
    ]
    reference = {"ids": named_ids} if named_ids else {}
    return {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "correlationId": "corr-400",
        "message": "Property values were not valid: " + json.dumps(problems),
        "context": {"propertyName": ["customer_tier"], **reference},
        "errors": [
            {
                "message": "diamond was not one of the allowed options",
                "code": "INVALID_OPTION",
                "in": "customer_tier",
                "context": {"propertyName": ["customer_tier"], **reference},
            }
        ],
    }


def test_a_400_naming_its_inputs_points_at_them():
    refusal = read_refusal(KEYS, 400, refusal_400(["B@example.com"]), None, "refused")
    assert set(refusal.named) == {"b@example.com"}
    problem = refusal.named["b@example.com"]
    assert (problem.category, problem.reason, problem.correlation_id) == (
        "VALIDATION_ERROR",
        "customer_tier: INVALID_OPTION",
        "corr-400",
    )
    assert "diamond" not in problem.reason


@pytest.mark.parametrize(
    ("status", "body", "splittable"),
    [
        (400, refusal_400(None), True),
        (409, {"category": "CONFLICT", "message": "Contact already exists. Existing ID: 7"}, True),
        (
            400,
            {"category": "VALIDATION_ERROR", "message": "Unable to perform upsert by non-unique property"},
            False,
        ),
        (400, {}, False),
    ],
    ids=["names_properties_only", "conflict", "about_the_call", "no_body"],
)
def test_a_refusal_naming_no_input_says_whether_splitting_can_isolate_it(status, body, splittable):
    refusal = read_refusal(KEYS, status, body, "corr-header", "HubSpot objects.batch_upsert refused")
    assert refusal.named == {}
    assert refusal.splittable is splittable
    assert refusal.problem.correlation_id == body.get("correlationId", "corr-header")
    assert "diamond" not in refusal.problem.reason
