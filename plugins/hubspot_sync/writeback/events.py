"""The event that starts a write-back within seconds of an edit: PostgreSQL's NOTIFY from the outbox trigger.

`OutboxNotifyTrigger` runs in Airflow's triggerer as the trigger of an `AssetWatcher`: it LISTENs on the
channel the capture trigger notifies (once per editing transaction and table) and yields one event per
burst of notifications, which updates the outbox asset and so schedules `hubspot_writeback`. A burst is
folded for `settle_seconds` so a bulk edit starts one run, not hundreds. A notification sent while the
trigger is down (triggerer restart, lost connection) is lost, but the edit waits in the outbox: once
listening, the trigger yields an event at once if any edit is pending, so those edits are pushed when it
is back, not at the DAG's cron safety net.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import psycopg
from airflow.sdk import BaseHook
from airflow.triggers.base import BaseEventTrigger, TriggerEvent
from psycopg import sql

from hubspot_sync.sql import load_sql

CHANNEL = "hubspot_sync_outbox"


class OutboxNotifyTrigger(BaseEventTrigger):
    """Yields an event whenever edits of two-way fields are committed (async, psycopg 3)."""

    def __init__(
        self,
        postgres_conn_id: str = "postgres_default",
        channel: str = CHANNEL,
        settle_seconds: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.postgres_conn_id = postgres_conn_id
        self.channel = channel
        self.settle_seconds = settle_seconds

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "postgres_conn_id": self.postgres_conn_id,
                "channel": self.channel,
                "settle_seconds": self.settle_seconds,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        conn = await self._connect()
        async with conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            waiting = await self._waiting_tables(conn)
            if waiting:
                yield TriggerEvent({"channel": self.channel, "tables": waiting})
            while True:
                tables: set[str] = set()
                async for notify in conn.notifies(stop_after=1):
                    tables.add(notify.payload)
                # Fold the rest of the burst into this event.
                async for notify in conn.notifies(timeout=self.settle_seconds):
                    tables.add(notify.payload)
                yield TriggerEvent({"channel": self.channel, "tables": sorted(tables)})

    @staticmethod
    async def _waiting_tables(conn: psycopg.AsyncConnection) -> list[str]:
        """Object types whose edits wait in the outbox; none before the first migration made it."""
        try:
            cursor = await conn.execute(load_sql("writeback/waiting_tables"))
        except psycopg.errors.UndefinedTable:
            return []
        return [row[0] for row in await cursor.fetchall()]

    async def _connect(self) -> psycopg.AsyncConnection:
        connection = await BaseHook.aget_connection(self.postgres_conn_id)
        return await psycopg.AsyncConnection.connect(
            host=connection.host,
            port=connection.port or 5432,
            dbname=connection.schema or None,
            user=connection.login,
            password=connection.password,
            autocommit=True,
        )
