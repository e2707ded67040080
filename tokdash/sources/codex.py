"""Codex CLI: rollout files under ``$CODEX_HOME/sessions`` and ``archived_sessions``.

Each ``event_msg``/``token_count`` carries the file's cumulative
``total_token_usage`` and the request's ``last_token_usage``. One API call is
keyed globally by its cumulative total: a repeated emit of the same total (about
half of them) and a fork or sub-agent thread replaying its parent's history then
share a key with the original, and the store keeps one copy, the one of the
session that started first (where the call happened).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from tokdash.model.records import EDIT, OTHER, READ, SEARCH, SUBAGENT, Batch, Call, Event, Usage
from tokdash.sources.base import (
    FileContext,
    SourceDefaults,
    clean_str,
    count,
    env_roots,
    new_meta,
    parse_ts,
    shell_command,
    shorten,
)

NAME = "codex"
_CALL_ID = re.compile(rb'"call_id"\s*:\s*"([^"\\]{1,200})"')
_ROLLOUT_ID = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
_RATE_LIMIT_WORDS = ("rate limit", "usage limit", "429", "too many requests")
UNKNOWN_MODEL = "unknown-codex-model"
"""Model of a call made before any ``turn_context`` named one: shown as unpriced, never $0."""


_TOOL_KINDS = {
    "apply_patch": EDIT,
    "read_file": READ,
    "grep_files": SEARCH,
    "list_dir": SEARCH,
    "spawn_agent": SUBAGENT,
    "spawn_agents_on_csv": SUBAGENT,
}
"""Codex's built-in tools by kind, as ``codex-rs/core/src/tools/spec.rs`` (``build_specs``)
registers them: ``apply_patch`` (a ``custom_tool_call`` when freeform, else a
``function_call``) changes files in place; the experimental ``read_file``, ``grep_files``
and ``list_dir`` read and search; the collab tools' ``spawn_agent`` (and the agent jobs'
``spawn_agents_on_csv``) start sub-agent threads. Everything else is ``other``: the shell
(``shell``, ``shell_command``, ``exec_command``, ``write_stdin``), ``update_plan``,
``view_image``, ``web_search``, the MCP resource tools, ``send_input``/``wait``/
``close_agent``, which talk to an agent already running, and MCP tools."""


class CodexSource(SourceDefaults):
    """Codex CLI rollouts."""

    name = NAME
    label = "Codex CLI"
    env_var = "CODEX_HOME"
    has_plan_windows = True  # ChatGPT plans: 5-hour and weekly windows
    dir_help = "a Codex home (holding sessions/)"
    default_help = "$CODEX_HOME, else ~/.codex"
    markers = (
        re.compile(
            rb'"type"\s*:\s*"(?:token_count|turn_context|session_meta|user_message|function_call|custom_tool_call'
            rb'|web_search_call|compacted|context_compacted|error|task_complete|turn_aborted)"'
        ),
        re.compile(rb'"type"\s*:\s*"(?:function_call_output|custom_tool_call_output)"'),
    )
    """Every line we read names its kind as ``"type":"<kind>"`` (top level or in the payload):
    one regex pass finds them all, where a ``find`` per kind would scan the bytes nine times.
    The second marker finds tool outputs, which are measured without being decoded. Spaces
    after the separators (``"type": "token_count"``, Python's ``json.dumps``) match too."""
    _OUTPUT = 2

    def wants(self, line: bytes, hits: int, ctx: FileContext, offset: int, batch: Batch) -> bool:
        """Decode every marked line but tool outputs: their size and call id are all the tips need."""
        if not hits & self._OUTPUT or hits & 1:
            return True
        m = _CALL_ID.search(line, 0, 512)
        if m is None or ctx.session_id is None:
            return False
        ts = parse_ts(line[14:38].split(b'"', 1)[0].decode("ascii", "replace")) \
            if line.startswith(b'{"timestamp":"') else None
        if self._is_replay(ctx, ts):
            return False
        call_id = m.group(1).decode("utf-8", "replace")
        batch.events.append(
            Event(("codex-tool-output", call_id), ctx.session_id, "tool_output", ts or 0.0, ctx.rank(offset),
                  call_id, ctx.agent_id, value=len(line) - m.end())
        )
        return False

    def default_roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        """``CODEX_HOME`` (comma list) if set, else ``~/.codex``."""
        return env_roots(env, self.env_var) or [Path(os.path.expanduser("~")) / ".codex"]

    def scan_roots(self, roots: list[Path]) -> list[Path]:
        """``sessions/`` first, then ``archived_sessions/`` (the live copy is preferred)."""
        out = []
        for r in roots:
            for sub in ("sessions", "archived_sessions"):
                if (r / sub).is_dir():
                    out.append(r / sub)
        return out

    def files(self, top: Path) -> Iterator[Path]:
        """Every ``rollout-*.jsonl`` under a sessions folder, at any depth."""
        for dirpath, _dirs, names in os.walk(top):
            for n in names:
                if _is_rollout(n):
                    yield Path(dirpath) / n

    def claims(self, path: Path) -> bool:
        """A ``rollout-*.jsonl`` file (at any depth under ``sessions/`` or ``archived_sessions/``)."""
        return _is_rollout(path.name)

    def resume_command(self, session_id: str) -> str | None:
        """``codex resume <id>``. The id is read from inside the rollout (``session_meta``), so
        only a plain one gets a command."""
        return shell_command(("codex", "resume"), session_id)

    def session_files(self, transcript: Path) -> list[Path]:
        """The rollout alone: a sub-agent thread is its own rollout, found by the parent id
        inside it, not by its path."""
        return [transcript]

    def plan_windows(self, roots: list[Path], now: float) -> list:
        """The plan windows of the newest real ``rate_limits`` in the rollouts under ``roots``
        (official figures; the optional ``Source.plan_windows``). Reads only the tails of the
        most recently modified rollouts: see ``codex_limits``."""
        from tokdash.sources.codex_limits import plan_windows

        return plan_windows(self.name, self.scan_roots(roots), now)

    def context_for(self, path: Path, root: Path | None = None) -> FileContext | None:
        """The session id is learned from ``session_meta``; the file name's uuid is the fallback."""
        if not _is_rollout(path.name):
            return None
        ctx = FileContext(path=str(path), agent=NAME, session_id=None)
        m = _ROLLOUT_ID.search(path.stem)
        ctx.state["fallback_id"] = m.group(1) if m else clean_str(path.stem)
        ctx.state["model"] = UNKNOWN_MODEL
        ctx.state["total"] = None
        return ctx

    def _ensure_session(self, ctx: FileContext, batch: Batch, sid: str | None = None) -> None:
        if ctx.session_id is None:
            ctx.session_id = sid or ctx.state["fallback_id"]
        if ctx.meta is None:
            ctx.meta = new_meta(ctx, ctx.session_id, resume_command=self.resume_command(ctx.session_id))


    def parse(self, obj: dict, ctx: FileContext, offset: int, batch: Batch) -> None:
        """One decoded rollout line into records."""
        typ = obj.get("type")
        payload = obj.get("payload")
        if not isinstance(payload, dict):
            return
        ts = parse_ts(obj.get("timestamp"))
        if typ == "session_meta":
            self._session_meta(payload, ctx, ts, batch)
            return
        self._ensure_session(ctx, batch)
        meta = ctx.meta
        if ts is not None:
            ctx.saw(ts)
        ptype = payload.get("type")
        replay = self._is_replay(ctx, ts)
        if typ == "turn_context":
            model = payload.get("model")
            if isinstance(model, str) and model:
                ctx.state["model"] = model
                meta.model_hint = model
            cwd = payload.get("cwd")
            if isinstance(cwd, str) and cwd and meta.cwd is None:
                meta.cwd = cwd
        elif typ == "event_msg" and ptype == "token_count":
            self._token_count(payload, ctx, offset, ts, replay, batch)
        elif typ == "event_msg" and ptype == "user_message":
            text = payload.get("message")
            # A sub-agent thread's user message is the task its parent agent wrote, not a
            # human prompt (the Claude source skips sub-agent prompts for the same reason).
            if isinstance(text, str) and text.strip() and not replay and not ctx.is_subagent_file:
                digest = hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=8).hexdigest()
                key = ("codex-prompt", ctx.state["total"], digest)
                batch.events.append(
                    Event(key, ctx.session_id, "prompt", ts or 0.0, ctx.rank(offset), shorten(text, 200))
                )
        elif typ == "response_item" and ptype in ("function_call", "custom_tool_call", "web_search_call"):
            if replay:
                return
            name = "web_search" if ptype == "web_search_call" else payload.get("name")
            if not isinstance(name, str) or not name:
                return
            call_id = payload.get("call_id") or payload.get("id")
            key = ("codex-tool", call_id) if isinstance(call_id, str) and call_id else ("codex-tool", ctx.path, offset)
            batch.events.append(Event(key, ctx.session_id, "tool", ts or 0.0, ctx.rank(offset), name, ctx.agent_id,
                                      tool_kind=_TOOL_KINDS.get(name, OTHER)))
        elif (typ == "compacted" or (typ == "event_msg" and ptype == "context_compacted")) and not replay:
            # One compaction writes both a `compacted` item and a `context_compacted` event:
            # key them by the cumulative total they follow so they count once.
            key = ("codex-compaction", ctx.session_id, ctx.state["total"])
            batch.events.append(Event(key, ctx.session_id, "compaction", ts or 0.0, ctx.rank(offset)))
        elif typ == "event_msg" and ptype in ("task_complete", "turn_aborted") and not replay:
            if not ctx.is_subagent_file:
                # The turn is over: Codex waits for its human (a sub-agent thread's end is not that).
                turn = payload.get("turn_id")
                # Keyed by the turn alone: a fork replaying its parent's lines re-stamped (not
                # caught as a replay) shares the parent's turn ids, and the parent's copy ranks first.
                key = ("codex-turn-end", turn if isinstance(turn, str) and turn else f"{ctx.path}:{offset}")
                batch.events.append(Event(key, ctx.session_id, "turn_end", ts or 0.0, ctx.rank(offset), ptype))
        elif typ == "event_msg" and ptype == "error" and not replay:
            text = str(payload.get("message", ""))
            kind = "rate_limit" if any(w in text.lower() for w in _RATE_LIMIT_WORDS) else "api_error"
            batch.events.append(
                Event(("codex-event", ctx.path, offset), ctx.session_id, kind, ts or 0.0, ctx.rank(offset),
                      shorten(text, 120))
            )

    def _session_meta(self, payload: dict, ctx: FileContext, ts: float | None, batch: Batch) -> None:
        if ctx.meta is not None:
            return  # a later session_meta is the parent's, replayed into a fork: not ours
        own_id = payload.get("id") if isinstance(payload.get("id"), str) else None
        sid = own_id
        source = payload.get("source")
        if isinstance(source, dict):
            spawn = (source.get("subagent") or {}).get("thread_spawn") if isinstance(source.get("subagent"), dict) else None
            parent = spawn.get("parent_thread_id") if isinstance(spawn, dict) else None
            if isinstance(parent, str) and parent:
                # A sub-agent thread rolls into its parent's session, like Claude's sub-agents.
                sid = parent
                ctx.agent_id = own_id or ctx.state["fallback_id"]
                ctx.is_subagent_file = True
        self._ensure_session(ctx, batch, sid)
        meta = ctx.meta
        forked = payload.get("forked_from_id")
        if isinstance(forked, str) and forked:
            meta.forked_from = forked
            ctx.state["fork_ts"] = ts
        if ctx.is_subagent_file:
            ctx.state["fork_ts"] = ts
        cwd = payload.get("cwd")
        if isinstance(cwd, str) and cwd:
            meta.cwd = cwd
        version = payload.get("cli_version")
        if isinstance(version, str) and version:
            meta.version = version
        git = payload.get("git")
        if isinstance(git, dict) and isinstance(git.get("branch"), str):
            meta.git_branch = git["branch"]
        if ts is not None:
            ctx.start_ts = ts if ctx.start_ts is None else min(ctx.start_ts, ts)
            meta.first_ts = ts if meta.first_ts is None else min(meta.first_ts, ts)
            meta.last_ts = ts if meta.last_ts is None else max(meta.last_ts, ts)

    def _is_replay(self, ctx: FileContext, ts: float | None) -> bool:
        """Lines of a fork or sub-agent thread dated before the file's own start are copied history.

        Replays that keep their original timestamps are caught here even when the
        parent file is gone; replays re-stamped at the fork time are caught by the
        cumulative-total key when the parent's file is read too.
        """
        fork_ts = ctx.state.get("fork_ts")
        return fork_ts is not None and ts is not None and ts < fork_ts

    def _token_count(self, payload: dict, ctx: FileContext, offset: int, ts: float | None, replay: bool,
                     batch: Batch) -> None:
        info = payload.get("info")
        if not isinstance(info, dict):
            return
        total = info.get("total_token_usage")
        last = info.get("last_token_usage")
        total_key = _usage_tuple(total) if isinstance(total, dict) else None
        if total_key is not None:
            ctx.state["total"] = total_key
        if replay or not isinstance(last, dict):
            return
        cached = count(last.get("cached_input_tokens"))
        inp = count(last.get("input_tokens"))
        usage = Usage(
            input=max(inp - cached, 0),
            output=count(last.get("output_tokens")),
            cache_read=min(cached, inp) if inp else cached,
            reasoning=count(last.get("reasoning_output_tokens")),
        )
        # Keyed by the session and its cumulative total: unrelated sessions never merge,
        # even when two tiny first calls happen to have equal counts. A fork or
        # sub-agent thread is a replica, matched to its parent's call by the total alone.
        replica = ctx.is_subagent_file or ctx.meta.forked_from is not None
        if total_key is not None:
            key = ("codex", ctx.session_id if not replica else ctx.state["fallback_id"], total_key)
        else:
            key = ("codex-last", ctx.path, offset)
        batch.calls.append(
            Call(
                key=key,
                session_id=ctx.session_id,
                model=ctx.state["model"],
                timestamp=ts or 0.0,
                usage=usage,
                rank=ctx.rank(offset),
                sidechain=ctx.is_subagent_file,
                replica=replica,
                msg_id=("codex-total", total_key) if total_key is not None else None,
                agent_id=ctx.agent_id,
                file_path=ctx.path,
                line_no=offset,
            )
        )


def _is_rollout(name: str) -> bool:
    return name.startswith("rollout-") and name.endswith(".jsonl")


def _usage_tuple(u: dict) -> tuple[int, int, int, int]:
    return (
        count(u.get("input_tokens")),
        count(u.get("cached_input_tokens")),
        count(u.get("output_tokens")),
        count(u.get("reasoning_output_tokens")),
    )
