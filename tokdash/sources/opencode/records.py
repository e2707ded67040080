"""OpenCode messages into records, the same for the database and the legacy JSON tree.

Checked against OpenCode's ``session/message-v2.ts`` (``Assistant``: ``tokens {input,
output, reasoning, cache {read, write}}``, ``modelID``, ``providerID``, ``time {created,
completed}``, ``finish``, ``error``, ``summary``; parts ``tool`` with ``tool``/``callID``/
``state.input``, ``text``, ``step-finish``) and ``session/index.ts`` (``getUsage``: ``input``
excludes the cached part, ``output`` and ``reasoning`` are the SDK's separate counts and
OpenCode bills reasoning on top at the output rate).

- One assistant message is one API call; its ``tokens`` are the call's. ``step-finish``
  parts repeat them: they are never added on top.
- ``cost`` is often 0 (subscriptions): every call is priced from the table instead.
- A child session (``parent_id``: a sub-agent's task) rolls up into its root session:
  its calls are the root's, marked as a sub-agent whose id is the child session's.
"""

from __future__ import annotations

from dataclasses import replace

from tokdash.model.records import (
    EDIT,
    OTHER,
    READ,
    SEARCH,
    SUBAGENT,
    WRITE,
    Batch,
    Call,
    Event,
    SessionMeta,
    ToolUse,
    Usage,
)
from tokdash.sources.base import MAX_COUNT, FileContext, clean_str, count, shell_command, shorten

NAME = "opencode"
UNKNOWN_MODEL = "unknown-opencode-model"
"""Model of a call whose message names none: shown as unpriced, never $0."""
TOOL_KINDS = {
    "read": READ,
    "edit": EDIT,
    "multiedit": EDIT,
    "patch": EDIT,
    "apply_patch": EDIT,
    "write": WRITE,
    "glob": SEARCH,
    "grep": SEARCH,
    "list": SEARCH,
    "codesearch": SEARCH,
    "task": SUBAGENT,
}
"""OpenCode's built-in tools by kind; bash, webfetch, todowrite, MCP tools are ``other``."""
_TARGET_KEYS = ("filePath", "file_path", "path", "pattern")
_RANGE_KEYS = ("offset", "limit")
_MORE_STEPS = frozenset({"tool-calls", "tool_calls", "unknown"})
"""``finish`` reasons after which the agent goes on by itself (it asked for tools)."""
_RATE_LIMIT_WORDS = ("429", "rate limit", "rate_limit", "too many requests", "overloaded", "quota")
PROMPT_TRIES = 3
"""Reads a user message may wait for its text part (written just after it) before its
prompt is recorded without text."""


def resume_command(session_id: str) -> str | None:
    """``opencode --session <id>`` continues a session."""
    return shell_command(("opencode", "--session"), session_id)


def ms(value) -> float | None:
    """Epoch milliseconds to seconds; None for anything that is no plausible time."""
    if type(value) in (int, float) and 0 < value < 253402214400000:
        return value / 1000.0
    return None


def usage_of(tokens) -> Usage | None:
    """A message's ``tokens``: input uncached, output + reasoning (reasoning kept apart),
    cache read and write (OpenCode does not tell the write's TTL: the 5-minute default)."""
    if not isinstance(tokens, dict):
        return None
    cache = tokens.get("cache")
    cache = cache if isinstance(cache, dict) else {}
    inp, out, reasoning = count(tokens.get("input")), count(tokens.get("output")), count(tokens.get("reasoning"))
    read, write = count(cache.get("read")), count(cache.get("write"))
    if inp + out + reasoning + read + write >= MAX_COUNT:
        return None
    return Usage(input=inp, output=out + reasoning, cache_write_5m=write, cache_read=read, reasoning=reasoning)


def tool_of(part: dict) -> tuple[str, ToolUse] | None:
    """(call id, tool use) of a ``tool`` part."""
    name = part.get("tool")
    if not isinstance(name, str) or not name:
        return None
    state = part.get("state")
    args = state.get("input") if isinstance(state, dict) else None
    kind = TOOL_KINDS.get(name, OTHER)
    call_id = part.get("callID") if isinstance(part.get("callID"), str) else part.get("id")
    if not isinstance(args, dict):
        return str(call_id), ToolUse(name, kind=kind)
    target = next((args[k] for k in _TARGET_KEYS if isinstance(args.get(k), str)), None)
    whole = kind == READ and all(args.get(k) is None for k in _RANGE_KEYS)
    return str(call_id), ToolUse(name, target, whole, kind)


class Tree:
    """Sessions by id (``id -> [parent id, title, directory, version]``), and the root each
    belongs to."""

    def __init__(self, known: dict) -> None:
        self.known = known

    def add(self, sid: str, parent, title, directory, version) -> None:
        """Record (or update) one session row."""
        self.known[sid] = [parent if isinstance(parent, str) and parent else None,
                           clean_str(title) if isinstance(title, str) else None,
                           clean_str(directory) if isinstance(directory, str) else None,
                           clean_str(version) if isinstance(version, str) else None]

    def root(self, sid: str) -> str:
        """The top of ``sid``'s chain of parents (itself when it has none or it is unknown)."""
        seen = {sid}
        cur = sid
        while True:
            row = self.known.get(cur)
            parent = row[0] if row else None
            if parent is None or parent in seen:
                return cur
            seen.add(parent)
            cur = parent


class Builder:
    """Turns one file's messages into records and the metas of their root sessions.

    ``metas`` (root id -> meta) may be kept across reads (a legacy session file keeps its
    one meta in its cursor, to continue its first and last activity), or be fresh each read
    (the database asks itself for each touched session's span instead of keeping a meta
    for every session it ever held).
    """

    def __init__(self, ctx: FileContext, tree: Tree, batch: Batch, *, native: bool,
                 metas: dict[str, SessionMeta]) -> None:
        self.ctx = ctx
        self.tree = tree
        self.batch = batch
        self.native = native
        """False for the legacy tree: a database copy of the same message wins ties."""
        self.metas = metas
        self.touched: set[str] = set()

    def meta(self, root: str) -> SessionMeta:
        """The meta of a root session, with its row's facts."""
        meta = self.metas.get(root)
        if meta is None:
            meta = self.metas[root] = SessionMeta(session_id=root, agent=NAME, path=self.ctx.path,
                                                  resume_command=resume_command(root))
        row = self.tree.known.get(root)
        if row:
            meta.title = shorten(row[1]) if row[1] else meta.title
            meta.title_rank = 2 if row[1] else meta.title_rank
            meta.cwd = row[2] or meta.cwd
            meta.version = row[3] or meta.version
        self.touched.add(root)
        return meta

    def message(self, mid: str, sid: str, data: dict, order: int, tools: dict[str, ToolUse],
                text: str | None) -> None:
        """One message (``data`` as stored, ``tools`` from its parts, ``text`` its prompt
        text when it is a user message whose text part was found)."""
        root = self.tree.root(sid)
        child = root != sid
        meta = self.meta(root)
        time = data.get("time") if isinstance(data.get("time"), dict) else {}
        ts = ms(time.get("created"))
        done = ms(time.get("completed"))
        for t in (ts, done):
            if t is not None:
                meta.first_ts = t if meta.first_ts is None or t < meta.first_ts else meta.first_ts
                meta.last_ts = t if meta.last_ts is None or t > meta.last_ts else meta.last_ts
                if self.ctx.start_ts is None or t < self.ctx.start_ts:
                    self.ctx.start_ts = t
        rank = self.ctx.rank(order, self.native)
        role = data.get("role")
        batch = self.batch
        if role == "assistant":
            self._assistant(mid, root, child, sid, data, ts, done, rank, tools)
        elif role == "user" and not child and text is not None:
            batch.events.append(Event((NAME + "-prompt", mid), root, "prompt", ts or 0.0, rank, shorten(text, 200)))
        elif role == "user" and child:
            # A child session's user message is the task its parent agent wrote, not a human's:
            # the child's title (OpenCode gives it the task's description), else the message.
            row = self.tree.known.get(sid)
            task = row[1] if row and row[1] else text
            if task:
                batch.events.append(Event((NAME + "-task", mid), root, "task", ts or 0.0, rank, shorten(task, 120), sid))

    def _assistant(self, mid: str, root: str, child: bool, sid: str, data: dict, ts, done, rank,
                   tools: dict[str, ToolUse]) -> None:
        batch = self.batch
        usage = usage_of(data.get("tokens"))
        model = data.get("modelID")
        finish = data.get("finish") if isinstance(data.get("finish"), str) else None
        if usage is not None and (usage.total or tools):
            batch.calls.append(Call(
                key=(NAME, mid), session_id=root, model=clean_str(model) if isinstance(model, str) and model
                else UNKNOWN_MODEL, timestamp=ts or done or 0.0, usage=usage, rank=rank, sidechain=child,
                agent_id=sid if child else None, tools=tools, open=done is None, stop_reason=finish,
                file_path=self.ctx.path))
        error = data.get("error")
        if isinstance(error, dict):
            detail = error.get("data") if isinstance(error.get("data"), dict) else {}
            text = str(detail.get("message") or error.get("name") or "error")
            status = detail.get("statusCode")
            kind = "rate_limit" if status == 429 or any(w in text.lower() for w in _RATE_LIMIT_WORDS) else "api_error"
            if error.get("name") != "MessageAbortedError":
                batch.events.append(Event((NAME + "-error", mid), root, kind, done or ts or 0.0, rank,
                                          shorten(text, 120), sid if child else None))
        if data.get("summary") is True:
            batch.events.append(Event((NAME + "-compaction", mid), root, "compaction", ts or 0.0, rank))
        if not child and done is not None and (finish not in _MORE_STEPS or isinstance(error, dict)):
            how = finish or (str(error.get("name")) if isinstance(error, dict) else "stop")
            batch.events.append(Event((NAME + "-turn-end", mid), root, "turn_end", done, rank, how))

    def bad(self, sid) -> str | None:
        """A message of session ``sid`` that did not decode: skipped, counted on its root
        (returned, when known)."""
        self.batch.bad_lines += 1
        if isinstance(sid, str) and sid:
            root = self.tree.root(sid)
            self.meta(root).bad_lines += 1
            return root
        return None

    def finish(self) -> None:
        """Put a snapshot of every touched root session's meta into the batch."""
        for root in sorted(self.touched):
            self.batch.metas.append(replace(self.metas[root]))
