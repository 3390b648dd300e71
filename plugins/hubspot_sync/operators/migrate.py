"""Brings the warehouse schema up to date before a DAG touches it."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from hubspot_sync.hooks.warehouse import WarehouseHook
from hubspot_sync.migrations import apply_migrations


class MigrateOperator(BaseOperator):
    """Applies pending migrations from include/sql/migrations; a no-op when the schema is current."""

    template_fields = ("postgres_conn_id",)
    ui_color = "#e8f0fe"

    def __init__(self, *, postgres_conn_id: str = "postgres_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.postgres_conn_id = postgres_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        with WarehouseHook(postgres_conn_id=self.postgres_conn_id).connect() as conn:
            applied = apply_migrations(conn)
        self.log.info("Migrations applied: %s", ", ".join(applied) if applied else "none (schema current)")
        return {"migrations_applied": applied}
