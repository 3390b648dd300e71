"""Airflow's default logging configuration, for the services `make airflow` starts, less one warning.

The simple auth manager warns that the deployment "looks like production" as soon as the metadata
database is not SQLite, which the local stack never uses (SQLite cannot take the concurrent
services). The stack is one user's, bound to 127.0.0.1, its login in an owner-only directory; a real
deployment configures its own auth manager (README, Deploy). Airflow's `[logging] namespace_levels`
reaches only its structlog loggers, not this standard-library one, hence a logging config class.
"""

from __future__ import annotations

from copy import deepcopy

from airflow.config_templates.airflow_local_settings import DEFAULT_LOGGING_CONFIG

LOGGING_CONFIG = deepcopy(DEFAULT_LOGGING_CONFIG)
LOGGING_CONFIG.setdefault("loggers", {})["airflow.api_fastapi.auth.managers.simple"] = {"level": "ERROR"}
