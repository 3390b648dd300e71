"""Bad input gets HubSpot's status and a HubSpot-shaped JSON body: never a framework page or a bare 500."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.conftest import assert_hubspot_error


@pytest.mark.parametrize(
    ("method", "path", "content"),
    [
        ("POST", "/crm/v3/objects/contacts", b"{not json"),
        ("POST", "/crm/v3/objects/contacts", b""),
        ("POST", "/crm/v3/objects/contacts", b"[1, 2]"),
        ("PATCH", "/crm/v3/objects/contacts/1", b'{"properties": '),
        ("POST", "/crm/v3/objects/contacts/search", b"nope"),
        ("POST", "/crm/v3/objects/contacts/batch/read", b"{}"),
        ("POST", "/crm/v3/objects/contacts/batch/create", b'{"inputs": {"id": "1"}}'),
        ("POST", "/crm/v3/objects/contacts/batch/create", b'{"inputs": ["x"]}'),
        ("POST", "/crm/v3/objects/contacts/batch/read", b'{"inputs": [{"id": true}]}'),
        ("POST", "/crm/v3/objects/contacts", b'{"properties": ["email"]}'),
        ("POST", "/crm/v3/objects/contacts", b'{"properties": {}, "associations": {"to": 1}}'),
        ("POST", "/crm/v3/properties/contacts", b'{"name": 5}'),
        ("POST", "/crm/v4/associations/contacts/companies/batch/read", b'{"inputs": [{}]}'),
        ("PUT", "/crm/v4/objects/contacts/1/associations/companies/2", b'{"not": "a list"}'),
    ],
)
def test_malformed_and_mistyped_bodies_are_400(http, method, path, content):
    response = http.request(method, path, content=content, headers={"content-type": "application/json"})
    if response.status_code == 404:  # a missing record is checked before the body on some paths
        assert_hubspot_error(response, 404)
    else:
        assert_hubspot_error(response, 400, "VALIDATION_ERROR")


# HubSpot's words for a body it cannot parse: "Invalid input JSON on line 1, column 15: ..."
# (https://github.com/Chinchilla-Software-Com/HubSpot.NET/issues/23 quotes HubSpot's 400 body).
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"a": }', "Invalid input JSON on line 1, column 7: Unexpected character ('}' (code 125))"),
        (b'{\n  "properties": {\n    "email": x', "Invalid input JSON on line 3, column 14: Unexpected"),
        (
            b'{"properties": {"firstname": "Ren\xe9"}}',
            "Invalid input JSON on line 1, column 34: Invalid UTF-8 middle byte 0x22",
        ),
        (b"\xff\xfe{}", "Invalid input JSON on line 1, column 1: Invalid UTF-8 start byte 0xff"),
        (b'{"properties": {"firstname": "\xc3("}}', "Invalid input JSON on line 1, column 31: Invalid UTF-8"),
    ],
)
def test_malformed_json_message_names_the_position(http, content, message):
    body = assert_hubspot_error(
        http.post("/crm/v3/objects/contacts", content=content), 400, "VALIDATION_ERROR"
    )
    assert body["message"].startswith(message), body["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/crm/v3/objects/contacts",
        "/crm/v3/objects/contacts/batch/upsert",
        "/crm/v3/objects/contacts/search",
        "/crm/v3/properties/contacts",
        "/crm/v4/associations/contacts/companies/batch/read",
    ],
)
def test_invalid_utf8_in_a_body_is_400_not_500(hubspot, http, path):
    """Latin-1 text sent as if it were UTF-8 (a common client bug) is the caller's 400."""
    response = http.request(
        "POST",
        path,
        content='{"inputs": [], "name": "Café"}'.encode("latin-1"),
        headers={"content-type": "application/json"},
    )
    assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert hubspot.stats()["byStatus"] == {"400": 1}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/crm/v3/objects/widgets"),
        ("GET", "/crm/v3/objects/widgets/1"),
        ("POST", "/crm/v3/objects/widgets/search"),
        ("POST", "/crm/v3/objects/widgets/batch/read"),
        ("GET", "/crm/v3/properties/widgets"),
        ("GET", "/crm/v4/objects/widgets/1/associations/contacts"),
    ],
)
def test_unknown_object_types_are_400(http, method, path):
    response = http.request(method, path, json={"inputs": []})
    body = assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert "widgets" in body["message"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/crm/v3/nothing-here", 404),
        ("GET", "/", 404),
        ("POST", "/crm/v3/objects/contacts/1", 405),
        ("PUT", "/crm/v3/objects/contacts", 405),
        ("GET", "/_sandbox/nothing", 404),
    ],
)
def test_unknown_paths_and_methods(http, method, path, status):
    assert_hubspot_error(http.request(method, path), status)


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dGVzdA=="}]
)
def test_authentication(hubspot, headers):
    response = httpx.get(f"{hubspot.url}/crm/v3/objects/contacts", headers=headers)
    body = assert_hubspot_error(response, 401, "INVALID_AUTHENTICATION")
    assert body["message"].startswith("Authentication credentials not found")
    assert hubspot.stats()["byStatus"] == {"401": 1}


def test_sdk_raises_on_bad_token(hubspot):
    from hubspot import HubSpot
    from hubspot.crm.contacts.exceptions import UnauthorizedException

    client = HubSpot(access_token="wrong", host=hubspot.url)
    with pytest.raises(UnauthorizedException):
        client.crm.contacts.basic_api.get_page()


def test_correlation_id_header_matches_error_body(http):
    response = http.get("/crm/v3/objects/contacts/424242")
    assert response.headers["X-HubSpot-Correlation-Id"] == response.json()["correlationId"]


@pytest.mark.parametrize("params", [{"limit": "ten"}, {"limit": 0}, {"archived": "maybe"}])
def test_bad_query_parameters(http, params):
    assert_hubspot_error(http.get("/crm/v3/objects/contacts", params=params), 400, "VALIDATION_ERROR")


def test_very_long_property_lists_in_the_url_are_414(http):
    properties = ",".join(f"property_number_{i}" for i in range(600))
    assert_hubspot_error(http.get("/crm/v3/objects/contacts", params={"properties": properties}), 414)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("limits", {"tiers": {"starter": {"burst_max": "many"}}}),
        ("limits", {"tiers": ["starter"]}),
        ("seed", {"contacts": 1, "seed": "abc"}),
        ("bulk-touch", {"objectType": "contacts", "ids": 5}),
        ("config", {"searchLagMs": "soon"}),
    ],
)
def test_mistyped_control_requests_are_400(hubspot, path, body):
    method = "POST" if path in ("seed", "bulk-touch") else "PUT"
    assert_hubspot_error(
        httpx.request(method, f"{hubspot.url}/_sandbox/{path}", json=body), 400, "VALIDATION_ERROR"
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/crm/v3/objects/contacts/batch/read", {"inputs": [], "properties": "email"}),
        (
            "POST",
            "/crm/v3/properties/contacts",
            {
                "name": "x",
                "label": "X",
                "type": "string",
                "fieldType": "text",
                "groupName": "g",
                "displayOrder": "first",
            },
        ),
        (
            "PATCH",
            "/crm/v3/properties/contacts/customer_tier",
            {"options": [{"value": "a", "displayOrder": "x"}]},
        ),
        ("POST", "/crm/v3/objects/contacts/search", {"sorts": [{"propertyName": 5}]}),
        (
            "POST",
            "/crm/v3/objects/contacts/search",
            {
                "filterGroups": [
                    {"filters": [{"propertyName": "usage_score", "operator": "GT", "value": "lots"}]}
                ]
            },
        ),
        (
            "POST",
            "/crm/v3/objects/contacts/search",
            {
                "filterGroups": [
                    {"filters": [{"propertyName": "lastmodifieddate", "operator": "GT", "value": "then"}]}
                ]
            },
        ),
    ],
)
def test_wrong_types_inside_bodies_are_400(http, method, path, body):
    assert_hubspot_error(http.request(method, path, json=body), 400, "VALIDATION_ERROR")


JUNK_BODIES = [
    b"null",
    b"1",
    b'"x"',
    b"[]",
    b"{}",
    b'{"inputs": null}',
    b'{"inputs": [null]}',
    b'{"inputs": [{"id": {}}]}',
    b'{"inputs": [{"id": "1", "properties": null}]}',
    b'{"inputs": [{"from": {"id": []}, "to": {}}]}',
    b'{"properties": null}',
    b'{"properties": {"email": []}}',
    b'{"filterGroups": [{"filters": [{}]}]}',
    b'{"filterGroups": [null]}',
    b'{"sorts": [null]}',
    b'{"after": {}}',
    b'{"associations": [{"to": null}]}',
    b'{"primaryObjectId": [], "objectIdToMerge": {}}',
    b'[{"associationTypeId": "1"}]',
]
JUNK_TARGETS = [
    ("POST", "/crm/v3/objects/contacts"),
    ("PATCH", "/crm/v3/objects/contacts/{id}"),
    ("POST", "/crm/v3/objects/contacts/search"),
    ("POST", "/crm/v3/objects/contacts/merge"),
    ("POST", "/crm/v3/objects/contacts/batch/read"),
    ("POST", "/crm/v3/objects/contacts/batch/create"),
    ("POST", "/crm/v3/objects/contacts/batch/update"),
    ("POST", "/crm/v3/objects/contacts/batch/upsert"),
    ("POST", "/crm/v3/objects/contacts/batch/archive"),
    ("POST", "/crm/v3/properties/contacts"),
    ("PATCH", "/crm/v3/properties/contacts/customer_tier"),
    ("PUT", "/crm/v4/objects/contacts/{id}/associations/companies/{company}"),
    ("POST", "/crm/v4/associations/contacts/companies/batch/read"),
    ("POST", "/crm/v4/associations/contacts/companies/batch/create"),
    ("POST", "/crm/v4/associations/contacts/companies/batch/associate/default"),
    ("POST", "/crm/v4/associations/contacts/companies/batch/archive"),
    ("POST", "/crm/v4/associations/contacts/companies/batch/labels/archive"),
]


@pytest.mark.parametrize(("method", "path"), JUNK_TARGETS)
def test_no_junk_body_causes_a_500(http, method, path):
    contact = http.post(
        "/crm/v3/objects/contacts", json={"properties": {"email": "junk@example.com"}}
    ).json()["id"]
    company = http.post("/crm/v3/objects/companies", json={"properties": {"name": "Junk"}}).json()["id"]
    url = path.format(id=contact, company=company)
    for content in JUNK_BODIES:
        response = http.request(method, url, content=content)
        assert response.status_code < 500, (content, response.text)
        if response.status_code >= 400:
            assert response.json()["status"] == "error"
