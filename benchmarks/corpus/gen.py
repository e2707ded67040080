"""``Gen``: one generator run, Claude then Codex, then EXPECTED.json.

``Gen`` joins ``GenCore`` (state and helpers) with the ``ClaudeGen`` and ``CodexGen``
mixins; ``run`` spends 90 % of the byte budget on Claude Code and the rest on Codex,
then ``write_expected`` writes the ground truth with totals and statistics.
"""

from __future__ import annotations

import os
import time

from .claude import ClaudeGen
from .codex import CodexGen
from .core import GenCore
from .output import COUNTING_RULES, Truth, dumps_pretty
from .vocab import MiB, iso


class Gen(ClaudeGen, CodexGen, GenCore):
    """A whole corpus: ``Gen(out, seed, size_mb, end, days).run()`` writes it into ``out``."""

    def run(self) -> float:
        """Write the whole corpus and EXPECTED.json; return the seconds it took."""
        t0 = time.perf_counter()
        claude_budget = int(self.target * 0.9)
        self.gen_claude(claude_budget)
        self.gen_codex(self.target - claude_budget)
        elapsed = time.perf_counter() - t0
        self.write_expected(elapsed)
        return elapsed

    def write_expected(self, elapsed):
        """EXPECTED.json: per-session truth, totals per source, statistics. ``elapsed`` is
        not written (the file must not depend on how fast the machine is)."""
        sessions = self.truth.sessions
        totals = {}
        for src in ("claude", "codex"):
            tt = {f: 0 for f in Truth.FIELDS}
            cnt = 0
            for s in sessions.values():
                if s["source"] != src:
                    continue
                cnt += 1
                for f in Truth.FIELDS:
                    tt[f] += s[f]
            tt["sessions"] = cnt
            totals[src] = tt
        doc = {
            "generator": {"seed": self.seed, "size_mb_target": self.target / MiB,
                          "window_start": iso(self.start), "window_end": iso(self.end)},
            "corpus": {"bytes_claude": self.bytes_claude, "bytes_codex": self.bytes_codex,
                       "files": self.files},
            "counting_rules": COUNTING_RULES,
            "stats": self.stats,
            "totals": totals,
            "sessions": dict(sorted(sessions.items())),
        }
        with open(os.path.join(self.out, "EXPECTED.json"), "wb") as f:
            f.write(dumps_pretty(doc))

