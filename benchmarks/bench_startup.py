#!/usr/bin/env python3
"""Start-up of the dashboard: from process launch to the full sessions table, headless.

    .venv/bin/python benchmarks/bench_startup.py [CORPUS] [--runs 5] [--append-mb 1]

CORPUS holds ``claude/`` and ``codex/`` (default ``/tmp/bench-corpus``, made by
``benchmarks/gen_corpus.py``); it is never modified: the benchmark works on a
hard-linked copy, with a real copy of the one file it appends to.

Each run is one new process (``python benchmarks/bench_startup.py --child``) that
imports tokdash, builds ``TokdashApp`` over the corpus and runs it headless at
160x45 (``App.run_test``, the real watcher, the real clock). The parent notes the
wall clock just before spawning it; the child polls the table every 5 ms and
reports, from that moment:

- ``first``: the first row is in the table;
- ``full``: every session has its row (the count a ``report sessions`` prints);
- ``loaded``: the app has finished its initial load (``catalog.loading`` is False): with
  the index, the sync of new bytes; without it, the read of every transcript.

Scenarios: ``--no-cache`` (every transcript read at start, the path of earlier
versions), the index cold (first run: built from scratch), warm (nothing new) and
after appending ``--append-mb`` MB to the largest transcript before each run.
Min and median over ``--runs`` runs are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


async def child(args: argparse.Namespace) -> None:
    """One launch: time to the first row, the full table, the end of the initial load."""
    from tokdash.ingest.discovery import resolve_roots
    from tokdash.ui.app import TokdashApp
    try:
        from tokdash.ui.widgets.sessions_table import SessionsTable
    except ImportError:  # trees before the screens/widgets split
        from tokdash.ui.sessions_table import SessionsTable

    roots = resolve_roots(["claude", "codex"], {"claude": [args.claude], "codex": [args.codex]})
    roots.by_agent = {a: [Path(os.path.abspath(p)) for p in ps] for a, ps in roots.by_agent.items()}
    kwargs = {}
    if "cache" in inspect.signature(TokdashApp).parameters:  # earlier versions had no index
        kwargs["cache"] = not args.no_cache
    app = TokdashApp(roots, **kwargs)
    marks: dict[str, float] = {}
    async with app.run_test(size=(160, 45)):
        deadline = time.time() + 60
        while time.time() < deadline:
            table = app.screen.query_one(SessionsTable)
            now = time.time()
            if table.row_count and "first" not in marks:
                marks["first"] = now
            if table.row_count >= args.expect and "full" not in marks:
                marks["full"] = now
            loading = app.catalog.loading if hasattr(app, "catalog") else app.loading
            if not loading and "loaded" not in marks:
                marks["loaded"] = now
            if len(marks) == 3:
                break
            await asyncio.sleep(0.005)
        rows = app.screen.query_one(SessionsTable).row_count
    print(json.dumps({k: v - args.spawned for k, v in marks.items()} | {"rows": rows}))


def launch(claude: Path, codex: Path, data: Path, expect: int, no_cache: bool) -> dict:
    env = {**os.environ, "TOKDASH_DATA_DIR": str(data)}
    cmd = [sys.executable, __file__, "--child", "--claude", str(claude), "--codex", str(codex),
           "--expect", str(expect)] + (["--no-cache"] if no_cache else [])
    spawned = time.time()
    out = subprocess.run(cmd + ["--spawned", repr(spawned)], env=env, cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"child failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def count_sessions(claude: Path, codex: Path, data: Path) -> int:
    env = {**os.environ, "TOKDASH_DATA_DIR": str(data)}
    out = subprocess.run([sys.executable, "-m", "tokdash", "report", "sessions", "--json", "--no-cache",
                          "--claude-dir", str(claude), "--codex-dir", str(codex)],
                         env=env, cwd=REPO, capture_output=True, check=True)
    return len(json.loads(out.stdout)["sessions"])


def row(name: str, runs: list[dict]) -> str:
    cells = []
    for mark in ("first", "full", "loaded"):
        vals = [r[mark] for r in runs if mark in r]
        cells.append(f"{min(vals):>6.2f} {statistics.median(vals):>6.2f}" if vals else f"{'—':>13}")
    return f"{name:<34} {len(runs):>4}  " + "  ".join(cells)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=Path("/tmp/bench-corpus"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--append-mb", type=float, default=1.0)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--claude", help=argparse.SUPPRESS)
    ap.add_argument("--codex", help=argparse.SUPPRESS)
    ap.add_argument("--expect", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--spawned", type=float, default=0.0, help=argparse.SUPPRESS)
    ap.add_argument("--no-cache", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        asyncio.run(child(args))
        return 0

    from bench_index import fresh_lines, linked_copy, pick_target

    corpus: Path = args.corpus
    if not (corpus / "claude").is_dir():
        raise SystemExit(f"no corpus at {corpus}: run benchmarks/gen_corpus.py {corpus} first")
    size_mb = sum(p.stat().st_size for p in corpus.rglob("*.jsonl")) / 1e6
    with tempfile.TemporaryDirectory(prefix="tokdash-startup-") as tmp:
        work = Path(tmp) / "corpus"
        linked_copy(corpus, work)
        claude, codex = work / "claude", work / "codex"
        target = pick_target(claude)
        target.unlink()
        shutil.copyfile(corpus / target.relative_to(work), target)
        with open(target, "rb") as f:
            f.seek(max(0, target.stat().st_size - 2_000_000))
            sample = f.read()
        data = Path(tmp) / "data"
        expect = count_sessions(claude, codex, Path(tmp) / "scratch")
        results: dict[str, list[dict]] = {}
        results["--no-cache (reads everything)"] = [launch(claude, codex, data, expect, True) for _ in range(args.runs)]
        cold = []
        for _ in range(args.runs):
            shutil.rmtree(data, ignore_errors=True)
            cold.append(launch(claude, codex, data, expect, False))
        results["index cold (first run)"] = cold
        results["index warm, no new bytes"] = [launch(claude, codex, data, expect, False) for _ in range(args.runs)]
        appended = []
        for r in range(args.runs):
            with open(target, "ab") as f:
                f.write(fresh_lines(sample, int(args.append_mb * 1e6), r))
            appended.append(launch(claude, codex, data, expect, False))
        results[f"index, {args.append_mb:g} MB appended"] = appended

    print(f"corpus: {corpus} ({size_mb:.0f} MB of transcripts, {expect} sessions); python "
          f"{sys.version.split()[0]}, {os.cpu_count()} CPUs; headless 160x45, seconds from process spawn")
    print()
    print(f"{'scenario':<34} {'runs':>4}  {'first row':>13}  {'full table':>13}  {'load done':>13}")
    print(f"{'':<34} {'':>4}  {'min    med':>13}  {'min    med':>13}  {'min    med':>13}")
    for name, runs in results.items():
        print(row(name, runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
