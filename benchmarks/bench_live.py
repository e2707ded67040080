#!/usr/bin/env python3
"""The dashboard under live load: N agents writing at once over a large history, headless.

    .venv/bin/python benchmarks/bench_live.py [CORPUS] [--writers 8] [--rate 10] [--seconds 30]
        [--runs 3] [--code before=/tmp/perf-before --code after=.] [--no-cache]

CORPUS (default ``/tmp/bench-corpus``, from ``gen_corpus.py``) is the history: the benchmark
works on a hard-linked copy of it, beside ``--writers`` new Claude Code sessions of its own.
For each checkout (``--code name=path``, default this one) the index of that copy is built
once (a report run), then each run is one new process that imports tokdash from that
checkout and runs ``TokdashApp`` headless at 160x45 (``App.run_test``: the real watcher,
feed thread and clock) over the warm index. Once the table is loaded and has settled, that
process starts a writer process which appends ``--rate`` lines per second to each live
session for ``--seconds``, as Claude Code writes them: per second two API responses of two
content-block lines each (the output snapshot growing), two tool results of a few KB and
progress lines. Measured in the dashboard's process, over the writing window:

- ``cpu``: CPU time (user + system, every thread) over wall time, in % of one core; the
  writer's own CPU is another process's and not counted; ``feed``: the feed thread's share
  of it (``/proc/self/task/<tid>/stat``);
- ``latency``: for every API call written, from just before its first line is written to
  the moment its session's row shows it (the "pr/turns" cell counts it; the table is polled
  every 10 ms, which costs well under 1 % of a core): p50, p95, max over every call;
- ``missed``: calls whose row never showed them before the run ended (should be 0).

Runs alternate between checkouts; medians over runs are printed. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench_index import linked_copy  # the same hard-linked copy of the corpus (benchmarks/ is on sys.path)

HERE = Path(__file__).resolve()
SIZE = (160, 45)
SETTLE_SECONDS = 2.0


def iso(ts: float) -> str:
    d = datetime.fromtimestamp(ts, UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def live_sid(i: int) -> str:
    return f"11111111-2222-4333-8444-{i:012d}"


CWD = "/home/dev/src/live-bench"


def _common(sid: str) -> dict:
    return {"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": CWD, "sessionId": sid,
            "version": "2.1.39", "gitBranch": "main"}


def _assistant(sid: str, n: int, block: int, last: bool, rng: random.Random) -> dict:
    content = ([{"type": "tool_use", "id": f"toolu_live_{sid[-6:]}_{n}", "name": "Read",
                 "input": {"file_path": f"/src/mod{n % 40}.py"}}] if last else
               [{"type": "thinking", "thinking": "considering " * rng.randint(5, 40), "signature": "sig"}])
    return {**_common(sid), "type": "assistant", "uuid": f"a-{sid[-6:]}-{n}-{block}", "timestamp": iso(time.time()),
            "requestId": f"req_live_{sid[-6:]}_{n}",
            "message": {"model": "claude-sonnet-4-5-20250929", "id": f"msg_live_{sid[-6:]}_{n}", "type": "message",
                        "role": "assistant", "content": content, "stop_reason": "tool_use" if last else None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": 3, "cache_creation_input_tokens": 1500 + n,
                                  "cache_read_input_tokens": 60_000 + 200 * n,
                                  "cache_creation": {"ephemeral_5m_input_tokens": 0,
                                                     "ephemeral_1h_input_tokens": 1500 + n},
                                  "output_tokens": 40 if not last else 300, "service_tier": "standard"}}}


def _tool_result(sid: str, n: int, size: int) -> dict:
    return {**_common(sid), "type": "user", "uuid": f"u-{sid[-6:]}-{n}", "timestamp": iso(time.time()),
            "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_live_{sid[-6:]}_{n}",
                                                     "content": "x" * size}]},
            "toolUseResult": {"stdout": "x" * (size // 2)}}


def _progress(sid: str, n: int) -> dict:
    return {**_common(sid), "type": "progress", "uuid": f"p-{sid[-6:]}-{n}", "timestamp": iso(time.time()),
            "data": {"type": "hook_progress", "hookEvent": "PostToolUse", "hookName": "PostToolUse:Read"}}


def seed_sessions(projects: Path, writers: int) -> list[Path]:
    """The live sessions' files, each with a prompt and one call."""
    import orjson

    folder = projects / CWD.replace("/", "-")
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    out = []
    for i in range(writers):
        sid = live_sid(i)
        prompt = {**_common(sid), "type": "user", "uuid": f"u-{i}-0", "timestamp": iso(time.time()),
                  "message": {"role": "user", "content": f"live session {i}: refactor the parser"}}
        lines = [prompt, _assistant(sid, 0, 0, False, rng), _assistant(sid, 0, 1, True, rng)]
        path = folder / f"{sid}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
        out.append(path)
    return out


def writer(files: list[str], rate: float, seconds: float, log: str) -> None:
    """Append ``rate`` lines a second to each file for ``seconds``; log each call's first write."""
    import orjson

    rng = random.Random(11)
    # Ten lines: two responses of two blocks, two tool results, progress.
    plan = ["a0", "a1", "r", "p", "a0", "a1", "r", "p", "p", "p"]
    counts = [1] * len(files)
    step = 1.0 / rate
    start = time.time()
    k = 0
    with open(log, "w") as out:
        handles = [open(f, "ab", buffering=0) for f in files]
        try:
            while time.time() - start < seconds:
                due = start + k * step
                pause = due - time.time()
                if pause > 0:
                    time.sleep(pause)
                what = plan[k % len(plan)]
                for i, fh in enumerate(handles):
                    sid = live_sid(i)
                    n = counts[i]
                    if what == "a0":
                        line = orjson.dumps(_assistant(sid, n, 0, False, rng)) + b"\n"
                        out.write(f"{i} {n} {time.time()!r}\n")
                        fh.write(line)
                    elif what == "a1":
                        fh.write(orjson.dumps(_assistant(sid, n, 1, True, rng)) + b"\n")
                        counts[i] += 1
                    elif what == "r":
                        fh.write(orjson.dumps(_tool_result(sid, n - 1, rng.randint(1500, 5000))) + b"\n")
                    else:
                        fh.write(orjson.dumps(_progress(sid, k)) + b"\n")
                k += 1
        finally:
            for fh in handles:
                fh.close()


def thread_cpu(native_id: int) -> float:
    """CPU seconds of one thread of this process."""
    try:
        fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def child(args: argparse.Namespace) -> None:
    """One launch: load, settle, then the writer runs while CPU and row latencies are measured."""
    import resource
    import threading

    sys.path.insert(0, str(args.code))
    from tokdash.ingest.discovery import resolve_roots
    from tokdash.ui.app import TokdashApp
    from tokdash.ui.widgets.sessions_table import SessionsTable

    roots = resolve_roots(["claude", "codex"], {"claude": [args.claude], "codex": [args.codex]})
    app = TokdashApp(roots, cache=not args.no_cache)
    keys = [f"claude:{live_sid(i)}" for i in range(args.writers)]

    def turns(table, key: str) -> int | None:
        try:
            text = table.get_cell(key, "turns").plain
        except KeyError:
            return None
        try:
            return int(text.split("/")[-1].strip().replace(",", ""))
        except ValueError:
            return None

    async with app.run_test(size=SIZE):
        deadline = time.time() + 300
        while app.catalog.loading or app.catalog.records_pending:
            if time.time() > deadline:
                raise SystemExit("the dashboard did not finish loading in 300 s")
            await asyncio.sleep(0.05)
        await asyncio.sleep(SETTLE_SECONDS)
        table = app.screen.query_one(SessionsTable)
        base = {k: turns(table, k) for k in keys}
        if any(v is None for v in base.values()):
            raise SystemExit(f"live rows missing from the table: {base}")
        feed = next((t for t in threading.enumerate() if t.name == "tokdash-feed"), None)
        log = Path(args.log)
        proc = subprocess.Popen([sys.executable, str(HERE), "--writer", "--rate", str(args.rate), "--seconds",
                                 str(args.seconds), "--log", str(log), *(f"--file={f}" for f in args.files)])
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        f0 = thread_cpu(feed.native_id) if feed is not None else 0.0
        w0 = time.perf_counter()
        seen: dict[str, dict[int, float]] = {k: {} for k in keys}
        last = dict(base)

        def note_rows() -> None:
            """When each session's row first showed each new turn count."""
            now = time.time()
            for k in keys:
                v = turns(table, k)
                if v is not None and v != last[k]:
                    for c in range(last[k] + 1, v + 1):
                        seen[k].setdefault(c, now)
                    last[k] = v

        while proc.poll() is None:
            note_rows()
            await asyncio.sleep(0.01)
        wall = time.perf_counter() - w0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        f1 = thread_cpu(feed.native_id) if feed is not None else 0.0
        grace = time.time() + 3  # the last calls written may still be on their way
        while time.time() < grace:
            note_rows()
            await asyncio.sleep(0.01)
    lat, missed = [], 0
    for line in log.read_text().splitlines():
        i, n, t = line.split()
        key = keys[int(i)]
        at = seen[key].get(base[key] + int(n))
        if at is None:
            missed += 1
        else:
            lat.append((at - float(t)) * 1000)
    cpu = (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / wall * 100
    print(json.dumps({"cpu": cpu, "feed": (f1 - f0) / wall * 100, "lat": lat, "missed": missed, "wall": wall}))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))] if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=Path("/tmp/bench-corpus"))
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--rate", type=float, default=10.0, help="lines per second per writer (default 10)")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--code", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--no-cache", action="store_true", help="the in-memory feed instead of the index")
    # the child and the writer
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--claude", help=argparse.SUPPRESS)
    ap.add_argument("--codex", help=argparse.SUPPRESS)
    ap.add_argument("--log", help=argparse.SUPPRESS)
    ap.add_argument("--file", action="append", default=[], dest="files", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.writer:
        writer(args.files, args.rate, args.seconds, args.log)
        return 0
    if args.child:
        args.code = Path(args.code[0].partition("=")[2])
        asyncio.run(child(args))
        return 0
    codes = {}
    for spec in args.code or [f"tokdash={HERE.parents[1]}"]:
        name, _, path = spec.partition("=")
        codes[name] = Path(path).resolve()
    for code in codes.values():
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(code / "tokdash")], check=True,
                       env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
    results: dict[str, list[dict]] = {name: [] for name in codes}
    with tempfile.TemporaryDirectory(prefix="tokdash-live-") as tmp:
        work = Path(tmp) / "corpus"
        linked_copy(args.corpus, work)
        claude, codex = work / "claude", work / "codex"
        for r in range(args.runs):
            for name, code in codes.items():
                live = claude / "projects" / CWD.replace("/", "-")
                shutil.rmtree(live, ignore_errors=True)
                files = seed_sessions(claude / "projects", args.writers)
                data = Path(tmp) / f"data-{name}"
                env = {**os.environ, "TOKDASH_DATA_DIR": str(data)}
                # The index as it stands before the launch (warm: only the seed lines are new).
                subprocess.run([sys.executable, "-m", "tokdash", "report", "sessions", "--json", "--claude-dir",
                                str(claude), "--codex-dir", str(codex)], env=env, cwd=code, check=True,
                               stdout=subprocess.DEVNULL)
                cmd = [sys.executable, str(HERE), "--child", "--code", f"{name}={code}", "--claude", str(claude),
                       "--codex", str(codex), "--writers", str(args.writers), "--rate", str(args.rate),
                       "--seconds", str(args.seconds), "--log", str(Path(tmp) / "writes.log"),
                       *(["--no-cache"] if args.no_cache else []), *(f"--file={f}" for f in files)]
                out = subprocess.run(cmd, env=env, cwd=code, capture_output=True, text=True)
                lines = [x for x in out.stdout.splitlines() if x.startswith("{")]
                if out.returncode != 0 or not lines:
                    raise SystemExit(f"{name}: the run failed ({out.returncode}): {out.stderr[-3000:]}")
                results[name].append(json.loads(lines[-1]))
                print(f"  run {r + 1}/{args.runs} {name}: cpu {results[name][-1]['cpu']:.0f}%", file=sys.stderr,
                      flush=True)
    size = sum(p.stat().st_size for p in args.corpus.rglob("*.jsonl")) / 1e6
    print(f"{args.writers} writers x {args.rate:g} lines/s for {args.seconds:g} s over {args.corpus} ({size:.0f} MB); "
          f"{'in memory (--no-cache)' if args.no_cache else 'index'}; {args.runs} runs per checkout, alternating; "
          f"{len(os.sched_getaffinity(0))} CPUs, load average {os.getloadavg()[0]:.2f}")
    print()
    print("| checkout | CPU % of a core | feed thread % | append→row p50 ms | p95 ms | max ms | calls | missed |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, runs in results.items():
        lat = [v for r in runs for v in r["lat"]]
        print(f"| {name} | {statistics.median(r['cpu'] for r in runs):.1f} | "
              f"{statistics.median(r['feed'] for r in runs):.1f} | {pct(lat, 0.5):.0f} | {pct(lat, 0.95):.0f} | "
              f"{max(lat, default=float('nan')):.0f} | {len(lat)} | {sum(r['missed'] for r in runs)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
