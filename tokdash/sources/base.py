"""What every source module shares: the file context, line decoding, timestamps.

A source module knows where its agent CLI keeps transcripts and turns one decoded
line into records. Tailing files, dedup and aggregation live elsewhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from tokdash.model.records import Batch, SessionMeta

_DECODER = json.JSONDecoder()
_MAX_RESYNC_TRIES = 256
"""Bound on resync attempts inside one bad line, so a pathological line costs O(n), not O(n^2)."""


@dataclass(slots=True)
class FileContext:
    """Per-file parse state that must survive incremental reads of the same file."""

    path: str
    agent: str
    session_id: str | None
    """The session the file belongs to, when the path tells it (else learned from lines)."""
    agent_id: str | None = None
    """Sub-agent id when the whole file is one sub-agent's transcript."""
    is_subagent_file: bool = False
    sid_from_lines: bool = False
    """2.0.x sibling ``agent-*.jsonl``: the session is the ``sessionId`` written in each line."""
    start_ts: float | None = None
    """Timestamp of the first dated line; part of the dedup rank (earlier file wins ties)."""
    meta: SessionMeta | None = None
    state: dict[str, Any] = field(default_factory=dict)
    """Source-specific running state (Codex: last cumulative total, current model...)."""

    def saw(self, ts: float) -> None:
        """A dated line was read: the file's start, and its session's first and last activity."""
        if self.start_ts is None:
            self.start_ts = ts
        meta = self.meta
        if meta is not None:
            if meta.first_ts is None or ts < meta.first_ts:
                meta.first_ts = ts
            if meta.last_ts is None or ts > meta.last_ts:
                meta.last_ts = ts

    def rank(self, offset: int, native: bool = True) -> tuple:
        """Dedup tie-break for a record at ``offset``; the smallest rank is where a call first happened.

        A line whose own ``sessionId`` names another session was copied here (a
        resumed or branched session replays history), so native lines come first;
        then the file that started earlier, then path and byte offset, which makes
        the order total and independent of how the file was read.
        """
        start = self.start_ts if self.start_ts is not None else float("inf")
        return (0 if native else 1, start, self.path, offset)


class Source(Protocol):
    """One agent CLI."""

    name: str
    markers: tuple[bytes | re.Pattern[bytes], ...]
    """Byte strings (or a compiled bytes regex for a group of rare ones) of which a
    line must contain at least one to be worth decoding. Each costs one pass over
    the bytes read, so keep them few."""

    def wants(self, line: bytes, hits: int, ctx: FileContext, offset: int, batch: Batch) -> bool:
        """Second, cheaper-than-JSON look at a line that contained a marker: decode it or not.

        ``hits`` has bit ``i`` set when the line matched ``markers[i]``. It may record
        what the bytes alone tell (a tool result's size) into ``batch``."""

    def context_for(self, path: Path, root: Path) -> FileContext | None:
        """Build the context of a transcript file, or None if the file is not a transcript."""

    def parse(self, obj: dict, ctx: FileContext, offset: int, batch: Batch) -> None:
        """Turn one decoded line (a JSON object) into records appended to ``batch``."""


_TS_MAX = 253402214400.0
"""9999-12-30T00:00:00Z: a day short of the end of ``datetime``, so local time still converts."""


MAX_COUNT = 10**12
"""No API call (nor a Codex file's running total) reaches a trillion tokens: a number that
large is a corrupt line, and would overflow every 64-bit consumer of the report."""


def count(value: Any) -> int:
    """A token or request count from a transcript: a positive int below ``MAX_COUNT``, else 0
    (absent, null, negative, a string, a bool, or corrupt)."""
    return value if type(value) is int and 0 < value < MAX_COUNT else 0


def parse_ts(value: Any) -> float | None:
    """ISO-8601 (``Z`` or offset) to epoch seconds; None for anything else.

    A date before 1970 or at the end of the calendar (a corrupt line, e.g. year 9999
    with a negative offset) is no usable time: it would crash the ISO and local-time
    formatting of every report that shows the session, so it counts as absent.
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        ts = datetime.fromisoformat(value).timestamp()
    except (ValueError, OverflowError):
        return None
    return ts if 0.0 <= ts < _TS_MAX else None


def decode_line(line: bytes) -> tuple[list[dict], int]:
    """Decode one transcript line into its JSON objects, and count what did not decode.

    Real files hold lines with two objects (``...}{...``), a truncated record spliced
    onto the next one, NUL runs, a BOM, CRLF. The fast path is one orjson call; the
    slow path resyncs at each ``{`` and only accepts an object that ends the line or
    is followed by another object, so a nested object inside a broken record is never
    mistaken for a top-level line.
    """
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    else:
        return ([obj] if isinstance(obj, dict) else []), (0 if isinstance(obj, dict) else 1)
    text = line.decode("utf-8", errors="replace").replace("\x00", "").strip().lstrip("\ufeff")
    if not text:
        return [], (1 if line.strip(b"\x00 \t\r\n") else 0)
    objs: list[dict] = []
    bad = 0
    i, n = 0, len(text)
    tries = 0
    while i < n:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            break
        try:
            obj, end = _DECODER.raw_decode(text, i)
        except (ValueError, RecursionError):
            # RecursionError: a corrupt line nested deeper than the stdlib decoder's stack
            # (orjson gives up at 1024 levels and sends such lines here); still just a bad line.
            obj, end = None, -1
        if isinstance(obj, dict):
            objs.append(obj)
            i = end
            continue
        # Broken record: skip it and resync at the next '{' that starts a full object
        # which ends the line or is followed directly by another object.
        bad += 1
        j = text.find("{", i + 1)
        found = False
        while j != -1 and tries < _MAX_RESYNC_TRIES:
            tries += 1
            try:
                obj, end = _DECODER.raw_decode(text, j)
            except (ValueError, RecursionError):
                j = text.find("{", j + 1)
                continue
            rest = text[end:].lstrip()
            if isinstance(obj, dict) and (not rest or rest[0] == "{"):
                i = j
                found = True
                break
            j = text.find("{", j + 1)
        if not found:
            break
    return objs, bad


def new_meta(ctx: FileContext, session_id: str) -> SessionMeta:
    """A fresh SessionMeta for the file of ``ctx``."""
    return SessionMeta(
        session_id=session_id,
        agent=ctx.agent,
        path=ctx.path,
        is_subagent_file=ctx.is_subagent_file,
        agent_id=ctx.agent_id,
    )


def shorten(text: str, limit: int = 80) -> str:
    """One line of at most ``limit`` characters (for titles made from prompts)."""
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"
