"""Pure decisions of the write-back: a PostgreSQL value on the wire, HubSpot's side of a field read from
its property history, and what to do with one pending edit.

A field is in conflict when both sides changed it since they last agreed: PostgreSQL's pending edit
(the outbox keeps the value both held before it, `base`) and a HubSpot value that differs from that base
and was not written by this sync. Under `hubspot_wins` HubSpot is the source of truth: every PostgreSQL
edit it does not already hold is reverted on the row and recorded, whether or not HubSpot changed too.
Our own writes are recognised by value and time: the outbox keeps what the last push sent and when,
and a HubSpot value equal to it, written at or after that moment, is ours coming back, not somebody's
edit.

Times: HubSpot's history times come from HubSpot's clock, edit times from the database's. The engine
measures the offset between the two from HubSpot's `Date` header (whole seconds) and shifts HubSpot's
times onto the database clock when the offset is larger than the header's precision can explain.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hubspot_sync.reverse_etl.values import canonical, format_number
from hubspot_sync.values import InvalidValue, clean, parse_datetime, parse_typed

# The Date header has whole seconds: an offset within this is noise, not a clock difference.
CLOCK_TOLERANCE = timedelta(seconds=2)


class Decision(enum.Enum):
    ALREADY_THERE = "already_there"  # HubSpot holds the value: nothing to send
    PUSH = "push"  # only PostgreSQL changed the field
    POSTGRES_WINS = "postgres_wins"  # both changed it; PostgreSQL's value is pushed
    # both changed it and HubSpot won, or the field is hubspot_wins: HubSpot's value is written onto the row
    HUBSPOT_WINS = "hubspot_wins"


@dataclass(frozen=True)
class PendingEdit:
    """One outbox entry of an update: the column's last value and the one both sides agreed on before."""

    record_id: int
    field: str
    value: Any  # JSON value of the column (numbers as Decimal)
    base: Any
    changed_at: datetime
    sent_value: Any = None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class HubSpotField:
    value: str | None  # cleaned: None when empty
    changed_at: datetime | None  # on the database clock
    source_type: str | None = None


def to_wire(property_type: str, value: Any) -> str:
    """A column's JSON value as HubSpot takes it ("" clears); InvalidValue when it cannot be."""
    if value is None:
        return ""
    if property_type == "number":
        return format_number(Decimal(str(value)))
    if property_type == "datetime":
        moment = parse_datetime(str(value))
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if property_type == "multi_enumeration":
        return ";".join(str(item) for item in value if item is not None)
    return canonical(value)


def to_json(property_type: str, wire: str | None) -> Any:
    """HubSpot's wire value as the JSON a column of the type takes (None when empty)."""
    text = clean(wire)
    if text is None:
        return None
    typed = parse_typed(text, property_type)
    if isinstance(typed, Decimal):
        return str(typed)
    if hasattr(typed, "isoformat"):
        return typed.isoformat()
    return typed


def comparable(property_type: str, wire: str | None) -> Any:
    """A wire value in a form where equal values compare equal (10.50 and 10.5, offsets in times)."""
    text = clean(wire)
    if text is None:
        return None
    try:
        typed = parse_typed(text, property_type)
    except InvalidValue:
        return text
    return sorted(typed) if isinstance(typed, list) else typed


def same(property_type: str, left: str | None, right: str | None) -> bool:
    return comparable(property_type, left) == comparable(property_type, right)


def hubspot_field(record: dict[str, Any], name: str, clock_offset: timedelta) -> HubSpotField:
    """HubSpot's current value of `name` and when it was set, from a record read with its history."""
    value = clean((record.get("properties") or {}).get(name))
    history = (record.get("propertiesWithHistory") or {}).get(name) or []
    entries = [entry for entry in history if isinstance(entry, dict) and entry.get("timestamp")]
    if not entries:
        return HubSpotField(value, None)
    newest = max(entries, key=lambda entry: parse_datetime(str(entry["timestamp"])))
    changed_at = parse_datetime(str(newest["timestamp"])) - clock_offset
    return HubSpotField(value, changed_at, newest.get("sourceType"))


def clock_offset(hubspot_date: datetime | None, database_now: datetime) -> timedelta:
    """How far HubSpot's clock is ahead of the database's; zero within the Date header's precision."""
    if hubspot_date is None:
        return timedelta(0)
    # The header truncates to the second: its moment lies up to a second after the stated one.
    offset = hubspot_date + timedelta(milliseconds=500) - database_now
    return offset if abs(offset) > CLOCK_TOLERANCE else timedelta(0)


def decide(rule: str, property_type: str, edit: PendingEdit, hubspot: HubSpotField) -> Decision:
    """What to do with one pending edit, given HubSpot's current side of the field."""
    wanted = to_wire(property_type, edit.value)
    if same(property_type, hubspot.value, wanted):
        return Decision.ALREADY_THERE
    if rule == "hubspot_wins":  # the source of truth: a PostgreSQL edit is reverted, never pushed
        return Decision.HUBSPOT_WINS
    agreed = to_wire(property_type, edit.base)
    if _ours(property_type, edit, hubspot):
        # HubSpot holds what an earlier push sent: that is the agreed value now.
        agreed = to_wire(property_type, edit.sent_value)
    if same(property_type, hubspot.value, agreed):
        return Decision.PUSH
    if rule == "postgres_wins":
        return Decision.POSTGRES_WINS
    # last_write_wins: a HubSpot value without a known time is older than any edit.
    if hubspot.changed_at is not None and hubspot.changed_at > edit.changed_at:
        return Decision.HUBSPOT_WINS
    return Decision.POSTGRES_WINS


def _ours(property_type: str, edit: PendingEdit, hubspot: HubSpotField) -> bool:
    if edit.sent_at is None:
        return False
    if not same(property_type, hubspot.value, to_wire(property_type, edit.sent_value)):
        return False
    return hubspot.changed_at is None or hubspot.changed_at >= edit.sent_at - CLOCK_TOLERANCE
