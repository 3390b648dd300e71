"""Warehouse reads and writes of the reverse ETL; every statement lives in include/sql/reverse_etl.

Not responsible for deciding what to send (diff.py) or talking to HubSpot (the hook).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from hubspot_sync.reverse_etl.diff import Change, PushState
from hubspot_sync.reverse_etl.model_config import ReverseEtlModel
from hubspot_sync.reverse_etl.responses import InputError
from hubspot_sync.reverse_etl.values import InvalidValue, canonical, match_key, tolerant_datetime_loaders
from hubspot_sync.run_metrics import Reject, RunInfo
from hubspot_sync.sql import load_sql

FETCH_ROWS = 5_000


class ModelError(RuntimeError):
    """The model itself is broken (query, columns, keys, mapping): its task fails, other models run on."""


@dataclass
class ModelRows:
    """What reading the model left behind: counts and rejects; the rows are in pg_temp.reverse_etl_rows."""

    read: int = 0
    stored: int = 0
    rejects: list[Reject] = field(default_factory=list)


def read_model(conn: psycopg.Connection, name: str, model: ReverseEtlModel) -> ModelRows:
    """Run the model query and store its canonical rows for the diff; unusable rows are rejected."""
    where = f"model {name} ({model.sql_path})"
    try:
        query = model.sql_path.read_text()
    except OSError as error:
        raise ModelError(f"{where}: cannot read the query file: {error}") from None
    result = ModelRows()
    try:
        with conn.transaction():
            conn.execute(load_sql("reverse_etl/rows/create"))
            with conn.cursor(name=f"reverse_etl_{name}") as source, conn.cursor() as target:
                tolerant_datetime_loaders(source.adapters)
                source.execute(query)
                columns = [column.name for column in source.description or []]
                _check_columns(where, columns, model)
                key_index = columns.index(model.key.column)
                value_indexes = [(columns.index(column), prop) for column, prop in model.properties.items()]
                while rows := source.fetchmany(FETCH_ROWS):
                    canonical_rows = []
                    for row in rows:
                        key_or_reject = _row(row, key_index, value_indexes, model)
                        if isinstance(key_or_reject, Reject):
                            result.rejects.append(key_or_reject)
                        else:
                            canonical_rows.append((key_or_reject[0], Jsonb(key_or_reject[1])))
                    result.read += len(rows)
                    result.stored += len(canonical_rows)
                    # Between two fetches the connection is free for a COPY in the same transaction.
                    with target.copy(load_sql("reverse_etl/rows/copy")) as copy:
                        for canonical_row in canonical_rows:
                            copy.write_row(canonical_row)
            duplicates = conn.execute(load_sql("reverse_etl/rows/duplicates")).fetchone()[0]
            conn.execute(load_sql("reverse_etl/rows/analyze"))
    except (psycopg.OperationalError, psycopg.InterfaceError):
        raise  # the connection or a lock conflict, not the model: a retry may get through
    except psycopg.Error as error:
        raise ModelError(query_failed(where, error)) from None
    if duplicates:
        raise ModelError(
            f"{where}: {duplicates} rows repeat a key already returned in column {model.key.column} "
            f"(compared as {model.key.property}); make the query return one row per key"
        )
    return result


def source_columns(conn: psycopg.Connection, name: str, model: ReverseEtlModel) -> dict[str, str]:
    """The model query's result columns and their PostgreSQL types, found by running it with LIMIT 0."""
    where = f"model {name} ({model.sql_path})"
    try:
        query = model.sql_path.read_text().rstrip().rstrip(";")
    except OSError as error:
        raise ModelError(f"{where}: cannot read the query file: {error}") from None
    try:
        with conn.transaction(), conn.cursor() as cursor:
            cursor.execute(sql.SQL("SELECT * FROM (\n{}\n) AS model LIMIT 0").format(sql.SQL(query)))
            description = cursor.description or []
    except psycopg.Error as error:
        raise ModelError(query_failed(where, error)) from None
    types = conn.adapters.types
    columns = {column.name: getattr(types.get(column.type_code), "name", "") for column in description}
    _check_columns(where, list(columns), model)
    return columns


def query_failed(where: str, error: psycopg.Error) -> str:
    if isinstance(error, psycopg.errors.UndefinedTable | psycopg.errors.InvalidSchemaName):
        return (
            f"{where}: a source table is missing from the warehouse ({str(error).splitlines()[0]}): create "
            "it, or set enabled: false on the model. `python -m hubspot_sync preflight` lists everything "
            "this deployment still lacks"
        )
    return f"{where}: the query failed in PostgreSQL: {str(error).strip()}"


def _check_columns(where: str, columns: list[str], model: ReverseEtlModel) -> None:
    missing = [column for column in [model.key.column, *model.properties] if column not in columns]
    if missing:
        raise ModelError(
            f"{where}: the query returns no column {', '.join(missing)}; "
            f"it returns {', '.join(columns) or 'no columns'}"
        )


def _row(
    row: tuple, key_index: int, value_indexes: list[tuple[int, str]], model: ReverseEtlModel
) -> tuple[str, dict[str, str]] | Reject:
    try:
        key = match_key(row[key_index], model.key.property)
    except InvalidValue as invalid:
        return Reject(model.object_type, None, model.key.column, str(invalid))
    values = {}
    for index, prop in value_indexes:
        try:
            values[prop] = canonical(row[index])
        except InvalidValue as invalid:
            return Reject(model.object_type, key, prop, str(invalid))
    return key, values


def candidates(
    conn: psycopg.Connection, name: str, slice_rows: int
) -> Iterator[list[tuple[str, dict[str, str], PushState | None]]]:
    """Rows of the last `read_model` that may differ from push state, with their state, in slices.

    The cursor is held across commits: the caller commits each batch it sends while reading on.
    """
    with conn.cursor(name=f"reverse_etl_candidates_{name}", withhold=True) as cursor:
        cursor.execute(load_sql("reverse_etl/rows/candidates"), {"model": name})
        conn.commit()
        while rows := cursor.fetchmany(slice_rows):
            yield [
                (key, values, None if pushed is None else PushState(pushed, failed, attempts))
                for key, values, pushed, failed, attempts in rows
            ]


def leaving(conn: psycopg.Connection, name: str) -> list[tuple[str, PushState]]:
    """Keys in push state that the last `read_model` did not return."""
    rows = conn.execute(load_sql("reverse_etl/rows/leaving"), {"model": name}).fetchall()
    conn.commit()
    return [
        (key, PushState(pushed, failed_values, failed_attempts))
        for key, pushed, failed_values, failed_attempts in rows
    ]


def pushed_records(conn: psycopg.Connection, name: str) -> int:
    """How many records hold a non-empty value this model pushed."""
    count = conn.execute(load_sql("reverse_etl/state/pushed_records"), {"model": name}).fetchone()[0]
    conn.commit()
    return count


def archived_only_keys(
    conn: psycopg.Connection, object_type: str, key_property: str, keys: list[str]
) -> set[str]:
    """The keys among `keys` that the mirror knows only as archived records of `object_type`."""
    value = sql.SQL("(properties ->> {})").format(sql.Literal(key_property))
    match = sql.SQL("lower({})").format(value) if key_property == "email" else value
    query = sql.SQL(load_sql("reverse_etl/rows/archived_keys")).format(
        table=sql.Identifier("hubspot", object_type), match=match
    )
    found = {key for (key,) in conn.execute(query, {"keys": keys})}
    conn.commit()
    return found


def drop_rows(conn: psycopg.Connection) -> None:
    conn.execute(load_sql("reverse_etl/rows/drop"))
    conn.commit()


def record_batch(
    conn: psycopg.Connection,
    name: str,
    model: ReverseEtlModel,
    run: RunInfo,
    sent: list[tuple[Change, dict[str, str]]],
    failed: dict[str, InputError],
) -> None:
    """In one transaction: push state and audit rows for every input of one answered batch."""
    successes, failures, audit = [], [], []
    for change, wire in sent:
        problem = failed.get(change.key)
        params = {
            "model": name,
            "record_key": change.key,
            "object_type": model.object_type,
            "values": Jsonb(change.values),
        }
        if problem is None:
            successes.append(params)
        else:
            failures.append(
                {
                    **params,
                    "category": problem.category,
                    "reason": problem.reason,
                    "correlation_id": problem.correlation_id,
                }
            )
        for prop, value in wire.items():
            audit.append(
                (
                    name,
                    model.object_type,
                    change.key,
                    prop,
                    value,
                    change.previous.get(prop),
                    change.operation,
                    "failed" if problem else "success",
                    problem.category if problem else None,
                    problem.reason if problem else None,
                    problem.correlation_id if problem else None,
                    run.dag_id,
                    run.run_id,
                    run.task_id,
                    run.try_number,
                )
            )
    with conn.transaction(), conn.cursor() as cursor:
        if successes:
            cursor.executemany(load_sql("reverse_etl/state/record_success"), successes)
        if failures:
            cursor.executemany(load_sql("reverse_etl/state/record_failure"), failures)
        with cursor.copy(load_sql("reverse_etl/audit/copy")) as copy:
            for row in audit:
                copy.write_row(row)


def clear_preview(conn: psycopg.Connection, name: str) -> None:
    with conn.transaction():
        conn.execute(load_sql("reverse_etl/preview/delete"), {"model": name})


def append_preview(
    conn: psycopg.Connection,
    name: str,
    run: RunInfo,
    changes: list[tuple[Change, dict[str, str]]],
    rejects: list[Reject],
) -> None:
    with (
        conn.transaction(),
        conn.cursor() as cursor,
        cursor.copy(load_sql("reverse_etl/preview/copy")) as copy,
    ):
        for change, wire in changes:
            for prop, value in wire.items():
                previous = change.previous.get(prop)
                copy.write_row((name, change.key, prop, value, previous, change.operation, None, run.run_id))
        for reject in rejects:
            copy.write_row(
                (name, reject.record_id, reject.field, None, None, "reject", reject.reason, run.run_id)
            )


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
