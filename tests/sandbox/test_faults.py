"""Injected faults: error shares, latency, dropped connections and scripts, switchable at runtime."""

from __future__ import annotations

import time

import httpx
import pytest
from hubspot.crm.contacts import PublicObjectSearchRequest
from hubspot.crm.contacts.exceptions import ServiceException

from tests.sandbox.conftest import assert_hubspot_error

LIST = "/crm/v3/objects/contacts"
SEARCH = "/crm/v3/objects/contacts/search"
SEARCH_TEMPLATE = "POST /crm/v3/objects/{objectType}/search"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_error_share_answers_hubspot_shaped_5xx(hubspot, http, status):
    hubspot.set_faults({"errorRate": 1.0, "statuses": [status]})
    assert_hubspot_error(http.get(LIST), status)
    assert hubspot.stats()["faultsInjected"] == {str(status): 1}


def test_injected_429_looks_like_a_rate_limit(hubspot, http):
    hubspot.set_faults({"errorRate": 1.0, "statuses": [429]})
    body = http.get(LIST).json()
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["errorType"] == "RATE_LIMIT"
    assert hubspot.stats()["rateLimited"]["TEN_SECONDLY_ROLLING"] == 1


def test_partial_error_share_is_seeded(hubspot, http):
    def run() -> list[int]:
        hubspot.set_faults({"errorRate": 0.5, "statuses": [502], "seed": 7})
        return [http.get(LIST).status_code for _ in range(40)]

    first = run()
    assert 5 < first.count(502) < 35
    assert run() == first


def test_added_latency(hubspot, http):
    hubspot.set_faults({"latencyMs": 250})
    started = time.perf_counter()
    assert http.get(LIST).status_code == 200
    assert time.perf_counter() - started >= 0.25


def test_dropped_connection(hubspot, http):
    hubspot.set_faults({"dropRate": 1.0})
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(LIST)
    hubspot.clear_faults()
    assert http.get(LIST).status_code == 200
    assert hubspot.stats()["byStatus"]["dropped"] == 1


def test_scripted_third_search_answers_502(hubspot, sdk, http):
    hubspot.set_faults({"script": [{"endpoint": SEARCH_TEMPLATE, "call": 3, "fault": 502}]})
    request = PublicObjectSearchRequest(limit=1)
    sdk.crm.contacts.search_api.do_search(public_object_search_request=request)
    assert http.get(LIST).status_code == 200  # other endpoints do not advance the script
    sdk.crm.contacts.search_api.do_search(public_object_search_request=request)
    with pytest.raises(ServiceException) as raised:
        sdk.crm.contacts.search_api.do_search(public_object_search_request=request)
    assert raised.value.status == 502
    sdk.crm.contacts.search_api.do_search(public_object_search_request=request)
    assert hubspot.control("GET", "faults")["scriptProgress"] == [4]


def test_scripted_sequence_of_kinds(hubspot, http):
    hubspot.set_faults(
        {
            "script": [
                {"endpoint": "*", "calls": [1, 2], "fault": 503},
                {"endpoint": "GET /crm/v3/objects/{objectType}", "call": 3, "fault": "drop"},
            ]
        }
    )
    assert http.get(LIST).status_code == 503
    assert http.get(LIST).status_code == 503
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(LIST)
    assert http.get(LIST).status_code == 200


def test_faults_limited_to_some_endpoints(hubspot, http):
    hubspot.set_faults({"errorRate": 1.0, "statuses": [504], "endpoints": [SEARCH_TEMPLATE]})
    assert http.get(LIST).status_code == 200
    assert http.post(SEARCH, json={}).status_code == 504


BATCH_CREATE = "POST /crm/v3/objects/{objectType}/batch/create"


@pytest.mark.parametrize(
    ("fault", "expected"), [("drop", httpx.RemoteProtocolError), (502, 502)], ids=["drop", "502"]
)
def test_a_write_applied_then_its_answer_lost(hubspot, http, fault, expected):
    # HubSpot may commit a write whose answer never arrives (a dropped connection, or a gateway 5xx:
    # https://developers.hubspot.com/docs/api-reference/error-handling lists 502/504 as retryable), so a
    # blind retry of a create makes a duplicate; this fault makes that case reproducible.
    hubspot.set_faults(
        {"script": [{"endpoint": BATCH_CREATE, "call": 1, "fault": fault, "afterApply": True}]}
    )
    body = {"inputs": [{"properties": {"email": "once@example.com"}}]}
    if isinstance(expected, int):
        assert_hubspot_error(http.post(f"{LIST}/batch/create", json=body), expected)
    else:
        with pytest.raises(expected):
            http.post(f"{LIST}/batch/create", json=body)

    found = http.get(f"{LIST}/once@example.com", params={"idProperty": "email"})
    assert found.status_code == 200  # the write was applied
    retried = http.post(f"{LIST}/batch/create", json=body)
    assert_hubspot_error(retried, 409, "CONFLICT")  # a blind retry now collides with it
    assert hubspot.stats()["faultsInjected"] == {f"{fault} after apply": 1}


def test_random_faults_after_apply(hubspot, http):
    hubspot.set_faults({"errorRate": 1.0, "statuses": [503], "afterApply": True, "endpoints": [BATCH_CREATE]})
    response = http.post(f"{LIST}/batch/create", json={"inputs": [{"properties": {"firstname": "A"}}]})
    assert_hubspot_error(response, 503)
    hubspot.clear_faults()
    assert len(http.get(LIST).json()["results"]) == 1


@pytest.mark.parametrize(
    "plan",
    [
        {"errorRate": 2},
        {"statuses": [418]},
        {"script": [{"fault": "explode"}]},
        [],
        {"script": [{"fault": 429, "afterApply": True}]},
        {"script": [{"fault": "latency", "afterApply": True}]},
        {"afterApply": "yes"},
    ],
)
def test_invalid_fault_plans(hubspot, plan):
    assert_hubspot_error(httpx.put(f"{hubspot.url}/_sandbox/faults", json=plan), 400, "VALIDATION_ERROR")
