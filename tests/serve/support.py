"""Helpers of the serve tests: a generated fleet, a ``tokdash serve`` subprocess, scraping, the report."""

from __future__ import annotations

import math
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from prometheus_client.parser import text_string_to_metric_families

from builders import jsonl

REPO = Path(__file__).resolve().parents[2]
KINDS = {"input": "input_tokens", "output": "output_tokens", "cache_write": "cache_write_tokens",
         "cache_read": "cache_read_tokens"}
"""The ``kind`` label -> the report's totals field."""
DEADLINE = 60.0
"""Seconds any wait in these tests may take at most (CPU is shared: be generous, never sleep blind)."""


@dataclass
class Fleet:
    """Transcripts written by the builders, and how to append to them."""

    claude: Path
    codex: Path
    files: dict[str, tuple[object, Path, int]] = field(default_factory=dict)
    """session id -> (builder, path, lines written so far)."""

    def add(self, builder, path: Path) -> None:
        builder.write(path)
        self.files[builder.session_id] = (builder, path, len(builder.lines))

    def append(self, session_id: str) -> None:
        """Write the lines the builder made since the last write (as the agent appends)."""
        builder, path, done = self.files[session_id]
        with open(path, "ab") as fp:
            fp.write(jsonl(builder.lines[done:]))
        self.files[session_id] = (builder, path, len(builder.lines))

    def flags(self) -> list[str]:
        return ["--claude-dir", str(self.claude), "--codex-dir", str(self.codex)]


def wait_for(what: str, check: Callable[[], object], deadline: float = DEADLINE, step: float = 0.1):
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``deadline`` s."""
    end = time.monotonic() + deadline
    last_error: BaseException | None = None
    while time.monotonic() < end:
        try:
            got = check()
        except (OSError, AssertionError, ValueError, KeyError) as exc:
            last_error, got = exc, None
        if got:
            return got
        time.sleep(step)
    raise AssertionError(f"timed out after {deadline:g} s waiting for {what} (last error: {last_error!r})")


class Served:
    """A ``tokdash serve`` subprocess; its stderr is read on a thread (for the URL and notices)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tokdash", "serve", *args], cwd=REPO, env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._wait_url()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stderr.append(line)
            self.lines.put(line)

    def _wait_url(self) -> str:
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise AssertionError(f"tokdash serve exited {self.proc.returncode}: {self.stderr}") from None
                continue
            found = re.search(r"metrics at (http://\S+)", line)
            if found:
                return found.group(1)
        raise AssertionError(f"tokdash serve printed no URL in {DEADLINE:g} s: {self.stderr}")

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/")[0])

    def scrape(self) -> dict[str, dict]:
        """``/metrics`` parsed: metric family name -> {(labels...): value} per sample name."""
        with urllib.request.urlopen(self.url, timeout=10) as resp:
            text = resp.read().decode()
        return parse(text)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal it and wait for its exit status (bounded)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"tokdash serve did not stop within {DEADLINE:g} s") from None


def parse(text: str) -> dict[str, list]:
    """Prometheus text -> sample name -> [(labels dict, value)], through the official parser."""
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def sums(scraped: dict[str, list]) -> dict[str, float]:
    """What the report's totals are compared with: every counter summed over its series."""
    out = {field: sum(v for labels, v in scraped.get("tokdash_tokens_total", []) if labels["kind"] == kind)
           for kind, field in KINDS.items()}
    out["api_calls"] = sum(v for _l, v in scraped.get("tokdash_api_calls_total", []))
    out["cost_usd"] = math.fsum(v for _l, v in scraped.get("tokdash_cost_usd_total", []))
    out["sessions"] = sum(v for _l, v in scraped.get("tokdash_sessions", []))
    return out


def report(flags: list[str], env: dict[str, str], data_dir: Path) -> dict:
    """``tokdash report sessions --json`` totals over the same transcripts (its own index)."""
    proc = subprocess.run([sys.executable, "-m", "tokdash", "report", "sessions", "--json", *flags], cwd=REPO,
                          env={**env, "TOKDASH_DATA_DIR": str(data_dir)}, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return orjson.loads(proc.stdout)["totals"]


def matches(got: dict[str, float], totals: dict) -> bool:
    """Integers exactly; the cost to the report's 6 decimals (float sums in another grouping)."""
    ints = all(got[f] == totals[f] for f in (*KINDS.values(), "api_calls", "sessions"))
    return ints and abs(got["cost_usd"] - totals["cost_usd"]) <= 1e-6


def env_without(env: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in {**os.environ, **env}.items() if k not in names}
