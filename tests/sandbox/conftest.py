"""One sandbox server for the whole sandbox suite, reset before every test.

Starting uvicorn once keeps the suite fast; the autouse reset (data, properties, faults, limits, lag, stats)
keeps tests independent of order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hubspot_sandbox.testing import SandboxHandle, run_sandbox

OBJECT_TYPES = ["contacts", "companies", "deals", "tickets", "line_items"]


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxHandle]:
    with run_sandbox(token="test-token") as handle:
        yield handle


@pytest.fixture
def hubspot(sandbox_server: SandboxHandle) -> SandboxHandle:
    sandbox_server.reset()
    sandbox_server.set_limits(tier="off")
    sandbox_server.set_config(searchLagMs=0)
    sandbox_server.reset_stats()
    return sandbox_server


@pytest.fixture
def sdk(hubspot: SandboxHandle) -> Any:
    return hubspot.sdk_client()


@pytest.fixture
def http(hubspot: SandboxHandle) -> Iterator[httpx.Client]:
    with hubspot.http() as client:
        yield client


def assert_hubspot_error(
    response: httpx.Response, status: int, category: str | None = None
) -> dict[str, Any]:
    """A HubSpot-shaped JSON error body with the given status (and category)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "error"
    assert body["message"]
    assert body["correlationId"]
    if category is not None:
        assert body["category"] == category, body
    return body
