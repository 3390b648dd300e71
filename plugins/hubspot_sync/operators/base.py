"""What the operators that read HubSpot into the warehouse share: their connections, the `objects`
param, and one session of a HubSpot hook and an autocommit warehouse connection per task try."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from airflow.sdk import BaseOperator

from hubspot_sync.hooks.hubspot import HubSpotHook
from hubspot_sync.hooks.warehouse import WarehouseHook
from hubspot_sync.run_metrics import RunInfo


class SyncTaskOperator(BaseOperator):
    def __init__(
        self,
        *,
        hubspot_conn_id: str = "hubspot_default",
        postgres_conn_id: str = "postgres_default",
        **kwargs,
    ) -> None:
        kwargs.setdefault("trigger_rule", "none_failed")  # a task skipped by the `objects` param is fine
        super().__init__(**kwargs)
        self.hubspot_conn_id = hubspot_conn_id
        self.postgres_conn_id = postgres_conn_id

    @staticmethod
    def _params(context: Any) -> dict[str, Any]:
        return context.get("params") or {}

    def _selected(self, context: Any) -> list[str] | None:
        objects = self._params(context).get("objects")
        return list(objects) if objects else None

    @contextmanager
    def _session(self, context: Any) -> Iterator[tuple[HubSpotHook, psycopg.Connection, RunInfo]]:
        warehouse = WarehouseHook(postgres_conn_id=self.postgres_conn_id)
        conn = warehouse.connect()
        conn.autocommit = True  # every `with conn.transaction()` is a real, durable transaction
        hook = HubSpotHook(self.hubspot_conn_id, budget_conn_factory=warehouse.connect)
        try:
            yield hook, conn, RunInfo.from_context(context)
        finally:
            hook.close()
            conn.close()
