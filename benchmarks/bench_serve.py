#!/usr/bin/env python3
"""What ``tokdash serve`` costs: start-up, idle CPU and memory, and one scrape.

    .venv/bin/python benchmarks/bench_serve.py [--corpus /tmp/bench-corpus] [--idle-seconds 60]
                                               [--scraped-seconds 30] [--scrapes 30] [--no-cache]

Runs the real command (``python -m tokdash serve --metrics 127.0.0.1:0``) as a
subprocess over the corpus, with a temporary data dir, and reads its CPU time
(user + system, every thread) and memory from ``/proc``:

1. start-up, cold (the index is built) and warm (the index from the cold run),
   side by side: seconds until ``tokdash_loaded`` is 1 (polled every 0.25 s);
2. idle (the warm process, nothing appended, nobody scraping) over
   ``--idle-seconds``: CPU % of one core, over the whole window and per tenth of
   it (median), and RSS at the start and end of the window, peak RSS;
3. scraped once a second (as the Prometheus test does) over ``--scraped-seconds``:
   CPU % again, to show what a scrape adds;
4. ``--scrapes`` scrapes back to back: latency median / p90 / max, bytes, the
   series count per metric, and the counters' sums (compare with
   ``tokdash report sessions --json`` over the same corpus). The server renders a
   snapshot once per format, so these are scrapes of an unchanged snapshot; beside
   them, the cost of one rendering (what the first scrape after a change pays),
   measured in this process over the same data: the catalog read from the warm
   index, folded and rendered ``--scrapes`` times (median).
5. the share of the idle CPU that is the file watcher's: ``tokdash.ingest.watcher.Watcher``
   alone, in this process, over the same folders for ``--watcher-seconds``.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, every thread, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS), KiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


class Serve:
    """``tokdash serve`` over the corpus, on a free loopback port."""

    def __init__(self, corpus: Path, data_dir: Path, no_cache: bool) -> None:
        env = {**os.environ, "TOKDASH_DATA_DIR": str(data_dir)}
        args = [sys.executable, "-m", "tokdash", "serve", "--metrics", "127.0.0.1:0",
                "--claude-dir", str(corpus / "claude"), "--codex-dir", str(corpus / "codex")]
        if no_cache:
            args.append("--no-cache")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(args, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        found = re.search(r"metrics at (http://\S+)", line)
        if not found:
            raise SystemExit(f"tokdash serve did not start: {line!r}")
        self.url = found.group(1)

    def scrape(self) -> str:
        with urllib.request.urlopen(self.url, timeout=30) as resp:
            return resp.read().decode()

    def wait_loaded(self, limit: float = 600.0) -> float:
        """Seconds from the start of the process until tokdash_loaded is 1."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if re.search(r"^tokdash_loaded\{[^}]*\} 1\.0$", self.scrape(), re.M):
                return time.perf_counter() - self.started
            time.sleep(0.25)
        raise SystemExit(f"not loaded within {limit:g} s")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def cpu_window(serve: Serve, seconds: float, scrape_every: float | None) -> tuple[float, list[float]]:
    """CPU % of one core over ``seconds`` (and per tenth of it), scraping every ``scrape_every`` s."""
    pid = serve.proc.pid
    slices: list[float] = []
    slice_len = seconds / 10
    start_cpu, start = cpu_seconds(pid), time.perf_counter()
    for _ in range(10):
        c0, t0 = cpu_seconds(pid), time.perf_counter()
        end = t0 + slice_len
        while (now := time.perf_counter()) < end:
            if scrape_every is None:
                time.sleep(end - now)
            else:
                serve.scrape()
                time.sleep(max(0.0, min(scrape_every, end - time.perf_counter())))
        slices.append(100 * (cpu_seconds(pid) - c0) / (time.perf_counter() - t0))
    total = 100 * (cpu_seconds(pid) - start_cpu) / (time.perf_counter() - start)
    return total, slices


def render_ms(corpus: Path, data: Path, runs: int) -> tuple[float, float, float]:
    """(fold ms, text render ms, OpenMetrics render ms), medians, over the corpus's catalog."""
    os.environ["TOKDASH_DATA_DIR"] = str(data)
    sys.path.insert(0, str(REPO))
    from prometheus_client import generate_latest
    from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest

    from tokdash.ingest.catalog import open_catalog
    from tokdash.ingest.discovery import resolve_roots
    from tokdash.model.pricing import PriceBook
    from tokdash.serve.exposition import registry_for
    from tokdash.serve.labels import LabelPolicy
    from tokdash.serve.totals import Counters, Snapshot, status_counts
    from tokdash.sources import SOURCES

    dirs = {"claude": [str(corpus / "claude")], "codex": [str(corpus / "codex")]}
    roots = resolve_roots(list(SOURCES), {a: d for a, d in dirs.items() if a in SOURCES})
    opened = open_catalog(roots, PriceBook(), warn=lambda _m: None)
    opened.close()
    catalog = opened.catalog
    summaries = {k: catalog.summary(k) for k in catalog.keys()}
    folds, texts, oms = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        values = Counters(LabelPolicy()).fold(summaries)
        snap = Snapshot("bench", values, status_counts(catalog.fleet.rows.values(), LabelPolicy()), (), True, 1.0)
        t1 = time.perf_counter()
        generate_latest(registry_for(lambda: snap))
        t2 = time.perf_counter()
        openmetrics_latest(registry_for(lambda: snap))
        t3 = time.perf_counter()
        folds.append((t1 - t0) * 1000)
        texts.append((t2 - t1) * 1000)
        oms.append((t3 - t2) * 1000)
    return statistics.median(folds), statistics.median(texts), statistics.median(oms)


def watcher_cpu(corpus: Path, seconds: float) -> float:
    """CPU % of one core of the watcher alone over the corpus's folders (this process)."""
    import asyncio
    import resource

    sys.path.insert(0, str(REPO))
    from tokdash.ingest.discovery import resolve_roots
    from tokdash.ingest.watcher import Watcher
    from tokdash.sources import SOURCES

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    async def run() -> float:
        dirs = {"claude": [str(corpus / "claude")], "codex": [str(corpus / "codex")]}
        watcher = Watcher(resolve_roots(list(dirs), {a: d for a, d in dirs.items() if a in SOURCES}))
        stop = asyncio.Event()

        async def follow() -> None:
            async for _files in watcher.changes(stop):
                pass

        task = asyncio.create_task(follow())
        await asyncio.sleep(2.0)
        c0, t0 = cpu(), time.perf_counter()
        await asyncio.sleep(seconds)
        share = 100 * (cpu() - c0) / (time.perf_counter() - t0)
        stop.set()
        await task
        return share

    return asyncio.run(run())


def series(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name = line.split("{", 1)[0].split(" ", 1)[0]
            out[name] = out.get(name, 0) + 1
    return out


def sums(text: str) -> dict[str, float]:
    out: dict[str, list[float]] = {}
    for line in text.splitlines():
        m = re.match(r'^(tokdash_(?:tokens|cost_usd|api_calls)_total)\{(.*)\} (\S+)$', line)
        if m:
            kind = re.search(r'kind="([a-z_]+)"', m.group(2))
            key = m.group(1) + (f"[{kind.group(1)}]" if kind else "")
            out.setdefault(key, []).append(float(m.group(3)))
    return {k: math.fsum(v) for k, v in sorted(out.items())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/bench-corpus"))
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    ap.add_argument("--scraped-seconds", type=float, default=30.0)
    ap.add_argument("--scrapes", type=int, default=30)
    ap.add_argument("--watcher-seconds", type=float, default=20.0)
    ap.add_argument("--no-cache", action="store_true", help="memory feed instead of the index")
    args = ap.parse_args()
    if not (args.corpus / "claude").is_dir() and not (args.corpus / "codex").is_dir():
        print(f"no corpus at {args.corpus} (make one with benchmarks/gen_corpus.py)", file=sys.stderr)
        return 2
    data = Path(tempfile.mkdtemp(prefix="tokdash-bench-serve-"))
    try:
        cold = Serve(args.corpus, data, args.no_cache)
        cold_s = cold.wait_loaded()
        cold.stop()
        serve = Serve(args.corpus, data, args.no_cache)
        try:
            return measure(args, data, serve, cold_s)
        finally:
            if serve.proc.poll() is None:
                serve.proc.kill()
    finally:
        shutil.rmtree(data, ignore_errors=True)


def measure(args: argparse.Namespace, data: Path, serve: Serve, cold_s: float) -> int:
    """Everything measured on the warm server."""
    warm_s = serve.wait_loaded()
    print(f"corpus {args.corpus} ({'memory' if args.no_cache else 'index'})")
    print(f"start-up until loaded: cold {cold_s:.2f} s | warm {warm_s:.2f} s")
    time.sleep(2.0)  # let the load's last updates fold
    before = memory_kib(serve.proc.pid)
    idle, slices = cpu_window(serve, args.idle_seconds, None)
    after = memory_kib(serve.proc.pid)
    print(f"idle {args.idle_seconds:g} s: CPU {idle:.2f} % of one core (median of tenths "
          f"{statistics.median(slices):.2f} %, max {max(slices):.2f} %)")
    print(f"  RSS {before['VmRSS'] / 1024:.1f} MiB at start, {after['VmRSS'] / 1024:.1f} MiB at end, "
          f"peak {after['VmHWM'] / 1024:.1f} MiB")
    scraped, sl = cpu_window(serve, args.scraped_seconds, 1.0)
    print(f"scraped every 1 s, {args.scraped_seconds:g} s: CPU {scraped:.2f} % of one core "
          f"(median of tenths {statistics.median(sl):.2f} %)")
    latencies: list[float] = []
    c0 = cpu_seconds(serve.proc.pid)
    text = ""
    for _ in range(args.scrapes):
        t0 = time.perf_counter()
        text = serve.scrape()
        latencies.append((time.perf_counter() - t0) * 1000)
    per_scrape = (cpu_seconds(serve.proc.pid) - c0) / args.scrapes * 1000
    latencies.sort()
    p90 = latencies[min(len(latencies) - 1, round(0.9 * (len(latencies) - 1)))]
    print(f"scrape x{args.scrapes}: median {statistics.median(latencies):.2f} ms, p90 {p90:.2f} ms, "
          f"max {latencies[-1]:.2f} ms; {len(text.encode())} bytes; ~{per_scrape:.2f} ms CPU each")
    fold, plain, om = render_ms(args.corpus, data, args.scrapes)
    print(f"one rendering (first scrape after a change), median of {args.scrapes}: fold {fold:.2f} ms, "
          f"text format {plain:.2f} ms, OpenMetrics {om:.2f} ms")
    counts = series(text)
    print(f"series: {sum(counts.values())} in all: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for key, value in sums(text).items():
        print(f"  sum {key} = {value:.6f}" if "cost" in key else f"  sum {key} = {value:.0f}")
    status = serve.stop()
    print(f"stopped with status {status}")
    print(f"the watcher alone over the same folders, {args.watcher_seconds:g} s: "
          f"CPU {watcher_cpu(args.corpus, args.watcher_seconds):.2f} % of one core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
