#!/usr/bin/env python3
"""The dashboard at thousands of sessions: launch, key latency, quit and memory, headless.

    .venv/bin/python benchmarks/bench_tui_scale.py [--sizes 216,3000,50000] [--runs 3]
        [--code after=/work/main --code before=/tmp/tui-before] [--work /tmp/tui-scale]

For each size N it writes N small Claude Code sessions (one transcript each, 1-3
API calls, 20 sessions per project, titles from a fixed vocabulary, last activity
spread over half a year with a few sessions active in the last minutes; seeded,
so every size is the same fleet each time) under ``--work``, builds a warm index
for each ``--code`` tree (its own data dir: trees may differ in schema), then runs
``--runs`` launches of each tree, alternating. A launch is a new process that
imports tokdash from that tree and runs ``TokdashApp`` over the warm index with
``App.run_test`` at 160x45 (real clock, real watcher, real feed thread), and reports:

- ``first``/``full``: seconds from spawn to the first row, and to every session's row;
- ``loaded``: seconds to the end of the initial load (``catalog.loading`` False);
- ``stall``: the longest the UI loop was frozen until then (no key could be answered);
- ``j@load``: latency of ``j`` pressed as soon as the first row shows (while loading);
- ``s``, ``j``, ``filter``: latency of a sort key, a cursor key and a filter keystroke
  (``/`` then one letter: the median over 3 narrowing letters), once everything is
  loaded: from the key press until the app is idle and the table shows the result
  (a table computing an order in the background says so with ``order_pending``);
- ``echo``: a letter typed in the filter until the input shows it (the table follows when
  its order is ready);
- ``quit``: from pressing ``q`` to the process's exit, measured by the parent;
- ``rss``: resident memory (MB) once everything is loaded, and its peak.

Medians over the runs are printed side by side, one column per tree. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve()
WORDS = ("gateway", "flaky", "terraform", "react", "upgrade", "billing", "parser", "cache", "docs", "login",
         "metrics", "search", "deploy", "schema", "queue", "retry", "auth", "export", "index", "theme")
MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-haiku-4-5-20251001")
PER_PROJECT = 20
SIZE = (160, 45)


# --- the fleet ---------------------------------------------------------------------------------


def iso(ts: float) -> str:
    d = datetime.fromtimestamp(ts, UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def generate(root: Path, n: int, seed: int = 1, now: float | None = None) -> None:
    """``n`` Claude Code sessions under ``root/claude/projects`` (written once; a marker says done)."""
    marker = root / "DONE"
    if marker.exists():
        return
    import orjson

    rng = random.Random(seed)
    now = time.time() if now is None else now
    projects = root / "claude" / "projects"
    for i in range(n):
        project = f"/home/dev/src/{rng.choice(WORDS)}-{i // PER_PROJECT:05d}"
        folder = projects / project.replace("/", "-")
        folder.mkdir(parents=True, exist_ok=True)
        sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        # A few sessions active minutes ago (working, waiting, idle); the rest over half a year.
        end = now - (rng.uniform(5, 900) if i % 997 == 0 else rng.uniform(3600, 180 * 86400))
        calls = rng.randint(1, 3)
        start = end - rng.uniform(60, 3 * 3600)
        common = {"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": project,
                  "sessionId": sid, "version": "2.1.39", "gitBranch": "main"}
        title = " ".join(rng.sample(WORDS, 3))
        lines = [{**common, "type": "user", "message": {"role": "user", "content": f"{title} please"},
                  "uuid": f"u{i}", "timestamp": iso(start)}]
        model = rng.choice(MODELS)
        for c in range(calls):
            at = start + (end - start) * (c + 1) / calls
            lines.append({**common, "message": {
                "model": model, "id": f"msg_{i}_{c}", "type": "message", "role": "assistant",
                "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": rng.randint(5, 500), "cache_creation_input_tokens": rng.randint(0, 20_000),
                          "cache_read_input_tokens": rng.randint(0, 400_000), "output_tokens": rng.randint(10, 4000)}},
                "requestId": f"req_{i}_{c}", "type": "assistant", "uuid": f"a{i}_{c}", "timestamp": iso(at)})
        (folder / f"{sid}.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    marker.write_text(str(n))


def warm(code: Path, claude: Path, data: Path, timeout: float) -> int:
    """Build (or bring up to date) the index of ``code``'s tree in ``data`` by one launch that
    waits for the end of the initial load; the number of sessions it shows."""
    env = {**os.environ, "TOKDASH_DATA_DIR": str(data)}
    cmd = [sys.executable, str(HERE), "--child", "--warm", "--code", f"x={code}", "--claude", str(claude),
           "--timeout", str(timeout)]
    proc = subprocess.run(cmd, env=env, cwd=code, capture_output=True, text=True)
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"warm-up failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return lines[0]["rows"]


# --- one launch (the child) ------------------------------------------------------------------------


def rss_mb() -> tuple[float, float]:
    """(resident, peak resident) of this process in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def child(args: argparse.Namespace) -> None:
    """One launch of the app over the warm index: marks, key latencies, memory (JSON on stdout)."""
    sys.path.insert(0, str(args.code))
    from tokdash.ingest.discovery import resolve_roots
    from tokdash.ui.app import TokdashApp

    try:
        from tokdash.ui.widgets.sessions_table import SessionsTable
    except ImportError:  # an older tree
        from tokdash.ui.sessions_table import SessionsTable  # type: ignore[no-redef]

    roots = resolve_roots(["claude"], {"claude": [args.claude]})
    app = TokdashApp(roots, watch=True)

    def table():
        return app.screen.query_one(SessionsTable)

    def settled() -> bool:
        screen = app.screen
        return not getattr(screen, "order_pending", False) and not getattr(table(), "order_pending", False)

    async def key(pilot, name: str) -> float:
        """Send one key as the terminal would, and time until it is handled, every message it
        caused is processed, any background order is applied and the screen is rendered.
        (``pilot.press`` waits for the whole *process* to be idle: the feed and watcher
        threads would count too.)"""
        from textual import events
        from textual.keys import _character_to_key

        start = time.perf_counter()
        k = _character_to_key(name) if len(name) == 1 and not name.isalnum() else name
        event = events.Key(k, name if len(name) == 1 else None)
        event.set_sender(app)
        app._driver.send_message(event)
        for _ in range(3):  # the key; what its handler posted; what those handlers posted
            await pilot._wait_for_screen()
        while not settled():
            await asyncio.sleep(0.001)
        await pilot._wait_for_screen()
        app.screen._on_timer_update()  # render now (what the 60 fps timer would do)
        return time.perf_counter() - start

    async def echo(pilot, ch: str) -> float:
        """A letter typed in the filter: until the input shows it (the table may follow later)."""
        from textual import events

        box = app.screen.query_one("#filter")
        before = box.value
        start = time.perf_counter()
        event = events.Key(ch, ch)
        event.set_sender(app)
        app._driver.send_message(event)
        while box.value == before:
            await asyncio.sleep(0.0005)
        for _ in range(3):  # what the change set off in the screen runs before the next frame
            await asyncio.sleep(0)
        app.screen._on_timer_update()
        return time.perf_counter() - start

    def mark(**values) -> None:  # each figure as soon as it is known: a launch cut short keeps them
        print(json.dumps(values), flush=True)

    stall = [0.0]

    async def watch_loop() -> None:
        """The longest the UI loop went without running anything else (a frozen screen)."""
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            stall[0] = max(stall[0], time.perf_counter() - t - 0.01)

    async with app.run_test(size=SIZE) as pilot:
        if args.warm:
            deadline = time.time() + args.timeout
            while app.catalog.loading and time.time() < deadline:
                await asyncio.sleep(0.05)
            await pilot.pause()
            mark(rows=table().row_count)
            return
        watcher = asyncio.create_task(watch_loop())
        seen: set[str] = set()
        deadline = time.time() + args.timeout
        while time.time() < deadline:
            rows = table().row_count
            now = time.time()
            if rows and "first" not in seen:
                seen.add("first")
                mark(first=now - args.spawned)
                if app.catalog.loading or rows < args.expect:
                    mark(**{"j@load": await key(pilot, "j")})
            if rows >= args.expect and "full" not in seen:
                seen.add("full")
                mark(full=time.time() - args.spawned)
            if not app.catalog.loading and "loaded" not in seen:
                seen.add("loaded")
                mark(loaded=time.time() - args.spawned)
            if {"full", "loaded"} <= seen:
                break
            await asyncio.sleep(0.005)
        watcher.cancel()
        mark(stall=stall[0])
        await pilot.pause()
        mark(rows=table().row_count, rss=rss_mb()[0])
        big = args.expect > 10_000
        mark(noop=statistics.median([await key(pilot, "x") for _ in range(2 if big else 5)]))
        mark(s=statistics.median([await key(pilot, "s") for _ in range(1 if big else 3)]))
        mark(j=statistics.median([await key(pilot, "j") for _ in range(3 if big else 5)]))
        await key(pilot, "slash")
        mark(filter=statistics.median([await key(pilot, ch) for ch in ("ga" if big else "gat")]))
        mark(filter_rows=table().row_count)
        mark(echo=statistics.median([await echo(pilot, ch) for ch in "ew"]))  # the order catches up later
        while not settled():
            await asyncio.sleep(0.005)
        await key(pilot, "escape")
        end, peak = rss_mb()
        mark(rss_end=end, rss_peak=peak)
        mark(quit_pressed=time.time())
        await pilot.press("q")


def launch(code: Path, claude: Path, data: Path, expect: int, timeout: float) -> dict:
    """Spawn one child; its marks, plus ``quit`` (seconds from pressing q to the process's exit).
    A child still running after ``timeout`` is stopped: the figures it gave so far are kept."""
    env = {**os.environ, "TOKDASH_DATA_DIR": str(data)}
    spawned = time.time()
    cmd = [sys.executable, str(HERE), "--child", "--code", f"x={code}", "--claude", str(claude),
           "--expect", str(expect), "--spawned", repr(spawned), "--timeout", str(timeout)]
    proc = subprocess.Popen(cmd, env=env, cwd=code, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout * 3)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        print(f"  ({code.name}: stopped after {timeout * 3:.0f} s)", flush=True)
    ended = time.time()
    result: dict = {}
    for line in out.splitlines():
        if line.startswith("{"):
            result.update(json.loads(line))
    if not result:
        raise SystemExit(f"child failed ({proc.returncode}): {err[-3000:]}")
    if "quit_pressed" in result and proc.returncode == 0:
        result["quit"] = ended - result.pop("quit_pressed")
    return result


# --- the parent ------------------------------------------------------------------------------------

METRICS = (("first", "s"), ("full", "s"), ("loaded", "s"), ("stall", "s"), ("j@load", "ms"), ("noop", "ms"),
           ("s", "ms"), ("j", "ms"), ("filter", "ms"), ("echo", "ms"), ("quit", "s"), ("rss", "MB"),
           ("rss_peak", "MB"))


def fmt(values: list[float], unit: str) -> str:
    if not values:
        return "—"
    m = statistics.median(values)
    return f"{m * 1000:.0f}" if unit == "ms" else f"{m:.2f}" if unit == "s" else f"{m:.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="216,3000,50000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--code", action="append", default=[],
                    help="NAME=TREE: a tokdash source tree to measure (repeatable; default: this one)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/tui-scale"))
    ap.add_argument("--timeout", type=float, default=240.0)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--claude", help=argparse.SUPPRESS)
    ap.add_argument("--expect", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--spawned", type=float, default=0.0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    trees = [(name, Path(path).resolve()) for name, _, path in (c.partition("=") for c in args.code)]
    if not trees:
        trees = [("this", HERE.parents[1])]
    if args.child:
        args.code = trees[0][1]
        asyncio.run(child(args))
        return 0
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; medians of {args.runs} runs; "
          f"trees: {', '.join(f'{n}={p}' for n, p in trees)}", flush=True)
    table: dict[int, dict[str, list[dict]]] = {}
    for n in (int(s) for s in args.sizes.split(",")):
        root = args.work / f"n{n}"
        started = time.perf_counter()
        generate(root, n)
        claude = root / "claude"
        counts = {}
        for name, code in trees:
            counts[name] = warm(code, claude, root / f"data-{name}", args.timeout * 4)
        print(f"N={n}: fleet and warm indexes ready in {time.perf_counter() - started:.1f} s; sessions {counts}",
              flush=True)
        results: dict[str, list[dict]] = {name: [] for name, _ in trees}
        for _ in range(args.runs):
            for name, code in trees:  # alternating, so a busy moment of the machine hits every tree
                results[name].append(launch(code, claude, root / f"data-{name}", counts[name], args.timeout))
        table[n] = results
        report({n: results}, trees)
    if len(table) > 1:
        print("\nAll sizes:")
        report(table, trees)
    return 0


def report(table: dict[int, dict[str, list[dict]]], trees: list[tuple[str, Path]]) -> None:
    """Medians, one column per tree, one block per size."""
    names = [name for name, _ in trees]
    print(f"{'N':>7} {'metric':<10}" + "".join(f"{name:>12}" for name in names))
    for n, results in table.items():
        for metric, unit in METRICS:
            cells = [fmt([r[metric] for r in results[name] if metric in r], unit) for name in names]
            print(f"{n:>7} {metric + ' (' + unit + ')':<10}" + "".join(f"{c:>12}" for c in cells))
        rows = [f"{name}: {results[name][0].get('rows')} rows, filter → {results[name][0].get('filter_rows')}"
                for name in names if results[name]]
        print(f"{'':>7} {'; '.join(rows)}")


if __name__ == "__main__":
    raise SystemExit(main())
