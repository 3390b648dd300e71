"""Reading v4 association batch answers: rows, the records that need another page, and real failures."""

import pytest

from hubspot_sync.extract.associations import AssociationRead, collect_answer

NONE_FOUND = {
    "status": "error",
    "category": "OBJECT_NOT_FOUND",
    "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
    "message": "No company is associated with contact 2.",
    "context": {"fromObjectId": ["2"], "fromObjectType": ["contact"], "toObjectType": ["company"]},
}


def result(from_id, *to_ids, after=None):
    body = {
        "from": {"id": from_id},
        "to": [
            {
                "toObjectId": t,
                "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None}],
            }
            for t in to_ids
        ],
    }
    if after:
        body["paging"] = {"next": {"after": after, "link": "https://api.hubapi.com/ignored"}}
    return body


def test_rows_and_the_records_with_a_next_page():
    read = AssociationRead()
    more = collect_answer(
        {"results": [result("1", 10, 11, after="MC0yLTEx"), result("3", 12)], "errors": [NONE_FOUND]},
        ["1", "2", "3"],
        read,
    )
    assert more == {"1": "MC0yLTEx"}
    defined = (279, "HUBSPOT_DEFINED", None)
    assert read.pairs == [(1, 10, *defined), (1, 11, *defined), (3, 12, *defined)]
    assert read.failed == set()  # "no associations" is an answer, not a failure


@pytest.mark.parametrize(
    ("error", "failed"),
    [
        ({"category": "OBJECT_NOT_FOUND", "context": {"fromObjectId": ["2"]}}, set()),  # older shape
        ({**NONE_FOUND, "subCategory": "crm.associations.SOMETHING_ELSE"}, {2}),
        ({"category": "INTERNAL_ERROR", "context": {"ids": ["2"]}}, {2}),
        ({"category": "INTERNAL_ERROR", "message": "try again"}, {2, 3}),  # names no record: none answered
    ],
)
def test_failures_keep_the_rows_of_the_records_they_concern(error, failed):
    read = AssociationRead()
    more = collect_answer({"results": [result("1", 10)], "errors": [error]}, ["1", "2", "3"], read)
    assert more == {}
    assert read.failed == failed
