"""The generator's shared core: state, seeded random helpers, file output, defects.

``GenCore`` holds what every part of a run shares (the one seeded ``random.Random``,
the time window, the byte budget, ``Truth``, the statistics that end in EXPECTED.json),
the random text/id helpers (a text pool cut into slices, uuid4, base62, hex, log-normal
sizes), ``write_file`` (a ``Writer``'s lines to disk, with CRLF/BOM/truncation options,
and mtime set to the last line's time) and ``inject_defects`` (malformed lines).
The Claude and Codex generators are mixins on top of it (``claude.py``, ``codex.py``).
"""

from __future__ import annotations

import math
import os
import random

from .output import Truth, Writer
from .vocab import B62, B64, CODE_SNIPPETS, DAY, WORDS, MiB


class GenCore:
    """The generator's state and the helpers its Claude and Codex parts share.

    Everything random comes from ``self.rng`` (one seeded ``random.Random``), in the
    order the generators call it: that order is what makes the output reproducible.
    """

    def __init__(self, out: str, seed: int, size_mb: float, end: float, days: float):
        self.out = os.path.abspath(out)
        self.rng = random.Random(seed)
        self.seed = seed
        self.target = int(size_mb * MiB)
        self.end = end
        self.start = end - days * DAY
        self.truth = Truth()
        self.bytes_claude = 0
        self.bytes_codex = 0
        self.files = 0
        self.stats = {"claude_main_files": 0, "claude_subagent_files_2_1": 0,
                      "claude_acompact_files": 0, "claude_sibling_agent_files_2_0": 0,
                      "claude_inline_sidechain_sessions_1_0": 0, "claude_resumed_sessions": 0,
                      "claude_copied_lines": 0, "claude_subagent_only_sessions": 0,
                      "claude_gateway_sessions_without_requestId": 0, "claude_synthetic_lines": 0,
                      "claude_lines": 0, "claude_progress_lines": 0, "claude_largest_line": 0,
                      "claude_tool_results_over_20k": 0, "claude_tool_results_over_300k": 0,
                      "codex_files": 0, "codex_lines": 0, "codex_token_count_events": 0,
                      "codex_repeated_token_count_events": 0, "defects": {}}
        self.resumable: dict[str, list] = {}  # cwd -> [(sid, path, end_t, ctx, parent_uuid)]
        self.main_index = 0
        self._build_pool()

    # ---------------------------------------------------------------- random helpers

    def _build_pool(self):
        rng = self.rng
        parts = []
        size = 0
        while size < 1_600_000:
            tpl = rng.choice(CODE_SNIPPETS)
            w, w2, w3 = rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS)
            line = tpl.format(w=w, w2=w2, w3=w3, W=w.capitalize(), W2=w2.capitalize(),
                              n=rng.randint(1, 9999), n2=rng.randint(10, 59))
            if rng.random() < 0.002:
                line += "\u2028" + rng.choice(WORDS)  # raw U+2028, as Claude Code writes it
            parts.append(line)
            size += len(line) + 1
        base = "\n".join(parts)
        self.pool = base * 3
        self.pool_n = len(base)
        self.b64 = "".join(rng.choices(B64, k=200_000))

    def text(self, n: int) -> str:
        n = max(1, int(n))
        off = self.rng.randrange(self.pool_n)
        while n > len(self.pool) - off:
            off //= 2
        return self.pool[off:off + n]

    def prose(self, lo: int, hi: int) -> str:
        n = self.rng.randint(lo, hi)
        words = self.rng.choices(WORDS, k=max(1, n // 6))
        return " ".join(words)[:n]

    def sig(self, n: int) -> str:
        off = self.rng.randrange(len(self.b64) - n)
        return self.b64[off:off + n]

    def uuid4(self) -> str:
        h = "%032x" % self.rng.getrandbits(128)
        return "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], "89ab"[int(h[16], 16) & 3],
                                      h[17:20], h[20:32])

    def b62(self, n: int) -> str:
        return "".join(self.rng.choices(B62, k=n))

    def hexs(self, n: int) -> str:
        return "%0*x" % (n, self.rng.getrandbits(4 * n))

    def lognorm(self, median: float, sigma: float, lo: float, hi: float) -> float:
        return min(hi, max(lo, median * math.exp(self.rng.gauss(0, sigma))))

    # ---------------------------------------------------------------- files

    def write_file(self, w: Writer, source: str, crlf=False, bom=False, final_newline=True,
                   tail: bytes = b""):
        if not w.lines and not tail:
            return
        os.makedirs(os.path.dirname(w.path), exist_ok=True)
        sep = b"\r\n" if crlf else b"\n"
        data = sep.join(w.lines)
        if final_newline and w.lines:
            data += sep
        if bom:
            data = b"\xef\xbb\xbf" + data
        data += tail
        big = max(map(len, w.lines)) if w.lines else 0
        if source == "claude" and big > self.stats["claude_largest_line"]:
            self.stats["claude_largest_line"] = big
        with open(w.path, "wb") as f:
            f.write(data)
        t = w.last_t or self.end
        os.utime(w.path, (t, t))
        self.files += 1
        if source == "claude":
            self.bytes_claude += len(data)
            self.stats["claude_lines"] += len(w.lines)
        else:
            self.bytes_codex += len(data)
            self.stats["codex_lines"] += len(w.lines)

    def defect(self, kind: str):
        d = self.stats["defects"]
        d[kind] = d.get(kind, 0) + 1

    def inject_defects(self, w: Writer, kinds: list[str]):
        """Malformed lines, built so that the ground truth does not depend on how a
        parser recovers from them, except `concat` (decode-in-a-loop recovers both
        objects, and the ground truth counts both, as the format doc says)."""
        rng = self.rng
        lines = w.lines
        n = len(lines)
        if n < 8:
            return
        no_usage = [i for i in range(1, n - 1) if b'"usage":{' not in lines[i]]
        for kind in kinds:
            if kind == "concat":  # two JSON objects on one line: ...}{...
                # both halves start with '{' so decode-in-a-loop recovers both objects
                both = [i for i in range(1, len(lines) - 1)
                        if lines[i].startswith(b"{") and lines[i + 1].startswith(b"{")]
                usage = [i for i in both if b'"type":"assistant","uuid"' in lines[i]]
                pick = usage if (usage and rng.random() < 0.7) else both
                if not pick:
                    continue
                i = rng.choice(pick)
                lines[i] = lines[i] + lines[i + 1]
                del lines[i + 1]
            elif kind == "truncated_splice" and no_usage:
                # a record cut mid-way with the next (usage-free) record glued on
                i = rng.choice(no_usage)
                if i >= len(lines):
                    continue
                src = lines[rng.choice(no_usage)] if rng.random() < 0.5 else lines[i]
                cut = rng.randint(len(src) // 4, max(len(src) // 4 + 1, len(src) * 9 // 10))
                if b'"usage":{' in lines[i]:
                    continue
                lines[i] = src[:cut] + lines[i]
            elif kind == "nul_run":
                i = rng.randrange(1, len(lines))
                lines.insert(i, b"\x00" * rng.randint(64, 4096))
            elif kind == "nul_prefix" and no_usage:
                i = rng.choice(no_usage)
                if i >= len(lines) or b'"usage":{' in lines[i]:
                    continue
                lines[i] = b"\x00" * rng.randint(16, 512) + lines[i]
            else:
                continue
            w.defects.append(kind)
            self.defect(kind)
