"""Gemini CLI chat files into records: fold a file's records into its message set, then
turn each message into a call, a prompt, an error or a turn end.

How gemini-cli writes (``packages/core/src/services/chatRecordingService.ts``):

- Every update of a message appends the whole message again under the same ``id``:
  text, then its tokens (``recordMessageTokens``, set once), then its tool calls. The
  last copy is the message; a file's copies are folded by ``id`` before any record is
  built, so the store sees one copy per message per read.
- ``{"$rewindTo": id}`` (``/rewind``) drops that message and every later one; an id that
  is not there drops them all (as gemini-cli's own loader does). A read that meets one
  reads the whole file again and replaces everything the file gave before
  (``Batch.replaces_file``).
- ``{"$set": {...}}`` updates the metadata. With ``messages`` it is a checkpoint of the
  model's history (after a compression or a rolled-back turn) that gemini-cli's loader
  takes as the whole message set; here its messages are upserted and none is dropped:
  the calls a compression folds away were made and billed all the same.
- ``tokens = {input, output, cached, thoughts, tool, total}`` (the API's prompt,
  candidates, cached-content, thoughts and tool-use-prompt counts). ``cached`` is inside
  ``input``; thoughts bill at the output rate; ``tool`` is prompt tokens outside ``input``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from tokdash.model.records import EDIT, OTHER, READ, SEARCH, SUBAGENT, WRITE, Batch, Call, Event, ToolUse, Usage
from tokdash.paths import NotARegularFile, open_regular
from tokdash.sources.base import (
    MAX_COUNT,
    FileContext,
    clean_str,
    count,
    decode_line,
    load_json,
    new_meta,
    parse_ts,
    shorten,
)

UNKNOWN_MODEL = "unknown-gemini-model"
"""Model of a response whose message names none: shown as unpriced, never $0."""
CHUNK = 4 * 1024 * 1024
_META_KEYS = ("sessionId", "summary", "kind", "startTime", "lastUpdated", "directories")
_RATE_LIMIT_WORDS = ("429", "rate limit", "quota", "resource_exhausted", "resource exhausted")
_NOT_PROMPTS = ("<session_context>", "<hook_context>")
"""User messages gemini-cli writes itself (``isIgnoredUserContent``)."""

TOOL_KINDS = {
    "read_file": READ,
    "read_many_files": READ,
    "write_file": WRITE,
    "replace": EDIT,
    "edit": EDIT,
    "glob": SEARCH,
    "grep_search": SEARCH,
    "search_file_content": SEARCH,
    "list_directory": SEARCH,
    "invoke_agent": SUBAGENT,
    "delegate_to_agent": SUBAGENT,
}
"""Gemini CLI's built-in tools by kind (``tools/definitions/base-declarations.ts``; the
older ``search_file_content`` and ``delegate_to_agent`` names too); shell, web, memory and
MCP tools are ``other``."""
_TARGET_KEYS = ("file_path", "absolute_path", "path", "dir_path", "pattern")
_RANGE_KEYS = ("offset", "limit", "start_line", "end_line")


# --- reading -------------------------------------------------------------------------------


def _open(path: str) -> tuple[int, os.stat_result] | None:
    """(fd, fstat) of a regular file, opened without blocking (``paths.open_regular``); None when
    it is gone or is no regular file (a FIFO named like a chat would block a plain ``open``)."""
    try:
        return open_regular(path)
    except NotARegularFile:
        return None


def _restart(state, source) -> None:
    """Start the file over with a fresh context (its fold state included)."""
    fresh = source.context_for(Path(state.path))
    if fresh is not None:
        state.ctx = fresh
    state.offset = 0
    state.bad_lines = 0


def _records(fd: int, start: int, finalize: bool) -> tuple[list[tuple[int, dict]], int, int]:
    """The decoded records of every complete line from ``start``: ([(offset, record)], the
    offset after the last line consumed, lines that did not decode). With ``finalize`` an
    unterminated last line that decodes completely is consumed too."""
    out: list[tuple[int, dict]] = []
    bad = 0
    os.lseek(fd, start, os.SEEK_SET)
    base, carry = start, b""
    while True:
        chunk = os.read(fd, CHUNK)
        if not chunk:
            break
        buf = carry + chunk if carry else chunk
        end = buf.rfind(b"\n")
        if end == -1:
            carry = buf
            continue
        pos = 0
        while pos <= end:
            nl = buf.index(b"\n", pos)
            if nl > pos:
                objs, n = decode_line(buf[pos:nl])
                bad += n
                out.extend((base + pos, o) for o in objs)
            pos = nl + 1
        base += end + 1
        carry = buf[end + 1:]
    if carry and finalize:
        objs, n = decode_line(carry)
        if objs and not n:
            out.extend((base, o) for o in objs)
            base += len(carry)
    return out, base, bad


def read_jsonl(state, finalize: bool, source) -> Batch | None:
    """The new records of a JSONL chat file; the whole file again when they rewind (or a
    message's new copy holds fewer tokens than one already counted)."""
    opened = _open(state.path)
    if opened is None:
        return None
    fd, st = opened
    try:
        ident = (st.st_dev, st.st_ino)
        whole = state.ident is not None and (ident != state.ident or st.st_size < state.offset)
        if whole:
            _restart(state, source)
            state.resets += 1
        state.ident, state.size, state.mtime = ident, st.st_size, st.st_mtime
        if st.st_size == state.offset and not whole:
            return None
        records, end, bad = _records(fd, state.offset, finalize)
        if state.offset and not whole and _needs_whole(records, state.ctx):
            _restart(state, source)
            whole = True
            records, end, bad = _records(fd, 0, finalize)
        state.offset = end
    finally:
        os.close(fd)
    state.bad_lines += bad
    batch = Batch(path=state.path, replaces_file=whole, bad_lines=bad)
    _build(_fold(records, state.ctx), state, source, batch)
    return batch


def read_document(state, source) -> Batch | None:
    """A legacy ``session-*.json`` document, whole, whenever its identity, size or mtime
    changed; it replaces what the file gave before. A document that does not decode (caught
    mid-rewrite) counts as one bad line and leaves the previous reading in place."""
    opened = _open(state.path)
    if opened is None:
        return None
    fd, st = opened
    try:
        ident = (st.st_dev, st.st_ino)
        if state.ident == ident and state.size == st.st_size and state.mtime == st.st_mtime:
            return None
        seen = state.ident is not None
        data = b"".join(iter(lambda: os.read(fd, CHUNK), b""))
    finally:
        os.close(fd)
    state.ident, state.size, state.mtime, state.offset = ident, st.st_size, st.st_mtime, st.st_size
    doc = load_json(data)
    if not isinstance(doc, dict):
        state.bad_lines = 1
        batch = Batch(path=state.path, bad_lines=1)
        if state.ctx.meta is not None:
            state.ctx.meta.bad_lines = 1
            batch.metas.append(replace(state.ctx.meta))
        return batch
    _restart(state, source)
    state.offset = st.st_size
    messages = doc.get("messages")
    records = [(0, {k: v for k, v in doc.items() if k != "messages"})]
    if isinstance(messages, list):
        records += [(i + 1, m) for i, m in enumerate(messages) if isinstance(m, dict)]
    batch = Batch(path=state.path, replaces_file=seen)
    _build(_fold(records, state.ctx), state, source, batch)
    return batch


# --- folding -------------------------------------------------------------------------------


def _needs_whole(records: list[tuple[int, dict]], ctx: FileContext) -> bool:
    """Whether new records undo what was counted: a rewind, or a message whose last copy
    holds fewer tokens than the copy already counted ("last copy wins" is not "largest")."""
    emitted = ctx.state.get("emitted") or {}
    for _off, rec in records:
        if isinstance(rec.get("$rewindTo"), str):
            return True
        mid = rec.get("id")
        if isinstance(mid, str) and mid in emitted:
            u = _usage(rec.get("tokens"))
            if u is not None and u.total < emitted[mid]:
                return True
    return False


def _fold(records: list[tuple[int, dict]], ctx: FileContext) -> dict[str, tuple[int, dict]]:
    """The message set these records leave (id -> (offset, last copy)), in the order ids
    first appeared, as gemini-cli's ``loadConversationRecord`` builds it; metadata updates
    go into ``ctx.state["meta"]``."""
    meta = ctx.state.setdefault("meta", {})
    messages: dict[str, tuple[int, dict]] = {}

    def upsert(off: int, items) -> None:
        if isinstance(items, list):
            for m in items:
                if isinstance(m, dict) and isinstance(m.get("id"), str):
                    messages[m["id"]] = (off, m)

    for off, rec in records:
        rewind = rec.get("$rewindTo")
        if isinstance(rewind, str):
            ids = list(messages)
            drop = ids[ids.index(rewind):] if rewind in messages else ids
            for mid in drop:
                del messages[mid]
        elif isinstance(rec.get("id"), str):
            messages[rec["id"]] = (off, rec)
        elif isinstance(rec.get("$set"), dict):
            update = rec["$set"]
            upsert(off, update.get("messages"))
            meta.update({k: update[k] for k in _META_KEYS if k in update})
        elif isinstance(rec.get("sessionId"), str):
            meta.update({k: rec[k] for k in _META_KEYS if k in rec})
            upsert(off, rec.get("messages"))  # a whole legacy record on one line
    return messages


# --- records -------------------------------------------------------------------------------


def _build(messages: dict[str, tuple[int, dict]], state, source, batch: Batch) -> None:
    """Calls, prompts, errors and the turn end of the folded ``messages``, and the file's meta."""
    ctx = state.ctx
    meta_facts = ctx.state["meta"]
    if ctx.session_id is None:
        sid = meta_facts.get("sessionId")
        ctx.session_id = sid if isinstance(sid, str) and sid else clean_str(Path(ctx.path).stem)
    sid = ctx.session_id
    if ctx.meta is None:
        ctx.meta = new_meta(ctx, sid, resume_command=None if ctx.is_subagent_file else source.resume_command(sid))
    meta = ctx.meta
    meta.cwd = ctx.state.get("project") or meta.cwd
    summary = meta_facts.get("summary")
    if isinstance(summary, str) and summary.strip():
        meta.title, meta.title_rank = shorten(summary), 2
    start = parse_ts(meta_facts.get("startTime"))
    if start is not None:
        ctx.saw(start)
    emitted = ctx.state.setdefault("emitted", {})
    last: tuple[int, dict] | None = None
    for mid, (off, m) in messages.items():
        ts = parse_ts(m.get("timestamp"))
        if ts is not None:
            ctx.saw(ts)
        typ = m.get("type")
        if typ == "gemini":
            call = _call(mid, off, m, ts, ctx)
            if call is not None:
                batch.calls.append(call)
                emitted[mid] = call.usage.total
        elif typ == "user" and not ctx.is_subagent_file:
            text = _text(m.get("content"))
            if text and not text.startswith(_NOT_PROMPTS):
                batch.events.append(Event(("gemini-prompt", sid, mid), sid, "prompt", ts or 0.0, ctx.rank(off),
                                          shorten(text, 200)))
        elif typ == "user" and not ctx.state.get("task"):
            # A sub-agent's first user message is its parent's task: it names the sub-agent.
            text = _text(m.get("content"))
            if text:
                ctx.state["task"] = True
                batch.events.append(Event(("gemini-task", sid, ctx.agent_id), sid, "task", ts or 0.0, ctx.rank(off),
                                          shorten(text, 120), ctx.agent_id))
        elif typ == "error":
            text = _text(m.get("content"))
            kind = "rate_limit" if any(w in text.lower() for w in _RATE_LIMIT_WORDS) else "api_error"
            batch.events.append(Event(("gemini-event", sid, mid), sid, kind, ts or 0.0, ctx.rank(off),
                                      shorten(text, 120), ctx.agent_id))
        if last is None or off >= last[0]:
            last = (off, m)
    if last is not None and not ctx.is_subagent_file:
        off, m = last
        if m.get("type") == "gemini" and _usage(m.get("tokens")) is not None and not m.get("toolCalls"):
            # The model answered without asking for a tool, and nothing was written after:
            # the turn is over. gemini-cli writes no end-of-turn record of its own.
            batch.events.append(Event(("gemini-turn-end", sid, m["id"]), sid, "turn_end",
                                      parse_ts(m.get("timestamp")) or 0.0, ctx.rank(off), "stop"))
    meta.bad_lines = state.bad_lines
    batch.metas.append(replace(meta))


def _usage(tokens) -> Usage | None:
    """Gemini ``tokens`` as a Usage: uncached input = input - cached (+ tool-use prompt
    tokens, also billed as input), cache read = cached, output = output + thoughts (kept
    apart as reasoning), no cache writes. None when the message has no tokens (yet)."""
    if not isinstance(tokens, dict):
        return None
    inp = count(tokens.get("input"))
    cached = min(count(tokens.get("cached")), inp)
    thoughts = count(tokens.get("thoughts"))
    out = count(tokens.get("output"))
    tool = count(tokens.get("tool"))
    if inp + out + thoughts + tool >= MAX_COUNT:
        return None
    return Usage(input=inp - cached + tool, output=out + thoughts, cache_read=cached, reasoning=thoughts)


def _call(mid: str, off: int, m: dict, ts: float | None, ctx: FileContext) -> Call | None:
    usage = _usage(m.get("tokens"))
    if usage is None:
        return None  # tokens null or not yet there: a later copy brings them
    model = m.get("model")
    tools: dict[str, ToolUse] = {}
    calls = m.get("toolCalls")
    if isinstance(calls, list):
        for i, tc in enumerate(calls):
            if isinstance(tc, dict) and isinstance(tc.get("name"), str) and tc["name"]:
                tid = tc.get("id")
                tools[tid if isinstance(tid, str) and tid else f"{mid}:{i}"] = tool_use(tc["name"], tc.get("args"))
    return Call(
        key=("gemini", ctx.session_id, mid),
        session_id=ctx.session_id,
        model=model if isinstance(model, str) and model else UNKNOWN_MODEL,
        timestamp=ts or 0.0,
        usage=usage,
        rank=ctx.rank(off),
        sidechain=ctx.is_subagent_file,
        agent_id=ctx.agent_id,
        tools=tools,
        file_path=ctx.path,
        line_no=off,
    )


def tool_use(name: str, args, kinds: dict[str, str] = TOOL_KINDS) -> ToolUse:
    """A Gemini-family tool call: its kind and, for file tools, what it touched."""
    kind = kinds.get(name, OTHER)
    if not isinstance(args, dict):
        return ToolUse(name, kind=kind)
    target = next((args[k] for k in _TARGET_KEYS if isinstance(args.get(k), str)), None)
    whole = kind == READ and name != "read_many_files" and all(args.get(k) is None for k in _RANGE_KEYS)
    return ToolUse(name, target, whole, kind)


def _text(content) -> str:
    """The text of a message's content (a string, a part, or a list of parts)."""
    if isinstance(content, str):
        return content.strip()
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)).strip()
    return ""
