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


@pytest.mark.parametrize(
    "plan", [{"errorRate": 2}, {"statuses": [418]}, {"script": [{"fault": "explode"}]}, []]
)
def test_invalid_fault_plans(hubspot, plan):
    assert_hubspot_error(httpx.put(f"{hubspot.url}/_sandbox/faults", json=plan), 400, "VALIDATION_ERROR")
