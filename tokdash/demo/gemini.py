"""Gemini CLI v0.39+ JSONL chats, as gemini-cli's ChatRecordingService appends them.

``<root>/gemini/tmp/<slug>/chats/session-<YYYY-MM-DDTHH-MM>-<id8>.jsonl``: a metadata
line, then every message update appended whole under the same ``id`` (the text, then the
same message with its ``tokens``, then with its ``toolCalls``) and ``$set`` lines for
``lastUpdated``. The project is registered in ``projects.json`` and marked by
``.project_root``. The turn ends with a response that asks for no tool.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import orjson

from tokdash.demo.session import DemoSession, Out, Spec, iso

WINDOW = 1_048_576
_TOOLS = {"read": "read_file", "edit": "replace", "write": "write_file", "shell": "run_shell_command",
          "search": "grep_search", "glob": "glob"}


class GeminiWriter:
    """Writes one Gemini CLI session under ``<root>/gemini/``."""

    window = WINDOW

    def __init__(self, s: DemoSession, root: Path, start: float) -> None:
        self.s = s
        self.session_id = s.uuid()
        self.home = root / "gemini"
        self.slug = Path(s.plan.cwd).name
        stamp = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H-%M")
        self.path = self.home / "tmp" / self.slug / "chats" / f"session-{stamp}-{self.session_id[:8]}.jsonl"
        self.sub_path = None

    def _set(self, ts: float, out: Out) -> None:
        out.emit(self.path, {"$set": {"lastUpdated": iso(ts)}})

    def prompt(self, ts: float, text: str, first: bool, out: Out) -> None:
        """The metadata line first, then the user's message."""
        s = self.s
        if first:
            out.files[self.home / "projects.json"] = orjson.dumps({"projects": {s.plan.cwd: self.slug}})
            out.files[self.home / "tmp" / self.slug / ".project_root"] = s.plan.cwd.encode()
            out.emit(self.path, {"sessionId": self.session_id,
                                 "projectHash": hashlib.sha256(s.plan.cwd.encode()).hexdigest(),
                                 "startTime": iso(ts), "lastUpdated": iso(ts), "kind": "main"})
        out.emit(self.path, {"id": s.uuid(), "timestamp": iso(ts), "type": "user", "content": [{"text": text}]})
        self._set(ts, out)

    def _args(self, kind: str, target: str) -> dict:
        cwd = self.s.plan.cwd
        if kind == "shell":
            return {"command": target}
        if kind in ("search", "glob"):
            return {"pattern": target}
        if kind == "edit":
            return {"file_path": f"{cwd}/{target}", "old_string": "TODO", "new_string": "done"}
        return {"file_path": f"{cwd}/{target}"}

    def call(self, spec: Spec, out: Out) -> None:
        """One response, appended three times as gemini-cli updates it."""
        s = self.s
        text = "The billing endpoints are documented." if spec.final else "I'll check the handlers."
        msg = {"id": s.uuid(), "timestamp": iso(spec.ts), "type": "gemini", "content": text,
               "thoughts": [{"subject": "Planning", "description": "Reading the routes first.",
                             "timestamp": iso(spec.ts)}], "tokens": None, "model": s.plan.model}
        out.emit(self.path, msg)
        # Implicit caching serves most of a long, stable prefix; cached is inside input.
        inp = spec.context + spec.new
        cached = int(spec.context * 0.9) // 64 * 64
        msg["tokens"] = {"input": inp, "output": spec.output, "cached": cached, "thoughts": spec.reasoning,
                         "tool": 0, "total": inp + spec.output + spec.reasoning}
        out.emit(self.path, msg)
        if spec.tools:
            msg["toolCalls"] = [{"id": f"{_TOOLS[kind]}-{int(spec.ts * 1000)}-{i}", "name": _TOOLS[kind],
                                 "args": self._args(kind, target), "status": "success",
                                 "timestamp": iso(spec.ts + 0.5), "result": [{"functionResponse": {
                                     "name": _TOOLS[kind], "response": {"output": "ok"}}}]}
                                for i, (kind, target) in enumerate(spec.tools)]
            out.emit(self.path, msg)
        self._set(spec.ts + 0.6, out)

    def turn_end(self, ts: float, out: Out) -> None:
        """Nothing more: the last response asked for no tool, and nothing follows until the
        human types."""

    def compaction(self, ts: float, pre: int, out: Out) -> None:
        """Not simulated (a million-token window)."""

    def subagent(self, ts: float, out: Out) -> None:
        """Not simulated."""
