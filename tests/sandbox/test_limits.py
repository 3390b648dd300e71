"""Rate limits: rolling windows per tier, search's per-second limit, the daily limit, headers and 429 bodies.

Tier figures are shrunk through the control API so the windows can be exercised in well under a second.
Limits, headers and the daily reset: https://developers.hubspot.com/docs/api/usage-details
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
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


# Professional 650,000 a day and 190 per 10 s: https://developers.hubspot.com/changelog/increasing-our-api-limits
@pytest.mark.parametrize(
    ("tier", "burst", "daily"),
    [("starter", 100, 250_000), ("professional", 190, 650_000), ("enterprise", 190, 1_000_000)],
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


# "Each API request will include the following rate limit headers" (usage-details page, also on a 429);
# search responses carry none, refused or not.
@pytest.mark.parametrize(
    ("policy", "path", "headers"),
    [
        ("TEN_SECONDLY_ROLLING", LIST, {"X-HubSpot-RateLimit-Remaining": "0"}),
        ("DAILY", LIST, {"X-HubSpot-RateLimit-Daily-Remaining": "0", "X-HubSpot-RateLimit-Daily": "250000"}),
        ("SECONDLY", SEARCH, {}),
    ],
)
def test_429s_carry_the_rate_limit_headers_hubspot_sends(hubspot, http, policy, path, headers):
    hubspot.set_limits(tier="starter", tiers={"starter": {"burst_max": 1, "search_per_second": 1}})
    if policy == "DAILY":
        hubspot.set_limits(dailyUsed=250_000)
    else:
        (http.get if path == LIST else http.post)(path, **({} if path == LIST else {"json": {}}))
    refused = (http.get if path == LIST else http.post)(path, **({} if path == LIST else {"json": {}}))

    _assert_rate_limit_body(refused, policy)
    sent = {k: v for k, v in refused.headers.items() if k.lower().startswith("x-hubspot-ratelimit")}
    if not headers:
        assert sent == {}
    else:
        assert refused.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert refused.headers["X-HubSpot-RateLimit-Max"] == "1"
        for name, value in headers.items():
            assert refused.headers[name] == value
    assert refused.headers["X-HubSpot-Correlation-Id"] == refused.json()["correlationId"]


@pytest.fixture
def account_clock(hubspot) -> Iterator[list[float]]:
    """The limiter's wall clock, settable (seconds since the epoch); the account's zone is restored after."""
    limiter = hubspot.sandbox.limiter
    now = [time.time()]
    real_clock, zone = limiter.wall_clock, limiter.zone.key
    limiter.wall_clock = lambda: now[0]
    yield now
    limiter.wall_clock = real_clock
    hubspot.set_limits(accountTimezone=zone)


# "Daily limits reset at midnight based on your time zone setting" (usage-details page): a day that is
# still the same day in New York has not reset, though it is past midnight UTC.
@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        ("America/New_York", "2026-11-29T23:59:59", "2026-11-30T00:00:01"),
        ("Europe/Berlin", "2026-11-29T23:59:59", "2026-11-30T00:00:01"),
        # the night clocks go forward: that day has 23 hours
        ("America/New_York", "2026-03-07T23:59:59", "2026-03-08T00:00:01"),
    ],
)
def test_daily_limit_resets_at_midnight_in_the_account_time_zone(
    hubspot, http, account_clock, zone, before, after
):
    tz = ZoneInfo(zone)
    account_clock[0] = datetime.fromisoformat(before).replace(tzinfo=tz).timestamp()
    described = hubspot.set_limits(tier="starter", dailyUsed=250_000, accountTimezone=zone)
    assert described["accountTimezone"] == zone
    reset_at = datetime.fromisoformat(described["dailyResetsAt"])
    assert reset_at == datetime.fromisoformat(after[:10]).replace(tzinfo=tz)
    assert reset_at.utcoffset() == datetime.fromisoformat(after).replace(tzinfo=tz).utcoffset()
    _assert_rate_limit_body(http.get(LIST), "DAILY")

    account_clock[0] = datetime.fromisoformat(after).replace(tzinfo=tz).timestamp()
    response = http.get(LIST)
    assert response.status_code == 200
    assert response.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "249999"


def test_the_default_account_day_is_not_utc(hubspot, http, account_clock):
    """Past midnight UTC but still the evening before in New York: yesterday's count still holds."""
    assert hubspot.control("GET", "limits")["accountTimezone"] == "America/New_York"
    account_clock[0] = datetime.fromisoformat("2026-11-29T23:00:00+00:00").timestamp()
    hubspot.set_limits(tier="starter", dailyUsed=250_000)
    account_clock[0] = datetime.fromisoformat("2026-11-30T02:00:00+00:00").timestamp()
    _assert_rate_limit_body(http.get(LIST), "DAILY")
    account_clock[0] = datetime.fromisoformat("2026-11-30T05:00:01+00:00").timestamp()
    assert http.get(LIST).status_code == 200


def test_unknown_account_time_zone_is_rejected(hubspot):
    response = httpx.put(f"{hubspot.url}/_sandbox/limits", json={"accountTimezone": "Mars/Olympus"})
    body = assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert "Mars/Olympus" in body["message"]


def test_control_and_stats_calls_are_never_limited_or_counted(hubspot, http):
    hubspot.set_limits(tier="starter", tiers={"starter": {"burst_max": 1}})
    assert http.get(LIST).status_code == 200
    for _ in range(5):
        hubspot.stats()
        hubspot.control("GET", "health")
    assert http.get(LIST).status_code == 429
    assert hubspot.stats()["total"] == 2


def test_unknown_tier_is_rejected(hubspot):
    response = httpx.put(f"{hubspot.url}/_sandbox/limits", json={"tier": "platinum"})
    assert_hubspot_error(response, 400, "VALIDATION_ERROR")
