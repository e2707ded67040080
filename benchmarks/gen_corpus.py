#!/usr/bin/env python3
"""Generate a large, realistic, deterministic Claude Code + Codex CLI transcript tree.

    python benchmarks/gen_corpus.py OUT_DIR [--size-mb 260] [--seed 1]

Writes ``OUT_DIR/claude/projects/...`` (a Claude config dir: use it as
``CLAUDE_CONFIG_DIR`` or ``--claude-dir``), ``OUT_DIR/codex/sessions/...`` (a Codex
home) and ``OUT_DIR/EXPECTED.json``: the generator's own ground truth, per session,
recorded when each API call is created (not by re-reading the files).

Everything is produced in code from a seeded ``random.Random``: the same arguments
give byte-identical output. Shapes follow Claude Code 2.1.x / 2.0.x / 1.0.x and Codex
0.104 transcripts as described in ``shared/docs/transcript-formats.md`` (field names, field
order, line-size distribution), including the traps that doc lists: one line per
content block of a response with a growing ``output_tokens`` snapshot, progress lines
embedding sub-agent usage, ``toolUseResult.usage``, sub-agents in all three layouts,
resumed sessions copying earlier calls, and a few malformed lines.

The counting rules behind EXPECTED.json (the format doc's rules) are
``corpus.output.COUNTING_RULES``; EXPECTED.json carries them in ``counting_rules``.

This file is the command line; the generator is the ``corpus`` package next to it
(its ``__init__`` lists which file holds what), and the names other code may import
from here (``Gen``, ``Truth``, ``Writer``, ``iso``, ...) are re-exported from it.

Only the standard library and orjson (falls back to json) are needed.
"""

from __future__ import annotations

import argparse
import calendar
import os
import sys
import time

# The package sits next to this file; put its folder on the path however this file was
# started (as a script it already is; ``python -m benchmarks.gen_corpus`` or an import
# from elsewhere would not find it otherwise).
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from corpus import *  # noqa: E402,F403 - re-exported: gen_corpus.Gen etc. keep working
from corpus import Gen, MiB  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--size-mb", type=float, default=260.0, help="total size to write (default 260)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--end", default="2026-03-01T00:00:00Z",
                    help="end of the 30-day window the timestamps fall in (fixed for determinism)")
    ap.add_argument("--days", type=float, default=30.0)
    args = ap.parse_args(argv)
    end = calendar.timegm(time.strptime(args.end, "%Y-%m-%dT%H:%M:%SZ"))
    out = os.path.abspath(args.out_dir)
    for sub in ("claude", "codex"):
        if os.path.exists(os.path.join(out, sub)):
            sys.exit(f"{os.path.join(out, sub)} already exists; remove it first (output must be fresh)")
    os.makedirs(out, exist_ok=True)
    g = Gen(out, args.seed, args.size_mb, float(end), args.days)
    elapsed = g.run()
    total = g.bytes_claude + g.bytes_codex
    n_claude = sum(1 for s in g.truth.sessions.values() if s["source"] == "claude")
    print(f"wrote {total / MiB:.1f} MiB in {g.files} files to {out} in {elapsed:.1f}s")
    print(f"  claude: {g.bytes_claude / MiB:.1f} MiB, {n_claude} sessions "
          f"({g.stats['claude_main_files']} main files, {g.stats['claude_subagent_files_2_1']} 2.1 sub-agent "
          f"files, {g.stats['claude_acompact_files']} acompact, {g.stats['claude_sibling_agent_files_2_0']} "
          f"2.0 sibling agent files, {g.stats['claude_resumed_sessions']} resumed)")
    print(f"  codex:  {g.bytes_codex / MiB:.1f} MiB, {g.stats['codex_files']} sessions")
    print(f"  ground truth: {os.path.join(out, 'EXPECTED.json')}")


if __name__ == "__main__":
    main()
