"""Both sides of the mirror as comparable snapshots: what the sandbox holds, what PostgreSQL holds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg
from psycopg import sql

from hubspot_sync.objects import ASSOCIATION_TYPES
from hubspot_sync.values import clean


def sandbox_records(hubspot, object_type: str, *, archived: bool = False) -> dict[int, dict]:
    """Every record of a type through the public API, all properties, values cleaned as the sync does.

    Ids come from the list endpoint and properties from batch read (a POST body), so any number
    of properties fits.
    """
    flag = str(archived).lower()
    with hubspot.http() as http:
        names = [prop["name"] for prop in http.get(f"/crm/v3/properties/{object_type}").json()["results"]]
        records, after = {}, None
        while True:
            params = {"limit": 100, "properties": "hs_object_id", "archived": flag}
            if after:
                params["after"] = after
            body = http.get(f"/crm/v3/objects/{object_type}", params=params).json()
            ids = [record["id"] for record in body["results"]]
            if ids:
                full = http.post(
                    f"/crm/v3/objects/{object_type}/batch/read",
                    params={"archived": flag},
                    json={"inputs": [{"id": i} for i in ids], "properties": names},
                ).json()
                for record in full["results"]:
                    values = {name: clean(value) for name, value in record["properties"].items()}
                    records[int(record["id"])] = {k: v for k, v in values.items() if v is not None}
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return records


def warehouse_records(url: str, object_type: str, *, archived: bool = False) -> dict[int, dict]:
    query = sql.SQL("SELECT id, properties FROM {} WHERE archived = %s").format(
        sql.Identifier("hubspot", object_type)
    )
    with psycopg.connect(url) as conn:
        return {
            record_id: {name: value for name, value in properties.items() if value is not None}
            for record_id, properties in conn.execute(query, (archived,))
        }


def sandbox_associations(hubspot, from_ids: list[int]) -> dict[str, set[tuple[int, int, int]]]:
    pairs: dict[str, set[tuple[int, int, int]]] = {}
    with hubspot.http() as http:
        for association in ASSOCIATION_TYPES:
            found = pairs.setdefault(association.table, set())
            ids = from_ids[association.from_type]
            for start in range(0, len(ids), 100):
                body = http.post(
                    f"/crm/v4/associations/{association.from_type}/{association.to_type}/batch/read",
                    json={"inputs": [{"id": str(i)} for i in ids[start : start + 100]]},
                ).json()
                for result in body.get("results", []):
                    for target in result["to"]:
                        for kind in target["associationTypes"]:
                            found.add(
                                (int(result["from"]["id"]), int(target["toObjectId"]), int(kind["typeId"]))
                            )
    return pairs


def warehouse_associations(url: str) -> dict[str, set[tuple[int, int, int]]]:
    pairs = {}
    with psycopg.connect(url) as conn:
        for association in ASSOCIATION_TYPES:
            query = sql.SQL("SELECT {}, {}, type_id FROM {}").format(
                sql.Identifier(association.from_column),
                sql.Identifier(association.to_column),
                sql.Identifier("hubspot", association.table),
            )
            pairs[association.table] = {tuple(row) for row in conn.execute(query)}
    return pairs


def expected_typed(raw: str | None, kind: str):
    """What a typed column must hold for HubSpot's wire string, derived here from the wire format alone
    (not through the sync's own parsers), so that a parsing bug cannot hide behind its own oracle."""
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    if kind == "number":
        return Decimal(text)
    if kind == "bool":
        return {"true": True, "false": False}[text.lower()]
    if kind == "date":
        return date.fromisoformat(text[:10])
    if kind == "datetime":
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    if kind == "multi_enumeration":
        return [option for option in text.split(";") if option]
    return text


def sandbox_typed(hubspot, object_type: str, typed: dict[str, str]) -> dict[int, dict]:
    """Every live record's configured typed properties as their columns must hold them."""
    records: dict[int, dict] = {}
    with hubspot.http() as http:
        after = None
        while True:
            params = {"limit": 100, "properties": ",".join(typed)}
            if after:
                params["after"] = after
            body = http.get(f"/crm/v3/objects/{object_type}", params=params).json()
            for record in body["results"]:
                values = record["properties"]
                records[int(record["id"])] = {
                    name: expected_typed(values.get(name), kind) for name, kind in typed.items()
                }
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return records


def warehouse_typed(url: str, object_type: str, typed: dict[str, str]) -> dict[int, dict]:
    query = sql.SQL("SELECT id, {} FROM {} WHERE NOT archived").format(
        sql.SQL(", ").join(sql.Identifier(name) for name in typed), sql.Identifier("hubspot", object_type)
    )
    with psycopg.connect(url) as conn:
        return {row[0]: dict(zip(typed, row[1:], strict=True)) for row in conn.execute(query)}
