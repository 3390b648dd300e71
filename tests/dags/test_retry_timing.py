"""Retry timing fits the schedule: a short HubSpot outage costs about a minute, and a run's retries
are over before its next run is due (max_active_runs=1 would otherwise hold that run back).

Time is counted, not waited: the hook's own retry loop runs against a refused connection with its
sleeps recorded and its jitter at the maximum, and Airflow's own retry-delay computation is applied
to the parsed DAG's tasks.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import urllib3
from croniter import croniter

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
# A one-minute outage may cost up to this much before the task's next try starts.
SHORT_OUTAGE = timedelta(seconds=60)
ABOUT_A_MINUTE = timedelta(seconds=120)


def parsed_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR / f"{dag_id}.py"), safe_mode=False)
    assert bag.import_errors == {}
    return bag.dags[dag_id]


@pytest.fixture
def in_task_budget(monkeypatch) -> timedelta:
    """Longest time the hook keeps one request retrying through an outage before the task fails."""
    from hubspot_sync.hooks import hubspot as hubspot_module

    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        json.dumps({"conn_type": "http", "host": "http://127.0.0.1:1", "password": "token"}),
    )
    waits: list[float] = []
    monkeypatch.setattr(hubspot_module.time, "sleep", waits.append)
    monkeypatch.setattr(hubspot_module.random, "uniform", lambda low, high: high)

    def refused(**_kwargs):
        raise urllib3.exceptions.NewConnectionError(None, "connection refused")

    hook = hubspot_module.HubSpotHook("hubspot_default")
    with pytest.raises(hubspot_module.HubSpotUnavailableError):
        hook.request("probe", "standard", refused)
    assert waits, "the hook did not retry a refused connection at all"
    return timedelta(seconds=sum(waits))


def retry_delays(task) -> list[timedelta]:
    """Worst-case wait before each retry of `task`, by Airflow's own computation."""
    from airflow.models.taskinstance import TaskInstance

    failed_at = datetime(2026, 1, 1, tzinfo=UTC)
    delays = []
    for try_number in range(1, task.retries + 1):
        worst = timedelta(0)
        for minute in range(60):  # the jitter hashes the logical date: take the worst of many
            ti = SimpleNamespace(
                retry_delay_override=None,
                task=task,
                try_number=try_number,
                dag_id=task.dag_id,
                task_id=task.task_id,
                logical_date=failed_at + timedelta(minutes=minute),
                end_date=failed_at,
            )
            worst = max(worst, TaskInstance.next_retry_datetime(ti) - failed_at)
        delays.append(worst)
    return delays


def schedule_interval(cron: str) -> timedelta:
    fires = croniter(cron, datetime(2026, 1, 1, tzinfo=UTC))
    first = fires.get_next(datetime)
    return fires.get_next(datetime) - first


def test_a_one_minute_outage_costs_about_a_minute(in_task_budget):
    dag = parsed_dag("hubspot_extract")
    for task in dag.tasks:
        assert task.retries >= 1, task.task_id
        first_retry = retry_delays(task)[0]
        # The outage starts as a request is made: the hook retries within the task, then the task
        # fails and waits for its first retry, which must find HubSpot back and not much later.
        until_next_try = in_task_budget + first_retry
        assert SHORT_OUTAGE <= until_next_try <= ABOUT_A_MINUTE, (task.task_id, until_next_try)


@pytest.mark.parametrize(("dag_id", "schedule_key"), [("hubspot_extract", "extract")])
def test_every_retry_of_a_run_is_over_before_the_next_run_is_due(in_task_budget, dag_id, schedule_key):
    from hubspot_sync.config import load_config

    dag = parsed_dag(dag_id)
    interval = schedule_interval(getattr(load_config().schedules, schedule_key))
    for task in dag.tasks:
        delays = retry_delays(task)
        tries = len(delays) + 1
        # Failing tries are short during an outage: each ends when the hook gives up.
        longest_failing_run = tries * in_task_budget + sum(delays, timedelta(0))
        assert longest_failing_run < interval, (task.task_id, longest_failing_run, interval)
