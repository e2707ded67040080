#!/usr/bin/env python3
"""Live latency and idle CPU of the dashboard, headless.

    .venv/bin/python benchmarks/bench_live.py [--appends 40] [--idle-seconds 60] [--corpus DIR] [--no-cache]

1. Start-up: the app reads a generated fleet (tokdash.demo, 11 sessions) and,
   with ``--corpus``, a transcript tree too (``../shared/corpus``, or a large one
   from ``benchmarks/gen_corpus.py``); prints the time to the first rows and until
   every session has its row, and the UI loop's worst stall meanwhile.
2. Latency: appends one API call (a complete Claude Code line) to a live
   transcript ``--appends`` times, 100-400 ms apart, and measures from just before
   the write to the moment the row's "pr/turns" cell shows the new call (total tokens are rounded to 3 digits, so it may not change) (polled
   every millisecond). Prints p50/p95/max.
3. Idle: no more appends; measures the process's CPU time (user + system, every
   thread: the watcher, workers, Textual) over ``--idle-seconds`` and counts the
   cells the table rewrote meanwhile (relative times such as "12s ago" of the
   recently active sessions are the only expected writes).

The app runs with ``App.run_test`` (headless, real watcher, real clock), over the
persistent index (kept in a temporary data dir: the fleet is new each run, so the
index is built at start) or, with ``--no-cache``, reading every transcript in memory.
Start-up from an index already built is measured by ``bench_startup.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tokdash.demo import Fleet  # noqa: E402
from tokdash.ingest.discovery import resolve_roots  # noqa: E402
from tokdash.ui.app import TokdashApp  # noqa: E402
from tokdash.ui.sessions_table import SessionsTable  # noqa: E402


def cpu_seconds() -> float:
    """User + system CPU of this process, all threads."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def iso(ts: float) -> str:
    d = datetime.fromtimestamp(ts, UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def call_line(sid: str, cwd: str, n: int) -> bytes:
    """A complete Claude Code 2.1.x assistant line with a fresh message id."""
    obj = {"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": cwd, "sessionId": sid,
           "version": "2.1.39", "gitBranch": "main",
           "message": {"model": "claude-sonnet-4-6", "id": f"msg_bench_{n:06d}", "type": "message",
                       "role": "assistant", "content": [{"type": "text", "text": "ok"}], "stop_reason": None,
                       "stop_sequence": None,
                       "usage": {"input_tokens": 3, "cache_creation_input_tokens": 1500 + n,
                                 "cache_read_input_tokens": 60_000, "output_tokens": 120}},
           "requestId": f"req_bench_{n:06d}", "type": "assistant", "uuid": f"bench-{n}", "timestamp": iso(time.time())}
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="tokdash-bench-"))
    try:
        await measure(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def measure(args: argparse.Namespace, tmp: Path) -> None:
    fleet = Fleet(tmp, now=time.time())
    fleet.write_history()
    claude_dirs = [str(fleet.claude_dir)]
    codex_dirs = [str(fleet.codex_dir)]
    if args.corpus:
        claude_dirs.append(str(Path(args.corpus) / "claude"))
        codex_dirs.append(str(Path(args.corpus) / "codex"))
    roots = resolve_roots(["claude", "codex"], {"claude": claude_dirs, "codex": codex_dirs})
    target = next(s for s in fleet.live if s.plan.agent == "claude")
    rk = f"claude:{target.sid}"

    started = time.perf_counter()
    app = TokdashApp(roots, cache=not args.no_cache, data_dir=tmp / "data")
    stalls: list[float] = []

    async def watch_loop() -> None:
        """How late a 10 ms sleep wakes up: the UI loop's worst stall while loading."""
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            stalls.append(time.perf_counter() - t - 0.01)

    async with app.run_test(size=(160, 45)) as pilot:
        monitor = asyncio.get_running_loop().create_task(watch_loop())
        table = app.screen.query_one(SessionsTable)
        first = None
        while app.loading or table.row_count < len(app.keys()) or not app.keys():
            if first is None and table.row_count:
                first = time.perf_counter() - started
            await asyncio.sleep(0.005)
        shown = time.perf_counter() - started
        monitor.cancel()
        print(f"start-up ({'in memory' if args.no_cache else 'index built at start'}): "
              f"{len(app.keys())} sessions ({app.load_progress[1]} files) all shown "
              f"{shown * 1000:.0f} ms after launch, first rows at {(first or shown) * 1000:.0f} ms; "
              f"history read in {app.history_seconds * 1000:.0f} ms; "
              f"worst UI-loop stall while loading {max(stalls, default=0) * 1000:.0f} ms")
        await pilot.pause(0.5)  # let the watcher settle in

        latencies: list[float] = []
        for n in range(args.appends):
            before = table.get_cell(rk, "turns").plain
            t0 = time.perf_counter()
            with open(target.path, "ab") as fp:
                fp.write(call_line(target.sid, target.plan.cwd, n))
            while table.get_cell(rk, "turns").plain == before:
                if time.perf_counter() - t0 > 5:
                    raise SystemExit(f"append {n}: the row did not update within 5 s")
                await asyncio.sleep(0.001)
            latencies.append(time.perf_counter() - t0)
            await asyncio.sleep(random.uniform(0.1, 0.4))
        ms = [v * 1000 for v in latencies]
        print(f"append -> row updated, {len(ms)} appends: p50 {pct(ms, 0.5):.0f} ms, p95 {pct(ms, 0.95):.0f} ms, "
              f"max {max(ms):.0f} ms, mean {statistics.mean(ms):.0f} ms")

        writes = 0
        original = table.update_cell

        def counting(*a, **k):
            nonlocal writes
            writes += 1
            return original(*a, **k)

        table.update_cell = counting  # type: ignore[method-assign]
        c0, w0 = cpu_seconds(), time.perf_counter()
        chunks: list[str] = []
        left = args.idle_seconds
        while left > 0:
            step = min(10.0, left)
            c, w = cpu_seconds(), time.perf_counter()
            await asyncio.sleep(step)
            chunks.append(f"{(cpu_seconds() - c) / (time.perf_counter() - w) * 100:.1f}%")
            left -= step
        cpu, wall = cpu_seconds() - c0, time.perf_counter() - w0
        print(f"idle {wall:.0f} s: {cpu:.2f} CPU s ({cpu / wall * 100:.1f}% of one core; per 10 s: "
              f"{', '.join(chunks)}), {writes} cells rewritten ({writes / wall:.1f}/s: relative times "
              f"and statuses of the sessions active in the last minutes)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appends", type=int, default=40, help="appends to time (default 40)")
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="idle window for CPU (default 60)")
    parser.add_argument("--corpus", help="also load a transcript tree laid out like ../shared/corpus")
    parser.add_argument("--no-cache", action="store_true", help="read in memory, without the persistent index")
    asyncio.run(main(parser.parse_args()))
