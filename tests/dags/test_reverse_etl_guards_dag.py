"""A refused mass clearing through the real Airflow runtime: one final failure, one alert, no retry."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.dags import test_reverse_etl_dag as reverse_etl_dag

pytestmark = pytest.mark.integration

demo = reverse_etl_dag.demo


def churn_values(hubspot) -> set[str]:
    return {record.props.get("churn_risk", "") for record in hubspot.sandbox.table("companies")}


def test_truncated_source_is_refused_as_a_final_failure_with_an_alert_until_forced(
    airflow_db, demo, warehouse, webhook, sync_config
):
    sync_config(
        {
            "dag_defaults": {"retries": 2, "retry_delay_seconds": 1},
            "models": {"company_churn_risk": {"on_leave": "clear"}},
        }
    )
    first, _ = reverse_etl_dag.run_dag(models=["company_churn_risk"])
    assert first.state == "success"
    assert churn_values(demo) - {""}, "the example data should push churn flags"
    with psycopg.connect(warehouse) as conn:
        conn.execute("TRUNCATE app.support_tickets")
    demo.reset_stats()
    webhook.clear()

    refused, states = reverse_etl_dag.run_dag(models=["company_churn_risk"])

    assert refused.state == "failed"
    assert states["push_company_churn_risk"] == "failed"
    assert demo.stats()["total"] == 0
    assert churn_values(demo) - {""}, "nothing may be cleared"
    alerts = [json.loads(request["body"]) for request in webhook]
    task_alerts = [alert for alert in alerts if alert["event"] in ("task_failure", "task_retry")]
    assert [alert["event"] for alert in task_alerts] == ["task_failure"]
    assert "thresholds.max_clear_share" in task_alerts[0]["exception"]
    assert "force_clear" in task_alerts[0]["exception"]

    forced, states = reverse_etl_dag.run_dag(models=["company_churn_risk"], force_clear=True)

    assert forced.state == "success", states
    assert churn_values(demo) == {""}
