"""Fixture builders: realistic Claude Code and Codex CLI transcript lines, written in code.

Shapes follow the real transcripts described in ``shared/docs/transcript-formats.md``
(field names and order as Claude Code 2.1.x / 1.0.x and Codex 0.104 write them), so a
test reads like the situation it checks. Nothing here is copied from the corpus.

Every builder keeps its own ground truth: ``ClaudeSession.expected`` and
``CodexRollout.expected`` are the per-session token totals the format doc's counting
rules give, recorded when a call is *made*, not by reading the file back.
"""

from __future__ import annotations

import itertools
import re
import uuid as _uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Iterable

import orjson

from tokdash.ingest.reader import Reader
from tokdash.model.pricing import PriceBook
from tokdash.model.records import Usage
from tokdash.model.session import SessionSummary, summarize
from tokdash.model.store import Store
from tokdash.sources import SOURCES

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
"""The real transcript corpus beside the checkout; tests that need it skip when it is absent."""

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
"""Clock origin of every builder: a Monday morning, UTC."""

CLAUDE_VERSION = "2.1.39"
OPUS = "claude-opus-4-6"
SONNET = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"
CODEX_MODEL = "gpt-5.3-codex"

_counter = itertools.count(1)


def stamp(seconds: float, base: datetime = T0) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, ``seconds`` after ``base``: how both CLIs write time."""
    t = base + timedelta(seconds=seconds)
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch(seconds: float, base: datetime = T0) -> float:
    """The epoch seconds of ``stamp(seconds)``."""
    return (base + timedelta(seconds=seconds)).timestamp()


def new_uuid() -> str:
    """A deterministic-enough uuid4-shaped string (unique within a test run)."""
    return str(_uuid.UUID(int=next(_counter) * 0x9E3779B97F4A7C15 % (1 << 128), version=4))


def sid(n: int) -> str:
    """A session id whose lexical order follows ``n`` (useful to control path order)."""
    return f"{n:08x}-aaaa-4bbb-8ccc-{n:012x}"


def msg_id() -> str:
    return f"msg_01{next(_counter):022d}"


def req_id() -> str:
    return f"req_011C{next(_counter):020d}"


def dumps(obj: dict) -> bytes:
    """One JSON line body, compact like the CLIs write it (non-ASCII kept raw)."""
    return orjson.dumps(obj)


def jsonl(objs: Iterable[dict]) -> bytes:
    """``\\n``-terminated JSON lines."""
    return b"".join(dumps(o) + b"\n" for o in objs)


def write_jsonl(path: Path, objs: Iterable[dict], *, append: bool = False) -> Path:
    """Write (or append) JSON lines to ``path``, creating its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab" if append else "wb") as f:
        f.write(jsonl(objs))
    return path


def append_bytes(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


# --- Claude Code ---------------------------------------------------------------


def encode_cwd(cwd: str) -> str:
    """Claude Code's project folder name: every non-alphanumeric char of the cwd becomes ``-``."""
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


def claude_main_path(projects: Path, cwd: str, session_id: str) -> Path:
    return projects / encode_cwd(cwd) / f"{session_id}.jsonl"


def claude_subagent_path(projects: Path, cwd: str, session_id: str, agent_id: str) -> Path:
    """2.1.x layout: ``<sessionId>/subagents/agent-<id>.jsonl``."""
    return projects / encode_cwd(cwd) / session_id / "subagents" / f"agent-{agent_id}.jsonl"


def claude_sibling_agent_path(projects: Path, cwd: str, agent_id: str) -> Path:
    """2.0.x layout: ``agent-<hex>.jsonl`` beside the main transcripts."""
    return projects / encode_cwd(cwd) / f"agent-{agent_id}.jsonl"


def claude_usage(
    *,
    input: int = 0,
    output: int = 0,
    cache_write_5m: int = 0,
    cache_write_1h: int = 0,
    cache_read: int = 0,
    split: bool = True,
    web_search: int = 0,
    speed: str | None = None,
) -> dict:
    """An Anthropic ``message.usage`` object as Claude Code 2.1.x writes it.

    ``split=False`` leaves out ``cache_creation`` (older lines): all writes are then 5-minute.
    """
    u: dict = {
        "input_tokens": input,
        "cache_creation_input_tokens": cache_write_5m + cache_write_1h,
        "cache_read_input_tokens": cache_read,
    }
    if split:
        u["cache_creation"] = {
            "ephemeral_5m_input_tokens": cache_write_5m,
            "ephemeral_1h_input_tokens": cache_write_1h,
        }
    u["output_tokens"] = output
    u["service_tier"] = "standard"
    if web_search:
        u["server_tool_use"] = {"web_search_requests": web_search, "web_fetch_requests": 0}
    if speed:
        u["speed"] = speed
    return u


@dataclass
class Response:
    """One API call as Claude Code wrote it: one line per content block, growing output."""

    lines: list[dict]
    usage: Usage
    """The call's true usage (input/cache once, the final output snapshot)."""
    msg_id: str
    request_id: str | None
    model: str


@dataclass
class ClaudeSession:
    """Writes the lines of one Claude Code transcript (main file or one sub-agent's file).

    ``clock`` advances a few seconds per line; ``expected`` accumulates the true usage of
    every *new* call made through :meth:`response` (copies made with :meth:`copy_lines`
    are not new calls).
    """

    session_id: str
    cwd: str = "/home/dev/acme-api"
    version: str = CLAUDE_VERSION
    git_branch: str = "main"
    agent_id: str | None = None
    """Set for a sub-agent transcript: every line is a sidechain line with this agentId."""
    clock: float = 0.0
    slug: str | None = "quiet-humming-otter"
    lines: list[dict] = field(default_factory=list)
    expected: Usage = field(default_factory=Usage)
    calls: int = 0
    _parent: str | None = None

    # -- common fields

    def tick(self, seconds: float = 2.0) -> str:
        self.clock += seconds
        return stamp(self.clock)

    def _head(self, *, sidechain: bool | None = None, agent_id: str | None = None, session_id: str | None = None) -> dict:
        side = self.agent_id is not None if sidechain is None else sidechain
        head = {
            "parentUuid": self._parent,
            "isSidechain": side,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": session_id or self.session_id,
            "version": self.version,
            "gitBranch": self.git_branch,
        }
        aid = agent_id or self.agent_id
        if aid:
            head["agentId"] = aid
        if self.slug:
            head["slug"] = self.slug
        return head

    def _tail(self, line: dict, at: str | None) -> dict:
        u = new_uuid()
        line["uuid"] = u
        line["timestamp"] = at or self.tick()
        self._parent = u
        self.lines.append(line)
        return line

    # -- user lines

    def prompt(self, content, *, at: str | None = None, sidechain: bool | None = None, **extra) -> dict:
        """A user line: a human prompt when ``content`` is text (str or text blocks)."""
        line = self._head(sidechain=sidechain)
        line["type"] = "user"
        line["message"] = {"role": "user", "content": content}
        line.update(extra)
        return self._tail(line, at)

    def tool_result(self, tool_use_id: str, text: str = "ok", *, usage: dict | None = None) -> dict:
        """A tool-result user line, with the top-level ``toolUseResult`` Claude Code adds.

        ``usage`` puts a sub-agent's last-call usage into ``toolUseResult.usage`` (Task tool
        results do): it must never be counted.
        """
        line = self._head()
        line["type"] = "user"
        line["message"] = {
            "role": "user",
            "content": [{"tool_use_id": tool_use_id, "type": "tool_result", "content": text}],
        }
        result: dict = {"stdout": text, "stderr": "", "interrupted": False}
        if usage is not None:
            result = {"status": "completed", "content": [{"type": "text", "text": text}], "usage": usage,
                      "totalTokens": sum(v for v in usage.values() if isinstance(v, int))}
        line["toolUseResult"] = result
        return self._tail(line, None)

    # -- assistant lines

    def response(
        self,
        *,
        model: str = OPUS,
        blocks: list[tuple] | None = None,
        input: int = 3,
        output: int = 120,
        cache_write_5m: int = 0,
        cache_write_1h: int = 0,
        cache_read: int = 0,
        split: bool = True,
        request_id: str | None | bool = True,
        message_id: str | None = None,
        stop_reason: str | None = "end_turn",
        sidechain: bool | None = None,
        agent_id: str | None = None,
        web_search: int = 0,
        speed: str | None = None,
        count: bool = True,
    ) -> Response:
        """One API response, written as Claude Code does: one line per content block.

        Every line repeats ``input``/cache counts; ``output_tokens`` is a streaming
        snapshot that grows to ``output`` on the last line, which alone has the stop
        reason. ``blocks`` are ``("text", str)``, ``("thinking", str)`` or
        ``("tool_use", name, input_dict)``. ``request_id=False`` leaves it out (Bedrock).
        """
        blocks = blocks or [("text", "Done.")]
        mid = message_id or msg_id()
        rid = req_id() if request_id is True else (None if request_id is False else request_id)
        n = len(blocks)
        lines = []
        for i, block in enumerate(blocks):
            snapshot = output if i == n - 1 else min(output, max(1, output * (i + 1) // (n + 1)))
            content = [_block(block)]
            message = {
                "model": model,
                "id": mid,
                "type": "message",
                "role": "assistant",
                "content": content,
                "stop_reason": stop_reason if i == n - 1 else None,
                "stop_sequence": None,
                "usage": claude_usage(
                    input=input, output=snapshot, cache_write_5m=cache_write_5m, cache_write_1h=cache_write_1h,
                    cache_read=cache_read, split=split, web_search=web_search, speed=speed,
                ),
            }
            line = self._head(sidechain=sidechain, agent_id=agent_id)
            line["message"] = message
            if rid is not None:
                line["requestId"] = rid
            line["type"] = "assistant"
            lines.append(self._tail(line, None))
        w5, w1 = (cache_write_5m, cache_write_1h) if split else (cache_write_5m + cache_write_1h, 0)
        usage = Usage(input=input, output=output, cache_write_5m=w5, cache_write_1h=w1, cache_read=cache_read,
                      web_search=web_search)
        if count:
            self.expected.add(usage)
            self.calls += 1
        return Response(lines, usage, mid, rid, model)

    def synthetic(self, text: str, *, api_error: bool = True) -> dict:
        """A ``<synthetic>`` notice: Claude Code's local error/limit message, zero usage."""
        line = self._head()
        line["message"] = {
            "id": new_uuid(),
            "model": "<synthetic>",
            "role": "assistant",
            "stop_reason": "stop_sequence",
            "stop_sequence": "",
            "type": "message",
            "usage": claude_usage(),
            "content": [{"type": "text", "text": text}],
        }
        line["type"] = "assistant"
        if api_error:
            line["isApiErrorMessage"] = True
        return self._tail(line, None)

    # -- other line types

    def progress_with_usage(self, *, model: str = HAIKU, output: int = 50, cache_read: int = 9000) -> dict:
        """A 2.1.x ``agent_progress`` line embedding a copy of a sub-agent's call: never counted."""
        inner = {
            "type": "assistant",
            "timestamp": stamp(self.clock),
            "message": {
                "model": model,
                "id": msg_id(),
                "type": "message",
                "role": "assistant",
                "content": [{"type": "tool_use", "id": f"toolu_{new_uuid()[:8]}", "name": "Grep",
                             "input": {"pattern": "TODO"}}],
                "stop_reason": None,
                "usage": claude_usage(input=5, output=output, cache_read=cache_read, cache_write_1h=700),
            },
            "requestId": req_id(),
            "uuid": new_uuid(),
        }
        line = self._head()
        line["type"] = "progress"
        line["data"] = {"message": inner, "normalizedMessages": [], "type": "agent_progress",
                        "prompt": "Find every TODO", "agentId": "a1b2c3d"}
        line["toolUseID"] = f"agent_{inner['message']['id']}"
        line["parentToolUseID"] = "toolu_parent"
        return self._tail(line, None)

    def hook_progress(self) -> dict:
        line = self._head()
        line["type"] = "progress"
        line["data"] = {"type": "hook_progress", "hookEvent": "PostToolUse", "hookName": "PostToolUse:Bash",
                        "command": "~/.claude/hooks/log.sh"}
        return self._tail(line, None)

    def system(self, subtype: str, **extra) -> dict:
        line = self._head()
        line["type"] = "system"
        line["subtype"] = subtype
        line.update(extra)
        return self._tail(line, None)

    def compact_boundary(self, pre_tokens: int = 170_000) -> dict:
        return self.system("compact_boundary", content="Conversation compacted", isMeta=False, level="info",
                           compactMetadata={"trigger": "auto", "preTokens": pre_tokens})

    def summary(self, text: str) -> dict:
        """A 1.0.x ``summary`` line (no sessionId, no timestamp)."""
        line = {"type": "summary", "summary": text, "leafUuid": new_uuid()}
        self.lines.append(line)
        return line

    def custom_title(self, text: str) -> dict:
        """``/rename``: the user's own title."""
        line = {"type": "custom-title", "customTitle": text, "sessionId": self.session_id}
        self.lines.append(line)
        return line

    def ai_title(self, text: str) -> dict:
        line = {"type": "ai-title", "aiTitle": text, "sessionId": self.session_id}
        self.lines.append(line)
        return line

    def snapshot(self) -> dict:
        mid = new_uuid()
        line = {"type": "file-history-snapshot", "messageId": mid,
                "snapshot": {"messageId": mid, "trackedFileBackups": {}, "timestamp": self.tick(0.1)},
                "isSnapshotUpdate": False}
        self.lines.append(line)
        return line

    def raw(self, obj: dict) -> dict:
        """Any other line, as given (unknown types, odd shapes)."""
        self.lines.append(obj)
        return obj

    # -- copies (resume, branch)

    def copy_lines(self, lines: Iterable[dict], *, restamp_session: bool = False) -> None:
        """Append copies of another file's lines, as a resumed session does.

        By default the copies keep everything, including the original ``sessionId``;
        ``restamp_session`` writes this session's id into them instead.
        """
        for line in lines:
            dup = orjson.loads(orjson.dumps(line))
            if restamp_session and "sessionId" in dup:
                dup["sessionId"] = self.session_id
            self.lines.append(dup)

    def write(self, path: Path) -> Path:
        return write_jsonl(path, self.lines)

    def data(self) -> bytes:
        return jsonl(self.lines)


def _block(block: tuple) -> dict:
    kind = block[0]
    if kind == "text":
        return {"type": "text", "text": block[1]}
    if kind == "thinking":
        return {"type": "thinking", "thinking": block[1], "signature": "EqQBCkYIBxgCKkB"}
    if kind == "tool_use":
        name = block[1]
        inp = block[2] if len(block) > 2 else {}
        tid = block[3] if len(block) > 3 else f"toolu_01{next(_counter):022d}"
        return {"type": "tool_use", "id": tid, "name": name, "input": inp}
    raise ValueError(kind)


# --- Codex CLI -------------------------------------------------------------------


def codex_rollout_path(home: Path, session_id: str, start: float = 0.0, *, archived: bool = False) -> Path:
    """``<home>/sessions/YYYY/MM/DD/rollout-<local time>-<uuid>.jsonl``."""
    t = T0 + timedelta(seconds=start)
    top = "archived_sessions" if archived else "sessions"
    return home / top / f"{t:%Y}" / f"{t:%m}" / f"{t:%d}" / f"rollout-{t:%Y-%m-%dT%H-%M-%S}-{session_id}.jsonl"


def codex_id(n: int) -> str:
    """A Codex thread id (uuid v7 shape)."""
    return f"019c8a{n:02x}-{n:04x}-7{n:03x}-8aa2-{n:012x}"


@dataclass
class CodexRollout:
    """Writes one Codex rollout: ``{timestamp, type, payload}`` lines with cumulative token counts."""

    session_id: str
    cwd: str = "/home/dev/acme-web"
    cli_version: str = "0.104.0"
    clock: float = 0.0
    forked_from: str | None = None
    parent_thread_id: str | None = None
    lines: list[dict] = field(default_factory=list)
    total: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    """Cumulative input (incl. cached), cached input, output (incl. reasoning), reasoning."""
    last: dict | None = None
    emitted: tuple | None = None
    """The cumulative total of the last ``token_count`` written (None before the first)."""
    expected: Usage = field(default_factory=Usage)
    calls: int = 0
    model: str | None = None

    def tick(self, seconds: float = 2.0) -> str:
        self.clock += seconds
        return stamp(self.clock)

    def _line(self, typ: str, payload: dict, at: str | None = None) -> dict:
        line = {"timestamp": at or self.tick(), "type": typ, "payload": payload}
        self.lines.append(line)
        return line

    def session_meta(self, *, at: str | None = None) -> dict:
        """The first line of a rollout, dated at the current clock (the file's start)."""
        at = at or stamp(self.clock)
        payload: dict = {
            "id": self.session_id,
            "timestamp": at,
            "cwd": self.cwd,
            "originator": "codex_cli_rs",
            "cli_version": self.cli_version,
            "source": "cli",
            "model_provider": "openai",
            "git": {"commit_hash": "1cdfa7b17410e00cddbb7a4347336af2c6f80ee0", "branch": "main"},
        }
        if self.forked_from:
            payload["forked_from_id"] = self.forked_from
        if self.parent_thread_id:
            payload["source"] = {"subagent": {"thread_spawn": {"parent_thread_id": self.parent_thread_id,
                                                               "depth": 1}}}
        return self._line("session_meta", payload, at)

    def turn_context(self, model: str = CODEX_MODEL) -> dict:
        self.model = model
        return self._line("turn_context", {
            "turn_id": new_uuid(), "cwd": self.cwd, "approval_policy": "on-request",
            "sandbox_policy": {"type": "workspace-write", "network_access": False},
            "model": model, "effort": "high", "summary": "auto",
        })

    def user(self, text: str) -> dict:
        self._line("response_item", {"type": "message", "role": "user",
                                     "content": [{"type": "input_text", "text": text}]})
        return self._line("event_msg", {"type": "user_message", "message": text, "images": []})

    def tool(self, name: str = "exec_command", *, custom: bool = False, arguments: str = '{"cmd":"ls"}') -> dict:
        """A tool call: a ``function_call`` (JSON ``arguments``), or a freeform ``custom_tool_call``
        (how ``apply_patch`` is sent to models that take freeform tools)."""
        call_id = f"call_{new_uuid().replace('-', '')[:24]}"
        if custom:
            return self._line("response_item", {"type": "custom_tool_call", "status": "completed",
                                                 "call_id": call_id, "name": name, "input": "*** Begin Patch"})
        return self._line("response_item", {"type": "function_call", "name": name,
                                             "arguments": arguments, "call_id": call_id})

    def tool_output(self, call: dict, output: str = "ok") -> dict:
        """The result of the tool call ``call`` (a line :meth:`tool` returned), as the model got it."""
        payload = call["payload"]
        kind = "custom_tool_call_output" if payload["type"] == "custom_tool_call" else "function_call_output"
        return self._line("response_item", {"type": kind, "call_id": payload["call_id"], "output": output})

    def web_search(self, query: str = "textual datatable update_cell") -> dict:
        """A hosted web search: a ``web_search_call`` item, which has no name and no call id."""
        return self._line("response_item", {"type": "web_search_call", "status": "completed",
                                             "action": {"type": "search", "query": query}})

    def call(self, *, input: int = 12_000, cached: int = 8_000, output: int = 400, reasoning: int = 150,
             count: bool = True) -> dict:
        """One API call: a ``token_count`` event with the new cumulative total and the last request."""
        self.total = [self.total[0] + input, self.total[1] + cached, self.total[2] + output, self.total[3] + reasoning]
        self.last = _codex_usage(input, cached, output, reasoning)
        if count and tuple(self.total) != self.emitted:
            # (a call of no tokens leaves the cumulative total unchanged: Codex's own
            # repeated emits look exactly like that, so it is rightly not a new call)
            self.expected.add(Usage(input=input - cached, output=output, cache_read=cached, reasoning=reasoning))
            self.calls += 1
        return self.repeat()

    def repeat(self) -> dict:
        """Re-emit the previous ``token_count`` (same cumulative total): not a new call."""
        info = {"total_token_usage": _codex_usage(*self.total), "last_token_usage": dict(self.last),
                "model_context_window": 258400}
        self.emitted = tuple(self.total)
        return self._line("event_msg", {"type": "token_count", "info": info, "rate_limits": _RATE_LIMITS})

    def null_info(self) -> dict:
        """``token_count`` with ``info: null`` (the first event of a turn): nothing to count."""
        return self._line("event_msg", {"type": "token_count", "info": None, "rate_limits": _RATE_LIMITS})

    def replay(self, parent: CodexRollout, *, restamp: bool) -> None:
        """Copy the parent's history into this (forked / sub-agent) file, as Codex does.

        ``restamp=False`` keeps the parent's timestamps (all before this file's
        session_meta); ``restamp=True`` writes the fork time on every copied line.
        The cumulative total continues from the parent's.
        """
        at = stamp(self.clock)
        for line in parent.lines:
            dup = orjson.loads(orjson.dumps(line))
            if restamp:
                dup["timestamp"] = at
            self.lines.append(dup)
        self.total = list(parent.total)
        self.emitted = parent.emitted
        self.last = dict(parent.last) if parent.last else None
        self.model = parent.model

    def write(self, path: Path) -> Path:
        return write_jsonl(path, self.lines)

    def data(self) -> bytes:
        return jsonl(self.lines)


_RATE_LIMITS = {"limit_id": "codex", "primary": {"used_percent": 4.0, "window_minutes": 300, "resets_at": 1772455831},
                "secondary": {"used_percent": 12.0, "window_minutes": 10080, "resets_at": 1772955703}}


def _codex_usage(input: int, cached: int, output: int, reasoning: int) -> dict:
    return {"input_tokens": input, "cached_input_tokens": cached, "output_tokens": output,
            "reasoning_output_tokens": reasoning, "total_tokens": input + output}


# --- reading back ------------------------------------------------------------------

_PRICES: PriceBook | None = None


def prices() -> PriceBook:
    """One price book for the whole run, at a fixed date (resolution is cached inside)."""
    global _PRICES
    if _PRICES is None:
        _PRICES = PriceBook(at=datetime(2026, 3, 1, tzinfo=UTC))
    return _PRICES


def agent_of(path: Path) -> str:
    return "codex" if path.name.startswith("rollout-") else "claude"


def load(paths: Iterable[Path], *, store: Store | None = None, reader: Reader | None = None,
         finalize: bool = True) -> Store:
    """Read files in the given order into one store (the order matters for order tests)."""
    store = store if store is not None else Store()
    reader = reader if reader is not None else Reader()
    for p in paths:
        agent = agent_of(Path(p))
        batch = reader.read(p, SOURCES[agent], finalize=finalize)
        if batch is not None:
            store.add_batch(batch, agent)
    return store


def summaries(store: Store) -> dict[str, SessionSummary]:
    """session_id -> summary (session ids are unique across agents in these tests)."""
    return {s.session_id: summarize(s, prices()) for s in store.sessions.values()}


def tokens(summary: SessionSummary) -> dict[str, int]:
    """The numbers a test compares: every token field plus call counts."""
    u = summary.usage
    return {
        "input": u.input,
        "output": u.output,
        "cache_write_5m": u.cache_write_5m,
        "cache_write_1h": u.cache_write_1h,
        "cache_read": u.cache_read,
        "reasoning": u.reasoning,
        "web_search": u.web_search,
        "total": u.total,
        "api_calls": summary.api_calls,
    }


def usage_dict(u: Usage, calls: int | None = None) -> dict[str, int]:
    d = {
        "input": u.input,
        "output": u.output,
        "cache_write_5m": u.cache_write_5m,
        "cache_write_1h": u.cache_write_1h,
        "cache_read": u.cache_read,
        "reasoning": u.reasoning,
        "web_search": u.web_search,
        "total": u.total,
    }
    if calls is not None:
        d["api_calls"] = calls
    return d


def all_tokens(store: Store) -> dict[str, dict[str, int]]:
    """Per session: ``tokens(summary)``; the value a chunking or order test compares."""
    return {k: tokens(s) for k, s in summaries(store).items()}
