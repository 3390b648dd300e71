"""Rate limits: rolling windows per tier, search's per-second limit, the daily limit, headers and 429 bodies.

Tier figures are shrunk through the control API so the windows can be exercised in well under a second.
"""

from __future__ import annotations

import time

import pytest

from tests.sandbox.conftest import assert_hubspot_error

LIST = "/crm/v3/objects/contacts"
SEARCH = "/crm/v3/objects/contacts/search"


def _assert_rate_limit_body(response, policy: str) -> None:
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"status", "message", "errorType", "correlationId", "policyName", "groupName"}
    assert body["status"] == "error"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == policy
    window = {"TEN_SECONDLY_ROLLING": "ten_secondly_rolling", "SECONDLY": "secondly", "DAILY": "daily"}[
        policy
    ]
    assert body["message"] == f"You have reached your {window} limit."


@pytest.mark.parametrize(
    ("tier", "burst", "daily"),
    [("starter", 100, 250_000), ("professional", 190, 625_000), ("enterprise", 190, 1_000_000)],
)
def test_tier_table_and_headers(hubspot, http, tier, burst, daily):
    described = hubspot.set_limits(tier=tier)
    assert described["tiers"][tier]["burst_max"] == burst
    response = http.get(LIST)
    assert response.status_code == 200
    assert response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert response.headers["X-HubSpot-RateLimit-Max"] == str(burst)
    assert response.headers["X-HubSpot-RateLimit-Remaining"] == str(burst - 1)
    assert response.headers["X-HubSpot-RateLimit-Daily"] == str(daily)
    assert response.headers["X-HubSpot-RateLimit-Daily-Remaining"] == str(daily - 1)
    assert "X-HubSpot-RateLimit-Secondly" in response.headers
    assert response.headers["X-HubSpot-Correlation-Id"]


def test_off_sends_no_rate_limit_headers(http):
    response = http.get(LIST)
    assert not [h for h in response.headers if h.lower().startswith("x-hubspot-ratelimit")]


def test_rolling_window_refuses_then_recovers(hubspot, http):
    hubspot.set_limits(tier="starter", tiers={"starter": {"burst_max": 5, "burst_window_ms": 400}})
    remaining = [http.get(LIST).headers["X-HubSpot-RateLimit-Remaining"] for _ in range(5)]
    assert remaining == ["4", "3", "2", "1", "0"]
    refused = http.get(LIST)
    _assert_rate_limit_body(refused, "TEN_SECONDLY_ROLLING")
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    time.sleep(0.45)
    assert http.get(LIST).status_code == 200
    stats = hubspot.stats()
    assert stats["rateLimited"] == {"total": 1, "TEN_SECONDLY_ROLLING": 1}
    assert stats["byStatus"] == {"200": 6, "429": 1}


def test_search_has_its_own_per_second_limit_and_no_headers(hubspot, http):
    hubspot.set_limits(tier="professional", tiers={"professional": {"burst_max": 2}})
    answers = [http.post(SEARCH, json={}) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    _assert_rate_limit_body(answers[-1], "SECONDLY")
    for answer in answers:
        assert not [h for h in answer.headers if h.lower().startswith("x-hubspot-ratelimit")]
    assert http.get(LIST).status_code == 200  # searches did not use the burst window
    time.sleep(1.05)
    assert http.post(SEARCH, json={}).status_code == 200


def test_daily_limit(hubspot, http):
    hubspot.set_limits(tier="starter", dailyUsed=249_999)
    last = http.get(LIST)
    assert last.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    _assert_rate_limit_body(http.get(LIST), "DAILY")
    _assert_rate_limit_body(http.post(SEARCH, json={}), "DAILY")
    assert hubspot.stats()["rateLimited"]["DAILY"] == 2


def test_control_and_stats_calls_are_never_limited_or_counted(hubspot, http):
    hubspot.set_limits(tier="starter", tiers={"starter": {"burst_max": 1}})
    assert http.get(LIST).status_code == 200
    for _ in range(5):
        hubspot.stats()
        hubspot.control("GET", "health")
    assert http.get(LIST).status_code == 429
    assert hubspot.stats()["total"] == 2


def test_unknown_tier_is_rejected(hubspot):
    import httpx

    response = httpx.put(f"{hubspot.url}/_sandbox/limits", json={"tier": "platinum"})
    assert_hubspot_error(response, 400, "VALIDATION_ERROR")
