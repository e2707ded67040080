"""Prometheus exposition: a custom collector over the last snapshot, and the ``/metrics`` server.

The collector yields the current totals of the serve loop's last :class:`Snapshot`
(a custom collector rather than ``Counter`` objects: the values are totals of
history, computed elsewhere, and a scrape must never see half an update). A
scrape costs O(series), whatever the number of sessions, and nothing more than
the HTTP exchange while the snapshot is unchanged (:class:`CachedMetrics`).

Metrics (every one also carries ``machine``):

- ``tokdash_tokens_total{agent, project, model, kind}``: tokens, ``kind`` one of
  input / output / cache_write / cache_read;
- ``tokdash_cost_usd_total{agent, project, model}``: estimated cost, USD (a model
  without a known price adds 0, as in the report);
- ``tokdash_api_calls_total{agent, project, model}``: API calls;
- ``tokdash_sessions{agent, project, status}``: sessions by the fleet's status now (working,
  waiting, idle, done: ``tokdash.model.activity.STATUSES``);
- ``tokdash_retired_sessions``: sessions gone from the index that the counters still hold;
- ``tokdash_loaded``: 1 once the initial load finished (before, counters still climb);
- ``tokdash_last_change_timestamp_seconds``: when the counters last changed;
- and whatever gauges the providers of :mod:`tokdash.serve.gauges` add.

Needs the ``serve`` extra (``prometheus_client``).
"""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable, Iterator
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder, gzip_accepted, make_wsgi_app

from tokdash.model.activity import STATUSES
from tokdash.serve.totals import Snapshot

METRICS_PATH = "/metrics"


class SnapshotCollector:
    """A ``prometheus_client`` collector reading whatever snapshot ``current()`` returns."""

    def __init__(self, current: Callable[[], Snapshot]) -> None:
        self._current = current

    def collect(self) -> Iterator[Metric]:
        """Every metric of the current snapshot (called on the HTTP server's thread)."""
        snap = self._current()
        m = snap.machine
        c = snap.counters
        tokens = CounterMetricFamily("tokdash_tokens", "Tokens used by AI coding agents, by kind "
                                     "(input is uncached input; output includes reasoning).",
                                     labels=("machine", "agent", "project", "model", "kind"))
        for (agent, project, model, kind), n in sorted(c.tokens.items()):
            tokens.add_metric((m, agent, project, model, kind), n)
        yield tokens
        cost = CounterMetricFamily("tokdash_cost_usd", "Estimated cost in USD from the public price table "
                                   "(unpriced models add 0).", labels=("machine", "agent", "project", "model"))
        for (agent, project, model), usd in sorted(c.cost.items()):
            cost.add_metric((m, agent, project, model), usd)
        yield cost
        calls = CounterMetricFamily("tokdash_api_calls", "API calls (deduplicated).",
                                    labels=("machine", "agent", "project", "model"))
        for (agent, project, model), n in sorted(c.calls.items()):
            calls.add_metric((m, agent, project, model), n)
        yield calls
        sessions = GaugeMetricFamily("tokdash_sessions", "Sessions by status now (" + ", ".join(STATUSES) + ").",
                                     labels=("machine", "agent", "project", "status"))
        for (agent, project, status), n in sorted(snap.sessions.items()):
            sessions.add_metric((m, agent, project, status), n)
        yield sessions
        yield _one("tokdash_retired_sessions", "Sessions no longer in the index whose numbers the counters "
                   "still hold (this process saw them; the report no longer counts them).", m, c.retired_sessions)
        yield _one("tokdash_loaded", "1 once the initial load has finished.", m, 1.0 if snap.loaded else 0.0)
        if snap.changed_at is not None:
            yield _one("tokdash_last_change_timestamp_seconds", "When the counters last changed (epoch seconds).",
                       m, snap.changed_at)
        yield from _provided(snap)


def _one(name: str, text: str, machine: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, text, labels=("machine",))
    family.add_metric((machine,), value)
    return family


def _provided(snap: Snapshot) -> Iterator[Metric]:
    families: dict[str, GaugeMetricFamily] = {}
    for sample in snap.gauges:
        family = families.get(sample.name)
        if family is None:
            family = families[sample.name] = GaugeMetricFamily(
                sample.name, sample.help, labels=("machine", *(k for k, _v in sample.labels)))
        family.add_metric((snap.machine, *(v for _k, v in sample.labels)), sample.value)
    yield from families.values()


def registry_for(current: Callable[[], Snapshot]) -> CollectorRegistry:
    """A registry of tokdash's metrics only (no process or platform collectors)."""
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(current))
    return registry


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow scraper must not hold the process open at exit


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        """No access log: a scrape every few seconds would flood the journal."""


class CachedMetrics:
    """The ``/metrics`` WSGI app: each snapshot is rendered once per format (text or OpenMetrics,
    gzipped or not), so Prometheus scraping an unchanged snapshot costs no re-rendering.
    Anything but a plain GET (OPTIONS, ``?name[]=`` filters) goes to the client library's app."""

    def __init__(self, current: Callable[[], Snapshot]) -> None:
        self._current = current
        self._plain = make_wsgi_app(registry_for(current))
        self._cache: dict[tuple[str, bool], tuple[Snapshot, bytes]] = {}

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING"):
            return self._plain(environ, start_response)
        snap = self._current()
        encoder, content_type = choose_encoder(environ.get("HTTP_ACCEPT", ""))
        zipped = gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", ""))
        key = (content_type, zipped)
        hit = self._cache.get(key)
        if hit is None or hit[0] is not snap:
            body = encoder(registry_for(lambda: snap))
            hit = self._cache[key] = (snap, gzip.compress(body) if zipped else body)
        headers = [("Content-Type", content_type)]
        if zipped:
            headers.append(("Content-Encoding", "gzip"))
        start_response("200 OK", headers)
        return [hit[1]]


class MetricsServer:
    """``/metrics`` over HTTP on its own thread; anything else is a 404.

    Binding happens in the constructor, so a port in use fails before any data is read.
    Raises ``OSError`` (bind) or ``socket.gaierror`` (a host that does not resolve).
    """

    def __init__(self, host: str, port: int, current: Callable[[], Snapshot]) -> None:
        family, addr = _family(host, port)
        server_class = type("MetricsHTTPServer", (_Server,), {"address_family": family})
        metrics = CachedMetrics(current)

        def app(environ, start_response):
            if environ.get("PATH_INFO", "") in (METRICS_PATH, METRICS_PATH + "/"):
                return metrics(environ, start_response)
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [f"tokdash serve: metrics are at {METRICS_PATH}\n".encode()]

        self._httpd = make_server(addr, port, app, server_class, handler_class=_Quiet)
        self.host = host
        self.port: int = self._httpd.server_address[1]
        """The port bound (the one asked for, or the one the system chose for 0)."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.5},
                                        name="tokdash-metrics-http", daemon=True)

    @property
    def url(self) -> str:
        """Where Prometheus scrapes."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{METRICS_PATH}"

    def start(self) -> None:
        """Serve on a thread of its own."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()


def _family(host: str, port: int) -> tuple[int, str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _type, _proto, _name, sockaddr = infos[0]
    return family, sockaddr[0]
