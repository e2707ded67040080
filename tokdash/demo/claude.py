"""Claude Code 2.1.x transcripts, in the shapes of the real files in the shared corpus.

Field names and order as 2.1.39 writes them; one line per content block of a response,
all sharing ``message.id`` / ``requestId``, ``stop_reason: null`` on the streamed copies and
a growing ``output_tokens``; a ``user`` line with ``toolUseResult`` per tool result; the
turn's end as ``stop_hook_summary`` and ``turn_duration`` system lines; sub-agents under
``<session>/subagents/``; ``compact_boundary`` on auto-compaction.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from tokdash.demo.session import DemoSession, Out, Spec, iso

VERSION = "2.1.39"
WINDOW = 200_000
_TOOLS = {"read": "Read", "edit": "Edit", "write": "Write", "shell": "Bash", "search": "Grep", "glob": "Glob"}


def encode_cwd(cwd: str) -> str:
    """Claude Code's project folder name: every non-alphanumeric character becomes ``-``."""
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


class ClaudeWriter:
    """Writes one Claude Code session under ``<root>/claude/projects/``."""

    window = WINDOW

    def __init__(self, s: DemoSession, root: Path, start: float) -> None:
        self.s = s
        self.session_id = s.uuid()
        self.parent: str | None = None
        self.path = root / "claude" / "projects" / encode_cwd(s.plan.cwd) / f"{self.session_id}.jsonl"
        self.sub_path = self.path.parent / self.session_id / "subagents" / f"agent-a{self.session_id[:6]}.jsonl"
        self.sub_started = False

    def _common(self) -> dict:
        return {"parentUuid": self.parent, "isSidechain": False, "userType": "external", "cwd": self.s.plan.cwd,
                "sessionId": self.session_id, "version": VERSION, "gitBranch": self.s.plan.branch}

    def _line(self, out: Out, obj: dict, path: Path | None = None) -> None:
        out.emit(path or self.path, obj)
        if path is None:
            self.parent = obj["uuid"]

    def prompt(self, ts: float, text: str, first: bool, out: Out) -> None:
        """A human prompt."""
        self._line(out, {**self._common(), "type": "user", "message": {"role": "user", "content": text},
                         "uuid": self.s.uuid(), "timestamp": iso(ts), "permissionMode": "default"})

    def _input(self, kind: str, target: str) -> dict:
        cwd = self.s.plan.cwd
        if kind == "shell":
            return {"command": target, "description": "Run " + target.split()[0]}
        if kind == "search":
            return {"pattern": target, "path": cwd}
        if kind == "glob":
            return {"pattern": target}
        if kind == "edit":
            return {"file_path": f"{cwd}/{target}", "old_string": "limit = 10", "new_string": "limit = tenant.limit"}
        if kind == "write":
            return {"file_path": f"{cwd}/{target}", "content": "# generated\n"}
        return {"file_path": f"{cwd}/{target}"}

    def call(self, spec: Spec, out: Out) -> None:
        """One response: a text block, then one block per tool use, one line each; then the
        tool results."""
        s = self.s
        if s.plan.cache == "poor":
            # A changing prefix (a switched model, an edited CLAUDE.md): most of it is written again.
            read = int(spec.context * s.rng.uniform(0.1, 0.3))
            write = spec.context - read + spec.new
        else:
            read, write = spec.context, spec.new
        usage = {"input_tokens": s.rng.randint(1, 6), "cache_creation_input_tokens": write,
                 "cache_read_input_tokens": read,
                 "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": write},
                 "output_tokens": spec.output, "service_tier": "standard", "inference_geo": "global"}
        msg_id = "msg_01" + s.b62(22)
        req_id = "req_011C" + s.b62(20)
        uses = [("toolu_01" + s.b62(22), _TOOLS[kind], self._input(kind, target)) for kind, target in spec.tools]
        text = "All done: the change is in and the tests pass." if spec.final else "Let me look at that."
        blocks = [{"type": "text", "text": text}] + [
            {"type": "tool_use", "id": tid, "name": name, "input": inp, "caller": {"type": "direct"}}
            for tid, name, inp in uses]
        n = len(blocks)
        for i, block in enumerate(blocks):
            # output_tokens is a streaming snapshot that grows block by block.
            snap = spec.output if i == n - 1 else max(1, spec.output * (i + 1) // (n + 1))
            self._line(out, {**self._common(), "message": {
                "model": s.plan.model, "id": msg_id, "type": "message", "role": "assistant",
                "content": [block], "stop_reason": None, "stop_sequence": None,
                "usage": dict(usage, output_tokens=snap)},
                "requestId": req_id, "type": "assistant", "uuid": s.uuid(), "timestamp": iso(spec.ts + 0.3 * i)})
        for j, (tid, name, inp) in enumerate(uses):
            result = f"(output of {name} {inp.get('file_path') or inp.get('command') or inp.get('pattern')})"
            self._line(out, {**self._common(), "type": "user", "message": {"role": "user", "content": [
                {"tool_use_id": tid, "type": "tool_result", "content": result, "is_error": False}]},
                "uuid": s.uuid(), "timestamp": iso(spec.ts + 1.2 + 0.1 * j),
                "toolUseResult": {"stdout": result, "stderr": "", "interrupted": False, "isImage": False},
                "sourceToolAssistantUUID": self.parent})

    def turn_end(self, ts: float, out: Out) -> None:
        """The turn is over: the Stop hooks ran, and how long the turn took."""
        self._line(out, {**self._common(), "type": "system", "subtype": "stop_hook_summary", "hookCount": 0,
                         "hookInfos": [], "hookErrors": [], "preventedContinuation": False, "stopReason": "",
                         "hasOutput": False, "level": "suggestion", "timestamp": iso(ts), "uuid": self.s.uuid()})
        self._line(out, {**self._common(), "type": "system", "subtype": "turn_duration",
                         "durationMs": int((ts - self.s.turn_start) * 1000), "timestamp": iso(ts + 0.01),
                         "uuid": self.s.uuid(), "isMeta": False})

    def compaction(self, ts: float, pre: int, out: Out) -> None:
        """Auto-compaction near the window."""
        self._line(out, {**self._common(), "type": "system", "subtype": "compact_boundary",
                         "content": "Conversation compacted", "isMeta": False, "timestamp": iso(ts),
                         "uuid": self.s.uuid(), "level": "info",
                         "compactMetadata": {"trigger": "auto", "preTokens": pre}})

    def subagent(self, ts: float, out: Out) -> None:
        """A Haiku sub-agent (an Explore search) reading on the session's behalf; its file
        starts with the task the parent gave it."""
        s = self.s
        if not self.sub_started:
            self.sub_started = True
            # No random draw here: the rest of the demo stays as it was.
            task_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "tokdash-demo-task:" + self.session_id))
            self._line(out, {**self._common(), "parentUuid": None, "isSidechain": True,
                             "agentId": f"a{self.session_id[:6]}", "type": "user",
                             "message": {"role": "user", "content": "Find every call site of the settings loader "
                                                                    "and say how each one uses it"},
                             "uuid": task_id, "timestamp": iso(ts)}, self.sub_path)
        write = s.rng.randint(800, 4000)
        usage = {"input_tokens": 3, "cache_creation_input_tokens": write,
                 "cache_read_input_tokens": s.rng.randint(10_000, 18_000),
                 "cache_creation": {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": 0},
                 "output_tokens": s.rng.randint(40, 400), "service_tier": "standard", "inference_geo": "global"}
        self._line(out, {**self._common(), "isSidechain": True, "agentId": f"a{self.session_id[:6]}", "message": {
            "model": "claude-haiku-4-5-20251001", "id": "msg_01" + s.b62(22), "type": "message",
            "role": "assistant", "content": [{"type": "text", "text": "Found 3 call sites."}],
            "stop_reason": None, "stop_sequence": None, "usage": usage},
            "requestId": "req_011C" + s.b62(20), "type": "assistant", "uuid": s.uuid(), "timestamp": iso(ts)},
            self.sub_path)
