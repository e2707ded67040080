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

Counting rules used for EXPECTED.json (the format doc's rules):
  Claude: one API call per (message.id, requestId); its tokens are the input/cache
    counts (repeated on every line of the response) and the *final* output snapshot;
    cache_write = 5m + 1h; usage inside ``progress`` lines and ``toolUseResult.usage``
    is never counted; sub-agent calls (all layouts, ``acompact`` included) roll into the
    parent sessionId; a call copied into a resumed session's file counts once, in the
    session where it first happened; ``<synthetic>`` lines are no calls.
  Codex: one API call per ``token_count`` event whose ``total_token_usage`` differs
    from the previous event's; input = input - cached, cache_read = cached,
    cache_write = 0, output = output (reasoning included).

Only the standard library and orjson (falls back to json) are needed.
"""

from __future__ import annotations

import argparse
import calendar
import math
import os
import random
import string
import sys
import time

try:
    import orjson

    def dumps(obj) -> bytes:
        return orjson.dumps(obj)

    def loads(b):
        return orjson.loads(b)

except ImportError:  # pragma: no cover - the project venv has orjson
    import json

    def dumps(obj) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()

    def loads(b):
        return json.loads(b)


MiB = 1024 * 1024
DAY = 86400.0
B62 = string.digits + string.ascii_letters
B64 = string.ascii_letters + string.digits + "+/"

MAIN_MODELS = (["claude-opus-4-6"] * 75 + ["claude-sonnet-4-5-20250929"] * 20
               + ["claude-haiku-4-5-20251001"] * 5)
SUB_MODELS = (["claude-sonnet-4-5-20250929"] * 45 + ["claude-haiku-4-5-20251001"] * 35
              + ["claude-opus-4-6"] * 20)
OLD_MODELS = ["claude-sonnet-4-20250514"] * 7 + ["claude-opus-4-1-20250805"] * 3
CODEX_MODELS = (["gpt-5.3-codex"] * 60 + ["gpt-5.2-codex"] * 15 + ["gpt-5.2"] * 15
                + ["gpt-5.1-codex-mini"] * 10)
VERSIONS = {
    "2.1": ["2.1.31", "2.1.38", "2.1.39", "2.1.42", "2.1.45"],
    "2.0": ["2.0.55", "2.0.62", "2.0.76"],
    "1.0": ["1.0.98", "1.0.108", "1.0.120"],
}

# (cwd, weight). Two cwds collide on purpose: foo-bar and foo_bar encode to the same
# folder name (the encoding is lossy; the project path must come from `cwd`).
PROJECTS = [
    ("/home/dev/src/tokdash", 14), ("/home/dev/src/api-gateway", 11),
    ("/home/dev/src/web-frontend", 10), ("/home/dev/src/ml-pipeline", 8),
    ("/home/dev/src/infra/terraform", 6), ("/home/dev/src/mobile-app", 5),
    ("/home/dev/src/mobile_app", 3), ("/home/dev/work/billing.service", 5),
    ("/home/dev/Проекты/заметки", 3), ("/home/dev/src/docs site", 3),
    ("/Users/alex/code/ios-client", 4), ("/home/dev/.dotfiles", 2),
    ("/home/dev/src/data-lake", 4), ("/home/dev/src/rust-cli", 5),
    ("/home/dev/src/go-service", 4), ("/home/dev/src/monorepo/packages/ui", 5),
    ("/home/dev/src/monorepo/packages/core", 5), ("/tmp/scratch", 2),
    ("/home/dev/src/legacy-php", 2), ("C:\\Users\\dev\\src\\winapp", 2),
]
BRANCHES = ["main", "main", "main", "", "feat/session-view", "fix/dedup-1234", "develop",
            "spike/faster-parse", "release/0.4"]
CODEX_CWDS = ["/home/dev/src/api-gateway", "/home/dev/src/rust-cli", "/home/dev/src/tokdash",
              "/home/dev/src/go-service", "/home/dev/src/web-frontend", "/home/dev/src/data-lake",
              "/Users/alex/code/ios-client"]

WORDS = (
    "the a to of and in is it for on with as that this be by are from at or an not we "
    "config value result error request response session token cache parse file line read "
    "write update return import def class self data model index path user agent output "
    "input usage total count store query table row column schema field key map list dict "
    "async await yield lambda None True False int str bytes float test assert fixture mock "
    "server client handler router middleware deploy build lint format check release branch"
).split()
CODE_SNIPPETS = [
    "def {w}_{w2}(self, {w3}: int) -> None:", "    return {w}.{w2}({w3})",
    "import {w}", "from {w}.{w2} import {w3}", "class {W}{W2}:", "    {w} = {w2}[{n}]",
    "if {w} is None:", "        raise ValueError(\"{w} {w2}\")", "for {w} in {w2}:",
    "PASSED tests/test_{w}.py::test_{w2}_{w3}", "FAILED tests/test_{w}.py::test_{w2} - AssertionError",
    "  File \"/home/dev/src/{w}/{w2}.py\", line {n}, in {w3}",
    "{{\"{w}\": {n}, \"{w2}\": \"{w3}\"}}", "const {w} = await {w2}.{w3}({n});",
    "fn {w}_{w2}(&self) -> Result<{W}, Error> {{", "SELECT {w}, {w2} FROM {w3} WHERE id = {n};",
    "drwxr-xr-x  {n} dev dev 4096 Feb {n2} 10:{n2} {w}", "-rw-r--r--  1 dev dev {n} Feb {n2} {w}.py",
    "// TODO({w}): {w2} the {w3} before release", "# {W} {w2} {w3} — naïve café 日本語 ✓",
    "{w}: {w2} → {w3} (Ελληνικά, emoji 🚀)", "\x1b[32m✓\x1b[0m {w} {w2} ({n}ms)",
    "[bold]{w}[/bold] {w2} [red]{w3}[/red]", "\t{w}\\{w2}\\{w3}.rs:{n}:{n2}",
]


def encode_cwd(cwd: str) -> str:
    return "".join(c if (c.isascii() and c.isalnum()) else "-" for c in cwd)


def iso(t: float) -> str:
    s = int(t)
    g = time.gmtime(s)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
        g.tm_year, g.tm_mon, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec, int((t - s) * 1000))


# --------------------------------------------------------------------------- truth


class Truth:
    """Ground truth, fed by the generator when it creates each API call."""

    FIELDS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_write_5m_tokens",
              "cache_write_1h_tokens", "cache_read_tokens", "api_calls")

    def __init__(self):
        self.sessions: dict[str, dict] = {}

    def session(self, sid: str, source: str, **meta) -> dict:
        s = self.sessions.get(sid)
        if s is None:
            s = {"source": source, **{f: 0 for f in self.FIELDS}, "models": {}, **meta}
            self.sessions[sid] = s
        return s

    def add(self, sid, source, model, inp, out, c5, c1h, cr):
        s = self.sessions[sid]
        s["input_tokens"] += inp
        s["output_tokens"] += out
        s["cache_write_tokens"] += c5 + c1h
        s["cache_write_5m_tokens"] += c5
        s["cache_write_1h_tokens"] += c1h
        s["cache_read_tokens"] += cr
        s["api_calls"] += 1
        m = s["models"].get(model)
        if m is None:
            m = s["models"][model] = {"input_tokens": 0, "output_tokens": 0,
                                      "cache_write_tokens": 0, "cache_read_tokens": 0,
                                      "api_calls": 0}
        m["input_tokens"] += inp
        m["output_tokens"] += out
        m["cache_write_tokens"] += c5 + c1h
        m["cache_read_tokens"] += cr
        m["api_calls"] += 1


# --------------------------------------------------------------------------- output


class Writer:
    """Collects the lines of one file; written out (with optional defects) at close."""

    def __init__(self, path: str):
        self.path = path
        self.lines: list[bytes] = []
        self.last_t = 0.0
        self.defects: list[str] = []

    def emit(self, obj, t: float):
        self.lines.append(dumps(obj))
        if t > self.last_t:
            self.last_t = t


class NullWriter(Writer):
    def emit(self, obj, t):
        pass


# --------------------------------------------------------------------------- generator


class Gen:
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

    # ---------------------------------------------------------------- claude

    def gen_claude(self, budget: int):
        rng = self.rng
        cwds = [c for c, _ in PROJECTS]
        weights = [wt for _, wt in PROJECTS]
        while self.bytes_claude < budget:
            remaining = budget - self.bytes_claude
            r = rng.random()
            if r < 0.07:
                n = int(self.lognorm(150, 0.5, 60, 450))
            else:
                n = int(self.lognorm(8, 0.8, 3, 80))
            n = max(3, min(n, remaining // 30_000 + 3))  # ~20-30 KB per main call, sub-agents incl.
            # marathon sessions (thousands of calls, files of tens of MB) in a full-size corpus
            if self.main_index == 6 and remaining > 80 * MiB:
                n = 1700
            elif self.main_index == 60 and remaining > 50 * MiB:
                n = 800
            era_r = rng.random()
            era = "2.1" if era_r < 0.75 else ("2.0" if era_r < 0.90 else "1.0")
            cwd = rng.choices(cwds, weights)[0]
            self.claude_session(cwd, era, n)

    def claude_session(self, cwd: str, era: str, n_calls: int):
        rng = self.rng
        self.main_index += 1
        idx = self.main_index
        sid = self.uuid4()
        proj_dir = os.path.join(self.out, "claude", "projects", encode_cwd(cwd))
        # rough duration to place the session inside the window
        est = n_calls * 80.0
        t0 = rng.uniform(self.start, max(self.start + 1, self.end - est - 3600))
        resume = None
        if era == "2.1" and (rng.random() < 0.08 or idx % 40 == 12) and self.resumable.get(cwd):
            cand = rng.choice(self.resumable[cwd])
            t_res = cand[2] + rng.uniform(600, 2 * DAY)
            if t_res + est < self.end:
                resume = cand
                t0 = t_res
        drop_main = era == "2.1" and idx % 97 == 20  # only the sub-agent folder survives
        gateway = era == "2.1" and idx % 113 == 7  # Bedrock/gateway: no requestId
        s = Sess(self, sid, cwd, proj_dir, era, t0, gateway)
        self.truth.session(sid, "claude", cwd=cwd, project_dir=encode_cwd(cwd), era=era,
                           version=s.version)
        main_path = os.path.join(proj_dir, sid + ".jsonl")
        main_w: Writer = NullWriter(main_path) if drop_main else Writer(main_path)
        main = Conv(self, s, main_w, sidechain=False, agent_id=None, model=s.model,
                    count=not drop_main, kind="main")
        if drop_main:
            self.stats["claude_subagent_only_sessions"] += 1
            main.force_task = True
        if gateway:
            self.stats["claude_gateway_sessions_without_requestId"] += 1
        if era == "1.0":
            self.stats["claude_inline_sidechain_sessions_1_0"] += 1

        if resume is not None:
            self.copy_resumed(main, resume)
        if rng.random() < (0.7 if era == "1.0" else 0.12):
            for _ in range(rng.randint(1, 3)):
                main_w.emit({"type": "summary", "summary": self.title(), "leafUuid": self.uuid4()}, s.t)
        if era == "2.1" and resume is None:
            main.progress({"type": "hook_progress", "hookEvent": "SessionStart",
                           "hookName": "SessionStart:startup",
                           "command": "/home/dev/.claude/hooks/session-start.sh"},
                          tool_use_id=self.uuid4(), parent_tool=None)
        left = n_calls
        titled = False
        compact_at = rng.uniform(140_000, 175_000)
        half_version = n_calls > 300
        while left > 0:
            k = min(left, max(1, int(self.lognorm(7, 0.8, 1, 60))))
            main.user_prompt()
            main.turn(k, allow_task=True)
            left -= k
            if half_version and left < n_calls // 2:
                half_version = False
                vs = VERSIONS[era]
                s.version = vs[min(len(vs) - 1, vs.index(s.version) + 1)] if s.version in vs else s.version
            main.turn_end()
            if not titled and rng.random() < 0.06:
                titled = True
                main_w.emit({"type": "custom-title", "customTitle": self.title(hostile=True),
                             "sessionId": sid}, s.t)
            if rng.random() < 0.012:
                main.synthetic()
            if era != "1.0" and rng.random() < 0.05:
                main_w.emit({"type": "queue-operation", "operation": "enqueue", "timestamp": iso(s.t),
                             "sessionId": sid, "content": self.prose(40, 400)}, s.t)
            if main.ctx > compact_at:
                main.compact()
                compact_at = rng.uniform(140_000, 175_000)
            # idle time between turns; sometimes long enough for the cache to expire
            r = rng.random()
            s.t += rng.expovariate(1 / 90) if r < 0.94 else rng.uniform(600, 3 * 3600)

        # defects (deterministic schedule so small corpora still get every kind)
        crlf = bom = False
        final_newline = True
        tail = b""
        if not drop_main and main_w.lines:
            slot = idx % 15
            if slot == 3:
                self.inject_defects(main_w, ["concat"])
            elif slot == 5:
                self.inject_defects(main_w, ["truncated_splice", "nul_run"])
            elif slot == 8:
                self.inject_defects(main_w, ["nul_prefix", "concat"])
            elif slot == 10 and idx % 2 == 0:
                final_newline = False
                self.defect("no_final_newline")
            elif slot == 10:
                hp = [ln for ln in main_w.lines if b'"hook_progress"' in ln or b'"file-history-snapshot"' in ln]
                if hp:
                    src = rng.choice(hp)
                    tail = src[: len(src) // 2]
                    self.defect("truncated_last_line")
            elif slot == 12 and idx % 4 == 0 and b'"usage":{' not in main_w.lines[0]:
                bom = True
                self.defect("bom")
            elif slot == 12 and idx % 4 == 2:
                crlf = True
                self.defect("crlf")
        if drop_main and not any(w.lines for w in s.sub_writers):
            del self.truth.sessions[sid]  # nothing of it reached the disk
            self.stats["claude_subagent_only_sessions"] -= 1
        if not drop_main:
            self.write_file(main_w, "claude", crlf=crlf, bom=bom, final_newline=final_newline, tail=tail)
            self.stats["claude_main_files"] += 1
            if era == "2.1" and not gateway:
                self.resumable.setdefault(cwd, []).append(
                    (sid, main_path, main_w.last_t, main.ctx, main.parent))
        for w in s.sub_writers:
            self.write_file(w, "claude")

    def copy_resumed(self, main: "Conv", resume):
        """Copy the earlier session's conversation into the new file, as Claude Code does
        on resume: same message.id/requestId/uuid/timestamps, and the lines keep the
        *original* sessionId (a resumed file holds two session ids; its own new lines
        carry the new one)."""
        _old_sid, path, end_t, ctx, _ = resume
        s = main.s
        with open(path, "rb") as f:
            data = f.read()
        n = 0
        last_uuid = None
        for raw in data.split(b"\n"):
            raw = raw.strip(b"\r")
            if not raw or raw.startswith(b"\xef"):
                continue
            try:
                d = loads(raw)
            except ValueError:
                continue
            if d.get("type") not in ("user", "assistant", "system") or d.get("isSidechain"):
                continue
            main.w.emit(d, 0.0)
            last_uuid = d.get("uuid", last_uuid)
            n += 1
        main.parent = last_uuid
        main.ctx = ctx
        main.pending = self.rng.randint(200, 3000)
        main.last_call_t = end_t
        self.stats["claude_resumed_sessions"] += 1
        self.stats["claude_copied_lines"] += n

    def title(self, hostile=False) -> str:
        rng = self.rng
        t = " ".join(w.capitalize() for w in rng.choices(WORDS, k=rng.randint(2, 6)))
        if hostile and rng.random() < 0.5:
            t = rng.choice(["[bold red]", "\x1b[31m", "[link=http://x]", "\x1b]0;pwn\x07"]) + t
        return t

    # ---------------------------------------------------------------- codex

    def gen_codex(self, budget: int):
        while self.bytes_codex < budget:
            remaining = budget - self.bytes_codex
            n = int(self.lognorm(45, 0.9, 4, 900))
            n = max(3, min(n, remaining // 6_000 + 3))
            self.codex_session(n)

    def codex_session(self, n_calls: int):
        rng = self.rng
        t = rng.uniform(self.start, self.end - n_calls * 20 - 3600)
        ms = int(t * 1000)
        h = "%020x" % rng.getrandbits(80)
        sid = "%08x-%04x-7%s-%s%s-%s" % (ms >> 16, ms & 0xFFFF, h[:3], "89ab"[int(h[3], 16) & 3],
                                         h[4:7], h[7:19])
        g = time.gmtime(int(t))
        path = os.path.join(self.out, "codex", "sessions", "%04d" % g.tm_year, "%02d" % g.tm_mon,
                            "%02d" % g.tm_mday,
                            "rollout-%04d-%02d-%02dT%02d-%02d-%02d-%s.jsonl" % (
                                g.tm_year, g.tm_mon, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec, sid))
        cwd = rng.choice(CODEX_CWDS)
        model = rng.choice(CODEX_MODELS)
        switch_at = rng.randint(1, n_calls) if rng.random() < 0.12 else -1
        self.truth.session(sid, "codex", cwd=cwd, path=os.path.relpath(path, self.out))
        w = Writer(path)
        desktop = rng.random() < 0.4

        def ev(typ, payload):
            w.emit({"timestamp": iso(t), "type": typ, "payload": payload}, t)

        ev("session_meta", {
            "id": sid, "timestamp": iso(t - 6), "cwd": cwd,
            "originator": "Codex Desktop" if desktop else "codex_cli_rs",
            "cli_version": rng.choice(["0.104.0", "0.104.0-alpha.1", "0.101.0"]),
            "source": "vscode" if desktop else "cli", "model_provider": "openai",
            "base_instructions": {"text": self.text(rng.randint(9_000, 14_000))},
            "git": {"commit_hash": self.hexs(40), "branch": rng.choice(BRANCHES) or "main",
                    "repository_url": "git@github.com:dev/%s.git" % os.path.basename(cwd)}})
        ev("response_item", {"type": "message", "role": "developer",
                             "content": [{"type": "input_text", "text": self.text(rng.randint(2500, 4000))}]})
        ev("response_item", {"type": "message", "role": "user",
                             "content": [{"type": "input_text", "text": self.text(rng.randint(1500, 3500))}]})
        tot = {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0,
               "reasoning_output_tokens": 0, "total_tokens": 0}
        prim = rng.uniform(0, 30)
        sec = rng.uniform(0, 60)
        resets1 = int(t) + rng.randint(3600, 18000)
        resets2 = int(t) + rng.randint(86400, 7 * 86400)

        def rate_limits():
            return {"limit_id": "codex", "limit_name": None,
                    "primary": {"used_percent": round(prim, 1), "window_minutes": 300, "resets_at": resets1},
                    "secondary": {"used_percent": round(sec, 1), "window_minutes": 10080, "resets_at": resets2},
                    "credits": {"has_credits": False, "unlimited": False, "balance": None},
                    "plan_type": None}

        ctx = rng.randint(9_000, 16_000)
        new = 0
        done = 0
        first = True
        s_truth = self.truth.sessions[sid]
        while done < n_calls:
            k = min(n_calls - done, max(1, int(self.lognorm(8, 0.8, 1, 50))))
            turn_id = self.uuid4()
            t += rng.uniform(5, 600)

            def turn_context():
                ev("turn_context", {
                    "turn_id": turn_id, "cwd": cwd, "approval_policy": "on-request",
                    "sandbox_policy": {"type": "workspace-write", "writable_roots": [cwd],
                                       "network_access": False, "exclude_tmpdir_env_var": False,
                                       "exclude_slash_tmp": False},
                    "model": model, "personality": "pragmatic",
                    "collaboration_mode": {"mode": "default", "settings": {
                        "model": model, "reasoning_effort": "high",
                        "developer_instructions": self.prose(300, 800)}},
                    "effort": "high", "summary": "auto",
                    "user_instructions": self.prose(500, 1500),
                    "truncation_policy": {"mode": "tokens", "limit": 10000}})

            ev("event_msg", {"type": "task_started", "turn_id": turn_id, "model_context_window": 258400,
                             "collaboration_mode_kind": "default"})
            turn_context()
            prompt = self.prose(20, 1500)
            ev("response_item", {"type": "message", "role": "user",
                                 "content": [{"type": "input_text", "text": prompt}]})
            ev("event_msg", {"type": "user_message", "message": prompt, "images": [],
                             "local_images": [], "text_elements": []})
            new += len(prompt) // 4 + 20
            if first:
                first = False
                ev("event_msg", {"type": "token_count", "info": None, "rate_limits": rate_limits()})
            for j in range(k):
                if done == switch_at:
                    model = rng.choice(CODEX_MODELS)
                if rng.random() < 0.5:
                    turn_context()
                last = j == k - 1
                t += self.lognorm(6, 0.8, 0.5, 120)
                if rng.random() < 0.85:
                    summ = self.prose(20, 200)
                    ev("response_item", {"type": "reasoning", "summary": [{"type": "summary_text", "text": summ}],
                                         "content": None,
                                         "encrypted_content": "gAAAAAB" + self.sig(rng.randint(800, 6000))})
                    if rng.random() < 0.9:
                        ev("event_msg", {"type": "agent_reasoning", "text": summ})
                out = int(self.lognorm(250, 1.0, 8, 12_000))
                reasoning = int(out * rng.uniform(0.1, 0.8))
                if last or rng.random() < 0.15:
                    msg = self.prose(40, 2500)
                    phase = "final_answer" if last else "commentary"
                    ev("event_msg", {"type": "agent_message", "message": msg})
                    ev("response_item", {"type": "message", "role": "assistant",
                                         "content": [{"type": "output_text", "text": msg}], "phase": phase})
                    tool_out = ""
                else:
                    call_id = "call_" + self.b62(24)
                    if rng.random() < 0.8:
                        args = dumps({"cmd": self.text(rng.randint(10, 160)).replace("\n", " "),
                                      "workdir": cwd, "yield_time_ms": 10000,
                                      "max_output_tokens": 10000}).decode()
                        ev("response_item", {"type": "function_call", "name": "exec_command",
                                             "arguments": args, "call_id": call_id})
                        r = rng.random()
                        size = (rng.randint(20_000, 120_000) if r < 0.03 else
                                int(self.lognorm(1500, 1.1, 30, 20_000)))
                        tool_out = ("Chunk ID: %s\nWall time: %.4f seconds\nProcess exited with code %d\n"
                                    "Original token count: %d\nOutput:\n%s" % (
                                        self.hexs(6), rng.uniform(0.01, 30), rng.choice([0, 0, 0, 1]),
                                        size // 4, self.text(size)))
                        t += self.lognorm(2, 1.0, 0.05, 120)
                        ev("response_item", {"type": "function_call_output", "call_id": call_id,
                                             "output": tool_out})
                    else:
                        patch = self.text(rng.randint(300, 8000))
                        ev("response_item", {"type": "custom_tool_call", "status": "completed",
                                             "call_id": call_id, "name": "apply_patch",
                                             "input": "*** Begin Patch\n" + patch + "\n*** End Patch"})
                        tool_out = dumps({"output": "Success. Updated the following files:\nM " + cwd + "/x.py\n",
                                          "metadata": {"exit_code": 0, "duration_seconds": 0.0}}).decode()
                        ev("response_item", {"type": "custom_tool_call_output", "call_id": call_id,
                                             "output": tool_out})
                # usage of this request
                if rng.random() < 0.08:
                    cached = 0  # cache miss
                else:
                    cached = (ctx // 128) * 128
                inp = ctx + new
                last_u = {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out,
                          "reasoning_output_tokens": reasoning, "total_tokens": inp + out}
                for key in tot:
                    tot[key] += last_u[key]
                ctx = inp + out
                new = len(tool_out) // 4 + 10
                prim = min(100.0, prim + rng.uniform(0, 0.4))
                sec = min(100.0, sec + rng.uniform(0, 0.08))
                info = {"total_token_usage": dict(tot), "last_token_usage": last_u,
                        "model_context_window": 258400}
                ev("event_msg", {"type": "token_count", "info": info, "rate_limits": rate_limits()})
                self.stats["codex_token_count_events"] += 1
                self.truth.add(sid, "codex", model, inp - cached, out, 0, 0, cached)
                if rng.random() < 0.95:  # the duplicate emit (~half of all events repeat a total)
                    t += rng.uniform(0.05, 2)
                    ev("event_msg", {"type": "token_count", "info": info, "rate_limits": rate_limits()})
                    self.stats["codex_token_count_events"] += 1
                    self.stats["codex_repeated_token_count_events"] += 1
                done += 1
                if ctx > 200_000 and rng.random() < 0.7:
                    ev("compacted", {"message": "", "replacement_history": [
                        {"type": "message", "role": "user",
                         "content": [{"type": "input_text", "text": self.prose(20, 300)}]},
                        {"type": "message", "role": "assistant",
                         "content": [{"type": "output_text", "text": self.text(rng.randint(2000, 8000))}],
                         "phase": "final_answer"}]})
                    ev("event_msg", {"type": "context_compacted"})
                    ctx = rng.randint(12_000, 25_000)
            ev("event_msg", {"type": "task_complete", "turn_id": turn_id,
                             "last_agent_message": self.prose(40, 800)})
        self.write_file(w, "codex")
        self.stats["codex_files"] += 1

    # ---------------------------------------------------------------- run

    def run(self):
        t0 = time.perf_counter()
        claude_budget = int(self.target * 0.9)
        self.gen_claude(claude_budget)
        self.gen_codex(self.target - claude_budget)
        elapsed = time.perf_counter() - t0
        self.write_expected(elapsed)
        return elapsed

    def write_expected(self, elapsed):
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
            "counting_rules": __doc__.split("Counting rules used for EXPECTED.json (the format doc's rules):")[1]
            .split("Only the standard library")[0].strip(),
            "stats": self.stats,
            "totals": totals,
            "sessions": dict(sorted(sessions.items())),
        }
        with open(os.path.join(self.out, "EXPECTED.json"), "wb") as f:
            try:
                f.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
            except NameError:  # pragma: no cover
                f.write(dumps(doc))


class Sess:
    """Per-session state shared by the main conversation and its sub-agents."""

    def __init__(self, g: Gen, sid, cwd, proj_dir, era, t0, gateway):
        rng = g.rng
        self.g = g
        self.sid = sid
        self.cwd = cwd
        self.proj_dir = proj_dir
        self.era = era
        self.t = t0
        self.gateway = gateway
        self.version = rng.choice(VERSIONS[era])
        self.branch = rng.choice(BRANCHES)
        self.slug = "-".join(rng.choices(WORDS, k=3))
        self.model = rng.choice(OLD_MODELS if era == "1.0" else MAIN_MODELS)
        r = rng.random()
        if era == "1.0":
            self.cache_mode = "5m"
            self.no_cache_creation = rng.random() < 0.3  # old lines without the 5m/1h split
        else:
            self.cache_mode = "1h" if r < 0.7 else ("5m" if r < 0.9 else "mixed")
            self.no_cache_creation = False
        self.sub_writers: list[Writer] = []
        self.sys_tokens = rng.randint(12_000, 22_000)


TOOLS_MAIN = (["Bash"] * 34 + ["Edit"] * 18 + ["Read"] * 18 + ["Grep"] * 6 + ["Write"] * 5
              + ["Glob"] * 3 + ["Task"] * 3 + ["mcp__github__get_issue"] * 2
              + ["mcp__playwright__browser_snapshot"] * 2 + ["WebFetch"] * 1 + ["TodoWrite"] * 3)
TOOLS_SUB = [t for t in TOOLS_MAIN if t not in ("Task", "TodoWrite", "Write")]


class Conv:
    """One conversation thread writing to one file: a main session or a sub-agent."""

    def __init__(self, g: Gen, s: Sess, w: Writer, *, sidechain: bool, agent_id, model: str,
                 count: bool, kind: str, mirror=None):
        self.g = g
        self.s = s
        self.w = w
        self.sidechain = sidechain
        self.agent_id = agent_id
        self.model = model
        self.count = count
        self.kind = kind
        self.mirror = mirror
        self.parent = None
        self.ctx = 0
        self.pending = s.sys_tokens if kind == "main" else g.rng.randint(5_000, 12_000)
        self.ncalls = 0
        self.tool_uses = 0
        self.last_usage = None
        self.last_call_t = None
        self.final_text = ""
        self.turn_start = s.t
        self.force_task = False

    # ------------------------------------------------------------ line builders

    def head(self) -> dict:
        s = self.s
        d = {"parentUuid": self.parent, "isSidechain": self.sidechain, "userType": "external",
             "cwd": s.cwd, "sessionId": s.sid, "version": s.version, "gitBranch": s.branch}
        if self.agent_id is not None:
            d["agentId"] = self.agent_id
        if s.era == "2.1":
            d["slug"] = s.slug
        return d

    def put(self, d: dict, mirror=True):
        self.w.emit(d, self.s.t)
        self.parent = d["uuid"]
        if mirror and self.mirror is not None:
            self.mirror(d)

    def tick(self, lo, hi):
        self.s.t += self.g.rng.uniform(lo, hi)

    def progress(self, data: dict, tool_use_id, parent_tool):
        if self.s.era == "1.0":
            return
        d = self.head()
        d["type"] = "progress"
        d["data"] = data
        d["toolUseID"] = tool_use_id
        d["parentToolUseID"] = parent_tool or tool_use_id
        d["uuid"] = self.g.uuid4()
        d["timestamp"] = iso(self.s.t)
        self.w.emit(d, self.s.t)
        self.g.stats["claude_progress_lines"] += 1

    def user_prompt(self, text: str | None = None, meta=False):
        g, s = self.g, self.s
        rng = g.rng
        self.tick(2, 60)
        if text is None:
            r = rng.random()
            text = (g.prose(10, 300) if r < 0.7 else g.prose(300, 2000) if r < 0.95
                    else g.prose(200, 800) + "\n```\n" + g.text(rng.randint(2000, 20000)) + "\n```")
        d = self.head()
        d["type"] = "user"
        content = text if (rng.random() < 0.8 or self.kind != "main") else [{"type": "text", "text": text}]
        d["message"] = {"role": "user", "content": content}
        if meta:
            d["isMeta"] = True
        d["uuid"] = g.uuid4()
        d["timestamp"] = iso(s.t)
        if self.kind == "main" and s.era != "1.0":
            d["thinkingMetadata"] = {"maxThinkingTokens": 31999}
            d["todos"] = []
            d["permissionMode"] = rng.choice(["default", "acceptEdits", "bypassPermissions"])
        self.pending += len(text) // 4 + 10
        if self.kind == "main" and s.era != "1.0":
            self.w.emit({"type": "file-history-snapshot", "messageId": d["uuid"],
                         "snapshot": {"messageId": d["uuid"], "trackedFileBackups": self.backups(),
                                      "timestamp": iso(s.t)}, "isSnapshotUpdate": False}, s.t)
        if self.kind == "main" and s.era == "2.1":
            self.progress({"type": "hook_progress", "hookEvent": "UserPromptSubmit",
                           "hookName": "UserPromptSubmit", "command": "/home/dev/.claude/hooks/prompt.sh"},
                          g.uuid4(), None)
        self.put(d)
        self.turn_start = s.t

    def backups(self) -> dict:
        g = self.g
        out = {}
        for _ in range(g.rng.randint(0, 8)):
            out["src/%s/%s.py" % (g.rng.choice(WORDS), g.rng.choice(WORDS))] = {
                "backupFileName": "%s@v%d" % (g.hexs(16), g.rng.randint(1, 9)),
                "version": g.rng.randint(1, 9), "backupTime": iso(self.s.t)}
        return out

    # ------------------------------------------------------------ API calls

    def turn(self, k: int, allow_task: bool):
        rng = self.g.rng
        for j in range(k):
            last = j == k - 1
            tools = []
            if not last:
                nt = 1 if rng.random() < 0.8 else rng.randint(2, 4)
                pool = TOOLS_MAIN if allow_task else TOOLS_SUB
                tools = [rng.choice(pool) for _ in range(nt)]
                if self.force_task:
                    self.force_task = False
                    tools = ["Task"]
                if tools.count("Task") > 1:
                    tools = [t if t != "Task" else "Read" for t in tools]
                    tools[0] = "Task"
            self.response(tools, last)

    def response(self, tools: list[str], last: bool):
        g, s = self.g, self.s
        rng = g.rng
        blocks = []
        if rng.random() < (0.55 if self.model.startswith("claude-opus") else 0.3):
            blocks.append({"type": "thinking", "thinking": g.prose(80, 2500),
                           "signature": g.sig(rng.randint(200, 1400))})
        if last or rng.random() < 0.6:
            blocks.append({"type": "text", "text": g.prose(20, 2500) if last else g.prose(10, 500)})
        tool_blocks = []
        for name in tools:
            b = {"type": "tool_use", "id": "toolu_01" + g.b62(22), "name": name, "input": self.tool_input(name)}
            if s.era == "2.1":
                b["caller"] = {"type": "direct"}
            blocks.append(b)
            tool_blocks.append(b)
        if not blocks:
            blocks.append({"type": "text", "text": g.prose(10, 200)})
        # usage of this call
        self.tick(1.5, 9)
        expire = 300 if s.cache_mode == "5m" else 3600
        pend = self.pending + rng.randint(0, 60)
        if self.ncalls == 0 and self.ctx == 0:
            cr = s.sys_tokens if (self.kind == "main" and rng.random() < 0.6) else 0
            cr = min(cr, pend)
            cc = pend - cr
        elif self.last_call_t is not None and s.t - self.last_call_t > expire:
            cr = 0
            cc = self.ctx + pend
        else:
            cr = self.ctx
            cc = pend
        inp = rng.randint(1, 12) if rng.random() < 0.93 else rng.randint(50, 4000)
        out = int(g.lognorm(180 if tools else 450, 1.0, 1, 24_000))
        if s.cache_mode == "1h":
            c5, c1 = 0, cc
        elif s.cache_mode == "5m":
            c5, c1 = cc, 0
        else:
            c1 = int(cc * rng.random())
            c5 = cc - c1
        mid = "msg_01" + g.b62(22)
        rid = None if s.gateway else "req_011C" + g.b62(20)
        nb = len(blocks)
        snaps = sorted(rng.randint(1, max(1, out)) for _ in range(nb - 1)) + [out]
        if nb > 1 and rng.random() < 0.5:
            snaps[0] = min(snaps[0], rng.randint(1, 10))  # placeholder-sized first snapshot
        usage_final = None
        for i, b in enumerate(blocks):
            u = {"input_tokens": inp, "cache_creation_input_tokens": cc, "cache_read_input_tokens": cr}
            if not s.no_cache_creation:
                u["cache_creation"] = {"ephemeral_5m_input_tokens": c5, "ephemeral_1h_input_tokens": c1}
            u["output_tokens"] = snaps[i]
            u["service_tier"] = "standard"
            if s.era == "2.1":
                u["inference_geo"] = "not_available"
            lastb = i == nb - 1
            if s.era == "1.0":
                msg = {"id": mid, "type": "message", "role": "assistant", "model": self.model}
            else:
                msg = {"model": self.model, "id": mid, "type": "message", "role": "assistant"}
            msg["content"] = [b]
            msg["stop_reason"] = ("end_turn" if last else "tool_use") if (lastb and s.era != "2.1") else None
            msg["stop_sequence"] = None
            msg["usage"] = u
            d = self.head()
            d["message"] = msg
            if rid is not None:
                d["requestId"] = rid
            d["type"] = "assistant"
            d["uuid"] = g.uuid4()
            d["timestamp"] = iso(s.t)
            self.put(d)
            usage_final = u
            if not lastb:
                self.tick(0.2, 3)
        self.ncalls += 1
        self.last_call_t = s.t
        self.last_usage = usage_final
        self.ctx = cr + cc + inp
        self.pending = out
        if self.count:
            g.truth.add(s.sid, "claude", self.model, inp, out, c5, c1, cr)
        if last:
            self.final_text = blocks[-1].get("text", "")
        for b in tool_blocks:
            self.tool_result(b)
        self.tool_uses += len(tool_blocks)

    def tool_input(self, name: str) -> dict:
        g = self.g
        rng = g.rng
        fp = "%s/src/%s/%s.py" % (self.s.cwd, rng.choice(WORDS), rng.choice(WORDS))
        if name == "Bash":
            return {"command": g.text(rng.randint(10, 200)).replace("\n", " && "),
                    "description": g.prose(10, 60)}
        if name == "Read":
            return {"file_path": fp} if rng.random() < 0.7 else {"file_path": fp, "offset": rng.randint(1, 900),
                                                                   "limit": 200}
        if name == "Edit":
            return {"replace_all": False, "file_path": fp, "old_string": g.text(rng.randint(20, 1500)),
                    "new_string": g.text(rng.randint(20, 2500))}
        if name == "Write":
            return {"file_path": fp, "content": g.text(rng.randint(300, 12_000))}
        if name == "Grep":
            return {"pattern": rng.choice(WORDS) + ".*" + rng.choice(WORDS), "path": self.s.cwd,
                    "output_mode": rng.choice(["content", "files_with_matches"]), "-n": True}
        if name == "Glob":
            return {"pattern": "**/*.%s" % rng.choice(["py", "ts", "rs", "md"])}
        if name == "Task":
            return {"description": g.prose(10, 50), "prompt": g.prose(200, 2500),
                    "subagent_type": rng.choice(["general-purpose", "Explore", "code-reviewer", "Plan"])}
        if name == "WebFetch":
            return {"url": "https://docs.example.com/%s/%s" % (rng.choice(WORDS), rng.choice(WORDS)),
                    "prompt": g.prose(30, 200)}
        if name == "TodoWrite":
            return {"todos": [{"content": g.prose(10, 80), "status": rng.choice(["pending", "in_progress",
                                                                                "completed"]),
                               "activeForm": g.prose(10, 60)} for _ in range(rng.randint(1, 8))]}
        if name.startswith("mcp__github"):
            return {"owner": "dev", "repo": rng.choice(WORDS), "issue_number": rng.randint(1, 5000)}
        return {"element": rng.choice(WORDS)}

    def result_size(self, name: str) -> int:
        rng = self.g.rng
        r = rng.random()
        if r < 0.0008:
            return rng.randint(300_000, 350_000)  # line ~600-700 KB (content + toolUseResult copy)
        if r < 0.045 and name in ("Read", "Bash", "Grep", "WebFetch", "mcp__playwright__browser_snapshot"):
            return int(self.g.lognorm(30_000, 0.6, 10_000, 100_000))  # line 20-200 KB
        base = {"Read": 3500, "Bash": 900, "Grep": 1200, "WebFetch": 3000,
                "mcp__playwright__browser_snapshot": 6000, "mcp__github__get_issue": 2500}.get(name, 300)
        return int(self.g.lognorm(base, 1.0, 20, 30_000))

    def tool_result(self, b: dict):
        g, s = self.g, self.s
        rng = g.rng
        name = b["name"]
        tid = b["id"]
        assistant_uuid = self.parent
        if s.era == "2.1" and rng.random() < 0.6:
            self.progress({"type": "hook_progress", "hookEvent": "PreToolUse", "hookName": "PreToolUse:" + name,
                           "command": "${CLAUDE_PLUGIN_ROOT}/hooks/pre-tool.sh"}, tid, tid)
        is_error = rng.random() < 0.04
        tur = None
        if name == "Task" and not is_error:
            content, tur = self.run_subagent(b)
        else:
            size = self.result_size(name)
            body = g.text(size)
            if name == "Bash":
                # streaming output as bash_progress lines
                if s.era == "2.1":
                    for i in range(rng.randint(0, 4) if size > 200 else 0):
                        self.tick(0.5, 3)
                        part = body[: min(len(body), rng.randint(100, 4000))]
                        self.progress({"type": "bash_progress", "output": part, "fullOutput": part,
                                       "elapsedTimeSeconds": i + 1, "totalLines": part.count("\n") + 1,
                                       "timeoutMs": 120000}, "bash-progress-%d" % i, tid)
                content = body
                tur = {"stdout": body, "stderr": "", "interrupted": False, "isImage": False,
                       "noOutputExpected": False}
            elif name == "Read":
                content = body
                tur = {"type": "text", "file": {"filePath": b["input"]["file_path"], "content": body,
                                                "numLines": body.count("\n") + 1, "startLine": 1,
                                                "totalLines": body.count("\n") + 1}}
            elif name == "Edit":
                content = ("The file %s has been updated. Here's the result of running `cat -n` on a "
                           "snippet of the edited file:\n" % b["input"]["file_path"]) + g.text(min(size, 1500))
                tur = {"filePath": b["input"]["file_path"], "oldString": b["input"]["old_string"],
                       "newString": b["input"]["new_string"],
                       "originalFile": (g.text(int(g.lognorm(8000, 1.0, 200, 120_000)))
                                        if rng.random() < 0.5 else None),
                       "structuredPatch": [{"oldStart": 10, "oldLines": 3, "newStart": 10, "newLines": 4,
                                            "lines": g.text(400).split("\n")}],
                       "userModified": False, "replaceAll": False}
            elif name == "Write":
                content = "File created successfully at: " + b["input"]["file_path"]
                tur = {"type": "create", "filePath": b["input"]["file_path"], "content": b["input"]["content"],
                       "structuredPatch": [], "originalFile": None}
            elif name == "Grep":
                content = body
                tur = {"mode": b["input"]["output_mode"], "numFiles": rng.randint(1, 40), "filenames": [],
                       "content": body, "numLines": body.count("\n") + 1}
            elif name.startswith("mcp__"):
                content = [{"type": "text", "text": body}]
                tur = [{"type": "text", "text": body}]
            else:
                content = body
                tur = {"bytes": size, "code": 200, "codeText": "OK", "result": body,
                       "durationMs": rng.randint(100, 9000), "url": b["input"].get("url", "")}
            if is_error:
                content = "<tool_use_error>Error: %s</tool_use_error>" % g.prose(20, 200)
                tur = "Error: " + content
            self.tick(0.1, 8 if name == "Bash" else 1)
        d = self.head()
        d["type"] = "user"
        d["message"] = {"role": "user", "content": [{"tool_use_id": tid, "type": "tool_result",
                                                     "content": content, "is_error": is_error}]}
        d["uuid"] = g.uuid4()
        d["timestamp"] = iso(s.t)
        if s.era != "1.0":
            d["toolUseResult"] = tur
        if s.era == "2.1":
            d["sourceToolAssistantUUID"] = assistant_uuid
        clen = len(content) if isinstance(content, str) else sum(len(c.get("text", "")) for c in content)
        if clen > 20_000:
            g.stats["claude_tool_results_over_20k"] += 1
        if clen > 300_000:
            g.stats["claude_tool_results_over_300k"] += 1
        self.put(d)
        self.pending += clen // 4 + 15
        if s.era == "2.1":
            for _ in range(1 if rng.random() < 0.5 else 2):
                self.progress({"type": "hook_progress", "hookEvent": "PostToolUse",
                               "hookName": "PostToolUse:" + name,
                               "command": "${CLAUDE_PLUGIN_ROOT}/scripts/tool-call-capture.sh"}, tid, tid)
        elif s.era == "2.0" and rng.random() < 0.5:
            self.progress({"type": "hook_progress", "hookEvent": "PostToolUse", "hookName": "PostToolUse:" + name,
                           "command": "/home/dev/.claude/hooks/post.sh"}, tid, tid)

    # ------------------------------------------------------------ sub-agents

    def run_subagent(self, b: dict):
        g, s = self.g, self.s
        rng = g.rng
        tid = b["id"]
        prompt = b["input"]["prompt"]
        started = s.t
        mirror = None
        if s.era == "2.1":
            aid = "a" + g.hexs(6)
            w = Writer(os.path.join(s.proj_dir, s.sid, "subagents", "agent-%s.jsonl" % aid))
            s.sub_writers.append(w)
            g.stats["claude_subagent_files_2_1"] += 1
            parent_uuid = self.parent

            def mirror(obj, _aid=aid, _tid=tid, _prompt=prompt, _pu=parent_uuid):
                inner = {"type": obj["type"]}
                if obj["type"] == "assistant":
                    inner["timestamp"] = obj["timestamp"]
                    inner["message"] = obj["message"]
                    if "requestId" in obj:
                        inner["requestId"] = obj["requestId"]
                    inner["uuid"] = obj["uuid"]
                else:
                    inner["message"] = obj["message"]
                    inner["uuid"] = obj["uuid"]
                    inner["timestamp"] = obj["timestamp"]
                d = self.head()
                d["parentUuid"] = _pu
                d["type"] = "progress"
                d["data"] = {"message": inner, "normalizedMessages": [], "type": "agent_progress",
                             "prompt": _prompt, "agentId": _aid}
                d["toolUseID"] = "agent_msg_01" + g.b62(22)
                d["parentToolUseID"] = _tid
                d["uuid"] = g.uuid4()
                d["timestamp"] = obj["timestamp"]
                self.w.emit(d, s.t)
                g.stats["claude_progress_lines"] += 1
        elif s.era == "2.0":
            aid = g.hexs(8)
            w = Writer(os.path.join(s.proj_dir, "agent-%s.jsonl" % aid))
            s.sub_writers.append(w)
            g.stats["claude_sibling_agent_files_2_0"] += 1
        else:
            aid = None
            w = self.w  # 1.0.x: inline isSidechain lines in the main file
        sub = Conv(g, s, w, sidechain=True, agent_id=aid, model=rng.choice(SUB_MODELS if s.era != "1.0"
                                                                             else OLD_MODELS),
                   count=True, kind="sub", mirror=mirror)
        sub.user_prompt(prompt)
        n = int(g.lognorm(9, 0.8, 2, 80))
        sub.turn(n, allow_task=False)
        if s.era == "2.1" and rng.random() < 0.5:
            self.progress({"type": "waiting_for_task", "taskDescription": b["input"]["description"],
                           "taskType": "local_agent"}, "task-output-waiting-%d" % int(s.t * 1000), tid)
        text = sub.final_text or g.prose(200, 3000)
        content = [{"type": "text", "text": text},
                   {"type": "text", "text": "agentId: %s (for resuming to continue this agent's work if needed)"
                                            % (aid or "inline")}]
        lu = dict(sub.last_usage)
        lu.pop("inference_geo", None)
        lu["server_tool_use"] = {"web_search_requests": 0, "web_fetch_requests": 0}
        lu["iterations"] = []
        tur = {"status": "completed", "prompt": prompt, "agentId": aid, "content": content[:1],
               "totalDurationMs": int((s.t - started) * 1000),
               "totalTokens": lu["input_tokens"] + lu["cache_creation_input_tokens"]
               + lu["cache_read_input_tokens"] + lu["output_tokens"],
               "totalToolUseCount": sub.tool_uses, "usage": lu}
        return content, tur

    def compact(self):
        """Auto-compaction: a billed summarising call (2.1.x: agent-acompact-*.jsonl),
        a compact_boundary line and a compact summary prompt."""
        g, s = self.g, self.s
        rng = g.rng
        pre = self.ctx
        if s.era == "2.1":
            aid = "acompact-" + g.hexs(6)
            w = Writer(os.path.join(s.proj_dir, s.sid, "subagents", "agent-%s.jsonl" % aid))
            s.sub_writers.append(w)
            g.stats["claude_acompact_files"] += 1
            sub = Conv(g, s, w, sidechain=True, agent_id=aid, model=self.model, count=True,
                       kind="sub")
            sub.parent = self.parent
            for _ in range(rng.randint(0, 3)):
                sub.user_prompt("<system-reminder>\n" + g.prose(100, 1800) + "\n</system-reminder>", meta=True)
            sub.user_prompt("Your task is to create a detailed summary of the conversation so far. "
                            + g.prose(7000, 9000))
            sub.ctx = pre
            sub.ncalls = 1  # continue the parent's cache
            sub.last_call_t = s.t
            sub.pending = rng.randint(1500, 4000)
            sub.response([], True)
        self.tick(5, 60)
        d = self.head()
        d["parentUuid"] = None
        d["logicalParentUuid"] = self.parent
        if s.era != "1.0":
            d["type"] = "system"
            d["subtype"] = "compact_boundary"
            d["content"] = "Conversation compacted"
            d["isMeta"] = False
            d["timestamp"] = iso(s.t)
            d["uuid"] = g.uuid4()
            d["level"] = "info"
            d["compactMetadata"] = {"trigger": "auto", "preTokens": pre}
            self.put(d)
        summary = ("This session is being continued from a previous conversation that ran out of context. "
                   + g.text(rng.randint(5000, 15000)))
        d = self.head()
        d["type"] = "user"
        d["message"] = {"role": "user", "content": summary}
        d["isVisibleInTranscriptOnly"] = True
        d["isCompactSummary"] = True
        d["uuid"] = g.uuid4()
        d["timestamp"] = iso(s.t)
        self.put(d)
        self.ctx = 0
        self.ncalls = 0
        self.pending = s.sys_tokens + len(summary) // 4

    def turn_end(self):
        g, s = self.g, self.s
        rng = g.rng
        if s.era == "2.1":
            tid = g.uuid4()
            self.progress({"type": "hook_progress", "hookEvent": "Stop", "hookName": "Stop",
                           "command": "/home/dev/.claude/hooks/tmux-waiting.sh mark"}, tid, tid)
            if rng.random() < 0.5:
                d = self.head()
                d.update({"type": "system", "subtype": "stop_hook_summary", "hookCount": 1,
                          "hookInfos": [{"command": "/home/dev/.claude/hooks/tmux-waiting.sh mark"}],
                          "hookErrors": [], "preventedContinuation": False, "stopReason": "",
                          "hasOutput": True, "level": "suggestion", "timestamp": iso(s.t),
                          "uuid": g.uuid4(), "toolUseID": tid})
                self.put(d)
        if s.era != "1.0" and rng.random() < 0.6:
            d = self.head()
            d.update({"type": "system", "subtype": "turn_duration",
                      "durationMs": int((s.t - self.turn_start) * 1000), "timestamp": iso(s.t),
                      "uuid": g.uuid4(), "isMeta": False})
            self.put(d)
        if s.era != "1.0" and rng.random() < 0.01:
            d = self.head()
            d.update({"type": "system", "subtype": "api_error", "level": "error",
                      "error": {"status": 529, "error": {"type": "overloaded_error", "message": "Overloaded"}},
                      "retryInMs": 2000, "retryAttempt": 1, "maxRetries": 10,
                      "timestamp": iso(s.t), "uuid": g.uuid4()})
            self.put(d)

    def synthetic(self):
        """A local error line: model <synthetic>, zero usage, no requestId. Not a call."""
        g, s = self.g, self.s
        d = self.head()
        d["message"] = {"id": g.uuid4(), "container": None, "model": "<synthetic>", "role": "assistant",
                        "stop_reason": "stop_sequence", "stop_sequence": "", "type": "message",
                        "usage": {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                                  "cache_read_input_tokens": 0, "server_tool_use": {"web_search_requests": 0,
                                                                                    "web_fetch_requests": 0},
                                  "service_tier": None, "cache_creation": {"ephemeral_1h_input_tokens": 0,
                                                                           "ephemeral_5m_input_tokens": 0}},
                        "content": [{"type": "text", "text": g.rng.choice(
                            ["Limit reached · resets 7pm (Europe/Berlin)", "API Error: 529 Overloaded",
                             "API Error: Request timed out."])}]}
        d["type"] = "assistant"
        d["uuid"] = g.uuid4()
        d["timestamp"] = iso(s.t)
        d["isApiErrorMessage"] = True
        self.put(d)
        g.stats["claude_synthetic_lines"] += 1


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
