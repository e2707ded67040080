"""One Claude Code conversation: the session state (``Sess``) and the thread (``Conv``).

``Sess`` is what a main conversation and its sub-agents share (session id, cwd, era,
version, model, cache mode, the clock). ``Conv`` writes one thread into one file: line
heads, user prompts with their file-history snapshots and hooks, the API calls (one line
per content block, growing ``output_tokens`` snapshots, cache read/write that follow the
context and the cache's expiry, each call recorded in ``Truth``), turn ends and
``<synthetic>`` lines. Tool inputs and results are in ``conv_tools.py``; sub-agents and
auto-compaction in ``conv_agents.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .conv_agents import ConvAgents
from .conv_tools import ConvTools
from .output import Writer
from .vocab import BRANCHES, MAIN_MODELS, OLD_MODELS, TOOLS_MAIN, TOOLS_SUB, VERSIONS, WORDS, iso

if TYPE_CHECKING:
    from .gen import Gen


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


class Conv(ConvTools, ConvAgents):
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

    # ------------------------------------------------------------ turn ends

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
