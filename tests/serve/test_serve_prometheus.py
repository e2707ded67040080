"""Against a real Prometheus server: it scrapes ``tokdash serve`` every second, and PromQL over its
HTTP API returns the report's totals; every query of the Grafana dashboard is valid PromQL there.

Needs Debian's ``prometheus`` package (``.ci/run`` installs it when missing); skips, saying so,
where it cannot be found.
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from support import DEADLINE, KINDS, REPO, Served, report, wait_for

DASHBOARD = REPO / "contrib" / "grafana" / "tokdash.json"


def _prometheus() -> str:
    found = shutil.which("prometheus") or ("/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None)
    if found is None:
        pytest.skip("Prometheus is not installed (Debian: apt-get install prometheus; .ci/run installs it), "
                    "so the scrape-and-PromQL integration test cannot run here")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """A Prometheus server of the test's own, on loopback, with a temporary config and storage."""

    def __init__(self, exe: str, target_port: int, tmp: Path) -> None:
        self.port = _free_port()
        config = tmp / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: tokdash\n    scrape_interval: 1s\n    scrape_timeout: 1s\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n")
        self.log = open(tmp / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [exe, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited {self.proc.returncode}")
        with urllib.request.urlopen(self.base + "/-/ready", timeout=5) as resp:
            return resp.status == 200

    def query(self, expr: str) -> dict:
        url = self.base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:  # a bad query is a 400 with a JSON body
            return json.loads(exc.read())

    def scalar(self, expr: str) -> float | None:
        """The value of an expression that yields one series (None while it yields none)."""
        data = self.query(expr)
        assert data["status"] == "success", (expr, data)
        result = data["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def test_prometheus_scrapes_the_report_totals(fleet, env, tmp_path):
    exe = _prometheus()
    served = Served(["--metrics", "127.0.0.1:0", "--machine", "promtest", *fleet.flags()], env)
    prom = Prometheus(exe, served.port, tmp_path)
    try:
        totals = report(fleet.flags(), env, tmp_path / "report-data")
        wait_for("Prometheus to be ready", prom.ready)
        wait_for("a successful scrape of tokdash",
                 lambda: prom.scalar('up{job="tokdash"}') == 1.0
                 and prom.scalar('tokdash_loaded{machine="promtest"}') == 1.0)

        def agrees() -> bool:
            for kind, field in KINDS.items():
                if prom.scalar(f'sum(tokdash_tokens_total{{kind="{kind}"}})') != totals[field]:
                    return False
            cost = prom.scalar("sum(tokdash_cost_usd_total)")
            return (prom.scalar("sum(tokdash_api_calls_total)") == totals["api_calls"]
                    and prom.scalar("sum(tokdash_sessions)") == totals["sessions"]
                    and cost is not None and math.isclose(cost, totals["cost_usd"], abs_tol=1e-6))

        wait_for("PromQL sums to equal the report's totals", agrees)
        total = prom.scalar('sum(tokdash_tokens_total{machine="promtest"})')
        assert total == totals["total_tokens"]
        by_machine = prom.query("sum by (machine) (tokdash_cost_usd_total)")["data"]["result"]
        assert [r["metric"] for r in by_machine] == [{"machine": "promtest"}]

        # every query of the Grafana dashboard parses and runs here
        dashboard = json.loads(DASHBOARD.read_text())
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        assert len(exprs) >= 10
        for expr in exprs:
            concrete = (expr.replace("$__rate_interval", "1m").replace("$__range", "5m")
                        .replace("$machine", ".*").replace("$project", ".*"))
            answer = prom.query(concrete)
            assert answer["status"] == "success", (expr, answer)
    finally:
        prom.stop()
        assert served.stop() == 0, served.stderr
