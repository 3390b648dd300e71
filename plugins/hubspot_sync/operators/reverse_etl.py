"""Pushes one reverse-ETL model to HubSpot: a thin wiring of the hooks to the engine."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from hubspot_sync.config import ModelConfigError, load_config
from hubspot_sync.sql import load_sql

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)


@contextmanager
def model_lock(conn: psycopg.Connection, model_name: str) -> Iterator[None]:
    """Hold the model's advisory lock: two runs pushing one model at once would send every change twice.

    The lock is per session, so it outlives the push's commits and is released if the worker dies.
    """
    params = {"model": model_name}
    if not conn.execute(load_sql("reverse_etl/try_lock"), params).fetchone()[0]:
        log.info("Model %s is being pushed by another run; waiting for it to finish", model_name)
        conn.execute(load_sql("reverse_etl/lock"), params)
    conn.commit()
    try:
        yield
    finally:
        # After a lost connection the lock is gone with the session; unlocking would only mask the cause.
        if not conn.closed and not conn.broken:
            conn.rollback()
            conn.execute(load_sql("reverse_etl/unlock"), params)
            conn.commit()


class ReverseEtlOperator(BaseOperator):
    """Runs the model `model_name` of the sync configuration (see hubspot_sync.reverse_etl.engine).

    Reads the DAG params `dry_run` (preview only, no API calls) and `models` (a subset to run: this
    task skips itself when its model is not in a non-empty subset). Returns a small dict of counts.
    """

    template_fields = ("model_name", "postgres_conn_id", "hubspot_conn_id")
    ui_color = "#fff4e0"

    def __init__(
        self,
        *,
        model_name: str,
        postgres_conn_id: str = "postgres_default",
        hubspot_conn_id: str = "hubspot_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.postgres_conn_id = postgres_conn_id
        self.hubspot_conn_id = hubspot_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        # Imported here, not at the top: the DAG file imports this module, and parsing must stay fast.
        from hubspot_sync.hooks.hubspot import HubSpotHook
        from hubspot_sync.hooks.warehouse import WarehouseHook
        from hubspot_sync.reverse_etl.engine import Settings, push_model
        from hubspot_sync.reverse_etl.store import ModelError
        from hubspot_sync.run_metrics import RunInfo

        params = context["params"]
        selected = list(params.get("models") or [])
        if selected and self.model_name not in selected:
            raise AirflowSkipException(f"model {self.model_name} is not among the selected: {selected}")
        config = load_config()
        try:
            model = config.model(self.model_name)
        except ModelConfigError as error:  # a retry would read the same declaration
            raise AirflowFailException(str(error)) from None
        settings = Settings(
            dry_run=bool(params.get("dry_run", False)),
            max_reject_share=config.thresholds.max_reject_share,
            max_clear_share=config.thresholds.max_clear_share,
            force_clear=bool(params.get("force_clear", False)),
            requests_in_flight=config.parallel.requests_in_flight,
        )
        warehouse = WarehouseHook(postgres_conn_id=self.postgres_conn_id)
        with ExitStack() as stack:
            conn = stack.enter_context(warehouse.connect())
            # The rate budget commits on its own connection, apart from the push's transactions.
            hubspot = HubSpotHook(
                self.hubspot_conn_id,
                budget_conn_factory=lambda: stack.enter_context(warehouse.connect()),
            )
            run = RunInfo.from_context(context)
            with model_lock(conn, self.model_name):
                try:
                    summary = push_model(conn, hubspot, self.model_name, model, run, settings)
                except ModelError as error:
                    # The model itself (a missing source table or property, a refused clearing, too many
                    # rejects): a retry would fail alike, so it fails once, and someone has to act.
                    raise AirflowFailException(str(error)) from None
        return summary.as_dict()
