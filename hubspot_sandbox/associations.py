"""Associations between records, stored once per direction, with HubSpot-defined type ids.

Every association carries the unlabeled default type of its direction; a primary association adds the
"Primary" type (and a record has at most one primary company). Association writes never bump a record's
last-modified date, because HubSpot's do not either.
"""

from __future__ import annotations

from dataclasses import dataclass

from hubspot_sandbox.errors import validation_error


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
        if primary in types:
            self._drop_other_primaries(from_type, from_id, to_type, to_id, primary)
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

    def move(self, object_type: str, old_id: int, new_id: int) -> None:
        """Re-point every association of a merged-away record at the surviving record."""
        for (from_type, to_type), by_from in list(self.edges.items()):
            if from_type != object_type or old_id not in by_from:
                continue
            for to_id, types in list(by_from[old_id].items()):
                self.remove(from_type, old_id, to_type, to_id)
                if not (to_type == object_type and to_id == new_id):
                    keep = {
                        t for t in types if TYPES_BY_ID[t].label is None
                    }  # the survivor keeps its primaries
                    self.add(from_type, new_id, to_type, to_id, keep)
            by_from.pop(old_id, None)

    def _drop_other_primaries(
        self, from_type: str, from_id: int, to_type: str, to_id: int, primary: int
    ) -> None:
        for other_id, types in self.targets(from_type, from_id, to_type).items():
            if other_id != to_id and primary in types:
                self.remove(from_type, from_id, to_type, other_id, {primary})
