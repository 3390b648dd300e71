"""Turning one HubSpot record into one warehouse row, with the reasons for anything refused.

Pure. A field whose value does not fit its typed column is refused (the column gets NULL, the
text stays in `properties`, a reject names record, field and reason); a record without a usable
id or last-modified time cannot be placed at all and is refused whole.

Every value a Row carries is one PostgreSQL accepts, so one hostile value can never fail the batch
it travels in: text loses its NUL characters (removed, not escaped) and has lone surrogates
replaced by U+FFFD, in `properties` and in text columns alike, and each such change is a reject
too; numbers beyond numeric's range and datetimes beyond the years 1 to 9999 are refused like
any other value that does not fit; ids must fit a bigint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hubspot_sync.run_metrics import Reject
from hubspot_sync.values import InvalidValue, clean, is_email, parse_datetime, parse_typed, storable_text

if TYPE_CHECKING:
    from hubspot_sync.privacy.minimise import PropertyPolicy

BIGINT_MAX = 2**63 - 1
# A refused id is quoted in the reject (it is an identifier, not personal data), at most this long.
MAX_REJECTED_ID_CHARS = 100


@dataclass(frozen=True)
class RowRules:
    """What the configuration asks of one object type's rows."""

    object_type: str
    last_modified_property: str
    column_types: dict[str, str]  # typed column -> configured property type
    required: tuple[str, ...] = ()
    email_properties: tuple[str, ...] = ()
    # Which properties are kept and which are stored as their hash (None: all kept, in clear).
    policy: PropertyPolicy | None = None


@dataclass
class Row:
    id: int
    updated_at: datetime
    created_at: datetime | None
    archived: bool
    archived_at: datetime | None
    properties: dict[str, str | None]
    typed: dict[str, Any]
    merged_ids: list[int] = field(default_factory=list)


def to_row(record: dict[str, Any], rules: RowRules) -> tuple[Row | None, list[Reject]]:
    record_id = _parse_id(record.get("id"))
    raw_id = _rejected_id(record.get("id"))
    if record_id is None:
        return None, [Reject(rules.object_type, raw_id, "id", "missing or not a positive 64-bit integer id")]
    properties = record.get("properties")
    if not isinstance(properties, dict):
        return None, [Reject(rules.object_type, raw_id, "properties", "record has no properties object")]
    rejects: list[Reject] = []
    cleaned: dict[str, str | None] = {}
    for raw_name, raw_value in properties.items():
        if rules.policy is not None and not rules.policy.keeps(str(raw_name)):
            continue  # dropped before anything looks at its value: it reaches no row and no reject
        name, name_problem = storable_text(str(raw_name))
        text, problem = storable_text(clean(raw_value) or "")
        cleaned[name] = clean(text)
        if name_problem or problem:
            reason = f"property name: {name_problem}" if name_problem else problem
            rejects.append(Reject(rules.object_type, raw_id, name, reason))
    updated_at = _first_datetime(record.get("updatedAt"), cleaned.get(rules.last_modified_property))
    if updated_at is None:
        reason = f"no valid updatedAt or {rules.last_modified_property}"
        return None, [Reject(rules.object_type, raw_id, rules.last_modified_property, reason)]

    typed: dict[str, Any] = {}
    for column, property_type in rules.column_types.items():
        text = cleaned.get(column)
        if text is None:
            typed[column] = None
            continue
        try:
            typed[column] = parse_typed(text, property_type)
        except InvalidValue as error:
            typed[column] = None
            rejects.append(Reject(rules.object_type, raw_id, column, f"{error} for a {property_type} column"))
    for name in rules.email_properties:
        text = cleaned.get(name)
        if text is not None and not is_email(text):
            if name in typed:
                typed[name] = None
            rejects.append(Reject(rules.object_type, raw_id, name, "not a valid email address"))
    for name in rules.required:
        if cleaned.get(name) is None:
            rejects.append(Reject(rules.object_type, raw_id, name, "required property has no value"))
    if rules.policy is not None:
        # Checked in clear above; stored as the hash in JSONB and typed column alike.
        for name in rules.policy.pseudonymised:
            text = cleaned.get(name)
            if text is not None:
                cleaned[name] = rules.policy.hide(name, text)
                if typed.get(name) is not None:
                    typed[name] = cleaned[name]

    row = Row(
        id=record_id,
        updated_at=updated_at,
        created_at=_first_datetime(record.get("createdAt"), cleaned.get("createdate")),
        archived=bool(record.get("archived", False)),
        archived_at=_first_datetime(record.get("archivedAt")),
        properties=cleaned,
        typed=typed,
        merged_ids=_merged_ids(cleaned.get("hs_merged_object_ids"), record_id),
    )
    return row, rejects


def _parse_id(raw: Any) -> int | None:
    try:
        value = int(str(raw))
    except (TypeError, ValueError):
        return None
    return value if 0 < value <= BIGINT_MAX else None


def _rejected_id(raw: Any) -> str | None:
    if raw is None:
        return None
    return storable_text(str(raw))[0][:MAX_REJECTED_ID_CHARS]


def _first_datetime(*candidates: Any) -> datetime | None:
    for candidate in candidates:
        text = clean(candidate)
        if text is None:
            continue
        try:
            return parse_datetime(text)
        except InvalidValue:
            continue
    return None


def _merged_ids(text: str | None, survivor_id: int) -> list[int]:
    """Ids merged into this record (`hs_merged_object_ids`, ';'-separated), excluding itself."""
    if not text:
        return []
    ids = (_parse_id(part.strip()) for part in text.split(";"))
    return sorted({merged for merged in ids if merged is not None and merged != survivor_id})
