"""Loads the SQL statements kept under include/sql (every statement the package runs lives there)."""

from __future__ import annotations

from functools import cache

from hubspot_sync import SQL_DIR


@cache
def load_sql(name: str) -> str:
    """The text of include/sql/<name>.sql, e.g. load_sql("rate_budget/acquire")."""
    return (SQL_DIR / f"{name}.sql").read_text()
