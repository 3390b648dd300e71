"""Airflow plugin: the "HubSpot sync" page, mounted in the API server and linked from the UI's menu.

This file sits at the top of the plugins folder so that Airflow's plugin manager loads it (the
`hubspot_sync` package beside it is listed in .airflowignore: it is imported, not scanned).
Every Airflow process loads plugins, task workers included, and only the API server serves the
page: so the page's code (FastAPI, the API server's auth, about 3 s of imports) loads on its
first request, not here.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/hubspot-sync"


class DashboardApp:
    """ASGI app standing in for hubspot_sync.ui.app.app until the first request imports it."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from hubspot_sync.ui.app import app

            self._app = app
        await self._app(scope, receive, send)


class HubSpotSyncDashboardPlugin(AirflowPlugin):
    name = "hubspot_sync_dashboard"
    fastapi_apps = [{"app": DashboardApp(), "url_prefix": URL_PREFIX, "name": "HubSpot sync"}]
    external_views = [
        {
            "name": "HubSpot sync",
            "href": f"{URL_PREFIX}/",
            "url_route": "hubspot-sync",
            "destination": "nav",
            "category": "browse",
        }
    ]
