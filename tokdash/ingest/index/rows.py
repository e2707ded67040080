"""The rows of the calls and events tables, flat: a blob holds only what no column holds.

A call's row has its session, file, time, model, tokens and cost as columns (the history
reports group them in SQL); its ``data`` blob is the best copy (a ``Call`` in the codec's
layout) with the fields those columns hold left out -- time, tokens, the file -- and so are
the key when it is the row's primary key and the file's path inside the rank
(``FileContext.rank``: ``(native, start, path, offset)``). ``tools`` and ``others`` are
columns of their own, NULL when the call's tool uses are its best copy's and no other file
holds a copy (nearly always). An event's blob leaves out its key and its file's path the
same way. A file is named by its id in ``paths`` (a number in each row and index instead
of a path of a hundred bytes, twice).

What the blob no longer covers is checked otherwise: a call's numbers and file id by the
row's ``ck`` (checked whenever a call is loaded, as the history reports check it), a path
by the CRC stored beside it in ``paths``.
"""

from __future__ import annotations

import sqlite3
import zlib
from operator import attrgetter

from tokdash.ingest.index import codec
from tokdash.ingest.index.db import _Corrupt
from tokdash.model.records import Call, Event, ToolUse, Usage
from tokdash.model.store import CallSlot, event_file

_CALL_TAG, CALL_FIELDS = codec.layout(Call)
_EVENT_TAG, EVENT_FIELDS = codec.layout(Event)
_TOOL_TAG, _TOOL_FIELDS = codec.layout(ToolUse)
_COLUMN_FIELDS = ("timestamp", "usage", "file_path")
"""Call fields the columns hold (the model and session stay in the blob, under its CRC)."""
_CALL_BLANK = tuple(CALL_FIELDS.index(n) for n in _COLUMN_FIELDS)
_CALL_KEY = CALL_FIELDS.index("key")
_CALL_RANK = CALL_FIELDS.index("rank")
_CALL_TOOLS = CALL_FIELDS.index("tools")
_EVENT_KEY = EVENT_FIELDS.index("key")
_EVENT_RANK = EVENT_FIELDS.index("rank")
_call_values = attrgetter(*CALL_FIELDS)
_event_values = attrgetter(*EVENT_FIELDS)
_tool_values = attrgetter(*_TOOL_FIELDS)
USAGE_COLUMNS = ("input", "output", "cw5", "cw1h", "cr", "reasoning", "web")
"""The calls table's token columns, in ``Usage``'s field order (a test holds them equal)."""
_HERE = b""
"""Stands for the row's own file path inside a rank (nothing read from a transcript is bytes)."""


def _plain(v: object) -> object:
    return v if type(v) in codec.OPAQUE else codec.encode(v)


def _rank_out(rank: object, path: str) -> object:
    if type(rank) is tuple and len(rank) >= 3 and rank[2] == path:
        return (*rank[:2], _HERE, *rank[3:])
    return rank


def _rank_in(rank: object, path: str) -> object:
    if type(rank) is tuple and len(rank) >= 3 and rank[2] == _HERE:
        return (*rank[:2], path, *rank[3:])
    return rank


def _tools(tools: dict[str, ToolUse]) -> dict:
    return {k: (_TOOL_TAG, *_tool_values(t)) for k, t in tools.items()}


def _packed(tag: bytes, v: list) -> bytes:
    """``codec.pack`` of a record's fields, any of which already plain (nearly always: marshal
    takes them as they are; a field holding a dataclass is encoded the codec's way)."""
    try:
        return codec.pack((tag, *v))
    except ValueError:
        return codec.pack((tag, *map(_plain, v)))


def call_blob(call: Call, pk: tuple) -> bytes:
    """The ``data`` of a call's row (the best copy, without what the row's columns hold)."""
    v = list(_call_values(call))
    for i in _CALL_BLANK:
        v[i] = None
    if v[_CALL_KEY] == pk:
        v[_CALL_KEY] = None
    v[_CALL_RANK] = _rank_out(call.rank, call.file_path)
    tools = v[_CALL_TOOLS]
    v[_CALL_TOOLS] = {k: (_TOOL_TAG, *_tool_values(t)) for k, t in tools.items()} if tools else {}
    return _packed(_CALL_TAG, v)


def pre_encode(batch) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
    """Every call and event of a batch as a row would store it: (key bytes, blob) each, the
    call's as for a row whose primary key is its own key (a forked worker makes them while
    it reads; the writer takes one only where that holds)."""
    enc_key = codec.enc_key
    calls = [(enc_key(c.key), call_blob(c, c.key)) for c in batch.calls]
    events = [(enc_key(ev.key), event_blob(ev, event_file(ev))) for ev in batch.events]
    return calls, events


class Encoded:
    """Rows encoded ahead of the write, by forked workers, found by the identity of their record.

    The records are kept alive here for as long as this lives, so an id never names another
    object meanwhile; a call's entry serves only a row whose primary key is the call's own key
    (what ``pre_encode`` assumed)."""

    def __init__(self) -> None:
        self._rows: dict[int, tuple[bytes, bytes]] = {}
        self._keep: list = []

    def add(self, batch, extra: tuple[list, list]) -> None:
        """Take ``pre_encode(batch)`` (made in a worker) for the records of ``batch`` (unpacked here)."""
        calls, events = extra
        rows_ = self._rows
        for c, enc in zip(batch.calls, calls, strict=True):
            rows_[id(c)] = enc
        for ev, enc in zip(batch.events, events, strict=True):
            rows_[id(ev)] = enc
        self._keep.append(batch)

    def call(self, call: Call, pk: tuple) -> tuple[bytes, bytes] | None:
        """(pk bytes, data) of a call's row, when encoded ahead and its row's key is its own."""
        hit = self._rows.get(id(call))
        return hit if hit is not None and call.key == pk else None

    def event(self, ev: Event) -> tuple[bytes, bytes] | None:
        """(key bytes, data) of an event's row, when encoded ahead."""
        return self._rows.get(id(ev))


def slot_extras(slot: CallSlot) -> tuple[bytes | None, bytes | None]:
    """(``tools``, ``others``) of a call's row: the call's merged tool uses when they are not
    its best copy's own (in order), the other files holding a copy; None when there are none."""
    best = slot.best.tools
    tools = None if slot.tools == best and list(slot.tools) == list(best) else codec.pack(_tools(slot.tools))
    return tools, (codec.pack(slot.others) if slot.others else None)


def load_slot(reader: codec.Reader, pk: tuple, data: bytes, is_open: int, tools: bytes | None,
              others: bytes | None, ts: float, usage: tuple, path: str) -> CallSlot:
    """The call a row holds (``usage``: its token columns in ``USAGE_COLUMNS`` order)."""
    call = reader.loads(data)
    if type(call) is not Call:
        raise codec.CodecError("a stored call is not a call")
    if call.key is None:
        call.key = pk
    call.timestamp, call.usage, call.file_path = ts, Usage(*usage), path
    call.rank = _rank_in(call.rank, path)
    merged = reader.loads(tools) if tools is not None else dict(call.tools)
    return CallSlot(pk, call, merged, bool(is_open), tuple(reader.loads(others)) if others is not None else ())  # type: ignore[arg-type]


def event_blob(ev: Event, path: str) -> bytes:
    """The ``data`` of an event's row (without its key and its file's path)."""
    v = list(_event_values(ev))
    v[_EVENT_KEY] = None
    v[_EVENT_RANK] = _rank_out(ev.rank, path)
    return _packed(_EVENT_TAG, v)


def load_event(reader: codec.Reader, key: tuple, data: bytes, path: str) -> Event:
    """The event a row holds."""
    ev = reader.loads(data)
    if type(ev) is not Event:
        raise codec.CodecError("a stored event is not an event")
    ev.key = key
    ev.rank = _rank_in(ev.rank, path)
    return ev


_M = 2147483647
"""Modulus of the slots' ``ck``: every term stays far inside SQLite's 64-bit integers."""
SLOT_CK_SQL = (
    f"(3 * (input % {_M}) + 5 * (output % {_M}) + 7 * (cw5 % {_M}) + 11 * (cw1h % {_M}) + 13 * (cr % {_M}) "
    f"+ 17 * (reasoning % {_M}) + 19 * (web % {_M}) + 23 * (IFNULL(cost_usd, {_M} - 1) % {_M}) "
    f"+ 37 * (IFNULL(cost_pico, {_M} - 1) % {_M}) + 29 * (CAST(ts AS INTEGER) % {_M}) + 31 * open "
    f"+ 41 * (file % {_M})) % {_M}"
)
"""The ``ck`` of a slots row recomputed from its columns, in SQL: ``ck IS NOT SLOT_CK_SQL`` is a damaged
row (IS NOT: a column a damaged record header turned NULL makes the sum NULL)."""


def slot_ck(input: int, output: int, cw5: int, cw1h: int, cr: int, reasoning: int, web: int,
            cost_usd: int | None, cost_pico: int | None, ts: float, is_open: int, file: int) -> int:
    """``SLOT_CK_SQL``, in Python (the value written with the row, and checked when a call is loaded)."""
    m = _M
    usd = m - 1 if cost_usd is None else cost_usd
    pico = m - 1 if cost_pico is None else cost_pico
    return (3 * (input % m) + 5 * (output % m) + 7 * (cw5 % m) + 11 * (cw1h % m) + 13 * (cr % m)
            + 17 * (reasoning % m) + 19 * (web % m) + 23 * (usd % m) + 37 * (pico % m) + 29 * (int(ts) % m)
            + 31 * is_open + 41 * (file % m)) % m


def path_ck(path_text: str) -> int:
    """The CRC stored beside a path in ``paths``."""
    return zlib.crc32(path_text.encode("utf-8", "surrogatepass"))


class Paths:
    """File paths by id, both ways, for one connection (cached: ids never change meaning)."""

    def __init__(self, conn: sqlite3.Connection | None) -> None:
        self.conn = conn
        self._ids: dict[str, int] = {}
        self._paths: dict[int, str] = {}

    def path(self, fid: int) -> str:
        """The path of id ``fid``; a missing or damaged one is a damaged index."""
        p = self._paths.get(fid)
        if p is not None:
            return p
        row = self.conn.execute("SELECT path, ck FROM paths WHERE id = ?", (fid,)).fetchone()  # type: ignore
        if row is None or type(row[0]) is not str or row[1] != path_ck(row[0]):
            raise _Corrupt("a stored file path is missing or fails its checksum")
        p = codec.dec_path(row[0])
        self._paths[fid], self._ids[p] = p, fid
        return p

    def find(self, path: str) -> int | None:
        """The id of ``path``, None when no row names it."""
        fid = self._ids.get(path)
        if fid is None:
            row = self.conn.execute("SELECT id FROM paths WHERE path = ?", (codec.enc_path(path),)).fetchone()  # type: ignore
            if row is None:
                return None
            fid = self._ids[path] = row[0]
            self._paths[fid] = path
        return fid

    def id(self, path: str) -> int:
        """The id of ``path``, made when it has none yet (inside the caller's write transaction)."""
        fid = self.find(path)
        if fid is None:
            text = codec.enc_path(path)
            fid = self.conn.execute("INSERT INTO paths (path, ck) VALUES (?, ?)", (text, path_ck(text))).lastrowid  # type: ignore
            self._ids[path], self._paths[fid] = fid, path  # type: ignore[index]
        return fid  # type: ignore[return-value]
