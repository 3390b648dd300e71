"""Private app scopes: a call outside the token's scopes answers HubSpot's 403 MISSING_SCOPES.

Scopes per endpoint: https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/scopes
(each endpoint's reference page lists "one of the following scopes"); line items:
https://developers.hubspot.com/docs/api/crm/line-items. The 403 body is the one HubSpot sends, as quoted in
https://github.com/HubSpot/hubspot-api-nodejs/issues/268.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hubspot_sandbox.scopes import KNOWN_SCOPES, parse_grants, parse_token
from hubspot_sandbox.testing import SandboxHandle, run_sandbox, sandbox_process
from tests.sandbox.conftest import assert_hubspot_error

ROOT = Path(__file__).resolve().parents[2]
NO_SCOPES = "token-without-scopes"
# (method, path, body, the scopes of which the call needs one)
CALLS = [
    ("GET", "/crm/v3/objects/contacts", None, ["crm.objects.contacts.read"]),
    ("GET", "/crm/v3/objects/0-1/1", None, ["crm.objects.contacts.read"]),
    ("POST", "/crm/v3/objects/contacts/search", {}, ["crm.objects.contacts.read"]),
    ("POST", "/crm/v3/objects/contacts/batch/read", {"inputs": []}, ["crm.objects.contacts.read"]),
    ("POST", "/crm/v3/objects/contacts", {"properties": {}}, ["crm.objects.contacts.write"]),
    ("PATCH", "/crm/v3/objects/contacts/1", {"properties": {}}, ["crm.objects.contacts.write"]),
    ("DELETE", "/crm/v3/objects/contacts/1", None, ["crm.objects.contacts.write"]),
    ("POST", "/crm/v3/objects/contacts/batch/upsert", {"inputs": []}, ["crm.objects.contacts.write"]),
    ("POST", "/crm/v3/objects/contacts/merge", {}, ["crm.objects.contacts.write"]),
    ("POST", "/crm/v3/objects/contacts/gdpr-delete", {"objectId": "1"}, ["crm.objects.contacts.write"]),
    ("GET", "/crm/v3/objects/companies", None, ["crm.objects.companies.read"]),
    ("POST", "/crm/v3/objects/companies/batch/update", {"inputs": []}, ["crm.objects.companies.write"]),
    ("GET", "/crm/v3/objects/deals", None, ["crm.objects.deals.read"]),
    ("POST", "/crm/v3/objects/deals/batch/archive", {"inputs": []}, ["crm.objects.deals.write"]),
    ("GET", "/crm/v3/objects/tickets", None, ["tickets"]),
    ("POST", "/crm/v3/objects/tickets", {"properties": {}}, ["tickets"]),
    ("GET", "/crm/v3/objects/line_items", None, ["crm.objects.line_items.read", "e-commerce"]),
    (
        "POST",
        "/crm/v3/objects/line_items",
        {"properties": {}},
        ["crm.objects.line_items.write", "e-commerce"],
    ),
    ("GET", "/crm/v3/properties/contacts", None, ["crm.schemas.contacts.read"]),
    ("GET", "/crm/v3/properties/companies/name", None, ["crm.schemas.companies.read"]),
    ("POST", "/crm/v3/properties/deals", {}, ["crm.schemas.deals.write"]),
    ("GET", "/crm/v3/properties/line_items", None, ["e-commerce"]),
    ("GET", "/crm/v3/properties/tickets", None, ["tickets"]),
    (
        "POST",
        "/crm/v4/associations/contacts/companies/batch/read",
        {"inputs": []},
        ["crm.objects.contacts.read"],
    ),
    ("GET", "/crm/v4/objects/companies/1/associations/contacts", None, ["crm.objects.companies.read"]),
    (
        "PUT",
        "/crm/v4/objects/deals/1/associations/default/companies/2",
        None,
        ["crm.objects.deals.write"],
    ),
]
EVERY_SCOPE = sorted({scope for *_, scopes in CALLS for scope in scopes})


def only(scope: str) -> str:
    return f"token-with-{scope}"


@pytest.fixture(scope="module")
def scoped() -> Iterator[SandboxHandle]:
    tokens = {NO_SCOPES: [], **{only(scope): [scope] for scope in EVERY_SCOPE}}
    with run_sandbox(token="full-token", search_lag_ms=0, scoped_tokens=tokens) as handle:
        yield handle


def call(handle: SandboxHandle, token: str, method: str, path: str, body: object) -> httpx.Response:
    return httpx.request(
        method, f"{handle.url}{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


@pytest.mark.parametrize(("method", "path", "body", "needed"), CALLS)
def test_a_call_outside_the_token_scopes_is_403_missing_scopes(scoped, method, path, body, needed):
    response = call(scoped, NO_SCOPES, method, path, body)

    error = assert_hubspot_error(response, 403, "MISSING_SCOPES")
    assert error == {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call. Read more about "
        "required scopes here: https://developers.hubspot.com/scopes.",
        "correlationId": response.headers["X-HubSpot-Correlation-Id"],
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredScopes": needed},
            }
        ],
        "links": {"scopes": "https://developers.hubspot.com/scopes"},
        "category": "MISSING_SCOPES",
    }


@pytest.mark.parametrize(("method", "path", "body", "needed"), CALLS)
def test_any_one_of_the_listed_scopes_lets_the_call_through(scoped, method, path, body, needed):
    for scope in needed:
        response = call(scoped, only(scope), method, path, body)
        assert response.status_code != 403, (scope, response.text)
    others = [s for s in EVERY_SCOPE if s not in needed]
    refused = [s for s in others if call(scoped, only(s), method, path, body).status_code == 403]
    assert refused == others  # no other single scope is enough


def test_a_token_without_a_scope_list_has_every_scope(scoped):
    with scoped.http() as full:
        created = full.post("/crm/v3/objects/contacts", json={"properties": {"email": "a@example.com"}})
        assert created.status_code == 201
        assert full.get("/crm/v3/properties/contacts").status_code == 200


def test_read_only_token_reads_but_cannot_write(scoped):
    reader = only("crm.objects.contacts.read")
    assert call(scoped, reader, "GET", "/crm/v3/objects/contacts", None).status_code == 200
    refused = call(scoped, reader, "POST", "/crm/v3/objects/contacts", {"properties": {"email": "b@x.io"}})
    assert_hubspot_error(refused, 403, "MISSING_SCOPES")
    assert scoped.sandbox.tables["contacts"].unique["email"].get("b@x.io") is None  # nothing written


def test_an_unknown_token_is_still_401(scoped):
    response = call(scoped, "not-a-token", "GET", "/crm/v3/objects/contacts", None)
    assert_hubspot_error(response, 401, "INVALID_AUTHENTICATION")


def test_the_sdk_raises_forbidden(scoped):
    from hubspot import HubSpot
    from hubspot.crm.contacts.exceptions import ForbiddenException

    client = HubSpot(access_token=only("crm.objects.companies.read"), host=scoped.url)
    with pytest.raises(ForbiddenException) as caught:
        client.crm.contacts.basic_api.get_page()
    assert "MISSING_SCOPES" in caught.value.body


@pytest.mark.parametrize(
    ("spec", "token", "scopes"),
    [
        ("pat-na1-abc", "pat-na1-abc", None),
        ("pat-na1-abc:crm.objects.contacts.read", "pat-na1-abc", {"crm.objects.contacts.read"}),
        ("t: tickets , e-commerce", "t", {"tickets", "e-commerce"}),
        ("t:", "t", set()),
    ],
)
def test_token_specs(spec, token, scopes):
    parsed_token, parsed_scopes = parse_token(spec)
    assert parsed_token == token
    assert parsed_scopes == (None if scopes is None else frozenset(scopes))


@pytest.mark.parametrize(
    ("specs", "problem"), [([":scope"], "needs a token"), (["t", "t:tickets"], "given twice")]
)
def test_bad_token_specs_are_refused(specs, problem):
    with pytest.raises(ValueError, match=problem):
        parse_grants(specs)


def test_tokens_from_the_command_line_and_a_token_file(tmp_path):
    token_file = tmp_path / "tokens"
    token_file.write_text("# one token a line\nreader:crm.objects.contacts.read\n\nwriter\n")
    flags = ("--token-file", str(token_file), "--search-lag-ms", "0")
    with sandbox_process(*flags, token="deals-only:crm.objects.deals.read") as server:
        url = f"{server.url}/crm/v3/objects/contacts"
        statuses = {
            name: httpx.get(url, headers={"Authorization": f"Bearer {name}"}).status_code
            for name in ("reader", "writer", "deals-only", "deals-only:crm.objects.deals.read")
        }
    assert statuses == {
        "reader": 200,
        "writer": 200,
        "deals-only": 403,
        "deals-only:crm.objects.deals.read": 401,
    }


def test_readme_scope_table_names_only_scopes_the_sandbox_knows():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| DAG | scopes |") :].split("\n\n", 1)[0]
    named = set(re.findall(r"`(crm\.[a-z_.*<>]+)`", table))
    assert named, "the README's scope table is gone"
    # Rows may name a scope for any object type, as `crm.objects.*.write` or `crm.objects.<type>.write`.
    generic = {
        f"crm.{kind}.{any_type}.{access}"
        for kind in ("objects", "schemas")
        for any_type in ("*", "<type>")
        for access in ("read", "write")
    }
    known = {*KNOWN_SCOPES, *generic}
    assert named <= known, named - known
    for scope in ("crm.objects.contacts.read", "crm.objects.companies.read", "crm.objects.deals.read"):
        assert scope in named  # what extraction and its association sweep need
