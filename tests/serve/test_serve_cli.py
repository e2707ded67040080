"""``tokdash serve``'s command line: one-line errors and their statuses, the extras, contrib files."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import socket
import subprocess
import sys

import pytest

from support import REPO
from tokdash.cli import build_parser
from tokdash.cli.serve import DEFAULT_METRICS, parse_listen
from tokdash.serve.exposition import registry_for
from tokdash.serve.totals import Snapshot


def serve(env, *args: str, code: str | None = None) -> subprocess.CompletedProcess:
    """Run ``tokdash serve`` (or ``code`` before it) in a subprocess; it must end by itself."""
    prelude = code or ""
    script = f"{prelude}\nimport sys\nfrom tokdash.cli import main\nsys.exit(main(['serve', *{list(args)!r}]))\n"
    return subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("value", ["nonsense", ":9477", "127.0.0.1:", "127.0.0.1:99999", "::1:9477", "[::1]9477",
                                   "127.0.0.1:port"])
def test_a_bad_metrics_value_is_one_line_and_exit_2(env, value):
    proc = serve(env, "--metrics", value)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("tokdash serve: --metrics")
    assert "Traceback" not in proc.stderr


def test_listen_values():
    assert parse_listen(DEFAULT_METRICS) == ("127.0.0.1", 9477)
    assert parse_listen("[::1]:0") == ("::1", 0)
    assert parse_listen("0.0.0.0:9100") == ("0.0.0.0", 9100)
    assert parse_listen("localhost:80") == ("localhost", 80)


def test_a_port_in_use_is_one_line_and_exit_1(env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = serve(env, "--metrics", f"127.0.0.1:{port}")
    assert proc.returncode == 1
    assert proc.stderr == f"tokdash serve: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_without_the_serve_extra_it_says_what_to_install(env):
    proc = serve(env, code="import sys; sys.modules['prometheus_client'] = None")
    assert proc.returncode == 1
    assert proc.stderr == "tokdash serve: prometheus_client is not installed: pip install 'tokdash[serve]'\n"


def test_without_the_otlp_extra_it_says_what_to_install(env):
    proc = serve(env, "--otlp", "http://127.0.0.1:4318",
                 code="import sys; sys.modules['opentelemetry.sdk.metrics'] = None")
    assert proc.returncode == 1
    assert "pip install 'tokdash[otlp]'" in proc.stderr and proc.stderr.count("\n") == 1


def test_a_broken_metrics_config_is_one_line_and_exit_1(env, tmp_path):
    config = tmp_path / "home" / ".config" / "tokdash" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[metrics]\nprojects = 'everything'\n")
    proc = serve(env, "--metrics", "127.0.0.1:0")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "projects must be one of" in proc.stderr and str(config) in proc.stderr


def test_the_systemd_unit_runs_a_valid_serve_command_on_loopback():
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.read(REPO / "contrib" / "systemd" / "tokdash-serve.service")
    argv = shlex.split(unit["Service"]["ExecStart"])
    assert argv[0].endswith("/tokdash") and argv[1] == "serve"
    args = build_parser().parse_args(argv[1:])
    assert args.command == "serve" and parse_listen(args.metrics)[0] == "127.0.0.1"
    assert unit["Install"]["WantedBy"] == "default.target"


def test_the_grafana_dashboard_asks_only_for_metrics_tokdash_serves():
    dashboard = json.loads((REPO / "contrib" / "grafana" / "tokdash.json").read_text())
    from prometheus_client import generate_latest

    served = generate_latest(registry_for(lambda: Snapshot("m"))).decode()
    names = {line.split()[2] for line in served.splitlines() if line.startswith("# TYPE")}
    names |= {n + "_total" for n in names}
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["query"]["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    used = {word for e in exprs for word in re.findall(r"\btokdash_[a-z_]+", e)}
    assert used and used <= names, used - names
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for want in ("per machine", "per project", "per model", "tokens by kind", "cache hit rate", "sessions working"):
        assert want in titles, want
