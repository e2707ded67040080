"""Codex CLI 0.104 rollouts, in the shapes of the real files in the shared corpus.

``{timestamp, type, payload}`` lines: ``session_meta`` first, then per turn
``task_started``, the user message (``response_item`` and ``user_message``),
``turn_context`` naming the model; per call the tool calls and their outputs, then an
``event_msg`` ``token_count`` with the cumulative total and the last request (about half
of them emitted twice); ``task_complete`` when the turn is over; ``context_compacted``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import orjson

from tokdash.demo.session import DemoSession, Out, Spec, iso

VERSION = "0.104.0"
WINDOW = 272_000


class CodexWriter:
    """Writes one Codex rollout under ``<root>/codex/sessions/YYYY/MM/DD/``."""

    window = WINDOW

    def __init__(self, s: DemoSession, root: Path, start: float) -> None:
        self.s = s
        self.session_id = s.uuid()
        local = datetime.fromtimestamp(start)
        self.path = (root / "codex" / "sessions" / local.strftime("%Y/%m/%d")
                     / f"rollout-{local.strftime('%Y-%m-%dT%H-%M-%S')}-{self.session_id}.jsonl")
        self.sub_path = None
        self.total = (0, 0, 0, 0)
        """Cumulative (input, cached, output, reasoning)."""
        self.turn = ""

    def _line(self, out: Out, ts: float, typ: str, payload: dict) -> None:
        out.emit(self.path, {"timestamp": iso(ts), "type": typ, "payload": payload})

    def prompt(self, ts: float, text: str, first: bool, out: Out) -> None:
        """A new turn: the session's first line if it is the first, the prompt, the model."""
        s, plan = self.s, self.s.plan
        if first:
            self._line(out, ts, "session_meta", {
                "id": self.session_id, "timestamp": iso(ts), "cwd": plan.cwd, "originator": "codex_cli_rs",
                "cli_version": VERSION, "source": "cli", "model_provider": "openai",
                "git": {"commit_hash": s.b62(40).lower(), "branch": plan.branch}})
        self.turn = s.uuid()
        self._line(out, ts, "event_msg", {"type": "task_started", "turn_id": self.turn,
                                          "model_context_window": self.window})
        self._line(out, ts, "response_item", {"type": "message", "role": "user",
                                              "content": [{"type": "input_text", "text": text}]})
        self._line(out, ts, "event_msg", {"type": "user_message", "message": text, "images": [], "local_images": [],
                                          "text_elements": []})
        self._line(out, ts, "turn_context", {"turn_id": self.turn, "cwd": plan.cwd, "approval_policy": "on-request",
                                             "sandbox_policy": {"type": "workspace-write"}, "model": plan.model,
                                             "effort": "high", "summary": "auto"})

    def call(self, spec: Spec, out: Out) -> None:
        """The tool calls the response asked for and their outputs, then its token count."""
        s = self.s
        for i, (kind, target) in enumerate(spec.tools):
            call_id = "call_" + s.b62(24)
            at = spec.ts + 0.1 * i
            if kind in ("edit", "write"):
                self._line(out, at, "response_item", {"type": "custom_tool_call", "status": "completed",
                                                      "call_id": call_id, "name": "apply_patch",
                                                      "input": f"*** Begin Patch\n*** Update File: {target}\n"})
                self._line(out, at + 0.2, "response_item", {"type": "custom_tool_call_output", "call_id": call_id,
                                                            "output": "Success. Updated the following files:"})
                continue
            cmd = {"read": f"sed -n 1,200p {target}", "search": f"rg -n {target} src", "glob": "rg --files"}.get(
                kind, target)
            self._line(out, at, "response_item", {"type": "function_call", "name": "exec_command",
                                                  "arguments": orjson.dumps({"cmd": cmd}).decode(),
                                                  "call_id": call_id})
            self._line(out, at + 0.2, "response_item", {"type": "function_call_output", "call_id": call_id,
                                                        "output": "src/limits.py:12: ..."})
        if spec.final:
            self._line(out, spec.ts + 0.3, "response_item", {"type": "message", "role": "assistant", "content": [
                {"type": "output_text", "text": "Done: the runners build on arm64 now."}]})
        # Codex input includes the cached part: the stable prefix (the context so far,
        # in 64-token blocks) is cached, what the last tool returned is not.
        inp = spec.context + spec.new
        cached = spec.context - spec.context % 64
        last = {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": spec.output,
                "reasoning_output_tokens": spec.reasoning, "total_tokens": inp + spec.output}
        t = self.total
        self.total = (t[0] + inp, t[1] + cached, t[2] + spec.output, t[3] + spec.reasoning)
        total = {"input_tokens": self.total[0], "cached_input_tokens": self.total[1],
                 "output_tokens": self.total[2], "reasoning_output_tokens": self.total[3],
                 "total_tokens": self.total[0] + self.total[2]}
        payload = {"type": "token_count", "info": {"total_token_usage": total, "last_token_usage": last,
                                                   "model_context_window": self.window},
                   "rate_limits": {"limit_id": "codex", "limit_name": None,
                                   "primary": {"used_percent": 12.0, "window_minutes": 300,
                                               "resets_at": int(spec.ts) + 9000},
                                   "secondary": {"used_percent": 4.0, "window_minutes": 10080,
                                                 "resets_at": int(spec.ts) + 400_000},
                                   "credits": {"has_credits": False, "unlimited": False, "balance": None},
                                   "plan_type": None}}
        self._line(out, spec.ts + 0.4, "event_msg", payload)
        if s.rng.random() < 0.5:
            # About half of the real token_count events repeat the previous total.
            self._line(out, spec.ts + 0.9, "event_msg", payload)

    def turn_end(self, ts: float, out: Out) -> None:
        """The turn is over."""
        self._line(out, ts, "event_msg", {"type": "task_complete", "turn_id": self.turn,
                                          "last_agent_message": "Done: the runners build on arm64 now."})

    def compaction(self, ts: float, pre: int, out: Out) -> None:
        """Auto-compaction near the window."""
        self._line(out, ts, "event_msg", {"type": "context_compacted"})

    def subagent(self, ts: float, out: Out) -> None:
        """Codex sub-agents are threads of their own (not simulated)."""
