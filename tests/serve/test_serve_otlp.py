"""``tokdash serve --otlp``: the real OpenTelemetry SDK and OTLP/HTTP exporter push to a loopback
receiver that decodes the protobuf; the pushed values equal the report's totals."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from support import KINDS, REPO, Served, report, wait_for

pb = pytest.importorskip("opentelemetry.proto.collector.metrics.v1.metrics_service_pb2",
                         reason="the otlp extra is not installed (pip install -e '.[test]')")


class Receiver:
    """An OTLP/HTTP metrics endpoint on loopback that keeps every decoded request."""

    def __init__(self) -> None:
        self.requests: list = []
        self.content_types: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = pb.ExportMetricsServiceRequest()
                request.ParseFromString(body)
                owner.content_types.append(self.headers.get("Content-Type", ""))
                owner.requests.append((self.path, request))
                reply = pb.ExportMetricsServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def decode(request) -> tuple[dict[str, str], dict[str, list[tuple[dict, float]]]]:
    """(resource attributes, metric name -> [(attributes, value)]) of one export request."""
    resource: dict[str, str] = {}
    out: dict[str, list[tuple[dict, float]]] = {}
    for rm in request.resource_metrics:
        resource.update({a.key: a.value.string_value for a in rm.resource.attributes})
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                points = metric.sum.data_points if metric.HasField("sum") else metric.gauge.data_points
                for p in points:
                    attrs = {a.key: a.value.string_value for a in p.attributes}
                    value = p.as_double if p.HasField("as_double") else p.as_int
                    out.setdefault(metric.name, []).append((attrs, value))
    return resource, out


def pushed_totals(metrics) -> dict[str, float]:
    out = {field: sum(v for a, v in metrics.get("tokdash.tokens", []) if a["kind"] == kind)
           for kind, field in KINDS.items()}
    out["api_calls"] = sum(v for _a, v in metrics.get("tokdash.api_calls", []))
    out["cost_usd"] = math.fsum(v for _a, v in metrics.get("tokdash.cost", []))
    out["sessions"] = sum(v for _a, v in metrics.get("tokdash.sessions", []))
    return out


def test_otlp_push_carries_the_report_totals(fleet, env, tmp_path):
    receiver = Receiver()
    served = Served(["--metrics", "127.0.0.1:0", "--machine", "otel-box", "--otlp", receiver.url,
                     "--otlp-interval", "0.5", *fleet.flags()], env)
    try:
        totals = report(fleet.flags(), env, tmp_path / "report-data")

        def agreeing():
            for path, request in list(receiver.requests):
                resource, metrics = decode(request)
                got = pushed_totals(metrics)
                ints = all(got[f] == totals[f] for f in (*KINDS.values(), "api_calls", "sessions"))
                if ints and abs(got["cost_usd"] - totals["cost_usd"]) <= 1e-6:
                    return path, resource, metrics
            return None

        path, resource, metrics = wait_for("an OTLP push equal to the report", agreeing)
        assert path == "/v1/metrics"
        assert receiver.content_types[0] == "application/x-protobuf"
        assert resource["host.name"] == "otel-box" and resource["service.name"] == "tokdash"
        for name, points in metrics.items():
            for attrs, _v in points:
                assert attrs["machine"] == "otel-box", name
                assert not {"session", "session_id", "title"} & attrs.keys()
    finally:
        status = served.stop()
        receiver.close()
    assert status == 0, served.stderr


def test_a_bad_otlp_endpoint_is_a_usage_error(env):
    proc = subprocess.run([sys.executable, "-m", "tokdash", "serve", "--otlp", "collector:4318"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "not an http(s) URL" in proc.stderr


def test_a_collector_that_is_down_is_said_once_and_stop_stays_clean(env, fleet):
    import socket

    with socket.socket() as s:  # a port nobody listens on: the push is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    served = Served(["--metrics", "127.0.0.1:0", "--otlp", f"http://127.0.0.1:{port}", "--otlp-interval", "0.5",
                     *fleet.flags()], env)
    try:
        wait_for("the failed push to be reported", lambda: any("OTLP push" in line and "failed" in line
                                                                for line in served.stderr))
    finally:
        status = served.stop()
    assert status == 0, served.stderr
    assert sum("failed" in line for line in served.stderr) == 1, served.stderr
    assert not any("Traceback" in line for line in served.stderr), served.stderr
