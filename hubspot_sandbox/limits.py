"""Rate limits as HubSpot applies them: a rolling 10-second burst window per token, a separate per-second
window for search, and a daily count for the account that resets at midnight in the account's time zone
(the sandbox is one account; its zone is ``--account-timezone``, America/New_York unless told).

The limiter only decides and counts; the app turns its verdicts into 429 bodies and headers.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hubspot_sandbox.errors import validation_error


@dataclass(frozen=True)
class Tier:
    burst_max: int  # requests per rolling window (private apps)
    burst_window_ms: int
    search_per_second: int
    daily_max: int


# Private-app figures from HUBSPOT_API.md (Professional's 650,000 a day: HubSpot's changelog "Increasing our
# API limits"); the API-limit-increase add-on raises the burst to 250: settable via PUT /_sandbox/limits.
DEFAULT_ACCOUNT_TIMEZONE = "America/New_York"
TIERS: dict[str, Tier] = {
    "starter": Tier(burst_max=100, burst_window_ms=10_000, search_per_second=5, daily_max=250_000),
    "professional": Tier(burst_max=190, burst_window_ms=10_000, search_per_second=5, daily_max=650_000),
    "enterprise": Tier(burst_max=190, burst_window_ms=10_000, search_per_second=5, daily_max=1_000_000),
}
TIER_NAMES = ("off", *TIERS)


@dataclass
class Verdict:
    allowed: bool
    policy: str | None  # TEN_SECONDLY_ROLLING | SECONDLY | DAILY when refused
    headers: dict[str, str]


def account_zone(name: str) -> ZoneInfo:
    """The IANA zone of the account, or ValueError naming what was given."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as America/New_York") from None


class RateLimiter:
    def __init__(
        self,
        tier: str = "off",
        account_timezone: str = DEFAULT_ACCOUNT_TIMEZONE,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.tier_name = "off"
        self.tier: Tier | None = None
        self.tiers = dict(TIERS)
        self._burst: dict[str, deque[float]] = {}
        self._search: dict[str, deque[float]] = {}
        self._daily_used = 0
        self.zone = account_zone(account_timezone)
        self.wall_clock = wall_clock  # seconds since the epoch; tests move it across midnight
        self._day = self._today()
        self.set_tier(tier)

    def set_tier(self, name: str) -> None:
        if name not in TIER_NAMES:
            raise validation_error(f"Unknown rate-limit tier {name!r}; expected one of {list(TIER_NAMES)}")
        self.tier_name = name
        self.tier = self.tiers.get(name)

    def configure(self, body: dict[str, Any]) -> None:
        """Apply a PUT /_sandbox/limits body: ``tier``, per-tier overrides, ``dailyUsed``,
        ``accountTimezone``."""
        if "accountTimezone" in body:
            try:
                self.set_account_timezone(str(body["accountTimezone"]))
            except ValueError as problem:
                raise validation_error(f"accountTimezone: {problem}") from None
        if "tiers" in body:
            for name, overrides in body["tiers"].items():
                if name not in self.tiers or not isinstance(overrides, dict):
                    raise validation_error(f"Unknown tier {name!r} in `tiers`.")
                known = {k: int(v) for k, v in overrides.items() if k in Tier.__dataclass_fields__}
                self.tiers[name] = replace(self.tiers[name], **known)
        if "tier" in body:
            self.set_tier(str(body["tier"]))
        else:
            self.set_tier(self.tier_name)
        if "dailyUsed" in body:
            self._roll_day()  # the count given is today's
            self._daily_used = int(body["dailyUsed"])

    def set_account_timezone(self, name: str) -> None:
        self.zone = account_zone(name)
        self._day = self._today()

    def reset(self) -> None:
        """Forget counts and per-tier overrides; the chosen tier stays (it came from --rate-limit)."""
        self.tiers = dict(TIERS)
        self.tier = self.tiers.get(self.tier_name)
        self._burst.clear()
        self._search.clear()
        self._daily_used = 0

    def describe(self) -> dict[str, Any]:
        self._roll_day()
        return {
            "tier": self.tier_name,
            "tiers": {name: asdict(tier) for name, tier in self.tiers.items()},
            "dailyUsed": self._daily_used,
            "accountTimezone": self.zone.key,
            "dailyResetsAt": self.daily_reset_at().isoformat(),
        }

    def daily_reset_at(self) -> datetime:
        """The next midnight in the account's time zone (23 or 25 hours away on a DST change)."""
        tomorrow = self._today() + timedelta(days=1)
        return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=self.zone)

    def check(self, token: str, is_search: bool) -> Verdict:
        """Count one request against the token's windows, or refuse it with the policy it broke."""
        tier = self.tier
        if tier is None:
            return Verdict(True, None, {})
        now = time.monotonic()
        self._roll_day()
        burst = self._window(self._burst, token, now, tier.burst_window_ms / 1000)
        headers = {} if is_search else self._headers(tier, burst, now)
        if self._daily_used >= tier.daily_max:
            return Verdict(False, "DAILY", headers)
        if is_search:
            searches = self._window(self._search, token, now, 1.0)
            if len(searches) >= tier.search_per_second:
                return Verdict(False, "SECONDLY", headers)
            searches.append(now)
        else:
            if len(burst) >= tier.burst_max:
                return Verdict(False, "TEN_SECONDLY_ROLLING", headers)
            burst.append(now)
        self._daily_used += 1
        headers = {} if is_search else self._headers(tier, burst, now)
        return Verdict(True, None, headers)

    def _headers(self, tier: Tier, burst: deque[float], now: float) -> dict[str, str]:
        secondly_max = max(1, tier.burst_max // 10)
        last_second = sum(1 for t in burst if t > now - 1.0)
        return {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(tier.burst_window_ms),
            "X-HubSpot-RateLimit-Max": str(tier.burst_max),
            "X-HubSpot-RateLimit-Remaining": str(max(0, tier.burst_max - len(burst))),
            "X-HubSpot-RateLimit-Secondly": str(secondly_max),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, secondly_max - last_second)),
            **self._daily_headers(tier),
        }

    def _daily_headers(self, tier: Tier) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Daily": str(tier.daily_max),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, tier.daily_max - self._daily_used)),
        }

    @staticmethod
    def _window(windows: dict[str, deque[float]], token: str, now: float, seconds: float) -> deque[float]:
        window = windows.setdefault(token, deque())
        while window and window[0] <= now - seconds:
            window.popleft()
        return window

    def _roll_day(self) -> None:
        today = self._today()
        if today != self._day:
            self._day, self._daily_used = today, 0

    def _today(self) -> date:
        return datetime.fromtimestamp(self.wall_clock(), self.zone).date()


def rate_limit_body(policy: str, correlation_id: str) -> dict[str, Any]:
    """HubSpot's 429 body; note it has ``errorType`` and ``policyName`` and no ``category``."""
    window = {"TEN_SECONDLY_ROLLING": "ten_secondly_rolling", "SECONDLY": "secondly", "DAILY": "daily"}[
        policy
    ]
    return {
        "status": "error",
        "message": f"You have reached your {window} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id,
        "policyName": policy,
        "groupName": "publicapi:private-app:sandbox" if policy != "SECONDLY" else "publicapi:crm-search",
    }
