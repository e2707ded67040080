"""OTLP push: the same snapshot as ``/metrics``, sent to an OpenTelemetry collector.

For teams whose metrics go through an OTel collector rather than a Prometheus
scrape. The OpenTelemetry SDK's periodic reader calls the observable instruments'
callbacks on its own thread every ``interval`` seconds and POSTs the values as
OTLP/HTTP protobuf to ``endpoint``; the callbacks only read the serve loop's last
:class:`~tokdash.serve.totals.Snapshot`, so a push costs what a scrape does.

Instruments (cumulative temporality; attributes as the Prometheus labels, with
``machine`` on every point and as the resource's ``host.name``):

- ``tokdash.tokens`` (counter, ``{token}``): machine, agent, project, model, kind;
- ``tokdash.cost`` (counter, ``USD``): machine, agent, project, model;
- ``tokdash.api_calls`` (counter, ``{call}``): machine, agent, project, model;
- ``tokdash.sessions`` (gauge, ``{session}``): machine, agent, project, status.

A collector's Prometheus exporter turns these into ``tokdash_tokens_total`` etc.
Headers (an API key) come from the SDK's own ``OTEL_EXPORTER_OTLP_HEADERS`` /
``OTEL_EXPORTER_OTLP_METRICS_HEADERS`` variables. Needs the ``otlp`` extra.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit, urlunsplit

from tokdash.serve.totals import Snapshot

METRICS_PATH = "/v1/metrics"
"""OTLP/HTTP's metrics path, added when the endpoint has no path of its own."""
EXPORT_TIMEOUT_SECONDS = 5.0
"""One POST's time limit (also bounds how long a stop waits for the last push)."""


class EndpointError(ValueError):
    """``--otlp`` is not an http(s) URL."""


def metrics_url(endpoint: str) -> str:
    """The URL to POST to: ``http://host:4318`` becomes ``http://host:4318/v1/metrics``;
    an endpoint with a path is used as given. Raises :class:`EndpointError`."""
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(f"not an http(s) URL: {endpoint!r} (e.g. http://127.0.0.1:4318)")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise EndpointError(f"bad port in {endpoint!r}") from None
    path = parts.path if parts.path not in ("", "/") else METRICS_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


class OtlpPush:
    """Pushes the current snapshot every ``interval`` seconds until :meth:`stop`.

    Args:
        url: Where to POST (see :func:`metrics_url`).
        interval: Seconds between pushes.
        current: Returns the last snapshot.
        machine: The ``host.name`` of the resource.
        warn: Where a failed push is said (once, until pushes work again).
    """

    def __init__(self, url: str, interval: float, current: Callable[[], Snapshot], machine: str,
                 warn: Callable[[str], None]) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import MetricExportResult, PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource

        self._current = current
        self.url = url
        self.failing = False
        """The last push failed (said once on stderr; said again when pushes work again)."""
        exporter = OTLPMetricExporter(endpoint=url, timeout=EXPORT_TIMEOUT_SECONDS)
        export = exporter.export

        def checked(metrics_data, *args, **kwargs):
            # The SDK drops a failed push without a word: say so once, and when it recovers.
            result = export(metrics_data, *args, **kwargs)
            ok = result == MetricExportResult.SUCCESS
            if ok == self.failing:
                self.failing = not ok
                warn(f"tokdash serve: OTLP push to {url} " + ("works again" if ok else
                     f"failed (the collector is down or refused it); retrying every {interval:g} s"))
            return result

        exporter.export = checked  # the reader calls the instance's export
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=interval * 1000,
                                               export_timeout_millis=EXPORT_TIMEOUT_SECONDS * 1000)
        resource = Resource.create({"service.name": "tokdash", "host.name": machine})
        self._provider = MeterProvider(resource=resource, metric_readers=[reader])
        meter = self._provider.get_meter("tokdash.serve")
        meter.create_observable_counter("tokdash.tokens", [self._tokens], unit="{token}",
                                        description="Tokens used by AI coding agents, by kind.")
        meter.create_observable_counter("tokdash.cost", [self._cost], unit="USD",
                                        description="Estimated cost in USD from the public price table.")
        meter.create_observable_counter("tokdash.api_calls", [self._calls], unit="{call}",
                                        description="API calls (deduplicated).")
        meter.create_observable_gauge("tokdash.sessions", [self._sessions], unit="{session}",
                                      description="Sessions by status now.")

    # Callbacks: run on the SDK's reader thread; they only read an immutable snapshot.

    def _tokens(self, _options) -> Iterable:
        from opentelemetry.metrics import Observation

        snap = self._current()
        for (agent, project, model, kind), n in snap.counters.tokens.items():
            yield Observation(n, {"machine": snap.machine, "agent": agent, "project": project, "model": model,
                                  "kind": kind})

    def _cost(self, _options) -> Iterable:
        from opentelemetry.metrics import Observation

        snap = self._current()
        for (agent, project, model), usd in snap.counters.cost.items():
            yield Observation(usd, {"machine": snap.machine, "agent": agent, "project": project, "model": model})

    def _calls(self, _options) -> Iterable:
        from opentelemetry.metrics import Observation

        snap = self._current()
        for (agent, project, model), n in snap.counters.calls.items():
            yield Observation(n, {"machine": snap.machine, "agent": agent, "project": project, "model": model})

    def _sessions(self, _options) -> Iterable:
        from opentelemetry.metrics import Observation

        snap = self._current()
        for (agent, project, status), n in snap.sessions.items():
            yield Observation(n, {"machine": snap.machine, "agent": agent, "project": project, "status": status})

    def stop(self) -> None:
        """One last push of the current values, then stop (bounded by the export timeout)."""
        self._provider.shutdown(timeout_millis=EXPORT_TIMEOUT_SECONDS * 1000 * 2)
