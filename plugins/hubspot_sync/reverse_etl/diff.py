"""Pure diffing of a model's rows against push state: what to send, what to leave, what to hold back.

Push state keeps, per model and key, the last value HubSpot accepted for each property (`pushed`) and the
values of the last refused attempt (`failed_values`, `failed_attempts`). Only properties whose value differs
from what was last accepted are sent, so a row that changed one column sends one property. A property never
pushed counts as empty: a row whose value is NULL from the start sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Operation = Literal["update", "upsert"]


@dataclass(frozen=True)
class PushState:
    pushed: dict[str, str] = field(default_factory=dict)
    failed_values: dict[str, str] | None = None
    failed_attempts: int = 0


@dataclass(frozen=True)
class Change:
    """Properties of one record to send, with what was pushed before (None: never pushed)."""

    key: str
    operation: Operation
    values: dict[str, str]
    previous: dict[str, str | None]


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0  # candidate rows whose values turned out to equal what was pushed
    held: int = 0  # refused `max_attempts` times with the same values: waits for the model to change
    left: int = 0  # keys no longer in the model


def changed_properties(current: dict[str, str], pushed: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in current.items() if value != pushed.get(name, "")}


def plan_changes(
    candidates: Iterable[tuple[str, dict[str, str], PushState | None]],
    leaving: Iterable[tuple[str, PushState]],
    *,
    properties: Iterable[str],
    mode: Operation,
    on_leave: Literal["keep", "clear"],
    max_attempts: int,
) -> Plan:
    """Decide what to send.

    `candidates` are the model's rows (key, property -> canonical value, push state or None when never
    pushed) that may differ from push state; rows known to be equal need not be passed. `leaving` are
    the keys in push state the model no longer returns. `properties` are the ones the model maps: on
    `clear`, only those are cleared on a key that left.
    """
    plan = Plan()
    mapped = set(properties)
    for key, current, state in candidates:
        record_state = state or PushState()
        values = changed_properties(current, record_state.pushed)
        if not values:
            plan.unchanged += 1
            continue
        _add(plan, key, mode, values, record_state, max_attempts)
    for key, record_state in leaving:
        plan.left += 1
        if on_leave != "clear":
            continue
        # Clearing goes through update even for upsert models: it must never create a record.
        cleared = {name: "" for name, value in record_state.pushed.items() if value and name in mapped}
        if cleared:
            _add(plan, key, "update", cleared, record_state, max_attempts)
    return plan


def _add(
    plan: Plan, key: str, operation: Operation, values: dict[str, str], state: PushState, max_attempts: int
) -> None:
    if state.failed_attempts >= max_attempts and state.failed_values == values:
        plan.held += 1
        return
    previous = {name: state.pushed.get(name) for name in values}
    plan.changes.append(Change(key, operation, values, previous))
