"""The sandbox as the Airflow connection `hubspot_default`, as tests set it up."""

from __future__ import annotations

import json

import pytest

# Rate limits far above what a test sends; retries that back off for milliseconds.
GENEROUS = {"requests_per_10s": 100_000, "backoff_base_seconds": 0.02}


def use_sandbox(monkeypatch: pytest.MonkeyPatch, sandbox, **extra) -> None:
    """Point `hubspot_default` at `sandbox` (a handle with `url` and `token`) with these extras."""
    connection = {"conn_type": "http", "host": sandbox.url, "password": sandbox.token}
    if extra:
        connection["extra"] = extra
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(connection))
