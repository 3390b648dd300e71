"""Run metrics through Airflow's metrics system, received by a local OpenTelemetry (OTLP/HTTP) listener,
and the mirrored tables' assets, from a real `dag.test()` run of hubspot_extract."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest

from tests.integration.test_extract_dag import run_extract

pytestmark = pytest.mark.integration
OBJECTS = ("companies", "contacts", "deals")


class _OtlpHandler(BaseHTTPRequestHandler):
    """Keeps the newest value of every (metric, attributes) exported to /v1/metrics."""

    points: dict[tuple[str, tuple], float] = {}

    def do_POST(self):
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

        request = ExportMetricsServiceRequest()
        request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
        for resource in request.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    kind = metric.WhichOneof("data")
                    if kind not in ("sum", "gauge"):  # Airflow's own timers come as histograms
                        continue
                    for point in getattr(metric, kind).data_points:
                        attributes = tuple(sorted((a.key, a.value.string_value) for a in point.attributes))
                        value = point.as_int if point.WhichOneof("value") == "as_int" else point.as_double
                        type(self).points[(metric.name, attributes)] = value
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def otel_listener(monkeypatch):
    """Airflow's metrics switched to OpenTelemetry, exporting to a local listener; yields its points."""
    from airflow.sdk.configuration import conf
    from airflow.sdk.observability import stats
    from airflow.sdk.observability.metrics import stats_utils

    _OtlpHandler.points = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OtlpHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for key, value in {
        "OTEL_ON": "True",
        "OTEL_HOST": "127.0.0.1",
        "OTEL_PORT": str(server.server_address[1]),
        "OTEL_INTERVAL_MILLISECONDS": "200",
        "OTEL_PREFIX": "airflow",
    }.items():
        monkeypatch.setenv(f"AIRFLOW__METRICS__{key}", value)
    # As a worker's task runner does when it starts: the backend follows the configuration.
    stats.initialize(factory=stats_utils.get_stats_factory(), export_legacy_names=False)
    yield _OtlpHandler.points
    from opentelemetry import metrics

    metrics.get_meter_provider().shutdown()  # its exporter thread would go on sending to a closed port
    monkeypatch.delenv("AIRFLOW__METRICS__OTEL_ON")
    stats.initialize(factory=stats_utils.get_stats_factory(), export_legacy_names=False)
    assert not conf.getboolean("metrics", "otel_on")
    server.shutdown()
    server.server_close()


def _received(points, name, task_id):
    values = [
        value for (metric, attrs), value in points.items() if metric == name and ("task_id", task_id) in attrs
    ]
    return values[-1] if values else None


def test_extract_sends_counts_and_freshness_and_updates_assets(airflow_db, hubspot, warehouse, otel_listener):
    hubspot.seed(companies=30, contacts=120, deals=20)
    run = run_extract()
    assert run.state == "success"

    with psycopg.connect(warehouse) as conn:
        rows = conn.execute(
            "SELECT task_id, records_read, records_written, records_rejected, api_calls, rate_limited_calls,"
            " (details ->> 'freshness_lag_seconds')::float FROM hubspot_sync.run_metrics WHERE run_id = %s",
            (run.run_id,),
        ).fetchall()
    expected = {row[0]: row[1:] for row in rows}
    assert {f"extract_{name}" for name in OBJECTS} <= set(expected)

    measures = ("records_read", "records_written", "records_rejected", "api_calls", "rate_limited_calls")
    deadline = time.monotonic() + 10
    while True:  # the exporter sends every 200 ms
        received = {
            task_id: tuple(
                _received(otel_listener, f"airflow.hubspot_sync.{task_id}.{measure}", task_id)
                for measure in measures
            )
            for task_id in expected
        }
        if received == {task_id: values[:5] for task_id, values in expected.items()}:
            break
        assert time.monotonic() < deadline, f"metrics received {received}, run_metrics says {expected}"
        time.sleep(0.2)
    assert received["extract_contacts"][0] == 120
    for name in OBJECTS:
        lag = _received(
            otel_listener, f"airflow.hubspot_sync.extract_{name}.freshness_lag_seconds", f"extract_{name}"
        )
        assert lag is not None, name
        assert 0 <= lag < 600
        assert expected[f"extract_{name}"][5] is not None
        runs = _received(
            otel_listener, f"airflow.hubspot_sync.extract_{name}.runs_success", f"extract_{name}"
        )
        assert runs == 1

    # Each extraction task updated its table's asset: a downstream DAG scheduled on it would run.
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        updated = set(
            session.scalars(
                select(AssetModel.uri)
                .join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
                .where(AssetEvent.source_run_id == run.run_id)
            )
        )
    assert {f"hubspot-sync://warehouse/hubspot/{name}" for name in OBJECTS} <= updated
    assert "hubspot-sync://warehouse/hubspot/contact_company_associations" in updated
