"""What every source module shares: the ``Source`` protocol, the file context, line
decoding, timestamps, safe resume commands.

A source module knows where its agent CLI keeps transcripts and turns one decoded
line into records. Tailing files, dedup and aggregation live elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping
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
    """One agent CLI: everything tokdash knows about it, and nothing any other module needs to.

    Adding an agent is a module implementing this and one entry in ``SOURCES``: the
    command line, discovery, the watcher, the status line, the tips and the help read
    it from here.
    """

    name: str
    """Short id, e.g. ``claude``: the ``--agent`` choice, the ``--<name>-dir`` flag, the key
    of every session."""
    label: str
    """The CLI's own name for people, e.g. ``Claude Code``."""
    env_var: str | None
    """The CLI's own environment variable naming its home (``CLAUDE_CONFIG_DIR``,
    ``CODEX_HOME``), read by ``default_roots``; None when it has none."""
    dir_help: str
    """What ``--<name>-dir DIR`` takes, for ``--help``."""
    default_help: str
    """Where it looks without a flag, for ``--help`` and the empty state."""
    markers: tuple[bytes | re.Pattern[bytes], ...]
    """Byte strings (or a compiled bytes regex for a group of rare ones) of which a
    line must contain at least one to be worth decoding. Each costs one pass over
    the bytes read, so keep them few."""

    def default_roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        """The roots to read when no ``--<name>-dir`` is given (``env`` defaults to
        ``os.environ``). They need not exist."""

    def scan_roots(self, roots: list[Path]) -> list[Path]:
        """The folders under ``roots`` that hold transcripts and exist (what is scanned and watched)."""

    def files(self, scan_root: Path) -> Iterable[Path]:
        """Every transcript file under one scan root."""

    def claims(self, path: Path) -> bool:
        """Whether ``path`` (under one of this source's scan roots) is one of its transcript
        files, by its name and place alone: the watcher asks this of every changed path."""

    def context_for(self, path: Path, root: Path | None = None) -> FileContext | None:
        """Build the context of a transcript file, or None if the file is not a transcript."""

    def wants(self, line: bytes, hits: int, ctx: FileContext, offset: int, batch: Batch) -> bool:
        """Second, cheaper-than-JSON look at a line that contained a marker: decode it or not.

        ``hits`` has bit ``i`` set when the line matched ``markers[i]``. It may record
        what the bytes alone tell (a tool result's size) into ``batch``."""

    def parse(self, obj: dict, ctx: FileContext, offset: int, batch: Batch) -> None:
        """Turn one decoded line (a JSON object) into records appended to ``batch``,
        tagging every tool use with its kind (``ToolUse.kind``, ``Event.tool_kind``)."""

    def resume_command(self, session_id: str) -> str | None:
        """The shell command that resumes a session, or None (no such command, or an id
        that is not safe to put on a command line: see ``shell_command``)."""

    def session_files(self, transcript: Path) -> list[Path]:
        """The files of one session given its main transcript: the transcript first, then
        its sub-agents' files (what the status line reads for one session)."""

    read: Callable[[Cursor, bool], Batch | None] | None
    """For files that are not appended JSON lines (a document rewritten in place, a live
    database): ``read(state, finalize)`` reads the file itself and returns what is new as a
    Batch (None: nothing new). ``tokdash.ingest.reader.read_state`` then delegates to it
    instead of reading lines by byte offset; the source keeps its cursor in
    ``state.ctx.state`` (persisted by the index with the file's context) and sets the
    state's ``ident``/``size``/``mtime``/``offset``. None (``SourceDefaults``): line reading
    with ``markers``, ``wants`` and ``parse``."""

    def file_for_change(self, path: Path) -> Path | None:
        """The transcript file to read when ``path`` changed, or None: the watcher asks this
        of every changed path. Usually the path itself when ``claims`` it; a database for
        its ``-wal`` file; a session's file for one of its message files."""

    def watch_recursively(self, scan_root: Path) -> bool:
        """Whether the watcher follows ``scan_root``'s subfolders (usually), or only the files
        directly in it (a data folder holding a database beside large unrelated trees)."""

    # Optional, not part of the protocol's required surface (check with ``getattr``):
    #
    # def plan_windows(self, roots: list[Path], now: float) -> list[PlanWindow]:
    #     """The agent's official plan windows (``tokdash.model.limits.PlanWindow``) as its
    #     own files last stated them under ``roots``, e.g. Codex's ``rate_limits``. Must be
    #     cheap (read the tails of the newest files, never a whole history): a dashboard
    #     calls it on every refresh. A source whose CLI writes no such figure leaves it out;
    #     callers then say "no official figure" (see ``tokdash.ingest.plan_limits``)."""


class Cursor(Protocol):
    """What a source's ``read`` hook may use and must keep up to date of a file's reading
    state (``tokdash.ingest.reader.FileState`` is one)."""

    path: str
    ctx: FileContext
    offset: int
    """Bytes consumed; a hook sets it to what it read (e.g. the size) so that nothing looks
    like an unfinished last line."""
    ident: tuple[int, int] | None
    size: int
    """What the index compares with the file's size to decide whether to read it again."""
    mtime: float
    resets: int
    bad_lines: int


class SourceDefaults:
    """The optional members of ``Source`` for a source of appended JSONL files (mix in)."""

    read = None
    """No ``read`` hook: the reader reads lines by byte offset."""
    has_plan_windows = False
    """The CLI runs on subscription plans with rolling usage windows (5 h, 7 days): an
    estimate of the current block is worth showing when no official figure is known."""

    def file_for_change(self, path: Path) -> Path | None:
        """The changed path itself, when it is one of this source's transcripts."""
        return path if self.claims(path) else None  # type: ignore[attr-defined]

    def watch_recursively(self, scan_root: Path) -> bool:
        """Transcripts may lie at any depth under a scan root."""
        return True


PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
"""A session id that may go on a command line: letters, digits and ``._:-``, at most 128,
not starting with ``-`` (it would read as an option). Every real Claude Code and Codex id
is a uuid; anything else in a transcript or a file name is treated as hostile."""


def shell_command(words: tuple[str, ...], session_id: str) -> str | None:
    """``words`` then ``session_id`` as one shell command, or None when the id is not plain.

    A session id comes from a file name or from inside a transcript, so it is untrusted
    text that a person may paste into a shell. Only plain ids get a command; ``shlex.quote``
    on top leaves a plain id unchanged and is there so a wider ``PLAIN_ID`` stays safe.
    """
    if type(session_id) is not str or not PLAIN_ID.fullmatch(session_id):
        return None
    return " ".join([*words, shlex.quote(session_id)])


def env_roots(env: Mapping[str, str] | None, var: str) -> list[Path]:
    """The comma-separated list of folders in ``env[var]`` (``~`` expanded); empty when unset."""
    env = os.environ if env is None else env
    configured = env.get(var, "").strip()
    return [Path(os.path.expanduser(p.strip())) for p in configured.split(",") if p.strip()]


def chat_entries(top: Path) -> Iterator[list[os.DirEntry]]:
    """The entries of every ``<top>/<project>/chats/`` folder (the layout Gemini CLI and Qwen Code
    share), one list per folder; a project or folder that cannot be listed is skipped."""
    try:
        projects = list(os.scandir(top))
    except OSError:
        return
    for proj in projects:
        chats = os.path.join(proj.path, "chats")
        if not proj.is_dir(follow_symlinks=False) or not os.path.isdir(chats):
            continue
        try:
            yield list(os.scandir(chats))
        except OSError:
            continue


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


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_str(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD.

    JavaScript writes a string cut mid-emoji as a JSON-escaped lone surrogate
    (``"\\ud83d"``), and a file name that is not UTF-8 decodes with surrogate escapes:
    such a ``str`` cannot be encoded as UTF-8, so it would crash orjson, SQLite and the
    terminal downstream. Every string a source builds a record from passes here once.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def scrub(obj: Any) -> Any:
    """``obj`` (decoded JSON) with ``clean_str`` applied to every string, keys included.

    Only the stdlib decoder lets a lone surrogate through (orjson rejects such input), so
    this runs on its results alone, never on the fast path.
    """
    if isinstance(obj, str):
        return clean_str(obj)
    if isinstance(obj, dict):
        return {clean_str(k) if isinstance(k, str) else k: scrub(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [scrub(v) for v in obj]
    return obj


def load_json(data: bytes | str) -> Any:
    """One JSON document (a whole file, a database column): orjson, else the stdlib decoder
    with every string cleaned (see ``clean_str``); None when it does not decode."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
        return scrub(json.loads(text.lstrip("\ufeff")))
    except (ValueError, RecursionError):
        return None


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
            objs.append(scrub(obj))
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


def new_meta(ctx: FileContext, session_id: str, *, resume_command: str | None) -> SessionMeta:
    """A fresh SessionMeta for the file of ``ctx``; ``resume_command`` is the source's
    ``resume_command(session_id)`` (required, so a new source cannot forget it)."""
    return SessionMeta(
        session_id=session_id,
        agent=ctx.agent,
        path=ctx.path,
        is_subagent_file=ctx.is_subagent_file,
        agent_id=ctx.agent_id,
        resume_command=resume_command,
    )


def shorten(text: str, limit: int = 80) -> str:
    """One line of at most ``limit`` characters (for titles made from prompts)."""
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"
