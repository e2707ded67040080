"""The Claude Code side of the generator: how many sessions, of which era, where.

``ClaudeGen.gen_claude`` draws sessions until the Claude byte budget is spent;
``claude_session`` writes one (main file, sub-agent files, resume copy, title, defects
on a fixed schedule) by driving a ``Conv``; ``copy_resumed`` copies an earlier session's
lines into a resumed one as Claude Code does. The lines themselves are built in
``conv.py`` (and its mixins ``conv_tools.py``, ``conv_agents.py``).
"""

from __future__ import annotations

import os

from .conv import Conv, Sess
from .output import NullWriter, Writer, loads
from .vocab import DAY, PROJECTS, VERSIONS, WORDS, MiB, encode_cwd, iso


class ClaudeGen:
    """Mixin for ``Gen``: the Claude Code sessions (needs ``GenCore``'s state and helpers)."""

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
