"""A record seen through an object's minimisation settings: what is dropped never reaches a row or a reject,
and a pseudonymised value is checked in clear, then stored as its HMAC."""

import hashlib
import hmac
from dataclasses import replace

import pytest

from hubspot_sync.privacy.minimise import PropertyPolicy
from hubspot_sync.privacy.pseudonym import pseudonym
from hubspot_sync.records import to_row
from tests.unit.test_records import RULES, record

KEY = b"unit-test-key"


def policy(**settings) -> PropertyPolicy:
    defaults = {
        "listed": False,
        "kept": frozenset({"email", "num_employees", "closedate"}),
        "never_store": frozenset(),
        "pseudonymised": frozenset(),
        "email_properties": frozenset({"email"}),
        "key": KEY,
    }
    return PropertyPolicy(**{**defaults, **settings})


@pytest.mark.parametrize(
    ("settings", "stored"),
    [
        ({}, {"email", "lastmodifieddate", "city", "notes"}),
        ({"never_store": frozenset({"notes"})}, {"email", "lastmodifieddate", "city"}),
        ({"listed": True}, {"email", "lastmodifieddate"}),
        ({"listed": True, "kept": frozenset({"email", "city"})}, {"email", "lastmodifieddate", "city"}),
    ],
)
def test_only_kept_properties_reach_the_row(settings, stored):
    rules = replace(RULES, policy=policy(**settings))
    row, rejects = to_row(record(email="ada@example.com", city="Oslo", notes="bad\x00text"), rules)
    assert set(row.properties) == stored
    # The NUL in `notes` is a reject only when notes is stored: a dropped value is never looked at.
    assert [reject.field for reject in rejects] == (["notes"] if "notes" in stored else [])


def test_a_pseudonymised_email_is_checked_in_clear_and_stored_as_its_hmac():
    rules = replace(RULES, policy=policy(pseudonymised=frozenset({"email", "city"})))
    row, rejects = to_row(record(email=" Ada@Example.COM ", city=" Oslo "), rules)
    expected = hmac.new(KEY, b"ada@example.com", hashlib.sha256).hexdigest()
    assert (row.properties["email"], row.typed["email"]) == (expected, expected)
    assert row.properties["city"] == hmac.new(KEY, b"Oslo", hashlib.sha256).hexdigest()  # trimmed, case kept
    assert rejects == []

    invalid, rejects = to_row(record(email="not-an-address"), rules)
    assert [(reject.field, reject.reason) for reject in rejects] == [("email", "not a valid email address")]
    assert invalid.typed["email"] is None
    assert invalid.properties["email"] == pseudonym(KEY, "not-an-address", is_email=True)


def test_bookkeeping_properties_are_kept_whatever_the_settings():
    keeps = policy(listed=True, kept=frozenset(), never_store=frozenset({"city"})).keeps
    assert all(map(keeps, ["hs_object_id", "createdate", "lastmodifieddate", "hs_merged_object_ids"]))
    assert not keeps("city")
    assert not keeps("email")
