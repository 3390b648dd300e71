"""HubSpotHook: authenticated, rate-budgeted, retrying access to the HubSpot CRM API.

Endpoints and transport come from the official SDK (`hubspot-api-client`); responses are read
raw (`_preload_content=False`) and decoded as JSON here, which keeps 207 bodies, rate-limit
headers and error bodies in one shape and skips the SDK's model validation on hot paths.

The decision "wait, retry, or fail now" is made in one place, `_classify`:
- 429 TEN_SECONDLY_ROLLING / SECONDLY: wait (Retry-After when given) and retry;
- 429 DAILY: fail the task at once, without Airflow retries; it will not clear for hours;
- 5xx, 423, 477, timeouts, dropped connections, unreadable bodies: bounded exponential backoff
  with jitter, then fail with the last correlationId;
- 401/403: fail without Airflow retries (a 403 MISSING_SCOPES names the scopes the token lacks);
  other 4xx: fail with HubSpot's message and correlationId.

Not responsible for: SQL, mapping records, or deciding what to read.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property, partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import urllib3
from airflow.exceptions import AirflowNotFoundException
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowFailException
from hubspot import HubSpot
from hubspot.crm.contacts import PublicGdprDeleteInput

from hubspot_sync.hooks.rate_budget import (
    MAX_SEARCH_SLOTS,
    SEARCH_LIMIT_PER_SECOND,
    TIER_LIMITS,
    RateBudget,
    RequestKind,
)

DEFAULT_BASE_URL = "https://api.hubapi.com"
CONNECT_TIMEOUT_SECONDS = 10.0
# Connections each SDK client keeps per host: parallel.requests_in_flight's most, so threads sharing a
# hook never drop a connection to open another (the SDK's default is 5 per CPU core).
CONNECTION_POOL_SIZE = 32
RETRYABLE_STATUSES = frozenset({423, 477, 500, 502, 503, 504, 521, 522, 523, 524})
TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError)


class HubSpotError(Exception):
    """A HubSpot request failed; carries status, category and correlationId, never the token."""

    def __init__(self, message: str, *, status: int | None = None, correlation_id: str | None = None):
        super().__init__(message)
        self.status = status
        self.correlation_id = correlation_id


class HubSpotRequestError(HubSpotError):
    """HubSpot refused the request (4xx other than 429): retrying the same request cannot help."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        correlation_id: str | None = None,
        body: dict[str, Any] | None = None,
    ):
        super().__init__(message, status=status, correlation_id=correlation_id)
        self.body = body or {}  # HubSpot's error body: e.g. which inputs of a batch it refused, and why


class HubSpotUnavailableError(HubSpotError):
    """HubSpot kept failing (5xx, timeouts, dropped connections) after every retry."""


class HubSpotAuthError(HubSpotError, AirflowFailException):
    """The token is invalid, expired or lacks a scope: no retry until the connection is fixed."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        correlation_id: str | None = None,
        missing_scopes: tuple[str, ...] = (),
    ):
        super().__init__(message, status=status, correlation_id=correlation_id)
        self.missing_scopes = missing_scopes


class HubSpotDailyLimitError(HubSpotError, AirflowFailException):
    """The account's daily API limit is used up: fail now, rerun after the reset."""


@dataclass
class ApiResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class _Transient(Exception):  # an internal signal: never escapes the hook
    reason: str
    status: int | None = None
    correlation_id: str | None = None
    wait_seconds: float | None = None
    rate_limited: bool = False


@dataclass
class RequestStats:
    api_calls: int = 0
    rate_limited: int = 0
    retries: int = 0
    by_operation: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, *, operation: str | None = None, rate_limited: bool = False, retry: bool = False) -> None:
        """Count one call, 429 or retry; threads sharing a hook count through here."""
        with self._lock:
            if operation is not None:
                self.api_calls += 1
                self.by_operation[operation] += 1
            self.rate_limited += rate_limited
            self.retries += retry

    def as_dict(self) -> dict[str, Any]:
        return {
            "api_calls": self.api_calls,
            "rate_limited": self.rate_limited,
            "retries": self.retries,
            "by_operation": dict(self.by_operation),
        }


class HubSpotHook(BaseHook):
    """Talks to one HubSpot account through the HTTP connection `hubspot_default`.

    Connection: host = API base URL (default https://api.hubapi.com), password = private app token.
    Extras: `rate_limit_tier` (starter | professional | enterprise), or `requests_per_10s` and
    `search_per_second` (1 to 50; default 5) for other limits; with neither, the limits are learnt
    from HubSpot's `X-HubSpot-RateLimit-Max` / `-Interval-Milliseconds` / `-Daily` headers (starting at
    the smallest tier's until the first response); `budget_share` (above 0, at most 1; default 0.9);
    `account_timezone` (IANA name, for the daily-limit reset time); `timeout_seconds` (default 30);
    `max_attempts` (default 6); `backoff_base_seconds` (default 0.5: the first retry waits up to 1 s,
    doubling, capped at 30 s); `rate_limit_wait_seconds` (default 300: how long one request may wait
    out 429s in all).
    """

    conn_name_attr = "hubspot_conn_id"
    default_conn_name = "hubspot_default"
    conn_type = "http"
    hook_name = "HubSpot"

    def __init__(
        self,
        hubspot_conn_id: str = default_conn_name,
        *,
        budget_conn_factory: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__()
        self.hubspot_conn_id = hubspot_conn_id
        self._budget_conn_factory = budget_conn_factory
        self.stats = RequestStats()
        self.daily_limit: int | None = None  # from X-HubSpot-RateLimit-Daily, when HubSpot sends it

    # -- configuration ------------------------------------------------------------------------

    @cached_property
    def _connection(self):
        try:
            conn = self.get_connection(self.hubspot_conn_id)
        except AirflowNotFoundException:
            raise HubSpotAuthError(
                f"Airflow connection '{self.hubspot_conn_id}' is not defined: add an HTTP connection whose "
                "host is the API base URL (https://api.hubapi.com) and whose password is a private app "
                f"token, e.g. AIRFLOW_CONN_{self.hubspot_conn_id.upper()}="
                '\'{"conn_type": "http", "host": "https://api.hubapi.com", "password": "<token>"}\''
            ) from None
        if not conn.password:
            raise HubSpotAuthError(
                f"Airflow connection '{self.hubspot_conn_id}' has no password: "
                "put the private app token there"
            )
        return conn

    @cached_property
    def extras(self) -> dict[str, Any]:
        return self._connection.extra_dejson or {}

    @cached_property
    def base_url(self) -> str:
        conn = self._connection
        host = (conn.host or "").rstrip("/")
        if not host:
            return DEFAULT_BASE_URL
        if "://" not in host:
            host = f"{conn.schema or 'https'}://{host}"
        if conn.port and host.count(":") < 2:
            host = f"{host}:{conn.port}"
        return host

    @cached_property
    def requests_per_10s(self) -> int:
        if "requests_per_10s" in self.extras:
            return int(self.extras["requests_per_10s"])
        tier = str(self.extras.get("rate_limit_tier", "starter")).lower()
        if tier not in TIER_LIMITS:
            raise HubSpotRequestError(
                f"connection '{self.hubspot_conn_id}': extra rate_limit_tier={tier!r} is not one of "
                f"{', '.join(sorted(TIER_LIMITS))}; or set requests_per_10s"
            )
        return TIER_LIMITS[tier]

    @cached_property
    def client(self) -> HubSpot:
        # urllib3 retries nothing: every retry decision is made in `_classify`.
        return HubSpot(
            access_token=self._connection.password,
            host=self.base_url,
            retry=urllib3.Retry(total=0, connect=0, read=0, redirect=0, status=0, raise_on_status=False),
            connection_pool_maxsize=CONNECTION_POOL_SIZE,
        )

    @cached_property
    def budget(self) -> RateBudget | None:
        if self._budget_conn_factory is None:
            return None
        share = float(self.extras.get("budget_share", 0.9))
        if not 0 < share <= 1:
            raise HubSpotRequestError(
                f"connection '{self.hubspot_conn_id}': extra budget_share={share} must be above 0 and at "
                "most 1 (the share of HubSpot's limits this deployment may use)"
            )
        search_per_second = int(self.extras.get("search_per_second", SEARCH_LIMIT_PER_SECOND))
        if not 1 <= search_per_second <= MAX_SEARCH_SLOTS:
            raise HubSpotRequestError(
                f"connection '{self.hubspot_conn_id}': extra search_per_second={search_per_second} must be "
                f"1 to {MAX_SEARCH_SLOTS} (HubSpot allows {SEARCH_LIMIT_PER_SECOND})"
            )
        return RateBudget(
            self._budget_conn_factory(),
            self._connection.password,
            requests_per_10s=self.requests_per_10s,
            search_per_second=search_per_second,
            share=share,
            call_timeout_seconds=CONNECT_TIMEOUT_SECONDS + float(self.extras.get("timeout_seconds", 30)),
        )

    # The SDK builds a new API client (and connection pool) on every attribute access: keep one each.
    @cached_property
    def _objects_basic(self):
        return self.client.crm.objects.basic_api

    @cached_property
    def _objects_batch(self):
        return self.client.crm.objects.batch_api

    @cached_property
    def _objects_search(self):
        return self.client.crm.objects.search_api

    @cached_property
    def _properties(self):
        return self.client.crm.properties.core_api

    @cached_property
    def _associations_batch(self):
        return self.client.crm.associations.v4.batch_api

    # -- endpoints ----------------------------------------------------------------------------

    def get_properties(self, object_type: str) -> list[dict[str, Any]]:
        response = self.request(
            "properties.get_all", "standard", partial(self._properties.get_all, object_type)
        )
        return response.body.get("results", [])

    def iter_list_pages(
        self,
        object_type: str,
        properties: list[str],
        *,
        archived: bool = False,
        after: str | None = None,
        limit: int = 100,
        associations: list[str] | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """Pages of the list endpoint as (records, cursor of the next page or None on the last);
        `associations` names object types whose first page of associations comes inline (v3 shape)."""
        while True:
            response = self.request(
                "objects.list",
                "standard",
                partial(
                    self._objects_basic.get_page,
                    object_type,
                    limit=limit,
                    after=after,
                    properties=properties,
                    archived=archived,
                    **({"associations": associations} if associations else {}),
                ),
            )
            after = ((response.body.get("paging") or {}).get("next") or {}).get("after")
            yield response.body.get("results", []), after
            if not after:
                return

    def search(self, object_type: str, search_request: dict[str, Any]) -> dict[str, Any]:
        return self.request(
            "objects.search",
            "search",
            partial(self._objects_search.do_search, object_type, search_request),
        ).body

    def batch_read(
        self,
        object_type: str,
        ids: list[str],
        properties: list[str],
        *,
        archived: bool = False,
        properties_with_history: list[str] | None = None,
    ) -> ApiResponse:
        body: dict[str, Any] = {"inputs": [{"id": record_id} for record_id in ids], "properties": properties}
        if properties_with_history:
            body["propertiesWithHistory"] = properties_with_history
        return self.request(
            "objects.batch_read",
            "standard",
            partial(self._objects_batch.read, object_type, body, archived=archived),
        )

    def batch_write(self, object_type: str, mode: str, inputs: list[dict[str, Any]]) -> ApiResponse:
        """Batch `update` or `upsert`; a 207 comes back as a response whose body lists `errors`."""
        method = {"update": self._objects_batch.update, "upsert": self._objects_batch.upsert}[mode]
        return self.request(
            f"objects.batch_{mode}", "standard", partial(method, object_type, {"inputs": inputs})
        )

    def batch_create(self, object_type: str, inputs: list[dict[str, Any]]) -> ApiResponse:
        """Batch create; inputs that all carry an `objectWriteTraceId` are answered one by one (207)."""
        return self.request(
            "objects.batch_create",
            "standard",
            partial(self._objects_batch.create, object_type, {"inputs": inputs}),
        )

    def batch_archive(self, object_type: str, ids: list[str]) -> ApiResponse:
        body = {"inputs": [{"id": record_id} for record_id in ids]}
        return self.request(
            "objects.batch_archive", "standard", partial(self._objects_batch.archive, object_type, body)
        )

    def gdpr_delete(self, object_id: str, *, id_property: str | None = None) -> ApiResponse:
        """Delete a contact for good (GDPR), by id or by `id_property` (email); scope
        crm.objects.contacts.write. HubSpot answers 204; 404 when no contact has that id."""
        body = PublicGdprDeleteInput(object_id=object_id, id_property=id_property)
        return self.request(
            "contacts.gdpr_delete", "standard", partial(self.client.crm.contacts.basic_api.purge, body)
        )

    def batch_read_by_property(
        self, object_type: str, id_property: str, values: list[str], properties: list[str]
    ) -> ApiResponse:
        """Records found by the values of a unique property (207 lists the values that found none)."""
        body = {
            "inputs": [{"id": value} for value in values],
            "idProperty": id_property,
            "properties": properties,
        }
        return self.request(
            "objects.batch_read", "standard", partial(self._objects_batch.read, object_type, body)
        )

    def create_property(self, object_type: str, definition: dict[str, Any]) -> ApiResponse:
        return self.request(
            "properties.create", "standard", partial(self._properties.create, object_type, definition)
        )

    def batch_read_associations(
        self, from_type: str, to_type: str, ids: list[str], *, after: dict[str, str] | None = None
    ) -> ApiResponse:
        """One page of each record's associations; `after` maps an id to the cursor of its next page."""
        after = after or {}
        body = {"inputs": [{"id": i, **({"after": after[i]} if i in after else {})} for i in ids]}
        return self.request(
            "associations.batch_read",
            "standard",
            partial(self._associations_batch.get_page, from_type, to_type, body),
        )

    # -- transport ----------------------------------------------------------------------------

    def request(self, operation: str, kind: RequestKind, call: Callable[..., Any]) -> ApiResponse:
        """Run one SDK call under the rate budget, retrying what is transient.

        Failures (5xx, timeouts, drops) are bounded by `max_attempts`; 429s are not failures but
        waits, bounded by `rate_limit_wait_seconds` in all (another client sharing the token can
        hold the window for a while without this request being broken).
        """
        max_attempts = int(self.extras.get("max_attempts", 6))
        rate_limit_budget = float(self.extras.get("rate_limit_wait_seconds", 300))
        timeout = float(self.extras.get("timeout_seconds", 30))
        base = float(self.extras.get("backoff_base_seconds", 0.5))
        failures, waited_for_limits = 0, 0.0
        while True:
            grant = self.budget.acquire(kind) if self.budget is not None else None
            self.stats.count(operation=operation)
            try:
                raw = call(_preload_content=False, _request_timeout=(CONNECT_TIMEOUT_SECONDS, timeout))
                response = self._decode(raw)
                self._learn_limits(response.headers)
                return response
            except Exception as error:
                transient = self._classify(operation, error)
            finally:
                if grant is not None:
                    self.budget.answered(grant)
            if transient.rate_limited:
                self.stats.count(rate_limited=True)
                wait = (
                    transient.wait_seconds if transient.wait_seconds is not None else _backoff(2, base=base)
                )
                exhausted = waited_for_limits + wait > rate_limit_budget
                waited_for_limits += wait
            else:
                failures += 1
                exhausted = failures >= max_attempts
                wait = transient.wait_seconds or 0.0
                if transient.wait_seconds is None and not exhausted:
                    wait = _backoff(failures, base=base)
            if exhausted:
                raise HubSpotUnavailableError(
                    f"HubSpot {operation} at {self.base_url} gave up after {failures} failures and "
                    f"{waited_for_limits:.0f}s of "
                    f"rate-limit waits, last with {transient.reason}"
                    + _correlation(transient.correlation_id),
                    status=transient.status,
                    correlation_id=transient.correlation_id,
                )
            self.stats.count(retry=True)
            self.log.warning(
                "HubSpot %s: %s; retrying in %.1fs (%d/%d failures)%s",
                operation,
                transient.reason,
                wait,
                failures,
                max_attempts,
                _correlation(transient.correlation_id),
            )
            time.sleep(wait)

    @cached_property
    def _learns_limits(self) -> bool:
        return "requests_per_10s" not in self.extras and "rate_limit_tier" not in self.extras

    def _learn_limits(self, headers: dict[str, str]) -> None:
        """Size the budget from HubSpot's rate-limit headers when the connection names no limits."""
        limit = _header_int(headers, "x-hubspot-ratelimit-max")
        interval_ms = _header_int(headers, "x-hubspot-ratelimit-interval-milliseconds")
        self.daily_limit = _header_int(headers, "x-hubspot-ratelimit-daily") or self.daily_limit
        if not (limit and interval_ms and self._learns_limits and self.budget is not None):
            return
        if self.budget.resize("standard", limit, interval_ms / 1000):
            self.log.info(
                "HubSpot rate limit learnt from its headers: %d requests per %d ms", limit, interval_ms
            )

    def share_between_threads(self) -> HubSpotHook:
        """Build what is built lazily (connection, SDK clients, rate budget) now, so that threads can
        share this hook: requests, the budget and the counters are safe to use from several threads."""
        for name in ("extras", "base_url", "client", "budget", "_objects_basic", "_objects_batch"):
            getattr(self, name)
        for name in ("_objects_search", "_properties", "_associations_batch"):
            getattr(self, name)
        return self

    def close(self) -> None:
        """Release the rate budget's database connection, if one was opened."""
        budget = self.__dict__.get("budget")
        if budget is not None:
            budget.close()

    @staticmethod
    def _decode(raw: Any) -> ApiResponse:
        headers = {key.lower(): value for key, value in raw.headers.items()}
        data = raw.data
        if not data:
            return ApiResponse(raw.status, {}, headers)
        try:
            body = json.loads(data)
        except ValueError:
            raise _Transient(
                "a response that is not JSON", raw.status, headers.get("x-hubspot-correlation-id")
            ) from None
        if not isinstance(body, dict):
            raise _Transient("a response that is not a JSON object", raw.status, _body_correlation(body))
        return ApiResponse(raw.status, body, headers)

    def _classify(self, operation: str, error: Exception) -> _Transient:
        """Turn a failure into a _Transient to retry, or raise what must not be retried."""
        if isinstance(error, _Transient):
            return error
        if isinstance(error, TRANSPORT_ERRORS):
            return _Transient(f"a network error ({type(error).__name__})")
        status = getattr(error, "status", None)
        if status is None or not type(error).__module__.startswith("hubspot."):
            raise error
        body = _error_body(getattr(error, "body", None))
        headers = {key.lower(): value for key, value in (getattr(error, "headers", None) or {}).items()}
        correlation_id = body.get("correlationId") or headers.get("x-hubspot-correlation-id")
        message = str(body.get("message") or getattr(error, "reason", "") or "no message")
        if status == 0:  # the SDK's own transport failure (e.g. TLS)
            return _Transient(f"a transport error ({message[:120]})")
        if status == 429:
            policy = str(body.get("policyName") or "").upper()
            if policy == "DAILY":
                self.stats.count(rate_limited=True)  # a 429 received, though not retried
                raise HubSpotDailyLimitError(
                    f"HubSpot daily API limit reached ({operation}): {message.rstrip('.')}. "
                    f"{self._daily_reset_hint()} "
                    "The task is not retried: a retry before the reset would fail the same way."
                    + _correlation(correlation_id),
                    status=status,
                    correlation_id=correlation_id,
                )
            base = float(self.extras.get("backoff_base_seconds", 0.5))
            # Without Retry-After: a second for the per-second search limit, longer for the 10 s window.
            wait = _retry_after(headers) or (2 * base if policy == "SECONDLY" else _backoff(2, base=base))
            return _Transient(f"429 {policy or 'rate limited'}", status, correlation_id, wait, True)
        if status in RETRYABLE_STATUSES:
            wait = _retry_after(headers)
            if status == 423:
                wait = max(wait or 0.0, 2.0)
            return _Transient(f"HTTP {status}", status, correlation_id, wait)
        category = body.get("category") or body.get("errorType") or "ERROR"
        if status == 403 and category == "MISSING_SCOPES":
            raise self._missing_scopes(operation, body, correlation_id)
        text = f"HubSpot {operation} refused: HTTP {status} {category}: {message}"
        text += _correlation(correlation_id)
        if status in (401, 403):
            raise HubSpotAuthError(
                text + f". Check the token in connection '{self.hubspot_conn_id}' and its scopes.",
                status=status,
                correlation_id=correlation_id,
            )
        raise HubSpotRequestError(text, status=status, correlation_id=correlation_id, body=body)

    def _missing_scopes(
        self, operation: str, body: dict[str, Any], correlation_id: str | None
    ) -> HubSpotAuthError:
        """HubSpot lists the scopes of which the call needs one in ``errors[].context``."""
        scopes: list[str] = []
        for error in body.get("errors") or []:
            context = (error.get("context") or {}) if isinstance(error, dict) else {}
            for key in ("requiredScopes", "requiredGranularScopes"):
                scopes += [s for s in context.get(key) or [] if isinstance(s, str) and s not in scopes]
        if not scopes:
            needed = "a scope HubSpot did not name"
        elif len(scopes) == 1:
            needed = f"the scope {scopes[0]}"
        else:
            needed = "one of the scopes " + ", ".join(scopes)
        return HubSpotAuthError(
            f"HubSpot {operation} refused: the private app token in connection '{self.hubspot_conn_id}' "
            f"lacks {needed} (HTTP 403 MISSING_SCOPES){_correlation(correlation_id)}. Add it to the "
            "private app's scopes (Settings > Integrations > Private apps); retrying cannot help.",
            status=403,
            correlation_id=correlation_id,
            missing_scopes=tuple(scopes),
        )

    def _daily_reset_hint(self) -> str:
        """When the daily limit resets: midnight in the account's time zone, which only the connection's
        extra `account_timezone` can tell (HubSpot sends no reset time)."""
        zone_name = self.extras.get("account_timezone")
        try:
            zone = ZoneInfo(zone_name) if zone_name else None
        except (ZoneInfoNotFoundError, ValueError):
            return (
                "It resets at midnight in the HubSpot account's time zone (extra account_timezone "
                f"{zone_name!r} is not an IANA time zone name such as America/New_York)."
            )
        if zone is None:
            return (
                "It resets at midnight in the HubSpot account's time zone (set extra account_timezone on "
                "the connection to have the exact time here)."
            )
        tomorrow = datetime.now(zone).date() + timedelta(days=1)
        reset = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone)
        return f"It resets at {reset.isoformat()} ({zone_name})."


def _error_body(raw: Any) -> dict[str, Any]:
    if isinstance(raw, bytes | bytearray):
        raw = raw.decode("utf-8", "replace")
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _body_correlation(body: Any) -> str | None:
    return body.get("correlationId") if isinstance(body, dict) else None


def _header_int(headers: dict[str, str], name: str) -> int | None:
    try:
        value = int(headers.get(name, ""))
    except ValueError:
        return None
    return value if value > 0 else None


def _retry_after(headers: dict[str, str]) -> float | None:
    value = headers.get("retry-after")
    try:
        return min(max(float(value), 0.0), 60.0) if value is not None else None
    except ValueError:
        return None


def _backoff(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0, min(cap, base * 2**attempt))


def _correlation(correlation_id: str | None) -> str:
    return f" (correlationId {correlation_id})" if correlation_id else ""
