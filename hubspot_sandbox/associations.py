"""Associations between records, stored once per direction, with HubSpot-defined type ids.

Every association carries the unlabeled default type of its direction; a primary association adds the
"Primary" type (and a record has at most one primary company). Association writes never bump a record's
last-modified date, because HubSpot's do not either. Reads page through a record's associations in
target-id order with HubSpot's cursor (base64 of ``<toObjectTypeId>-<toObjectId>``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Container
from dataclasses import dataclass
from urllib.parse import quote, unquote

from hubspot_sandbox.errors import validation_error
from hubspot_sandbox.object_types import OBJECT_TYPES, resolve_object_type

# `associations=` on v3 reads returns at most 100 associations of each type per record, then paging:
# https://developers.hubspot.com/changelog/announcing-a-change-to-how-v3-crm-apis-return-association-data
V3_INLINE_PAGE_SIZE = 100
# The v4 per-record read takes `limit` up to 500; batch read pages each input at the same size.
V4_PAGE_SIZE = 500
NO_ASSOCIATIONS_FOUND = "crm.associations.NO_ASSOCIATIONS_FOUND"

# Object types HubSpot has whose records the sandbox never holds (singular, objectTypeId), from
# https://developers.hubspot.com/docs/guides/crm/using-object-apis: reads of associations to them find
# none, as in a portal without such records.
_UNEMULATED: dict[str, tuple[str, str]] = {
    "appointments": ("appointment", "0-421"),
    "calls": ("call", "0-48"),
    "carts": ("cart", "0-142"),
    "communications": ("communication", "0-18"),
    "courses": ("course", "0-410"),
    "discounts": ("discount", "0-84"),
    "emails": ("email", "0-49"),
    "feedback_submissions": ("feedback_submission", "0-19"),
    "fees": ("fee", "0-85"),
    "goal_targets": ("goal_target", "0-74"),
    "invoices": ("invoice", "0-53"),
    "leads": ("lead", "0-136"),
    "listings": ("listing", "0-420"),
    "marketing_events": ("marketing_event", "0-54"),
    "meetings": ("meeting", "0-47"),
    "notes": ("note", "0-46"),
    "orders": ("order", "0-123"),
    "payments": ("payment", "0-101"),
    "postal_mail": ("postal_mail", "0-116"),
    "products": ("product", "0-7"),
    "projects": ("project", "0-970"),
    "quotes": ("quote", "0-14"),
    "services": ("service", "0-162"),
    "subscriptions": ("subscription", "0-69"),
    "tasks": ("task", "0-27"),
    "taxes": ("tax", "0-86"),
    "users": ("user", "0-115"),
}
_UNEMULATED_ALIASES: dict[str, str] = {
    alias: name
    for name, (singular, type_id) in _UNEMULATED.items()
    for alias in (name, singular, type_id, name.replace("_", ""), singular.replace("_", ""))
}


@dataclass(frozen=True)
class AssociationType:
    from_type: str
    to_type: str
    type_id: int
    inverse_id: int
    label: str | None
    v3_name: str


def _pair(
    from_type: str, to_type: str, type_id: int, inverse_id: int, label: str | None = None
) -> tuple[AssociationType, AssociationType]:
    singular = {
        "contacts": "contact",
        "companies": "company",
        "deals": "deal",
        "tickets": "ticket",
        "line_items": "line_item",
    }
    forward = f"{singular[from_type]}_to_{singular[to_type]}"
    backward = f"{singular[to_type]}_to_{singular[from_type]}"
    return (
        AssociationType(from_type, to_type, type_id, inverse_id, label, forward),
        AssociationType(to_type, from_type, inverse_id, type_id, label, backward),
    )


_DEFINED = [
    *_pair("contacts", "companies", 279, 280),
    *_pair("contacts", "companies", 1, 2, "Primary"),
    *_pair("deals", "contacts", 3, 4),
    *_pair("deals", "companies", 341, 342),
    *_pair("deals", "companies", 5, 6, "Primary"),
    *_pair("tickets", "contacts", 16, 15),
    *_pair("tickets", "companies", 339, 340),
    *_pair("tickets", "companies", 26, 25, "Primary"),
    *_pair("tickets", "deals", 28, 27),
    *_pair("line_items", "deals", 20, 19),
]
TYPES_BY_ID: dict[int, AssociationType] = {t.type_id: t for t in _DEFINED}
DEFAULT_TYPE: dict[tuple[str, str], int] = {}
PRIMARY_TYPE: dict[tuple[str, str], int] = {}
for _t in _DEFINED:
    (PRIMARY_TYPE if _t.label else DEFAULT_TYPE)[(_t.from_type, _t.to_type)] = _t.type_id
# What a record has at most one primary of.
PRIMARY_TARGET = "companies"


def v3_type_name(type_id: int) -> str:
    """The v3 ``type`` string; unlabeled reads ``contact_to_company_unlabeled`` if a primary exists."""
    spec = TYPES_BY_ID[type_id]
    if spec.label is None and (spec.from_type, spec.to_type) in PRIMARY_TYPE:
        return spec.v3_name + "_unlabeled"
    return spec.v3_name


def type_spec(type_id: int) -> dict[str, object]:
    return {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": TYPES_BY_ID[type_id].label}


_INTERNED: dict[frozenset[int], frozenset[int]] = {}


def _intern(types: frozenset[int]) -> frozenset[int]:
    """Share one frozenset per combination of types: millions of edges hold a handful of distinct sets."""
    return _INTERNED.setdefault(types, types)


class AssociationStore:
    """Edges keyed (from_type, to_type) -> from_id -> to_id -> frozenset of type ids from that side."""

    def __init__(self) -> None:
        self.edges: dict[tuple[str, str], dict[int, dict[int, frozenset[int]]]] = {}

    def clear(self) -> None:
        self.edges.clear()

    def check_type(self, from_type: str, to_type: str, type_id: int) -> AssociationType:
        spec = TYPES_BY_ID.get(type_id)
        if spec is None or spec.from_type != from_type or spec.to_type != to_type:
            raise validation_error(
                f"associationTypeId {type_id} is not a valid association type from {from_type} to {to_type}.",
                context={"associationTypeId": [str(type_id)]},
            )
        return spec

    def default_type(self, from_type: str, to_type: str) -> int:
        type_id = DEFAULT_TYPE.get((from_type, to_type))
        if type_id is None:
            raise validation_error(f"No association is defined between {from_type} and {to_type}.")
        return type_id

    def add(
        self, from_type: str, from_id: int, to_type: str, to_id: int, type_ids: set[int] | frozenset[int]
    ) -> frozenset[int]:
        """Associate two records with the given types (plus the default); returns the types now held."""
        types = frozenset(type_ids) | {self.default_type(from_type, to_type)}
        primary = PRIMARY_TYPE.get((from_type, to_type))
        if primary in types and to_type == PRIMARY_TARGET:
            self._drop_other_primaries(from_type, from_id, to_type, to_id, primary)
        elif primary in types:  # written from the company's side: the other record holds the primary
            held = TYPES_BY_ID[primary].inverse_id
            self._drop_other_primaries(to_type, to_id, from_type, from_id, held)
        forward = self.edges.setdefault((from_type, to_type), {}).setdefault(from_id, {})
        forward[to_id] = _intern(forward.get(to_id, frozenset()) | types)
        backward = self.edges.setdefault((to_type, from_type), {}).setdefault(to_id, {})
        inverse = frozenset(TYPES_BY_ID[t].inverse_id for t in types)
        backward[from_id] = _intern(backward.get(from_id, frozenset()) | inverse)
        return forward[to_id]

    def remove(
        self, from_type: str, from_id: int, to_type: str, to_id: int, type_ids: set[int] | None = None
    ) -> None:
        """Remove the given types (all of them when None); an edge without its default type is gone."""
        forward = self.edges.get((from_type, to_type), {}).get(from_id, {})
        backward = self.edges.get((to_type, from_type), {}).get(to_id, {})
        if to_id not in forward:
            return
        default = self.default_type(from_type, to_type)
        if type_ids is None or default in type_ids:
            forward.pop(to_id, None)
            backward.pop(from_id, None)
            return
        forward[to_id] = _intern(forward[to_id] - frozenset(type_ids))
        backward[from_id] = _intern(
            backward[from_id] - frozenset(TYPES_BY_ID[t].inverse_id for t in type_ids)
        )

    def targets(self, from_type: str, from_id: int, to_type: str) -> dict[int, frozenset[int]]:
        return self.edges.get((from_type, to_type), {}).get(from_id, {})

    def page(
        self, from_type: str, from_id: int, to_type: str, live: Container[int], after_id: int, limit: int
    ) -> tuple[list[tuple[int, frozenset[int]]], int | None]:
        """Up to `limit` live targets after `after_id` in id order, and the id to continue after (if more)."""
        targets = sorted(
            (to_id, types)
            for to_id, types in self.targets(from_type, from_id, to_type).items()
            if to_id > after_id and to_id in live
        )
        next_id = targets[limit - 1][0] if len(targets) > limit else None
        return targets[:limit], next_id

    def move(self, object_type: str, old_id: int, new_id: int, *, secondary: bool = False) -> None:
        """Re-point every association of a merged-away record, labels included, at the record replacing it.

        A `secondary` record (the one merged into the primary) loses a primary company the survivor
        already has: HubSpot keeps the primary record's and drops the excess.
        """
        for (from_type, to_type), by_from in list(self.edges.items()):
            if from_type != object_type or old_id not in by_from:
                continue
            primary = PRIMARY_TYPE.get((from_type, to_type))
            for to_id, types in list(by_from[old_id].items()):
                self.remove(from_type, old_id, to_type, to_id)
                if to_type == object_type and to_id == new_id:
                    continue
                held = self.targets(from_type, new_id, to_type).values()
                if secondary and to_type == PRIMARY_TARGET and any(primary in kinds for kinds in held):
                    types = types - {primary}
                self.add(from_type, new_id, to_type, to_id, types)
            by_from.pop(old_id, None)

    def forget(self, object_type: str, record_id: int) -> None:
        """Drop every association of a record deleted for good, in both directions."""
        for (from_type, to_type), by_from in self.edges.items():
            if from_type == object_type:
                for to_id in by_from.pop(record_id, {}):
                    self.edges.get((to_type, from_type), {}).get(to_id, {}).pop(record_id, None)

    def _drop_other_primaries(
        self, from_type: str, from_id: int, to_type: str, to_id: int, primary: int
    ) -> None:
        for other_id, types in self.targets(from_type, from_id, to_type).items():
            if other_id != to_id and primary in types:
                self.remove(from_type, from_id, to_type, other_id, {primary})


def read_type(name: str) -> str:
    """The plural name of an object type a read may ask associations of, emulated or not.

    An unknown name fails as HubSpot fails it (400 "Unable to infer object type from: ...").
    """
    unemulated = _UNEMULATED_ALIASES.get(name.lower())
    return unemulated if unemulated is not None else resolve_object_type(name).name


def inline_association_types(names: list[str]) -> list[str]:
    """The emulated types an ``associations=`` read asks for; the others have none to return."""
    return [name for name in dict.fromkeys(map(read_type, names)) if name in OBJECT_TYPES]


def singular_name(object_type: str) -> str:
    spec = _UNEMULATED.get(object_type)
    return spec[0] if spec else OBJECT_TYPES[object_type].singular


def object_type_id(object_type: str) -> str:
    spec = _UNEMULATED.get(object_type)
    return spec[1] if spec else OBJECT_TYPES[object_type].type_id


def encode_after(to_type: str, to_id: int) -> str:
    """HubSpot's association cursor as it sends it: URL-quoted base64 (``MC0yLTc1MDI%3D``)."""
    raw = base64.b64encode(f"{object_type_id(to_type)}-{to_id}".encode()).decode()
    return quote(raw, safe="")


def decode_after(raw: str | None, to_type: str) -> int:
    """The target id a page starts after; accepts the cursor quoted (as sent) or unquoted (from a link)."""
    if not raw:
        return 0
    try:
        type_id, _, to_id = base64.b64decode(unquote(raw), validate=True).decode().rpartition("-")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        type_id, to_id = "", ""
    if type_id != object_type_id(to_type) or not to_id.isdigit():
        raise validation_error(
            f"Invalid paging cursor after={raw!r}: pass back the `after` of the previous page.",
            context={"after": [raw]},
        )
    return int(to_id)


def next_paging(after: str, link: str) -> dict[str, object]:
    return {"next": {"after": after, "link": link}}


def v3_association_page(
    store: AssociationStore,
    from_type: str,
    from_id: int,
    to_type: str,
    live: Container[int],
    base_url: str,
    *,
    after_id: int = 0,
    limit: int = V3_INLINE_PAGE_SIZE,
) -> dict[str, object]:
    """One page of a record's associations in the v3 shape (one entry per type), linking to the next."""
    targets, next_id = store.page(from_type, from_id, to_type, live, after_id, limit)
    body: dict[str, object] = {
        "results": [
            {"id": str(to_id), "type": v3_type_name(type_id)}
            for to_id, type_ids in targets
            for type_id in sorted(type_ids)
        ]
    }
    if next_id is not None:
        cursor = encode_after(to_type, next_id)
        path = f"/crm/v3/objects/{object_type_id(from_type)}/{from_id}/associations/{object_type_id(to_type)}"
        body["paging"] = next_paging(cursor, f"{base_url}{path}?after={cursor}")
    return body
