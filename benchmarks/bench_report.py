#!/usr/bin/env python3
"""Time `tokdash report sessions` against the bare-Python floor (and ccusage, if present)
on a generated corpus, then check tokdash's numbers against the corpus ground truth.

    python benchmarks/gen_corpus.py /tmp/bench-corpus        # once, ~2 s
    python benchmarks/bench_report.py /tmp/bench-corpus [--runs 5]

Every command runs once untimed (warm-up: the page cache is hot afterwards), then
``--runs`` times, interleaved round-robin so drift hits every row alike. Wall time is
measured around fork+exec+wait (interpreter start-up included); peak RSS is the
child's ``ru_maxrss`` from ``os.wait4``. MB = 10^6 bytes; MB/s = corpus bytes of all
``*.jsonl`` files / median wall time.

Exit status: 0 when tokdash's per-session totals equal EXPECTED.json, 1 otherwise
(mismatches, or tokdash failed / printed no JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FIELDS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens", "api_calls")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def corpus_size(root: str) -> tuple[int, int, dict]:
    total = files = 0
    per = {}
    for part in ("claude", "codex"):
        b = n = 0
        for dirpath, _dirs, names in os.walk(os.path.join(root, part)):
            for name in names:
                if name.endswith(".jsonl"):
                    b += os.path.getsize(os.path.join(dirpath, name))
                    n += 1
        per[part] = (b, n)
        total += b
        files += n
    return total, files, per


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def nproc() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


class Result:
    __slots__ = ("wall", "rss", "rc", "out", "err")

    def __init__(self, wall, rss, rc, out, err):
        self.wall, self.rss, self.rc, self.out, self.err = wall, rss, rc, out, err


def run_once(cmd: list[str], env: dict | None, cwd: str) -> Result:
    """Run cmd, return wall time, the child's peak RSS (bytes), exit code and output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        try:
            p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        except OSError as e:
            return Result(0.0, 0, 127, b"", str(e).encode())
        _pid, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        rc = os.waitstatus_to_exitcode(status)
        p.returncode = rc  # already reaped by wait4; keep Popen from waiting again
        rss = ru.ru_maxrss if sys.platform == "darwin" else ru.ru_maxrss * 1024
        out.seek(0)
        err.seek(0)
        return Result(wall, rss, rc, out.read(), err.read())


def first_error_line(r: Result) -> str:
    lines = [ln.strip() for ln in r.err.decode("utf-8", "replace").splitlines() if ln.strip()]
    if not lines:
        return "(no stderr)"
    # a Python traceback's useful line is the last one
    return lines[-1] if lines[0].startswith("Traceback") else lines[0]


class Cmd:
    def __init__(self, name, argv, env=None, note=""):
        self.name, self.argv, self.env, self.note = name, argv, env, note
        self.results: list[Result] = []
        self.failed: str | None = None
        self.skipped: str | None = None


def build_commands(corpus: str) -> list[Cmd]:
    py = sys.executable
    claude_dir = os.path.join(corpus, "claude")
    codex_dir = os.path.join(corpus, "codex")
    cmds = []

    tok = [py, "-m", "tokdash", "report", "sessions", "--json", "--claude-dir", claude_dir,
           "--codex-dir", codex_dir]
    help_r = run_once([py, "-m", "tokdash", "report", "sessions", "--help"], None, REPO)
    help_text = (help_r.out + help_r.err).decode("utf-8", "replace")
    if help_r.rc == 0 and "--no-cache" in help_text:
        tok.append("--no-cache")
        note = "--no-cache"
    elif help_r.rc == 0:
        note = "its --help has no --no-cache (if it keeps a cache, timed runs may hit it)"
    else:
        note = ""
    cmds.append(Cmd("tokdash report sessions", tok, note=note))

    cmds.append(Cmd("baseline_loop.py (floor)", [py, os.path.join(HERE, "baseline_loop.py"), corpus],
                    note="read+split+prefilter+orjson, no dedup"))

    ccusage = shutil.which("ccusage")
    c = Cmd("ccusage claude session", [ccusage or "ccusage", "claude", "session", "--json", "--offline"],
            env={**os.environ, "CLAUDE_CONFIG_DIR": claude_dir}, note="Claude only")
    if ccusage is None:
        c.skipped = "ccusage not on PATH (not installed by this script)"
    cmds.append(c)
    return cmds


def fmt_row(cols, widths):
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cols, widths)))


def print_table(cmds: list[Cmd], corpus_bytes: int):
    head = ["command", "runs", "min s", "median s", "max s", "MB/s", "peak RSS MB"]
    rows = []
    notes = []
    for c in cmds:
        if c.skipped or c.failed:
            rows.append([c.name, "-", "-", "-", "-", "-", "-"])
            notes.append(f"{c.name}: {'skipped: ' + c.skipped if c.skipped else 'FAILED: ' + c.failed}")
            continue
        walls = [r.wall for r in c.results]
        med = statistics.median(walls)
        rows.append([c.name, len(walls), f"{min(walls):.3f}", f"{med:.3f}", f"{max(walls):.3f}",
                     f"{corpus_bytes / 1e6 / med:.0f}", f"{max(r.rss for r in c.results) / 1e6:.0f}"])
        if c.note:
            notes.append(f"{c.name}: {c.note}")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    print(fmt_row(head, widths))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt_row(r, widths))
    for n in notes:
        print("  note: " + n)


def session_entries(doc) -> list[dict] | None:
    if isinstance(doc, dict):
        doc = doc.get("sessions")
    if isinstance(doc, list) and all(isinstance(x, dict) for x in doc):
        return doc
    return None


def field(entry: dict, name: str) -> int:
    v = entry.get(name)
    if v is None:
        for sub in ("tokens", "usage", "totals"):
            d = entry.get(sub)
            if isinstance(d, dict) and name in d:
                v = d[name]
                break
    return int(v or 0)


def check_truth(stdout: bytes, expected_path: str) -> bool:
    try:
        expected = json.load(open(expected_path))["sessions"]
    except (OSError, ValueError, KeyError) as e:
        print(f"totals match ground truth: not checked ({expected_path}: {e})")
        return False
    try:
        entries = session_entries(json.loads(stdout))
    except ValueError as e:
        entries = None
        why = f"output is not JSON: {e}"
    else:
        why = "no sessions[] list of objects in the JSON"
    if entries is None:
        print(f"totals match ground truth: no ({why})")
        return False

    got: dict[str, dict] = {}
    for e in entries:
        sid = str(e.get("session_id", ""))
        key = sid if sid in expected else None
        if key is None:  # e.g. a Codex rollout path, or a prefixed id: match on the embedded uuid
            for u in reversed(UUID_RE.findall(sid)):
                if u.lower() in expected:
                    key = u.lower()
                    break
        key = key or sid
        acc = got.setdefault(key, {f: 0 for f in FIELDS})
        for f in FIELDS:
            acc[f] += field(e, f)

    mismatches = []
    for sid, exp in expected.items():
        g = got.get(sid)
        if g is None:
            if any(exp[f] for f in FIELDS):
                mismatches.append(f"{sid} ({exp['source']}): missing from tokdash output")
            continue
        diff = [f"{f} {g[f]} != {exp[f]}" for f in FIELDS if g[f] != exp[f]]
        if diff:
            mismatches.append(f"{sid} ({exp['source']}): " + ", ".join(diff))
    for sid, g in got.items():
        if sid not in expected and any(g[f] for f in FIELDS):
            mismatches.append(f"{sid}: not a session in EXPECTED.json (tokens {sum(g.values())})")

    print(f"totals match ground truth: {'yes' if not mismatches else 'no'} ({len(mismatches)} mismatches; "
          f"{len(expected)} expected sessions, {len(entries)} in tokdash output)")
    for m in mismatches[:8]:
        print("  " + m)
    if len(mismatches) > 8:
        print(f"  ... {len(mismatches) - 8} more")
    if mismatches:
        print("  grand totals (tokdash vs expected):")
        for f in FIELDS:
            t = sum(g[f] for g in got.values())
            e = sum(x[f] for x in expected.values())
            print(f"    {f:20s} {t:>15,d} {e:>15,d}  {'ok' if t == e else 'DIFF %+d' % (t - e)}")
    return not mismatches


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus_dir")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per command (default 5)")
    args = ap.parse_args(argv)
    corpus = os.path.abspath(args.corpus_dir)
    if not os.path.isdir(os.path.join(corpus, "claude")):
        print(f"{corpus} has no claude/ folder: generate it with benchmarks/gen_corpus.py", file=sys.stderr)
        return 2

    total, files, per = corpus_size(corpus)
    print(f"machine: {nproc()} CPUs ({cpu_model()}), {platform.system()} {platform.release()}")
    print(f"python:  {platform.python_implementation()} {platform.python_version()} ({sys.executable})")
    print(f"corpus:  {corpus}: {total / 1e6:.1f} MB in {files} .jsonl files "
          f"(claude {per['claude'][0] / 1e6:.1f} MB / {per['claude'][1]} files, "
          f"codex {per['codex'][0] / 1e6:.1f} MB / {per['codex'][1]} files)")
    print(f"runs:    1 warm-up + {args.runs} timed per command, interleaved")
    print()

    cmds = build_commands(corpus)
    live = [c for c in cmds if not c.skipped]
    for c in live:  # warm-up: page cache, imports; also tells us whether the command works
        r = run_once(c.argv, c.env, REPO)
        if r.rc != 0:
            c.failed = f"exit {r.rc}: {first_error_line(r)}"
            print(f"{c.name}: warm-up failed ({c.failed})", flush=True)
    live = [c for c in live if not c.failed]
    for i in range(args.runs):
        for c in live:
            r = run_once(c.argv, c.env, REPO)
            if r.rc != 0:
                c.failed = f"exit {r.rc} on timed run {i + 1}: {first_error_line(r)}"
                print(f"{c.name}: {c.failed}", flush=True)
                continue
            c.results.append(r)
        live = [c for c in live if not c.failed]
        print(f"  run {i + 1}/{args.runs} done", file=sys.stderr, flush=True)
    print()
    print_table(cmds, total)
    print()

    tok = cmds[0]
    if tok.failed or not tok.results:
        print(f"totals match ground truth: not checked (tokdash failed: {tok.failed})")
        return 1
    return 0 if check_truth(tok.results[-1].out, os.path.join(corpus, "EXPECTED.json")) else 1


if __name__ == "__main__":
    sys.exit(main())
