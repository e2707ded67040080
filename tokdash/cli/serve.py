"""``tokdash serve``: Prometheus metrics at ``/metrics`` (and an optional OTLP push), kept live."""

from __future__ import annotations

import sys

from tokdash.cli.common import CliError, add_cache_flag, add_source_flags, agents_of, price_book, roots_for, warn
from tokdash.sources import SOURCES

DEFAULT_METRICS = "127.0.0.1:9477"
"""Loopback only: nothing leaves the machine unless the user says where to listen."""
DEFAULT_OTLP_INTERVAL = 60.0


def add_serve_parser(sub) -> None:
    """The ``serve`` subcommand and its flags."""
    serve = sub.add_parser("serve", help="serve Prometheus metrics (and optionally push OTLP), kept live")
    add_source_flags(serve)
    serve.add_argument("--metrics", metavar="HOST:PORT", default=DEFAULT_METRICS,
                       help=f"where to serve /metrics (default {DEFAULT_METRICS}, this machine only; "
                            "0.0.0.0:PORT or [::]:PORT for every interface; port 0 picks a free one)")
    serve.add_argument("--machine", metavar="NAME",
                       help="the machine label (default: [metrics] machine of the config file, else the hostname)")
    serve.add_argument("--otlp", metavar="ENDPOINT",
                       help="also push OTLP/HTTP metrics to this collector, e.g. http://127.0.0.1:4318 "
                            "(needs tokdash[otlp])")
    serve.add_argument("--otlp-interval", metavar="SECONDS", type=float, default=DEFAULT_OTLP_INTERVAL,
                       help=f"seconds between OTLP pushes (default {DEFAULT_OTLP_INTERVAL:g})")
    add_cache_flag(serve)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) to (host, port); a CliError (status 2) otherwise."""
    raw = text.strip()

    def bad(why: str) -> CliError:
        return CliError(f"tokdash serve: --metrics {text!r}: {why} (e.g. {DEFAULT_METRICS})", 2)

    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        if not rest.startswith(":"):
            raise bad("expected [IPv6]:PORT")
        port_text = rest[1:]
    else:
        host, sep, port_text = raw.rpartition(":")
        if not sep:
            raise bad("expected HOST:PORT")
        if ":" in host:
            raise bad("put an IPv6 address in brackets, [::1]:PORT")
    if not host:
        raise bad("give a host: 127.0.0.1 for this machine only, 0.0.0.0 for every interface")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise bad("the port must be a number from 0 to 65535")
    return host, int(port_text)


def _loopback(host: str) -> bool:
    import ipaddress  # here, not at the top: every command builds this parser

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _need(module: str, extra: str) -> None:
    try:
        __import__(module)
    except ImportError:
        raise CliError(f"tokdash serve: {module} is not installed: pip install 'tokdash[{extra}]'") from None


def run_serve(args) -> int:
    """``tokdash serve``: bind, load, follow the files, serve until SIGTERM/SIGINT."""
    host, port = parse_listen(args.metrics)
    url = None
    if args.otlp:
        from tokdash.serve.otlp import EndpointError, metrics_url

        try:
            url = metrics_url(args.otlp)
        except EndpointError as exc:
            raise CliError(f"tokdash serve: --otlp: {exc}", 2) from None
    if not (args.otlp_interval > 0 and args.otlp_interval < 86400):
        raise CliError("tokdash serve: --otlp-interval must be more than 0 and less than a day of seconds", 2)
    _need("prometheus_client", "serve")
    if url is not None:
        _need("opentelemetry.sdk.metrics", "otlp")
        _need("opentelemetry.exporter.otlp.proto.http.metric_exporter", "otlp")

    from tokdash.model.config import default_config_path
    from tokdash.serve.exposition import MetricsServer
    from tokdash.serve.labels import LabelPolicy, MetricsConfigError, machine_name, read_metrics_config
    from tokdash.serve.runner import Serve, SnapshotBox, run_until_signal
    from tokdash.serve.limits import register

    register()  # plan-window and budget gauges

    config_path = default_config_path()
    try:
        config = read_metrics_config(config_path)
    except MetricsConfigError as exc:
        raise CliError(f"tokdash: {exc}") from None
    machine = machine_name(args.machine, config)
    box = SnapshotBox(machine)
    import socket

    try:
        server = MetricsServer(host, port, box.get)
    except socket.gaierror:
        raise CliError(f"tokdash serve: --metrics {args.metrics!r}: unknown host {host!r}", 2) from None
    except OSError as exc:
        raise CliError(f"tokdash serve: cannot listen on {args.metrics}: {exc.strerror or exc}") from None
    try:
        roots = roots_for(agents_of(args.agent), args)
        for problem in roots.problems:
            warn(f"tokdash serve: {problem}")
        every = roots_for(list(SOURCES), args)  # one index covers every agent, as for reports
        serve = Serve(roots, price_book(), box, LabelPolicy(config), cache=not args.no_cache, index_roots=every,
                      config_path=config_path, warn=_once(warn))
        serve.publish()
        server.start()
        print(f"tokdash serve: metrics at {server.url} (machine {machine!r})", file=sys.stderr, flush=True)
        if not _loopback(host):
            print(f"tokdash serve: listening beyond this machine: anyone who reaches {args.metrics} can read "
                  "the totals per agent, project and model", file=sys.stderr, flush=True)
        push = None
        if url is not None:
            from tokdash.serve.otlp import OtlpPush

            push = OtlpPush(url, args.otlp_interval, box.get, machine, warn)
            print(f"tokdash serve: pushing OTLP to {url} every {args.otlp_interval:g} s", file=sys.stderr,
                  flush=True)
        try:
            run_until_signal(serve)
        finally:
            if push is not None:
                push.stop()
    finally:
        server.stop()
    if serve.failed is not None:
        return 1
    print("tokdash serve: stopped", file=sys.stderr, flush=True)
    return 0


def _once(say):
    """A notice printed once per distinct text (a full disk must not flood the journal)."""
    seen: set[str] = set()

    def once(message: str) -> None:
        if message not in seen:
            seen.add(message)
            say(message)

    return once
