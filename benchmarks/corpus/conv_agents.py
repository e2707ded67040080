"""Sub-agents and auto-compaction of a Claude conversation, in all three layouts.

``ConvAgents`` (a mixin of ``Conv``): ``run_subagent`` runs a ``Task`` as another
``Conv``: 2.1.x writes ``<sid>/subagents/agent-<id>.jsonl`` and mirrors each line into
the parent as an ``agent_progress`` line (usage a parser must not count twice), 2.0.x a
sibling ``agent-<id>.jsonl``, 1.0.x inline ``isSidechain`` lines in the main file.
``compact`` writes the billed summarising call (2.1.x: ``agent-acompact-*.jsonl``), the
``compact_boundary`` line and the compact summary prompt.
"""

from __future__ import annotations

import os

from .output import Writer
from .vocab import OLD_MODELS, SUB_MODELS, iso


class ConvAgents:
    """Mixin for ``Conv``: sub-agents and compaction (uses ``Conv``'s state and line builders)."""

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
        # A sub-agent is another Conv; type(self) is Conv (this module is one of its bases,
        # so it cannot import conv.py).
        sub = type(self)(g, s, w, sidechain=True, agent_id=aid,
                         model=rng.choice(SUB_MODELS if s.era != "1.0" else OLD_MODELS),
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
            sub = type(self)(g, s, w, sidechain=True, agent_id=aid, model=self.model, count=True,
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

