"""Qwen Code chats, as qwen-code's ChatRecordingService appends them.

``<root>/qwen/projects/<sanitized cwd>/chats/<sessionId>.jsonl``: one ``ChatRecord`` per
line, each written once: ``user`` prompts, ``assistant`` responses with ``usageMetadata``
(the API's counts; cached inside the prompt) and ``functionCall`` parts, a ``tool_result``
per tool, ``system`` ``chat_compression`` on compaction.
"""

from __future__ import annotations

import re
from pathlib import Path

from tokdash.demo.session import DemoSession, Out, Spec, iso

VERSION = "0.6.1"
WINDOW = 1_000_000
_TOOLS = {"read": "read_file", "edit": "edit", "write": "write_file", "shell": "run_shell_command",
          "search": "grep_search", "glob": "glob"}


class QwenWriter:
    """Writes one Qwen Code session under ``<root>/qwen/projects/``."""

    window = WINDOW

    def __init__(self, s: DemoSession, root: Path, start: float) -> None:
        self.s = s
        self.session_id = s.uuid()
        project = re.sub(r"[^A-Za-z0-9]", "-", s.plan.cwd)
        self.path = root / "qwen" / "projects" / project / "chats" / f"{self.session_id}.jsonl"
        self.sub_path = None
        self.parent: str | None = None

    def _record(self, out: Out, ts: float, typ: str, **fields) -> dict:
        uuid = self.s.uuid()
        rec = {"uuid": uuid, "parentUuid": self.parent, "sessionId": self.session_id, "timestamp": iso(ts),
               "type": typ, "cwd": self.s.plan.cwd, "version": VERSION, "gitBranch": self.s.plan.branch, **fields}
        self.parent = uuid
        out.emit(self.path, rec)
        return rec

    def prompt(self, ts: float, text: str, first: bool, out: Out) -> None:
        """A human prompt."""
        self._record(out, ts, "user", message={"role": "user", "parts": [{"text": text}]})

    def _args(self, kind: str, target: str) -> dict:
        cwd = self.s.plan.cwd
        if kind == "shell":
            return {"command": target}
        if kind in ("search", "glob"):
            return {"pattern": target}
        if kind == "edit":
            return {"file_path": f"{cwd}/{target}", "old_string": "Opt", "new_string": "Arg"}
        return {"absolute_path": f"{cwd}/{target}"}

    def call(self, spec: Spec, out: Out) -> None:
        """One response with its function calls, then one tool result per call."""
        s = self.s
        calls = [(f"call_{s.b62(24)}", _TOOLS[kind], self._args(kind, target)) for kind, target in spec.tools]
        text = "The parser builds with clap 4 now." if spec.final else "Checking the current parser."
        prompt = spec.context + spec.new
        cached = int(spec.context * 0.8) // 64 * 64
        self._record(out, spec.ts, "assistant", model=s.plan.model, message={"role": "model", "parts": [
            {"text": text}, *({"functionCall": {"id": cid, "name": name, "args": args}} for cid, name, args in calls)]},
            usageMetadata={"promptTokenCount": prompt, "candidatesTokenCount": spec.output,
                           "cachedContentTokenCount": cached, "thoughtsTokenCount": spec.reasoning,
                           "totalTokenCount": prompt + spec.output + spec.reasoning},
            contextWindowSize=self.window)
        for i, (cid, name, _args) in enumerate(calls):
            self._record(out, spec.ts + 0.5 + 0.1 * i, "tool_result", message={"role": "user", "parts": [
                {"functionResponse": {"id": cid, "name": name, "response": {"output": "ok"}}}]},
                toolCallResult={"callId": cid, "status": "success", "resultDisplay": "ok"})

    def turn_end(self, ts: float, out: Out) -> None:
        """Nothing more: the last response asked for no tool."""

    def compaction(self, ts: float, pre: int, out: Out) -> None:
        """A compression checkpoint."""
        self._record(out, ts, "system", subtype="chat_compression", systemPayload={
            "info": {"originalTokenCount": pre, "newTokenCount": self.s.context, "compressionStatus": 1},
            "compressedHistory": []})

    def subagent(self, ts: float, out: Out) -> None:
        """Not simulated."""
