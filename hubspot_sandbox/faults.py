"""Faults on demand: a random share of failing requests, added latency, dropped connections, and scripted
sequences such as "the 3rd search call answers 502". Switchable while the server runs (PUT /_sandbox/faults).

A drop or 5xx is normally answered instead of the call; with ``afterApply`` the call runs first (its write
is committed) and its answer is then lost, as when HubSpot applies a write and the connection or a gateway
fails on the way back: the case that makes a retried create a duplicate unless it is idempotent.

Besides 429 and the 5xx, the statuses HubSpot documents as retryable can be injected: 423 Locked, 477
Migration in Progress (with ``Retry-After``), and the 521-524 of the CDN in front of the API, which answer an
HTML page rather than JSON. Any status can carry ``retryAfter`` (seconds) and ``body: "html"``.

Random faults draw from a seeded generator so a failing test run can be replayed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from hubspot_sandbox.errors import validation_error

# https://developers.hubspot.com/docs/api/usage-details (429) and
# https://developers.hubspot.com/docs/api/error-handling (423, 477, 502-504, 521-524)
FAULT_MESSAGES = {
    423: ("LOCKED", "The record is locked by a concurrent update; retry after at least 2 seconds."),
    429: ("RATE_LIMIT", "You have reached your ten_secondly_rolling limit."),
    477: ("MIGRATION_IN_PROGRESS", "This account is being migrated; retry after the time in Retry-After."),
    500: ("INTERNAL_ERROR", "internal error"),
    502: ("BAD_GATEWAY", "Bad Gateway"),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable"),
    504: ("GATEWAY_TIMEOUT", "Gateway Timeout"),
    521: ("", "Web server is down"),
    522: ("", "Connection timed out"),
    523: ("", "Origin is unreachable"),
    524: ("", "A timeout occurred"),
}
FAULT_STATUSES = tuple(FAULT_MESSAGES)
# What a random plan draws from unless it names its own statuses.
RANDOM_STATUSES = (429, 500, 502, 503, 504)
HTML_STATUSES = frozenset({521, 522, 523, 524})  # the CDN's own error page
FAULT_KINDS = ("status", "drop", "latency")


@dataclass
class Fault:
    status: int | None = None  # an error status to answer with
    drop: bool = False  # close the connection mid-response
    latency_ms: int = 0
    policy: str = "TEN_SECONDLY_ROLLING"  # for an injected 429
    after_apply: bool = False  # run the call (commit its write), then drop or replace its answer
    retry_after: int | None = None  # seconds, sent as a Retry-After header
    html: bool = False  # answer an HTML page instead of HubSpot's JSON error body


@dataclass
class ScriptStep:
    endpoint: str  # "POST /crm/v3/objects/{objectType}/search", or "*" for any API call
    calls: set[int]  # 1-based call numbers (among calls to that endpoint) that fail
    fault: Fault
    seen: int = 0


@dataclass
class FaultPlan:
    error_rate: float = 0.0
    statuses: tuple[int, ...] = RANDOM_STATUSES
    drop_rate: float = 0.0
    latency_ms: int = 0
    latency_rate: float = 1.0
    endpoints: set[str] | None = None
    after_apply: bool = False  # random drops and errors happen after the call ran
    script: list[ScriptStep] = field(default_factory=list)
    seed: int = 0


class FaultInjector:
    def __init__(self) -> None:
        self.plan = FaultPlan()
        self._random = random.Random(0)
        self._raw: dict[str, Any] = {}

    def configure(self, body: Any) -> None:
        self.plan = _parse_plan(body)
        self._raw = body
        self._random = random.Random(self.plan.seed)

    def clear(self) -> None:
        self.configure({})

    def describe(self) -> dict[str, Any]:
        return {**self._raw, "scriptProgress": [step.seen for step in self.plan.script]}

    def decide(self, endpoint: str) -> Fault | None:
        """The fault (if any) for one API call to ``endpoint`` ("METHOD /path/{template}")."""
        plan = self.plan
        scripted = None
        for step in plan.script:  # every step counts its own calls, whichever step fires
            if step.endpoint in ("*", endpoint):
                step.seen += 1
                if scripted is None and step.seen in step.calls:
                    scripted = step.fault
        if scripted is not None:
            return scripted
        if plan.endpoints is not None and endpoint not in plan.endpoints:
            return None
        latency = plan.latency_ms if plan.latency_ms and self._random.random() < plan.latency_rate else 0
        if plan.drop_rate and self._random.random() < plan.drop_rate:
            return Fault(drop=True, latency_ms=latency, after_apply=plan.after_apply)
        if plan.error_rate and self._random.random() < plan.error_rate:
            status = self._random.choice(plan.statuses)
            return Fault(
                status=status,
                latency_ms=latency,
                after_apply=plan.after_apply and status != 429,
                retry_after=1 if status == 477 else None,
                html=status in HTML_STATUSES,
            )
        return Fault(latency_ms=latency) if latency else None


def _parse_fault(raw: dict[str, Any]) -> Fault:
    kind = str(raw.get("fault", raw.get("status", "")))
    latency = int(raw.get("latencyMs", 0))
    after_apply = _flag(raw, "afterApply")
    if after_apply and (kind not in ("drop", *map(str, FAULT_STATUSES)) or kind == "429"):
        raise validation_error("`afterApply` goes with 'drop' or a 5xx status: a 429 never follows a write.")
    if kind == "drop":
        return Fault(drop=True, latency_ms=latency, after_apply=after_apply)
    if kind == "latency":
        return Fault(latency_ms=latency)
    if kind.isdigit() and int(kind) in FAULT_STATUSES:
        status = int(kind)
        body = raw.get("body", "html" if status in HTML_STATUSES else "json")
        if body not in ("html", "json"):
            raise validation_error("Invalid fault: `body` is 'json' or 'html'")
        retry_after = raw.get("retryAfter", 1 if status == 477 else None)
        return Fault(
            status=status,
            latency_ms=latency,
            policy=str(raw.get("policyName", "TEN_SECONDLY_ROLLING")),
            after_apply=after_apply,
            retry_after=None if retry_after is None else int(retry_after),
            html=body == "html",
        )
    raise validation_error(
        f"Unknown fault {kind!r}: use a status in {list(FAULT_STATUSES)}, 'drop' or 'latency'."
    )


def _flag(raw: dict[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise validation_error(f"Invalid fault plan: `{key}` must be true or false")
    return value


def _parse_plan(body: Any) -> FaultPlan:
    if not isinstance(body, dict):
        raise validation_error("Invalid input JSON: the fault plan must be an object")
    try:
        statuses = tuple(int(s) for s in body.get("statuses", RANDOM_STATUSES))
        if not statuses or any(s not in FAULT_STATUSES for s in statuses):
            raise validation_error(f"`statuses` must be a non-empty subset of {list(FAULT_STATUSES)}")
        script = []
        for raw in body.get("script", []):
            calls = raw.get("calls", raw.get("call", 1))
            call_set = {int(c) for c in calls} if isinstance(calls, list) else {int(calls)}
            script.append(
                ScriptStep(endpoint=str(raw.get("endpoint", "*")), calls=call_set, fault=_parse_fault(raw))
            )
        endpoints = body.get("endpoints")
        plan = FaultPlan(
            error_rate=float(body.get("errorRate", 0.0)),
            statuses=statuses,
            drop_rate=float(body.get("dropRate", 0.0)),
            latency_ms=int(body.get("latencyMs", 0)),
            latency_rate=float(body.get("latencyRate", 1.0)),
            endpoints=set(endpoints) if endpoints is not None else None,
            after_apply=_flag(body, "afterApply"),
            script=script,
            seed=int(body.get("seed", 0)),
        )
    except (TypeError, ValueError, AttributeError) as problem:
        raise validation_error(f"Invalid fault plan: {problem}") from None
    for name in ("error_rate", "drop_rate", "latency_rate"):
        if not 0.0 <= getattr(plan, name) <= 1.0:
            raise validation_error(f"Invalid fault plan: {name} must be between 0 and 1")
    return plan
