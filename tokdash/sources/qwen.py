"""Qwen Code: ``~/.qwen/projects/<project>/chats/<sessionId>.jsonl``.

Checked against qwen-code's ``chatRecordingService.ts`` and ``config/storage.ts``: the
runtime folder is ``$QWEN_RUNTIME_DIR`` or ``~/.qwen``; ``projects/<sanitized cwd>/chats/``
holds one append-only JSONL file per session (older builds used Gemini's
``tmp/<project hash>/chats/``). Every record is ``{uuid, parentUuid, sessionId, timestamp,
type, cwd, version, gitBranch, ...}``, written once and never again:

- ``assistant``: one model response, ``model`` and ``usageMetadata`` (the API's
  ``promptTokenCount``/``candidatesTokenCount``/``cachedContentTokenCount``/
  ``thoughtsTokenCount``/``toolUsePromptTokenCount``; older builds wrote Gemini CLI's
  ``{input, output, cached, thoughts, tool}``). Cached tokens are inside the prompt count.
  Tool calls are the ``functionCall`` parts of ``message.parts``.
- ``user``: a prompt (``message.parts`` text); subtypes ``notification``, ``cron``,
  ``goal_runtime``... are written by Qwen Code itself.
- ``system``: ``chat_compression``, ``custom_title``, ``turn_result`` (a settled turn),
  ``rewind`` (the records after it stay in the file on a dead branch: they were billed).
- ``isSidechain`` / ``agentId``: a sub-agent's records; ``forkedFrom``: a record copied
  verbatim by ``/branch`` (same ``uuid``: the original counts).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from tokdash.model.records import EDIT, READ, SEARCH, SUBAGENT, WRITE, Batch, Call, Event, ToolUse, Usage
from tokdash.sources.base import (
    MAX_COUNT,
    FileContext,
    SourceDefaults,
    chat_entries,
    clean_str,
    count,
    env_roots,
    new_meta,
    parse_ts,
    shell_command,
    shorten,
)
from tokdash.sources.gemini.chat import TOOL_KINDS as GEMINI_TOOL_KINDS
from tokdash.sources.gemini.chat import tool_use

NAME = "qwen"
UNKNOWN_MODEL = "unknown-qwen-model"
"""Model of a response that names none: shown as unpriced, never $0."""
_TOP_DIRS = ("projects", "tmp")
_PROMPT_SUBTYPES = (None, "mid_turn_user_message")
"""User records a human typed; the other subtypes are Qwen Code's own (notifications, cron...)."""
_RATE_LIMIT_WORDS = ("429", "rate limit", "quota", "throttl")

TOOL_KINDS = {**GEMINI_TOOL_KINDS, "edit": EDIT, "task": SUBAGENT, "agent": SUBAGENT, "read_file": READ,
              "write_file": WRITE, "grep_search": SEARCH}
"""Gemini CLI's tool names (Qwen Code is its fork) plus Qwen's own ``edit`` and ``task``."""


class QwenSource(SourceDefaults):
    """Qwen Code sessions."""

    name = NAME
    label = "Qwen Code"
    env_var = "QWEN_RUNTIME_DIR"
    dir_help = "a Qwen Code home (holding projects/), e.g. ~/.qwen"
    default_help = "$QWEN_RUNTIME_DIR, else ~/.qwen"
    markers = (
        b'"usageMetadata"',
        re.compile(rb'"type"\s*:\s*"(?:user|system)"'),
    )
    """Responses by their usage, then prompts and the rare system records in one regex pass
    (spaces after the separators match too)."""

    def wants(self, line: bytes, hits: int, ctx: FileContext, offset: int, batch: Batch) -> bool:
        """Every marked line is decoded (there are no huge tool-result lines to skip: those
        are ``tool_result`` records, which no marker matches)."""
        return True

    def default_roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        """``QWEN_RUNTIME_DIR`` (Qwen Code's own runtime folder) if set, else ``~/.qwen``."""
        return env_roots(env, self.env_var) or [Path(os.path.expanduser("~")) / ".qwen"]

    def scan_roots(self, roots: list[Path]) -> list[Path]:
        """``projects/`` (and the older ``tmp/``) of the roots that exist."""
        return [r / d for r in roots for d in _TOP_DIRS if (r / d).is_dir()]

    def files(self, top: Path) -> Iterator[Path]:
        """Every ``<project>/chats/*.jsonl`` under one top folder."""
        for entries in chat_entries(top):
            yield from (Path(e.path) for e in entries if e.name.endswith(".jsonl") and e.is_file())

    def claims(self, path: Path) -> bool:
        """``projects/<project>/chats/<id>.jsonl`` (or under ``tmp/``)."""
        parents = path.parents
        return (path.suffix == ".jsonl" and len(parents) >= 3 and parents[0].name == "chats"
                and parents[2].name in _TOP_DIRS)

    def resume_command(self, session_id: str) -> str | None:
        """``qwen --resume <id>`` (the file stem is the session id)."""
        return shell_command(("qwen", "--resume"), session_id)

    def session_files(self, transcript: Path) -> list[Path]:
        """The session's one file (sub-agent records are inline)."""
        return [transcript]

    def context_for(self, path: Path, root: Path | None = None) -> FileContext | None:
        """The file stem is the session id."""
        if not self.claims(path):
            return None
        return FileContext(path=str(path), agent=NAME, session_id=clean_str(path.stem))

    def parse(self, obj: dict, ctx: FileContext, offset: int, batch: Batch) -> None:
        """One decoded record into records."""
        typ = obj.get("type")
        if typ not in ("assistant", "user", "system"):
            return
        meta = ctx.meta
        if meta is None:
            meta = ctx.meta = new_meta(ctx, ctx.session_id, resume_command=self.resume_command(ctx.session_id))
        ts = parse_ts(obj.get("timestamp"))
        if ts is not None:
            ctx.saw(ts)
        for field, value in (("cwd", obj.get("cwd")), ("git_branch", obj.get("gitBranch")),
                             ("version", obj.get("version"))):
            if isinstance(value, str) and value and (field != "cwd" or meta.cwd is None):
                setattr(meta, field, value)
        copied = isinstance(obj.get("forkedFrom"), dict)
        sidechain = obj.get("isSidechain") is True
        rank = ctx.rank(offset, not copied)
        sid = ctx.session_id
        if typ == "assistant":
            self._assistant(obj, ctx, offset, ts, rank, copied, sidechain, batch)
        elif typ == "user":
            if sidechain or copied or obj.get("subtype") not in _PROMPT_SUBTYPES:
                return
            text = _text(obj.get("message"))
            payload = obj.get("systemPayload")
            if isinstance(payload, dict) and isinstance(payload.get("displayText"), str):
                text = payload["displayText"].strip() or text
            if text:
                batch.events.append(Event(("qwen-prompt", _id(obj, ctx, offset)), sid, "prompt", ts or 0.0, rank,
                                          shorten(text, 200)))
        else:
            self._system(obj, ctx, offset, ts, rank, sidechain or copied, batch)

    def _assistant(self, obj: dict, ctx: FileContext, offset: int, ts: float | None, rank: tuple, copied: bool,
                   sidechain: bool, batch: Batch) -> None:
        usage = _usage(obj.get("usageMetadata"))
        message = obj.get("message")
        parts = message.get("parts") if isinstance(message, dict) else None
        calls = [p["functionCall"] for p in parts if isinstance(p, dict) and isinstance(p.get("functionCall"), dict)] \
            if isinstance(parts, list) else []
        sid = ctx.session_id
        if usage is not None:
            tools: dict[str, ToolUse] = {}
            for i, fc in enumerate(calls):
                if isinstance(fc.get("name"), str) and fc["name"]:
                    tid = fc.get("id")
                    tools[tid if isinstance(tid, str) and tid else f"{ctx.path}:{offset}:{i}"] = tool_use(
                        fc["name"], fc.get("args"), TOOL_KINDS)
            model = obj.get("model")
            agent = obj.get("agentId")
            batch.calls.append(Call(
                key=("qwen", _id(obj, ctx, offset)), session_id=sid,
                model=model if isinstance(model, str) and model else UNKNOWN_MODEL, timestamp=ts or 0.0,
                usage=usage, rank=rank, sidechain=sidechain, replica=copied,
                agent_id=(agent if isinstance(agent, str) and agent else "sidechain") if sidechain else None,
                tools=tools, file_path=ctx.path, line_no=offset))
        if not calls and not sidechain and not copied and usage is not None:
            # A response that asks for no tool ends the turn: Qwen Code waits for its human.
            batch.events.append(Event(("qwen-turn-end", sid, _turn(obj, ctx, offset)), sid, "turn_end", ts or 0.0,
                                      rank, "stop"))

    def _system(self, obj: dict, ctx: FileContext, offset: int, ts: float | None, rank: tuple, aside: bool,
                batch: Batch) -> None:
        sub = obj.get("subtype")
        payload = obj.get("systemPayload")
        payload = payload if isinstance(payload, dict) else {}
        sid = ctx.session_id
        if sub == "chat_compression" and not aside:
            batch.events.append(Event(("qwen-compaction", _id(obj, ctx, offset)), sid, "compaction", ts or 0.0, rank))
        elif sub == "custom_title":
            title = payload.get("customTitle")
            if isinstance(title, str) and title.strip():
                rank_of = 2 if payload.get("titleSource") == "auto" else 3
                if rank_of >= ctx.meta.title_rank:
                    ctx.meta.title, ctx.meta.title_rank = shorten(title), rank_of
        elif sub == "turn_result" and not aside:
            state = payload.get("state")
            if state in ("completed", "cancelled", "error"):
                batch.events.append(Event(("qwen-turn-end", sid, _turn(obj, ctx, offset)), sid, "turn_end",
                                          ts or 0.0, rank, state))
            error = payload.get("error")
            if state == "error" and isinstance(error, dict):
                text = str(error.get("message", ""))
                kind = "rate_limit" if any(w in text.lower() for w in _RATE_LIMIT_WORDS) else "api_error"
                batch.events.append(Event(("qwen-event", _id(obj, ctx, offset)), sid, kind, ts or 0.0, rank,
                                          shorten(text, 120)))


def _id(obj: dict, ctx: FileContext, offset: int) -> str:
    uuid = obj.get("uuid")
    return uuid if isinstance(uuid, str) and uuid else f"{ctx.path}:{offset}"


def _turn(obj: dict, ctx: FileContext, offset: int) -> str:
    """One key per turn end: the turn's ``promptId`` (a ``turn_result`` and the turn's last
    response share it), else the record's own id."""
    payload = obj.get("systemPayload")
    prompt = obj.get("promptId") or (payload.get("promptId") if isinstance(payload, dict) else None)
    return prompt if isinstance(prompt, str) and prompt else _id(obj, ctx, offset)


def _usage(meta) -> Usage | None:
    """``usageMetadata`` as a Usage: uncached input = prompt - cached (+ tool-use prompt),
    cache read = cached, output = candidates + thoughts (kept apart as reasoning)."""
    if not isinstance(meta, dict):
        return None
    if "promptTokenCount" in meta or "candidatesTokenCount" in meta:
        keys = ("promptTokenCount", "cachedContentTokenCount", "candidatesTokenCount", "thoughtsTokenCount",
                "toolUsePromptTokenCount")
    else:
        keys = ("input", "cached", "output", "thoughts", "tool")
    prompt, cached, out, thoughts, tool = (count(meta.get(k)) for k in keys)
    cached = min(cached, prompt)
    if prompt + out + thoughts + tool >= MAX_COUNT:
        return None
    return Usage(input=prompt - cached + tool, output=out + thoughts, cache_read=cached, reasoning=thoughts)


def _text(message) -> str:
    parts = message.get("parts") if isinstance(message, dict) else None
    if not isinstance(parts, list):
        return ""
    return "\n".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)
                     and not p.get("thought")).strip()
