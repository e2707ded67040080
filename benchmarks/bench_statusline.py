#!/usr/bin/env python3
"""Latency of `tokdash statusline` and `tokdash hook`, next to the bare interpreter and ccusage.

    .venv/bin/python benchmarks/bench_statusline.py [CORPUS] [--runs 15] [--ccusage PATH]

CORPUS is the generated benchmark tree (default ``/tmp/bench-corpus``, made by
``benchmarks/gen_corpus.py``); it is never modified. The benchmark copies two Claude Code
sessions out of it into a private home (``HOME``, ``TOKDASH_DATA_DIR``, the config folder,
``TMPDIR`` and the bytecode cache are all temporary): the largest one (~45 MB plus its
sub-agents) and a small one. Every figure is wall time around fork+exec+wait of one process,
as Claude Code pays it, the median (and min) of ``--runs`` runs, with every scenario of a
round run once per round (round-robin, so machine drift hits every row alike). Each command
runs once untimed first (the page cache is hot and bytecode compiled, as for a real user).

Scenarios, per session:

- ``cold``: no state yet (the state file is deleted before each run): the whole session is read;
- ``warm``: nothing changed since the last render: answered from the state's header;
- ``+1 turn``: one assistant response (a fresh message id, ~2 KB) appended before each run,
  which is what Claude Code's render after each message sees: only those bytes are read.

Plus the floor (``python -c "import orjson, sqlite3"``: the target is a median at most twice
it), the fleet line (``tokdash statusline`` with no hook input, on a warm index), and the
hook (``UserPromptSubmit`` and ``PreToolUse`` with a ``[budget]`` set, on a warm index). With
``ccusage`` on PATH (or ``--ccusage``) ``ccusage statusline --offline`` runs the same three
session scenarios (cold: its cache folder emptied). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
TOKDASH = [str(Path(PY).parent / "tokdash")] if (Path(PY).parent / "tokdash").exists() else [PY, "-m", "tokdash"]
"""The console script users run (``python -m tokdash`` when there is none)."""


def pick_sessions(corpus: Path) -> tuple[Path, Path]:
    """(the largest main Claude transcript, a small one of 0.2-2 MB) of the corpus."""
    mains = [p for p in (corpus / "claude" / "projects").glob("*/*.jsonl") if not p.name.startswith("agent-")]
    if not mains:
        raise SystemExit(f"no Claude sessions under {corpus}/claude/projects (run benchmarks/gen_corpus.py)")
    mains.sort(key=lambda p: p.stat().st_size)
    small = next((p for p in mains if 200_000 <= p.stat().st_size <= 2_000_000), mains[len(mains) // 2])
    return mains[-1], small


def copy_session(src: Path, projects: Path) -> Path:
    """Copy a main transcript (and its ``<stem>/`` folder of sub-agents) into ``projects``."""
    dest = projects / src.parent.name / src.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest)
    sub = src.with_suffix("")
    if sub.is_dir():
        shutil.copytree(sub, dest.with_suffix(""), dirs_exist_ok=True)
    return dest


class Turn:
    """Appends one assistant response, like the session's own last one but with fresh ids."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with open(path, "rb") as f:
            f.seek(max(path.stat().st_size - 1_000_000, 0))
            lines = f.read().split(b"\n")
        self.template = next(orjson.loads(x) for x in reversed(lines)
                             if b'"type":"assistant"' in x and b'"usage"' in x and x.startswith(b"{"))

    def __call__(self) -> None:
        obj = dict(self.template)
        obj["message"] = dict(obj["message"], id="msg_01" + uuid.uuid4().hex[:22])
        obj["requestId"] = "req_011" + uuid.uuid4().hex[:20]
        obj["uuid"] = str(uuid.uuid4())
        obj["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        with open(self.path, "ab") as f:
            f.write(orjson.dumps(obj) + b"\n")


class Case:
    """One command to time: how to run it, what to do before each run (untimed)."""

    def __init__(self, name: str, cmd: list[str], stdin: bytes = b"", before=None) -> None:
        self.name, self.cmd, self.stdin, self.before = name, cmd, stdin, before
        self.times: list[float] = []
        self.out = b""

    def run(self, env: dict) -> None:
        if self.before is not None:
            self.before()
        t = time.perf_counter()
        proc = subprocess.run(self.cmd, input=self.stdin, env=env, capture_output=True, cwd="/")
        self.times.append(time.perf_counter() - t)
        self.out = proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else proc.stderr.strip()[:200]


def measure(cases: list[Case], runs: int, env: dict) -> None:
    """Run every case once untimed, then ``runs`` rounds of every case; print the table
    (the first case is the floor every median is compared with)."""
    for c in cases:  # warm-up: page cache, bytecode, the states
        c.run(env)
        c.times.clear()
    for _ in range(runs):
        for c in cases:
            c.run(env)
    floor = statistics.median(cases[0].times)
    print(f"{'command':66s} {'median ms':>9s} {'min ms':>7s} {'× floor':>8s}  first line printed")
    for c in cases:
        med = statistics.median(c.times)
        out = c.out.decode("utf-8", "replace") if isinstance(c.out, bytes) else str(c.out)
        print(f"{c.name:66s} {med * 1e3:9.1f} {min(c.times) * 1e3:7.1f} {med / floor:8.2f}  {out[:70]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default="/tmp/bench-corpus")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--ccusage", help="path of a ccusage executable (default: `ccusage` on PATH)")
    args = ap.parse_args()
    corpus = Path(args.corpus)
    big_src, small_src = pick_sessions(corpus)
    ccusage = args.ccusage or shutil.which("ccusage")
    with tempfile.TemporaryDirectory(prefix="tokdash-bench-sl-") as tmp:
        root = Path(tmp)
        home = root / "home"
        projects = home / ".claude" / "projects"
        big, small = copy_session(big_src, projects), copy_session(small_src, projects)
        for d in ("data", "config/tokdash", "tmp", "cache", "pycache"):
            (root / d).mkdir(parents=True)
        (root / "config" / "tokdash" / "config.toml").write_text(
            "[budget]\ndaily_usd = 100000\nhard_cap = true\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "NO_COLOR")}
        env.update(HOME=str(home), TOKDASH_DATA_DIR=str(root / "data"), XDG_CONFIG_HOME=str(root / "config"),
                   XDG_CACHE_HOME=str(root / "cache"), TMPDIR=str(root / "tmp"),
                   PYTHONPYCACHEPREFIX=str(root / "pycache"),
                   CLAUDE_CONFIG_DIR=str(home / ".claude"), PYTHONPATH=str(REPO))
        for var in ("CODEX_HOME", "GEMINI_DIR", "QWEN_DIR"):
            env.pop(var, None)
        state_dir = root / "data" / "statusline"

        def forget_states() -> None:
            shutil.rmtree(state_dir, ignore_errors=True)

        def forget_ccusage() -> None:
            for d in (root / "tmp", root / "cache"):
                shutil.rmtree(d, ignore_errors=True)
                d.mkdir()

        cases: list[Case] = [Case("floor: python -c 'import orjson, sqlite3'", [PY, "-c", "import orjson, sqlite3"])]
        for label, path in (("small", small), ("45 MB", big)):
            limits = {"five_hour": {"used_percentage": 42, "resets_at": int(time.time()) + 3600},
                      "seven_day": {"used_percentage": 12}}
            hook = orjson.dumps({"session_id": path.stem, "transcript_path": str(path), "cwd": "/home/dev",
                                 "model": {"id": "claude-opus-4-6", "display_name": "Opus"}, "rate_limits": limits})
            size = sum(f.stat().st_size for f in [path, *path.with_suffix("").rglob("*.jsonl")])
            tag = f"{label} ({size / 1e6:.1f} MB)"
            turn = Turn(path)
            cases += [
                Case(f"tokdash statusline  {tag}  cold", [*TOKDASH, "statusline"], hook, forget_states),
                Case(f"tokdash statusline  {tag}  warm", [*TOKDASH, "statusline"], hook),
                Case(f"tokdash statusline  {tag}  +1 turn", [*TOKDASH, "statusline"], hook, turn),
            ]
            if ccusage:
                cc = [ccusage, "statusline", "--offline"]
                cases += [
                    Case(f"ccusage statusline  {tag}  cold", cc, hook, forget_ccusage),
                    Case(f"ccusage statusline  {tag}  warm", cc, hook),
                    Case(f"ccusage statusline  {tag}  +1 turn", cc, hook, turn),
                ]
        index_cases = [Case("floor: python -c 'import orjson, sqlite3'", [PY, "-c", "import orjson, sqlite3"]),
                       Case("tokdash statusline  fleet (no hook input), warm index", [*TOKDASH, "statusline"])]
        for event in ("UserPromptSubmit", "PreToolUse"):
            payload = {"session_id": big.stem, "transcript_path": str(big), "cwd": "/home/dev",
                       "hook_event_name": event, "permission_mode": "default"}
            if event == "PreToolUse":
                payload |= {"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "toolu_1"}
            index_cases.append(Case(f"tokdash hook  {event}, warm index", [*TOKDASH, "hook"], orjson.dumps(payload)))
        print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; corpus {corpus}; runs {args.runs}; "
              f"ccusage: {ccusage or 'not found (pass --ccusage PATH)'}")
        print("\nThe status line of one session (Claude Code's hook input on stdin):")
        measure(cases, args.runs, env)
        # Then what reads the index, with nothing appended between runs (the index synced once
        # after the turns above; the status line's states of both sessions are there too).
        subprocess.run([*TOKDASH, "report", "sessions", "--json"], env=env, capture_output=True, check=True)
        print("\nWhat reads the index (the fleet line, and the hook, which also reads the states):")
        measure(index_cases, args.runs, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
