#!/usr/bin/env python3
"""Cold build, warm run and ``--no-cache`` of ``tokdash report sessions --json`` beside ccusage,
at several corpus sizes, for one or more checkouts of tokdash side by side.

    .venv/bin/python benchmarks/bench_cold_warm.py [--sizes 1,4,16] [--runs 5] \\
        [--code before=/tmp/perf-before --code after=.] [--ccusage PATH] [--scale 3000]

Corpora: ``--sizes`` are multiples of the 260 MB ``gen_corpus.py`` tree, made (once) at
``/tmp/bench-corpus`` (1x) and ``/tmp/bench-corpus-<k>x``; ``--scale N`` adds a tree of N
small sessions from ``gen_scale.py`` (``/tmp/bench-scale-<N>``), where the per-session costs
show. Nothing is written into a corpus.

Scenarios, per checkout (``--code name=path``: a git worktree of another commit, run with
this interpreter; default: this checkout):

- ``cold``: the first run over an empty data dir (``TOKDASH_DATA_DIR``): the index is built;
- ``warm``: the next run, no new bytes: the stored summaries are served;
- ``no-cache``: ``--no-cache``, every transcript read in memory;

and ``ccusage claude session --json --offline`` with ``CLAUDE_CONFIG_DIR`` (the native
binary of ccusage 20, Claude only: about 90 % of each corpus's bytes; never installed by
this script: ``--ccusage``, else ``/tmp/ccusage*/node_modules/@ccusage/ccusage-linux-x64/bin/ccusage``,
else ``ccusage`` on PATH).

Every command runs once untimed (page cache, bytecode), then ``--runs`` times, round-robin
over all commands of a size so that drift hits every row alike. Each run is one process:
wall time from spawn to exit, CPU = user + system of the process and every child it waited
for (forked workers included), peak RSS of the largest of them (``os.wait4``). Medians
are printed, and each tokdash row's median as a multiple of ccusage's.
Every checkout's bytecode is compiled first (``compileall``), as an installed package's is.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BASE_MB = 260.0


def corpus_for(size: int) -> Path:
    """The generated corpus of ``size`` times 260 MB (made when absent)."""
    path = Path("/tmp/bench-corpus") if size == 1 else Path(f"/tmp/bench-corpus-{size}x")
    if not (path / "claude").is_dir():
        print(f"generating {path} ({size * BASE_MB:.0f} MB) ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, str(HERE / "gen_corpus.py"), str(path), "--size-mb", str(size * BASE_MB)],
                       check=True, stdout=subprocess.DEVNULL)
    return path


def scale_corpus(sessions: int) -> Path:
    """A tree of ``sessions`` small sessions (made when absent)."""
    path = Path(f"/tmp/bench-scale-{sessions}")
    if not (path / "claude").is_dir():
        print(f"generating {path} ({sessions} sessions) ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, str(HERE / "gen_scale.py"), str(path), "--sessions", str(sessions)],
                       check=True, stdout=subprocess.DEVNULL)
    return path


def find_ccusage(given: str | None) -> str | None:
    """The ccusage native binary (never installed here)."""
    if given:
        return given
    hits = sorted(glob.glob("/tmp/ccusage*/node_modules/@ccusage/ccusage-linux-x64/bin/ccusage"))
    return hits[0] if hits else shutil.which("ccusage")


class Cmd:
    """One command line of the table and its measurements."""

    def __init__(self, label: str, argv: list[str], env: dict, cwd: Path, before=None) -> None:
        self.label, self.argv, self.env, self.cwd, self.before = label, argv, env, cwd, before
        self.walls: list[float] = []
        self.cpus: list[float] = []
        self.rss: list[float] = []

    def run(self, record: bool = True) -> None:
        if self.before is not None:
            self.before()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            t0 = time.perf_counter()
            p = subprocess.Popen(self.argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=self.env,
                                 cwd=self.cwd)
            _pid, status, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
            p.returncode = os.waitstatus_to_exitcode(status)
            if p.returncode != 0:
                err.seek(0)
                raise SystemExit(f"{self.label} failed ({p.returncode}): {err.read().decode()[-1500:]}")
        if record:
            self.walls.append(wall)
            self.cpus.append(ru.ru_utime + ru.ru_stime)
            self.rss.append(ru.ru_maxrss / 1024)


def tokdash_cmds(name: str, code: Path, corpus: Path, data_root: Path) -> list[Cmd]:
    """cold, warm and no-cache of one checkout over one corpus."""
    data = data_root / name
    argv = [sys.executable, "-m", "tokdash", "report", "sessions", "--json", "--claude-dir", str(corpus / "claude"),
            "--codex-dir", str(corpus / "codex")]
    env = {**os.environ, "TOKDASH_DATA_DIR": str(data)}

    def fresh() -> None:
        shutil.rmtree(data, ignore_errors=True)

    return [Cmd(f"{name} cold", argv, env, code, before=fresh), Cmd(f"{name} warm", argv, env, code),
            Cmd(f"{name} --no-cache", argv + ["--no-cache"], env, code)]


def measure(title: str, corpus: Path, codes: dict[str, Path], ccusage: str | None, runs: int) -> None:
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _s, fs in os.walk(corpus) for f in fs
               if f.endswith(".jsonl"))
    files = sum(1 for d, _s, fs in os.walk(corpus) for f in fs if f.endswith(".jsonl"))
    with tempfile.TemporaryDirectory(prefix="tokdash-coldwarm-") as tmp:
        cmds: list[Cmd] = []
        for name, code in codes.items():
            cmds += tokdash_cmds(name, code, corpus, Path(tmp))
        peer = None
        if ccusage:
            peer = Cmd("ccusage (native)", [ccusage, "claude", "session", "--json", "--offline"],
                       {**os.environ, "CLAUDE_CONFIG_DIR": str(corpus / "claude")}, REPO)
            cmds.append(peer)
        for c in cmds:  # warm-up: page cache, and each warm row's index exists
            c.run(record=False)
        for i in range(runs):
            for c in cmds:
                c.run()
            print(f"  {title}: run {i + 1}/{runs}", file=sys.stderr, flush=True)
    print(f"\n## {title}: {corpus} ({size / 1e6:.0f} MB in {files} files)\n")
    print("| command | wall s (median) | CPU s (median) | peak RSS MB | wall ÷ ccusage |")
    print("|---|---:|---:|---:|---:|")
    ref = statistics.median(peer.walls) if peer is not None else None
    for c in cmds:
        wall = statistics.median(c.walls)
        ratio = f"{wall / ref:.2f}×" if ref else "–"
        print(f"| {c.label} | {wall:.3f} | {statistics.median(c.cpus):.2f} | {max(c.rss):.0f} | {ratio} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,4,16", help="corpus sizes, multiples of 260 MB (default 1,4,16)")
    ap.add_argument("--scale", type=int, action="append", default=[],
                    help="also a tree of N small sessions (gen_scale.py); repeatable")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--code", action="append", default=[], metavar="NAME=PATH",
                    help="a checkout to measure (repeatable; default: this one)")
    ap.add_argument("--ccusage", help="path of ccusage's native binary")
    args = ap.parse_args()
    codes = {}
    for spec in args.code or [f"tokdash={REPO}"]:
        name, _, path = spec.partition("=")
        codes[name] = Path(path).resolve()
    for code in codes.values():
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(code / "tokdash")], check=True,
                       env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
    ccusage = find_ccusage(args.ccusage)
    print(f"python {sys.version.split()[0]}, {len(os.sched_getaffinity(0))} CPUs, load average "
          f"{os.getloadavg()[0]:.2f} at start; {args.runs} runs per command, round-robin; ccusage: {ccusage or 'absent'}")
    for code_name, code in codes.items():
        head = subprocess.run(["git", "-C", str(code), "log", "--oneline", "-1"], capture_output=True, text=True)
        print(f"- {code_name}: {code} ({head.stdout.strip() or 'not a git checkout'})")
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        measure(f"{size}x corpus", corpus_for(size), codes, ccusage, args.runs)
    for n in args.scale:
        measure(f"{n} small sessions", scale_corpus(n), codes, ccusage, args.runs)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
