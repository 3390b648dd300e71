"""Minimisation: which HubSpot properties an object type keeps, and applying a narrower choice to rows.

`properties_kept: listed` keeps the typed properties, `keep:` and the bookkeeping properties only;
`never_store:` properties are dropped whatever else says; `pseudonymise:` properties are stored as their
keyed hash (pseudonym.py). Extraction asks HubSpot for kept properties only, and `to_row` drops anything
else HubSpot returns before a value is cleaned, typed or rejected, so a dropped value reaches no table.

When the settings change, `narrow` strips the newly dropped properties from the rows already stored
(and NULLs a leftover typed column of a denied property), and hashes the values of newly pseudonymised
properties, in batches of `batch_rows` rows per transaction, once per change (hubspot_sync.minimisation).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from hubspot_sync.privacy.pseudonym import pseudonym, pseudonym_key
from hubspot_sync.sql import load_sql

log = logging.getLogger(__name__)

# What every row needs whatever the settings: its id, times and merges.
ALWAYS_KEPT = frozenset(
    {"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate", "hs_merged_object_ids"}
)
BATCH_ROWS = 5000


@dataclass(frozen=True)
class PropertyPolicy:
    """One object type's minimisation settings, with the pseudonymisation key when one is needed."""

    listed: bool
    kept: frozenset[str]  # with `listed`: typed, required and `keep:` properties
    never_store: frozenset[str]
    pseudonymised: frozenset[str]
    email_properties: frozenset[str]
    key: bytes | None = field(default=None, repr=False)

    def keeps(self, name: str) -> bool:
        if name in ALWAYS_KEPT:
            return True
        if name in self.never_store:
            return False
        return not self.listed or name in self.kept

    def hide(self, name: str, text: str) -> str:
        """The stored form of property `name`'s text: its pseudonym if pseudonymised, else itself."""
        if name not in self.pseudonymised:
            return text
        if self.key is None:
            raise ValueError(f"{name} is pseudonymised but the policy was built without a key")
        return pseudonym(self.key, text, is_email=name in self.email_properties or name.endswith("email"))

    def settings(self) -> dict[str, Any]:
        """What decides the stored form of rows (the key aside), to tell when it changed."""
        return {
            "listed": self.listed,
            "kept": sorted(self.kept) if self.listed else None,
            "never_store": sorted(self.never_store),
            "pseudonymised": sorted(self.pseudonymised),
        }


def narrow(
    conn: psycopg.Connection, object_type: str, policy: PropertyPolicy, batch_rows: int = BATCH_ROWS
) -> dict[str, Any] | None:
    """Bring stored rows in line with changed settings; None when they are unchanged since last applied."""
    settings = policy.settings()
    row = conn.execute(load_sql("privacy/minimise_applied"), {"object_type": object_type}).fetchone()
    if row is not None and row[0] == settings:
        return None
    table = sql.Identifier("hubspot", object_type)
    dropped: list[str] = []
    if policy.listed or policy.never_store:  # else every property is kept: no need to scan the table
        keys = conn.execute(sql.SQL(load_sql("privacy/minimise_stored_names")).format(table=table))
        dropped = sorted(key for (key,) in keys if not policy.keeps(key))
    columns = {name for (name,) in conn.execute(load_sql("privacy/minimise_columns"), {"table": object_type})}
    cleared = sorted(columns & policy.never_store)
    stripped = _strip(conn, object_type, dropped, cleared, batch_rows) if dropped or cleared else 0
    before = set((row[0] or {}).get("pseudonymised") or ()) if row is not None else set()
    newly = sorted(policy.pseudonymised - before)
    hashed = _hash_existing(conn, object_type, newly, columns, policy, batch_rows) if newly else 0
    with conn.transaction():
        conn.execute(
            load_sql("privacy/minimise_record"),
            {"object_type": object_type, "settings": Jsonb(settings), "rows_changed": stripped + hashed},
        )
    result = {
        "properties_dropped": dropped,
        "columns_cleared": cleared,
        "rows_stripped": stripped,
        "properties_pseudonymised": newly,
        "rows_pseudonymised": hashed,
    }
    log.info("%s: minimisation settings changed; applied to stored rows: %s", object_type, result)
    return result


def _strip(
    conn: psycopg.Connection, object_type: str, dropped: list[str], cleared: list[str], batch_rows: int
) -> int:
    """Remove `dropped` keys from `properties` and NULL the `cleared` columns, batch by batch in id order."""
    table = sql.Identifier("hubspot", object_type)
    sets = [sql.SQL("properties = properties - %(dropped)s::text[]")]
    sets += [sql.SQL("{} = NULL").format(sql.Identifier(column)) for column in cleared]
    holds = [sql.SQL("properties ?| %(dropped)s::text[]")]
    holds += [sql.SQL("{} IS NOT NULL").format(sql.Identifier(column)) for column in cleared]
    statement = sql.SQL(load_sql("privacy/minimise_strip")).format(
        table=table, holds=sql.SQL(" OR ").join(holds), sets=sql.SQL(", ").join(sets)
    )
    total, after = 0, 0
    while True:
        with conn.transaction():
            _as_extraction(conn)
            ids = [
                row_id
                for (row_id,) in conn.execute(
                    statement, {"dropped": dropped, "after": after, "n": batch_rows}
                )
            ]
        if not ids:
            return total
        total += len(ids)
        after = max(ids)
        log.info("%s: %d rows stripped of %s so far", object_type, total, ", ".join(dropped + cleared))


def _hash_existing(
    conn: psycopg.Connection,
    object_type: str,
    names: list[str],
    columns: set[str],
    policy: PropertyPolicy,
    batch_rows: int,
) -> int:
    """Replace the clear values of newly pseudonymised properties (JSONB and typed column) by their hash."""
    table = sql.Identifier("hubspot", object_type)
    select = sql.SQL(load_sql("privacy/minimise_clear_values")).format(
        table=table,
        values=sql.SQL(", ").join(sql.SQL("properties ->> {}").format(sql.Literal(name)) for name in names),
    )
    typed = [name for name in names if name in columns]
    update = sql.SQL(load_sql("privacy/minimise_hash")).format(
        table=table,
        typed=sql.SQL("").join(
            sql.SQL(", {column} = CASE WHEN {column} IS NULL THEN NULL ELSE %({param})s END").format(
                column=sql.Identifier(name), param=sql.SQL(f"t_{position}")
            )
            for position, name in enumerate(typed)
        ),
    )
    total, after = 0, 0
    while True:
        with conn.transaction():
            _as_extraction(conn)
            rows = conn.execute(select, {"after": after, "names": names, "n": batch_rows}).fetchall()
            params = []
            for row_id, *texts in rows:
                hashed = {
                    name: policy.hide(name, text)
                    for name, text in zip(names, texts, strict=True)
                    if text is not None
                }
                params.append(
                    {
                        "id": row_id,
                        "hashed": Jsonb(hashed),
                        **{f"t_{position}": hashed.get(name) for position, name in enumerate(typed)},
                    }
                )
            if params:
                with conn.cursor() as cursor:
                    cursor.executemany(update, params)
        if not rows:
            return total
        total += len(rows)
        after = rows[-1][0]
        log.info("%s: %d rows pseudonymised (%s) so far", object_type, total, ", ".join(names))


def _as_extraction(conn: psycopg.Connection) -> None:
    from hubspot_sync.extract.store import as_extraction

    as_extraction(conn)


def property_policy(
    object_type: str, object_config: Any, email_properties: tuple[str, ...] = ()
) -> PropertyPolicy:
    """The policy of one object type's configuration; reads the pseudonymisation key when it needs one."""
    pseudonymised = tuple(object_config.pseudonymise)
    return PropertyPolicy(
        listed=object_config.properties_kept == "listed",
        kept=frozenset({*object_config.properties, *object_config.required, *object_config.keep}),
        never_store=frozenset(object_config.never_store),
        pseudonymised=frozenset(pseudonymised),
        email_properties=frozenset(email_properties),
        key=pseudonym_key(object_type, pseudonymised) if pseudonymised else None,
    )


# A hash is text: only properties typed as text can hold one.
_TEXT_TYPES = frozenset({"string", "enumeration", "phone_number"})


def privacy_problems(object_config: Any) -> list[str]:
    """Why an object's minimisation and pseudonymisation settings contradict each other (empty if fine)."""
    problems = []
    essential = sorted(ALWAYS_KEPT.intersection(object_config.never_store))
    if essential:
        problems.append(
            f"never_store: {', '.join(essential)} identify and date every row and are always stored"
        )
    for where, names in (
        ("properties (typed)", object_config.properties),
        ("required", object_config.required),
        ("keep", object_config.keep),
        ("pseudonymise", object_config.pseudonymise),
    ):
        denied = sorted(set(names) & set(object_config.never_store))
        if denied:
            problems.append(
                f"never_store: {', '.join(denied)} cannot also be under {where}; a property never stored "
                "has no value to type, require, keep or hash"
            )
    if object_config.keep and object_config.properties_kept != "listed":
        problems.append(
            "keep: applies with properties_kept: listed only (`all` keeps every property already)"
        )
    for name in object_config.pseudonymise:
        property_type = object_config.properties.get(name)
        if property_type is not None and property_type not in _TEXT_TYPES:
            problems.append(
                f"pseudonymise: {name} is typed {property_type}; its hash is text: "
                "type it string or leave it untyped"
            )
        if name in object_config.two_way.fields:
            problems.append(
                f"pseudonymise: {name} is a two_way field; an edit of its hash cannot be sent to HubSpot: "
                "remove it from two_way.fields or from pseudonymise"
            )
        if name in ALWAYS_KEPT:
            problems.append(f"pseudonymise: {name} identifies or dates the row and is stored in clear")
    return problems
