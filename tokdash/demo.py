"""A generated fleet of coding agents writing real transcripts, for ``tokdash --demo`` and tests.

Pure Python (no Textual). :class:`Fleet` writes Claude Code 2.1.x and Codex CLI
0.104 transcript lines, in the shapes of the real files in the shared corpus
(field names and order, one line per content block sharing ``message.id`` /
``requestId``, ``stop_reason: null`` on streamed blocks, tool results with
``toolUseResult``, sub-agent files under ``<session>/subagents/``, Codex
``token_count`` events with cumulative totals and duplicate emits), into a
folder laid out like ``~/.claude`` and ``~/.codex``.

``write_history()`` lays down the past, deterministic for a seed and a ``now``
(tests and snapshots use it with a frozen clock); ``start()`` then keeps several
sessions working in parallel on a background thread, appending calls at a
realistic pace (a call every few seconds per agent) until ``stop()``.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

CLAUDE_VERSION = "2.1.39"
CODEX_VERSION = "0.104.0"


@dataclass(frozen=True, slots=True)
class Plan:
    """One simulated session: who, where, what, and how it spends."""

    agent: str
    """``claude`` or ``codex``."""
    cwd: str
    prompt: str
    """The first human prompt (the session's title)."""
    model: str
    start_ago: float
    """Seconds before ``now`` the session started."""
    end_ago: float | None
    """Seconds before ``now`` it stopped; None: still working (live)."""
    interval: tuple[float, float]
    """Seconds between API calls while working."""
    growth: tuple[int, int]
    """New context tokens per call (tool results, edits...)."""
    output: tuple[int, int]
    """Output tokens per call."""
    context0: int = 14_000
    """Context at the first call (system prompt, tools, CLAUDE.md)."""
    cache: str = "good"
    """``good``: the prefix is re-read from cache; ``poor``: most of it is re-written each call."""
    subagent_every: int = 0
    """Every this many calls, a sub-agent (Claude: Haiku in ``subagents/``) makes a call; 0: never."""
    context_cap: float = 0.0
    """Share of the window the context hovers at instead of compacting (a run-away); 0: compact."""
    branch: str = "main"


PLANS: tuple[Plan, ...] = (
    Plan("claude", "/home/dev/src/api-gateway", "Add per-tenant rate limiting to the /v2 endpoints",
         "claude-sonnet-4-6", 30 * 60, None, (4, 11), (300, 2500), (30, 350), branch="rate-limits"),
    Plan("claude", "/home/dev/src/web-dashboard", "Fix the flaky checkout e2e test",
         "claude-sonnet-4-5-20250929", 25 * 60, None, (5, 14), (200, 1800), (30, 300), branch="fix-e2e"),
    Plan("codex", "/home/dev/src/infra", "Migrate the CI runners to arm64",
         "gpt-5.3-codex", 15 * 60, None, (8, 20), (300, 1500), (80, 600), context0=12_000),
    Plan("claude", "/home/dev/src/api-gateway-wt2", "Write the migration for user_settings",
         "claude-opus-4-6", 12 * 60, None, (5, 12), (300, 2200), (30, 400), subagent_every=6,
         branch="user-settings"),
    Plan("claude", "/home/dev/src/monorepo", "Refactor the whole build graph to Bazel",
         "claude-opus-4-6", 40 * 60, None, (2.5, 5), (1500, 5000), (300, 1500), context0=120_000,
         context_cap=0.9),
    Plan("codex", "/home/dev/src/ml-pipeline", "Speed up feature extraction",
         "gpt-5-codex", 12 * 60, None, (8, 20), (300, 1500), (80, 600)),
    Plan("claude", "/home/dev/src/docs-site", "Rewrite the getting started guide",
         "claude-sonnet-4-5-20250929", 62 * 60, 12 * 60, (6, 16), (200, 1500), (30, 300)),
    Plan("claude", "/home/dev/src/web-dashboard", "Upgrade React Router to v7",
         "claude-sonnet-4-5-20250929", 4 * 3600, 3 * 3600, (8, 20), (200, 1200), (30, 400), context0=12_000,
         cache="poor", branch="router-v7"),
    Plan("codex", "/home/dev/src/api-gateway", "Investigate the p99 latency regression",
         "gpt-5.3-codex", 7 * 3600, 6.3 * 3600, (10, 25), (300, 1500), (80, 500)),
    Plan("claude", "/home/dev/src/ml-pipeline", "Add an evaluation notebook for the ranker",
         "claude-sonnet-4-5-20250929", 3 * 3600, 2.2 * 3600, (6, 18), (200, 1800), (30, 350)),
    Plan("claude", "/home/dev/src/infra", "Terraform: split the prod state file",
         "claude-haiku-4-5-20251001", 26 * 3600, 25.2 * 3600, (6, 14), (200, 1500), (30, 300)),
)
"""The default fleet: six agents working in parallel, one idle, four done (today and yesterday)."""

_FOLLOW_UPS = (
    "Looks good. Now add tests for the edge cases.",
    "Run the full test suite and fix what fails.",
    "Can you also update the docs?",
    "That broke the build, please check the CI log.",
    "Keep going.",
    "Simplify this before we merge.",
)
_TOOLS = ("Read", "Read", "Edit", "Bash", "Grep", "Read", "Edit", "Glob", "Bash", "Write")
_FILES = ("src/main.py", "src/routes.py", "tests/test_api.py", "README.md", "src/config.py",
          "src/limits.py", "Makefile", "src/db/models.py", "docs/guide.md", "package.json")
_WINDOWS = {"claude": 200_000, "codex": 272_000}
COMPACT_AT = 0.78
"""Share of the window at which a simulated session compacts (a run-away does not)."""


def _iso(ts: float) -> str:
    """Epoch seconds as the ISO-8601 UTC form both CLIs write (milliseconds, ``Z``)."""
    d = datetime.fromtimestamp(ts, UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def _encode_cwd(cwd: str) -> str:
    """Claude Code's project folder name: every non-alphanumeric character becomes ``-``."""
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


class _Session:
    """One simulated session: its state, and how a call becomes transcript lines."""

    def __init__(self, plan: Plan, root: Path, rng: random.Random, start: float) -> None:
        self.plan = plan
        self.rng = rng
        self.sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.context = plan.context0
        self.calls = 0
        self.turn_left = 0
        self.next_at = start
        self.parent: str | None = None
        self.total = (0, 0, 0, 0)
        """Codex: cumulative (input, cached, output, reasoning)."""
        self.window = _WINDOWS[plan.agent]
        if plan.agent == "claude":
            self.path = root / "claude" / "projects" / _encode_cwd(plan.cwd) / f"{self.sid}.jsonl"
            self.sub_path = self.path.parent / self.sid / "subagents" / f"agent-a{self.sid[:6]}.jsonl"
        else:
            local = datetime.fromtimestamp(start)
            self.path = (root / "codex" / "sessions" / local.strftime("%Y/%m/%d")
                         / f"rollout-{local.strftime('%Y-%m-%dT%H-%M-%S')}-{self.sid}.jsonl")
            self.sub_path = None

    # --- ids ------------------------------------------------------------------

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _b62(self, n: int) -> str:
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    # --- one step ---------------------------------------------------------------

    def step(self, ts: float) -> dict[Path, list[bytes]]:
        """Lines of what happens at ``ts``: maybe a new prompt, then one API call."""
        out: dict[Path, list[bytes]] = {}
        first = self.calls == 0
        if self.turn_left <= 0:
            text = self.plan.prompt if first else self.rng.choice(_FOLLOW_UPS)
            self._prompt(ts, text, out, first)
            self.turn_left = self.rng.randint(8, 25)
        self._call(ts + 0.9, out)
        self.calls += 1
        self.turn_left -= 1
        gap = self.rng.uniform(*self.plan.interval)
        if self.turn_left <= 0:
            gap += self.rng.uniform(15, 60)  # the human reads, thinks, types the next prompt
        self.next_at = ts + gap
        return out

    def _prompt(self, ts: float, text: str, out: dict, first: bool) -> None:
        if self.plan.agent == "claude":
            line = {**self._common(), "type": "user", "message": {"role": "user", "content": text},
                    "uuid": self._uuid(), "timestamp": _iso(ts), "permissionMode": "default"}
            self._emit(out, self.path, line)
        else:
            if first:
                self._emit(out, self.path, {"timestamp": _iso(ts), "type": "session_meta", "payload": {
                    "id": self.sid, "timestamp": _iso(ts), "cwd": self.plan.cwd, "originator": "codex_cli_rs",
                    "cli_version": CODEX_VERSION, "source": "cli", "model_provider": "openai",
                    "git": {"commit_hash": self._b62(40).lower(), "branch": self.plan.branch}}})
            turn = self._uuid()
            self._emit(out, self.path, {"timestamp": _iso(ts), "type": "event_msg", "payload": {
                "type": "task_started", "turn_id": turn, "model_context_window": self.window}})
            self._emit(out, self.path, {"timestamp": _iso(ts), "type": "response_item", "payload": {
                "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}})
            self._emit(out, self.path, {"timestamp": _iso(ts), "type": "event_msg", "payload": {
                "type": "user_message", "message": text, "images": [], "local_images": [], "text_elements": []}})
            self._emit(out, self.path, {"timestamp": _iso(ts), "type": "turn_context", "payload": {
                "turn_id": turn, "cwd": self.plan.cwd, "approval_policy": "on-request",
                "sandbox_policy": {"type": "workspace-write"}, "model": self.plan.model, "effort": "high",
                "summary": "auto"}})

    def _grow(self) -> tuple[int, int]:
        """Advance the context by one call: (new tokens written, output tokens)."""
        new = self.rng.randint(*self.plan.growth)
        output = self.rng.randint(*self.plan.output)
        cap = self.plan.context_cap
        if cap and self.context + new > cap * self.window:
            new = self.rng.randint(0, 600)  # a run-away hovers near the window instead of compacting
        return new, output

    def _advance(self, new: int, output: int) -> None:
        """The call's new tokens and its answer join the context; a run-away hovers below its cap."""
        self.context += new + output
        cap = self.plan.context_cap
        if cap:
            self.context = min(self.context, int(cap * self.window) - self.rng.randint(0, 4000))

    def _common(self) -> dict:
        return {"parentUuid": self.parent, "isSidechain": False, "userType": "external", "cwd": self.plan.cwd,
                "sessionId": self.sid, "version": CLAUDE_VERSION, "gitBranch": self.plan.branch}

    def _call(self, ts: float, out: dict) -> None:
        if self.plan.agent == "claude":
            self._claude_call(ts, out)
        else:
            self._codex_call(ts, out)

    def _claude_call(self, ts: float, out: dict) -> None:
        new, output = self._grow()
        if self.plan.cache == "poor":
            # A changing prefix (a switched model, an edited CLAUDE.md): most of it is written again.
            read = int(self.context * self.rng.uniform(0.1, 0.3))
            write = self.context - read + new
        else:
            read, write = self.context, new
        usage = {"input_tokens": self.rng.randint(1, 6), "cache_creation_input_tokens": write,
                 "cache_read_input_tokens": read,
                 "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": write},
                 "output_tokens": output, "service_tier": "standard", "inference_geo": "global"}
        msg_id = "msg_01" + self._b62(22)
        req_id = "req_011C" + self._b62(20)
        tool = self.rng.choice(_TOOLS)
        target = self.rng.choice(_FILES)
        tool_id = "toolu_01" + self._b62(22)
        inputs = {"Bash": {"command": "make test", "description": "Run the tests"},
                  "Grep": {"pattern": "rate_limit", "path": self.plan.cwd},
                  "Glob": {"pattern": "**/*.py"}}.get(tool, {"file_path": f"{self.plan.cwd}/{target}"})
        # One line per content block, same message id and request id; output_tokens is a
        # streaming snapshot that grows (the text block's line carries a smaller figure).
        blocks = [({"type": "text", "text": "Let me look at that."}, max(1, output // 8)),
                  ({"type": "tool_use", "id": tool_id, "name": tool, "input": inputs,
                    "caller": {"type": "direct"}}, output)]
        for i, (block, snap) in enumerate(blocks):
            u = dict(usage, output_tokens=snap)
            line_uuid = self._uuid()
            self._emit(out, self.path, {**self._common(), "message": {
                "model": self.plan.model, "id": msg_id, "type": "message", "role": "assistant",
                "content": [block], "stop_reason": None, "stop_sequence": None, "usage": u},
                "requestId": req_id, "type": "assistant", "uuid": line_uuid, "timestamp": _iso(ts + 0.3 * i)})
            self.parent = line_uuid
        result = f"(output of {tool} {target})"
        line_uuid = self._uuid()
        self._emit(out, self.path, {**self._common(), "type": "user", "message": {"role": "user", "content": [
            {"tool_use_id": tool_id, "type": "tool_result", "content": result, "is_error": False}]},
            "uuid": line_uuid, "timestamp": _iso(ts + 1.2),
            "toolUseResult": {"stdout": result, "stderr": "", "interrupted": False, "isImage": False},
            "sourceToolAssistantUUID": self.parent})
        self.parent = line_uuid
        self._advance(new, output)
        if self.sub_path is not None and self.plan.subagent_every and self.calls % self.plan.subagent_every == 3:
            self._subagent_call(ts + 0.5, out)
        if not self.plan.context_cap and self.context > COMPACT_AT * self.window:
            pre = self.context
            self.context = self.plan.context0 + self.rng.randint(4000, 12000)
            self._emit(out, self.path, {**self._common(), "type": "system", "subtype": "compact_boundary",
                                        "content": "Conversation compacted", "isMeta": False,
                                        "timestamp": _iso(ts + 1.5), "uuid": self._uuid(), "level": "info",
                                        "compactMetadata": {"trigger": "auto", "preTokens": pre}})

    def _subagent_call(self, ts: float, out: dict) -> None:
        """A Haiku sub-agent (an Explore search) reading on the session's behalf."""
        agent_id = f"a{self.sid[:6]}"
        usage = {"input_tokens": 3, "cache_creation_input_tokens": self.rng.randint(800, 4000),
                 "cache_read_input_tokens": self.rng.randint(10_000, 18_000),
                 "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                 "output_tokens": self.rng.randint(40, 400), "service_tier": "standard", "inference_geo": "global"}
        usage["cache_creation"]["ephemeral_5m_input_tokens"] = usage["cache_creation_input_tokens"]
        self._emit(out, self.sub_path, {**self._common(), "isSidechain": True, "agentId": agent_id, "message": {
            "model": "claude-haiku-4-5-20251001", "id": "msg_01" + self._b62(22), "type": "message",
            "role": "assistant", "content": [{"type": "text", "text": "Found 3 call sites."}],
            "stop_reason": None, "stop_sequence": None, "usage": usage},
            "requestId": "req_011C" + self._b62(20), "type": "assistant", "uuid": self._uuid(),
            "timestamp": _iso(ts)})

    def _codex_call(self, ts: float, out: dict) -> None:
        new, output = self._grow()
        call_id = "call_" + self._b62(24)
        self._emit(out, self.path, {"timestamp": _iso(ts), "type": "response_item", "payload": {
            "type": "function_call", "name": "exec_command",
            "arguments": orjson.dumps({"cmd": "rg -n limit src"}).decode(), "call_id": call_id}})
        self._emit(out, self.path, {"timestamp": _iso(ts + 0.2), "type": "response_item", "payload": {
            "type": "function_call_output", "call_id": call_id, "output": "src/limits.py:12: ..."}})
        # Codex input includes the cached part: the stable prefix (the context so far,
        # in 64-token blocks) is cached, what the last tool returned is not.
        inp = self.context + new
        cached = self.context - self.context % 64
        reasoning = output // 3
        last = {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": output,
                "reasoning_output_tokens": reasoning, "total_tokens": inp + output}
        t = self.total
        self.total = (t[0] + inp, t[1] + cached, t[2] + output, t[3] + reasoning)
        total = {"input_tokens": self.total[0], "cached_input_tokens": self.total[1],
                 "output_tokens": self.total[2], "reasoning_output_tokens": self.total[3],
                 "total_tokens": self.total[0] + self.total[2]}
        event = {"timestamp": _iso(ts + 0.4), "type": "event_msg", "payload": {
            "type": "token_count", "info": {"total_token_usage": total, "last_token_usage": last,
                                            "model_context_window": self.window},
            "rate_limits": {"limit_id": "codex", "limit_name": None,
                            "primary": {"used_percent": 12.0, "window_minutes": 300, "resets_at": int(ts) + 9000},
                            "secondary": {"used_percent": 4.0, "window_minutes": 10080,
                                          "resets_at": int(ts) + 400_000},
                            "credits": {"has_credits": False, "unlimited": False, "balance": None},
                            "plan_type": None}}}
        self._emit(out, self.path, event)
        if self.rng.random() < 0.5:
            # About half of the real token_count events repeat the previous total.
            self._emit(out, self.path, dict(event, timestamp=_iso(ts + 0.9)))
        self._advance(new, output)
        if self.context > COMPACT_AT * self.window and not self.plan.context_cap:
            self.context = self.plan.context0
            self._emit(out, self.path, {"timestamp": _iso(ts + 1.0), "type": "event_msg",
                                        "payload": {"type": "context_compacted"}})

    @staticmethod
    def _emit(out: dict, path: Path, obj: dict) -> None:
        out.setdefault(path, []).append(orjson.dumps(obj) + b"\n")


def _write(lines: dict[Path, list[bytes]]) -> None:
    """Append whole lines, one ``write`` per file, as the CLIs do."""
    for path, chunk in lines.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as fp:
            fp.write(b"".join(chunk))


class Fleet:
    """Several agents working in parallel, writing transcripts under ``root``.

    ``root/claude`` is a Claude config dir (holding ``projects/``) and ``root/codex``
    a Codex home (holding ``sessions/``): pass them as ``--claude-dir`` / ``--codex-dir``.
    """

    def __init__(self, root: Path | str, *, seed: int = 7, now: float | None = None, pace: float = 1.0,
                 plans: tuple[Plan, ...] = PLANS) -> None:
        self.root = Path(root)
        self.now = time.time() if now is None else now
        """The moment ``write_history`` writes up to; live appends continue from the wall clock."""
        self.pace = pace
        """Speed factor of the live thread: 2.0 makes calls twice as often."""
        self.sessions: list[_Session] = []
        self.live: list[_Session] = []
        for i, plan in enumerate(plans):
            rng = random.Random(f"{seed}:{i}")
            s = _Session(plan, self.root, rng, self.now - plan.start_ago)
            self.sessions.append(s)
            if plan.end_ago is None:
                self.live.append(s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.appended = 0
        """Calls appended by the live thread so far."""

    @property
    def claude_dir(self) -> Path:
        """The Claude config dir to point tokdash at."""
        return self.root / "claude"

    @property
    def codex_dir(self) -> Path:
        """The Codex home to point tokdash at."""
        return self.root / "codex"

    def dirs(self) -> dict[str, Path]:
        """Each agent's home in the fleet, by agent name (what ``--<agent>-dir`` takes)."""
        return {"claude": self.claude_dir, "codex": self.codex_dir}

    def write_history(self) -> None:
        """Write every session's past, up to ``now`` (deterministic for a seed and ``now``)."""
        (self.root / "claude" / "projects").mkdir(parents=True, exist_ok=True)
        (self.root / "codex" / "sessions").mkdir(parents=True, exist_ok=True)
        for s in self.sessions:
            end = self.now - s.plan.end_ago if s.plan.end_ago is not None else self.now - 2.0
            lines: dict[Path, list[bytes]] = {}
            while s.next_at < end:
                for path, chunk in s.step(s.next_at).items():
                    lines.setdefault(path, []).extend(chunk)
            _write(lines)
            # Keep each file's mtime at its last line, as a real transcript's would be.
            last = min(s.next_at, end)
            for path in lines:
                os.utime(path, (last, last))

    def step(self, now: float) -> int:
        """Append every live call due by ``now``; returns how many calls were written."""
        n = 0
        with self._lock:
            for s in self.live:
                if s.next_at < self.now:
                    s.next_at = self.now  # the history ended just before now: resume from there
                if s.next_at <= now:
                    _write(s.step(now))
                    # Pace scales the gap the session just chose.
                    s.next_at = now + (s.next_at - now) / self.pace
                    n += 1
        self.appended += n
        return n

    def start(self) -> None:
        """Keep the live sessions working on a background thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self.now = time.time()
        for s in self.live:
            # Resume promptly: a newcomer should see every live agent spend within seconds.
            s.next_at = min(s.next_at, self.now + s.rng.uniform(*s.plan.interval))
        self._thread = threading.Thread(target=self._run, name="tokdash-demo-fleet", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            self.step(now)
            due = min((s.next_at for s in self.live), default=now + 1.0)
            self._stop.wait(max(0.05, min(due - time.time(), 1.0)))

    def stop(self) -> None:
        """Stop appending and wait for the thread to finish its current write."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
