"""Run metrics through Airflow's metrics system, received by a local listener (OpenTelemetry over
OTLP/HTTP; StatsD over UDP), and the mirrored tables' assets,
from a real `dag.test()` run of hubspot_extract."""

from __future__ import annotations

import socket
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


def _otel(monkeypatch):
    """OpenTelemetry metrics exported (OTLP/HTTP) to a local listener; yields a reader of its points."""
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

    def received(name, task_id):
        points = dict(_OtlpHandler.points)
        values = [
            value
            for (metric, attrs), value in points.items()
            if metric == name and ("task_id", task_id) in attrs
        ]
        return values[-1] if values else None

    yield received
    import atexit

    from airflow.sdk._shared.observability.metrics.otel_logger import flush_otel_metrics
    from opentelemetry import metrics

    metrics.get_meter_provider().shutdown()  # its exporter thread would go on sending to a closed port
    atexit.unregister(flush_otel_metrics)  # Airflow's flush at exit would find that provider shut down
    server.shutdown()
    server.server_close()


def _statsd(monkeypatch):
    """StatsD metrics sent (UDP) to a local listener; yields a reader of what it received."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.1)
    totals: dict[str, float] = {}
    stop = threading.Event()

    def listen():
        while not stop.is_set():
            try:
                packet = listener.recv(65535).decode()
            except TimeoutError:
                continue
            for line in packet.splitlines():
                name, _, rest = line.partition(":")
                value, kind = rest.split("|")[:2]
                totals[name] = totals.get(name, 0) + float(value) if kind == "c" else float(value)

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    for key, value in {
        "STATSD_ON": "True",
        "STATSD_HOST": "127.0.0.1",
        "STATSD_PORT": str(listener.getsockname()[1]),
        "STATSD_PREFIX": "airflow",
    }.items():
        monkeypatch.setenv(f"AIRFLOW__METRICS__{key}", value)
    yield lambda name, task_id: totals.get(name)
    stop.set()
    reader.join()  # before closing: a recv on a closed socket fails in the thread
    listener.close()


@pytest.fixture(params=["otel", "statsd"])
def metrics_listener(request, monkeypatch):
    """Airflow's metrics configured for one backend, sending to a local listener."""
    from airflow.sdk.observability import stats
    from airflow.sdk.observability.metrics import stats_utils

    listener = (_otel if request.param == "otel" else _statsd)(monkeypatch)
    received = next(listener)
    # As a worker's task runner does when it starts: the backend follows the configuration.
    stats.initialize(factory=stats_utils.get_stats_factory(), export_legacy_names=False)
    yield received
    next(listener, None)
    monkeypatch.delenv("AIRFLOW__METRICS__OTEL_ON", raising=False)
    monkeypatch.delenv("AIRFLOW__METRICS__STATSD_ON", raising=False)
    stats.initialize(factory=stats_utils.get_stats_factory(), export_legacy_names=False)


def test_extract_sends_counts_and_freshness_and_updates_assets(
    airflow_db, hubspot, warehouse, metrics_listener
):
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
                metrics_listener(f"airflow.hubspot_sync.{task_id}.{measure}", task_id) for measure in measures
            )
            for task_id in expected
        }
        if received == {task_id: values[:5] for task_id, values in expected.items()}:
            break
        assert time.monotonic() < deadline, f"metrics received {received}, run_metrics says {expected}"
        time.sleep(0.2)
    assert received["extract_contacts"][0] == 120
    for name in OBJECTS:
        lag = metrics_listener(
            f"airflow.hubspot_sync.extract_{name}.freshness_lag_seconds", f"extract_{name}"
        )
        assert lag is not None, name
        assert 0 <= lag < 600
        assert expected[f"extract_{name}"][5] is not None
        runs = metrics_listener(f"airflow.hubspot_sync.extract_{name}.runs_success", f"extract_{name}")
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
