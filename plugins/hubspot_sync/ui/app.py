"""The "HubSpot sync" page: a FastAPI app mounted in the API server (plugins/hubspot_sync_dashboard.py).

Routes, relative to where it is mounted (/hubspot-sync by default):
    /                 the page (HTML, inline SVG charts, no script, no CDN)
    /api/summary      the same numbers as JSON
    /sql/{query}      the SQL that lists the rows behind a number (?format=text for plain text)

Access is Airflow's: every route requires a user the auth manager lets read hubspot_extract's DAG
runs, through the same dependency Airflow's own REST API routes use; an anonymous request gets
401 whenever the UI requires a login. Reads the warehouse through the project's WarehouseHook.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hubspot_sync import SQL_DIR
from hubspot_sync.ui.chart import Series, line_chart

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)
ROWS_QUERIES = sorted(path.stem for path in (SQL_DIR / "dashboard" / "rows").glob("*.sql"))
COLORS = {"read": "#3b82f6", "written": "#16a34a", "rejected": "#dc2626"}

app = FastAPI(
    title="HubSpot sync dashboard",
    dependencies=[Depends(requires_access_dag("GET", DagAccessEntity.RUN, param_dag_id="hubspot_extract"))],
)


@app.get("/api/summary")
def summary() -> dict[str, Any]:
    return _collect()


@app.get("/", response_class=HTMLResponse)
def page() -> str:
    data = _collect()
    charts = {
        entry["object_type"]: line_chart(
            f"{entry['object_type']}: records per run",
            [run["started_at"][5:16].replace("T", " ") for run in entry["runs"]],
            [
                Series("read", [run["records_read"] for run in entry["runs"]], COLORS["read"]),
                Series("written", [run["records_written"] for run in entry["runs"]], COLORS["written"]),
                Series("rejected", [run["records_rejected"] for run in entry["runs"]], COLORS["rejected"]),
            ],
        )
        for entry in data.get("objects", [])
    }
    return TEMPLATES.get_template("dashboard.html").render(data=data, charts=charts, ago=_ago, span=_span)


@app.get("/sql/{query}", response_class=HTMLResponse)
def rows_query_page(
    request: Request,
    query: str,
    format: str = Query("html", pattern="^(html|text)$"),
    dag_id: str | None = None,
    task_id: str | None = None,
    model: str | None = None,
    object_type: str | None = None,
    status: str | None = None,
    run_id: str | None = None,
    table: str | None = None,
):
    from hubspot_sync.ui.queries import number

    if query not in ROWS_QUERIES:
        raise HTTPException(404, f"no dashboard query {query!r}; known: {', '.join(ROWS_QUERIES)}")
    given = {
        "dag_id": dag_id,
        "task_id": task_id,
        "model": model,
        "object_type": object_type,
        "status": status,
        "run_id": run_id,
        "table": table,
    }
    try:
        text = _render(number(query, **{key: value for key, value in given.items() if value is not None}))
    except KeyError as missing:
        raise HTTPException(422, f"query {query} needs the parameter {missing}") from None
    if format == "text":
        return PlainTextResponse(text)
    plain = str(request.url.include_query_params(format="text"))
    return TEMPLATES.get_template("sql.html").render(query=query, text=text, plain=plain)


def _render(rows_number) -> str:
    with _connect() as conn:
        return rows_number.rows_sql().as_string(conn).strip() + ";\n"


def _collect() -> dict[str, Any]:
    from hubspot_sync.config import load_config
    from hubspot_sync.ui.queries import DAILY_LIMITS, collect

    config = load_config()
    tier = _rate_limit_tier(config.connections.hubspot)
    with _connect(config.connections.postgres) as conn:
        data = collect(conn, config.enabled_objects(), config.model_names(), DAILY_LIMITS[tier])
    data["rate_limit_tier"] = tier
    return data


def _connect(postgres_conn_id: str | None = None):
    from hubspot_sync.config import load_config
    from hubspot_sync.hooks.warehouse import WarehouseConnectionError, WarehouseHook

    conn_id = postgres_conn_id or load_config().connections.postgres
    try:
        conn = WarehouseHook(postgres_conn_id=conn_id).connect()
    except WarehouseConnectionError as error:
        raise HTTPException(503, f"The warehouse is unreachable: {error}") from None
    # One read-only transaction per request: the page cannot write, and its figures share one snapshot.
    conn.read_only = True
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    return conn


def _rate_limit_tier(hubspot_conn_id: str) -> str:
    """The tier set on the HubSpot connection (its `rate_limit_tier` extra), as the hook reads it."""
    from airflow.sdk import BaseHook

    from hubspot_sync.ui.queries import DAILY_LIMITS

    try:
        extras = BaseHook.get_connection(hubspot_conn_id).extra_dejson
    except Exception:  # no connection yet: the page still shows what the warehouse holds
        return "starter"
    tier = str(extras.get("rate_limit_tier", "starter")).lower()
    return tier if tier in DAILY_LIMITS else "starter"


def _ago(moment: str | None) -> str:
    if not moment:
        return "never"
    seconds = (datetime.now(UTC) - datetime.fromisoformat(moment)).total_seconds()
    return f"{_span(seconds)} ago"


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(seconds, 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"
