#!/usr/bin/env python3
"""Benchmark the persistent index: cold build, warm report, report after an append, --no-cache.

    python benchmarks/bench_index.py [CORPUS] [--runs 5] [--append-mb 1]

CORPUS is a folder holding ``claude/`` (a Claude config dir) and ``codex/`` (a Codex
home), e.g. one made by ``python benchmarks/gen_corpus.py /tmp/bench-corpus``
(the default; generated when absent). The corpus is never modified: the benchmark
works on a hard-linked copy in a temp dir, with a real copy of the one file it
appends to.

Every measurement is one ``python -m tokdash report sessions --json`` process:
wall time from spawn to exit, peak RSS from ``os.wait4``. Each scenario runs
``--runs`` times; min and median are printed side by side. The script also checks
that the index path and ``--no-cache`` print byte-identical JSON.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = Path("/tmp/bench-corpus")


def run_report(claude: Path, codex: Path, data: Path, *extra: str) -> tuple[float, float, bytes]:
    """(wall seconds, peak RSS MB, stdout) of one report process."""
    cmd = [sys.executable, "-m", "tokdash", "report", "sessions", "--json",
           "--claude-dir", str(claude), "--codex-dir", str(codex), *extra]
    env = {**os.environ, "TOKDASH_DATA_DIR": str(data)}
    out_path = data.parent / "stdout.json"
    with open(out_path, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, env=env, cwd=REPO)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"report failed ({proc.returncode}): {err}")
    if err.strip():
        print(f"  stderr: {err.strip()}", file=sys.stderr)
    rss_mb = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 1024 / 1024
    # (Linux keeps the high-water mark across fork+exec, so this is at least the
    # benchmark's own peak, printed as the baseline.)
    return wall, rss_mb, out_path.read_bytes()


def linked_copy(src: Path, dst: Path) -> None:
    """Hard-link every file of ``src`` under ``dst`` (copies when linking is not possible)."""
    for dirpath, _dirs, names in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for n in names:
            try:
                os.link(Path(dirpath) / n, dst / rel / n)
            except OSError:
                shutil.copy2(Path(dirpath) / n, dst / rel / n)


def pick_target(claude: Path) -> Path:
    """The biggest main transcript: appending to a long session is the worst realistic case."""
    files = [p for p in claude.rglob("*.jsonl") if "subagents" not in p.parts and not p.name.startswith("agent-")]
    return max(files, key=lambda p: p.stat().st_size)


_IDS = re.compile(rb'"(id|requestId|uuid|parentUuid)":"(msg_|req_)?[0-9A-Za-z-]+"')


def fresh_lines(sample: bytes, size: int, round_no: int) -> bytes:
    """About ``size`` bytes of complete lines from ``sample`` with new message/request ids and
    uuids: new API calls of the same shape (tool results, progress, streaming blocks)."""
    lines = [ln for ln in sample.split(b"\n") if ln.startswith(b"{")]
    out: list[bytes] = []
    total = 0
    i = 0
    while total < size and lines:
        ln = lines[i % len(lines)]
        tag = f"b{round_no:03d}{i:06d}".encode()
        ln = _IDS.sub(lambda m: b'"' + m.group(1) + b'":"' + (m.group(2) or b"") + tag + b'"', ln)
        out.append(ln + b"\n")
        total += len(ln) + 1
        i += 1
    return b"".join(out)


def summarize(name: str, samples: list[tuple[float, float]]) -> str:
    walls = [w for w, _ in samples]
    rss = [r for _, r in samples]
    return (f"{name:<34} {len(samples):>4}  {min(walls):>8.3f}  {statistics.median(walls):>8.3f}"
            f"  {min(rss):>8.1f}  {statistics.median(rss):>8.1f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--runs", type=int, default=5, help="repetitions per scenario (default 5)")
    ap.add_argument("--append-mb", type=float, default=1.0, help="MB appended before each append run")
    args = ap.parse_args()
    corpus: Path = args.corpus
    if not (corpus / "claude").is_dir():
        print(f"generating the corpus at {corpus} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(REPO / "benchmarks" / "gen_corpus.py"), str(corpus)], check=True)
    size_mb = sum(p.stat().st_size for p in corpus.rglob("*.jsonl")) / 1e6

    with tempfile.TemporaryDirectory(prefix="tokdash-bench-") as tmp:
        work = Path(tmp) / "corpus"
        linked_copy(corpus, work)
        claude, codex = work / "claude", work / "codex"
        target = pick_target(claude)
        # A real copy (appends must not reach the corpus), streamed: a child's peak RSS
        # includes this process's own peak at fork time, so this process stays small.
        target.unlink()
        shutil.copyfile(corpus / target.relative_to(work), target)
        target_mb = target.stat().st_size / 1e6
        with open(target, "rb") as f:
            f.seek(max(0, target.stat().st_size - 2_000_000))
            sample = f.read()
        data = Path(tmp) / "data"
        results: dict[str, list[tuple[float, float]]] = {}

        cold = []
        for _ in range(args.runs):
            shutil.rmtree(data, ignore_errors=True)
            wall, rss, cold_out = run_report(claude, codex, data)
            cold.append((wall, rss))
        results["cold build (empty index)"] = cold

        warm = []
        for _ in range(args.runs):
            wall, rss, warm_out = run_report(claude, codex, data)
            warm.append((wall, rss))
        results["warm, no new bytes"] = warm

        appended = []
        for r in range(args.runs):
            with open(target, "ab") as f:
                f.write(fresh_lines(sample, int(args.append_mb * 1e6), r))
            wall, rss, append_out = run_report(claude, codex, data)
            appended.append((wall, rss))
        results[f"after appending {args.append_mb:g} MB to one file"] = appended

        nocache = []
        for _ in range(args.runs):
            wall, rss, nocache_out = run_report(claude, codex, data, "--no-cache")
            nocache.append((wall, rss))
        results["--no-cache (reads everything)"] = nocache

        _w, _r, warm_after = run_report(claude, codex, data)
        identical = nocache_out == append_out == warm_after
        identical_cold = cold_out == warm_out

    print(f"corpus: {corpus} ({size_mb:.0f} MB of transcripts); appended to {target.name} "
          f"({target_mb:.1f} MB before the appends)")
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; `tokdash report sessions --json`, one process per run;"
          f" RSS floor (this script's own peak): {own:.0f} MB")
    print()
    print(f"{'scenario':<34} {'runs':>4}  {'wall min':>8}  {'wall med':>8}  {'RSS min':>8}  {'RSS med':>8}")
    print(f"{'':<34} {'':>4}  {'(s)':>8}  {'(s)':>8}  {'(MB)':>8}  {'(MB)':>8}")
    for name, samples in results.items():
        print(summarize(name, samples))
    print()
    print(f"index JSON == --no-cache JSON after the appends: {_verdict(append_out, nocache_out, warm_after)}; "
          f"cold == warm: {_verdict(cold_out, warm_out)}")
    return 0 if identical and identical_cold else 1


def _verdict(*outs: bytes) -> str:
    """'yes' for identical bytes; else how they differ (float cost sums that land on a
    rounding boundary can differ in the 6th decimal when calls are summed in another order)."""
    if all(o == outs[0] for o in outs):
        return "yes, byte-identical"
    import json

    first = json.loads(outs[0])
    worst, count = 0.0, 0
    for other in outs[1:]:
        w, c, same_shape = _float_diff(first, json.loads(other))
        if not same_shape:
            return "NO (different sessions or counts)"
        worst, count = max(worst, w), count + c
    return f"NO: {count} cost values differ, by at most {worst:.6f} (float summation order)"


def _float_diff(a, b) -> tuple[float, int, bool]:
    if isinstance(a, float) and isinstance(b, float):
        return (abs(a - b), 1, True) if a != b else (0.0, 0, True)
    if type(a) is not type(b):
        return 0.0, 0, False
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return 0.0, 0, False
        parts = [_float_diff(a[k], b[k]) for k in a]
    elif isinstance(a, list):
        if len(a) != len(b):
            return 0.0, 0, False
        parts = [_float_diff(x, y) for x, y in zip(a, b)]
    else:
        return 0.0, 0, a == b
    return max((p[0] for p in parts), default=0.0), sum(p[1] for p in parts), all(p[2] for p in parts)


if __name__ == "__main__":
    sys.exit(main())
