"""Rows of the index's tables as a sync reads and writes them.

Reading: per file where the last run stopped (:class:`FileRow`), the forgotten
paths, the cached summaries. Writing: file states, the records an
:class:`~tokdash.ingest.index.store.IndexStore` holds new, changed or withdrawn
(with each call's tokens and cost as columns, for the history reports), and
summaries. Every function works inside the caller's transaction, and every path
goes through ``codec.enc_path`` / ``dec_path`` (a file name need not be valid text).

Checks against damage (SQLite does not checksum its pages): every blob carries its
CRC (see ``codec``); a ``files`` row carries ``ck``, a CRC of its numbers, checked when
it is read; a ``slots`` row carries ``ck``, a sum of its numeric columns that SQL
recomputes in the same pass that adds them up (:data:`SLOT_CK_SQL`), so the history
reports check every call they count at no extra read.
"""

from __future__ import annotations

import math
import sqlite3
import zlib
from dataclasses import dataclass

from tokdash.ingest.index import codec, db, rows
from tokdash.ingest.index.db import _Corrupt
from tokdash.ingest.index.prices import _Prices
from tokdash.ingest.index.store import IndexStore
from tokdash.ingest.reader import FileState
from tokdash.model.history import PICO, to_pico
from tokdash.model.session import SessionSummary
from tokdash.model.store import SessionKey, event_file
from tokdash.sources import SOURCES

enc_path, dec_path = codec.enc_path, codec.dec_path

SLOT_CK_SQL, slot_ck = rows.SLOT_CK_SQL, rows.slot_ck


def _file_ck(path: str, agent: str, dev, ino, size, mtime, offset, resets, bad_lines, head_len) -> int:
    text = "\x1f".join(map(repr, (path, agent, dev, ino, size, mtime, offset, resets, bad_lines, head_len)))
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


# --- reading ----------------------------------------------------------------------------


@dataclass(slots=True)
class FileRow:
    """One row of ``files``: a transcript's identity and size when last read, and where reading stopped."""

    path: str
    agent: str
    dev: int | None
    ino: int | None
    size: int
    mtime: float
    offset: int
    resets: int
    bad_lines: int
    gone: bool
    ctx: bytes
    head_len: int = 0
    head_sum: bytes = b""

    def to_state(self, reader: codec.Reader) -> FileState:
        """The reader state to continue this file from (parse context included)."""
        ctx = reader.loads(self.ctx)
        ident = (self.dev, self.ino) if self.dev is not None and self.ino is not None else None
        return FileState(self.path, SOURCES[self.agent], ctx, self.offset, ident, self.size, self.mtime,
                         self.resets, self.bad_lines, self.head_len, self.head_sum)  # type: ignore[arg-type]

    def values(self, gone: bool | None = None) -> tuple:
        """The row as ``files`` stores it (``gone`` overridden when given)."""
        g = self.gone if gone is None else gone
        return (enc_path(self.path), self.agent, self.dev, self.ino, self.size, self.mtime, self.offset,
                self.resets, self.bad_lines, int(g), self.ctx, self.head_len, self.head_sum,
                _file_ck(self.path, self.agent, self.dev, self.ino, self.size, self.mtime, self.offset,
                         self.resets, self.bad_lines, self.head_len))


FILE_COLUMNS = "path, agent, dev, ino, size, mtime, offset, resets, bad_lines, gone, ctx, head_len, head_sum, ck"


def file_rows(conn: sqlite3.Connection, schema: str = "main", *, checked: bool = True) -> dict[str, FileRow]:
    """Every file the index knows, by path (gone ones included). A row whose numbers fail
    their checksum is a damaged index. ``schema``/``checked``: read an attached older index
    (schema 1 has neither heads nor checksums)."""
    out: dict[str, FileRow] = {}
    if not checked:
        for r in conn.execute(f"SELECT path, agent, dev, ino, size, mtime, offset, resets, bad_lines, gone, ctx "
                              f"FROM {schema}.files"):
            path = dec_path(r[0])
            out[path] = FileRow(path, *r[1:9], bool(r[9]), r[10])
        return out
    for r in conn.execute(f"SELECT {FILE_COLUMNS} FROM {schema}.files"):
        path = dec_path(r[0])
        row = FileRow(path, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]), r[10], r[11], r[12])
        if r[13] != _file_ck(path, *r[1:9], r[11]):
            raise _Corrupt("a stored file row fails its checksum")
        out[path] = row
    return out


def forgotten(conn: sqlite3.Connection, schema: str = "main") -> set[str]:
    """The paths ``tokdash index --forget`` dropped for good."""
    return {dec_path(r[0]) for r in conn.execute(f"SELECT path FROM {schema}.forgotten")}


def cached_summaries(conn: sqlite3.Connection, reader: codec.Reader,
                     skip: set[SessionKey] | frozenset = frozenset()) -> tuple[list[SessionSummary], set[SessionKey]]:
    """(every stored summary but those of ``skip``, the archived sessions among them)."""
    out: list[SessionSummary] = []
    archived: set[SessionKey] = set()
    loads = reader.loads
    n_rows = 0
    for agent, sid, arch, blob in conn.execute("SELECT agent, session_id, archived, summary FROM sessions"):
        check_session_row(agent, sid, arch)
        n_rows += 1
        if skip and (agent, sid) in skip:
            continue
        summary = loads(blob)
        if (summary.agent, summary.session_id) != (agent, sid):  # type: ignore[attr-defined]
            raise _Corrupt("a stored session row is damaged")
        out.append(summary)  # type: ignore[arg-type]
        if arch:
            archived.add((agent, sid))
    written = db.tally(conn, "sessions")[0]
    if n_rows != written:  # a damaged page can hide rows without an error
        raise _Corrupt(f"the sessions table reads {n_rows} rows where {written} were written")
    return out, archived


def check_session_row(agent: object, sid: object, arch: object) -> None:
    """A ``sessions`` row's columns have the types they were written with (the summary blob
    has its own checksum): a flipped byte in a record header changes them."""
    if type(agent) is not str or type(sid) is not str or arch not in (0, 1) or type(arch) is not int:
        raise _Corrupt("a stored session row is damaged")


# --- writing ----------------------------------------------------------------------------


def state_row(agent: str, st: FileState, gone: bool = False) -> FileRow:
    """The ``files`` row of a reader state."""
    dev, ino = st.ident if st.ident is not None else (None, None)
    return FileRow(st.path, agent, dev, ino, st.size, st.mtime, st.offset, st.resets, st.bad_lines, gone,
                   codec.dumps(st.ctx), st.head_len, st.head_sum)


def insert_file_rows(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    """Insert or update ``files`` rows (as :meth:`FileRow.values` gives them)."""
    conn.executemany(
        f"INSERT INTO files ({FILE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (path) DO UPDATE SET agent = excluded.agent, dev = excluded.dev, ino = excluded.ino, "
        "size = excluded.size, mtime = excluded.mtime, offset = excluded.offset, resets = excluded.resets, "
        "bad_lines = excluded.bad_lines, gone = excluded.gone, ctx = excluded.ctx, head_len = excluded.head_len, "
        "head_sum = excluded.head_sum, ck = excluded.ck",
        rows,
    )


def write_files(conn: sqlite3.Connection, items: list[tuple[str, FileState, bool]]) -> list[FileRow]:
    """Insert or update the ``files`` rows of (agent, state, gone); returns the rows written."""
    rows = [state_row(agent, st, gone) for agent, st, gone in items]
    insert_file_rows(conn, [r.values() for r in rows])
    return rows


def delete_withdrawn(conn: sqlite3.Connection, store: IndexStore) -> None:
    """Delete what ``store`` withdrew (before its new rows are written)."""
    enc_key = codec.enc_key
    pks, msgs, events, metas = store.withdrawn()
    pk_rows = [(enc_key(pk),) for pk in pks]
    conn.executemany("DELETE FROM slots WHERE pk = ?", pk_rows)
    conn.executemany("DELETE FROM keys WHERE pk = ?", pk_rows)
    conn.executemany("DELETE FROM msgs WHERE msg = ? AND key = ?", [(enc_key(m), enc_key(k)) for m, k in msgs])
    conn.executemany("DELETE FROM events WHERE key = ?", [(enc_key(k),) for k in events])
    conn.executemany("DELETE FROM metas WHERE path = ? AND agent = ? AND session_id = ?",
                     [(enc_path(p), a, s) for p, a, s in metas])


def write_store(conn: sqlite3.Connection, store: IndexStore, prices: _Prices) -> None:
    """Write what ``store`` holds new, changed or withdrawn: calls (priced), keys, message ids,
    events, file facts."""
    enc_key = codec.enc_key
    delete_withdrawn(conn, store)
    paths = store.paths
    paths.conn = conn
    file_id = paths.id

    ahead = store.encoded

    def slot_rows():
        for s, slot in store.dirty_slots():
            c = slot.best
            u = c.usage
            usd, pico = cost_columns(prices.cost(c.model, u, fast=c.fast))
            is_open = int(slot.open)
            fid = file_id(c.file_path)
            tools, others = rows.slot_extras(slot)
            enc = ahead.call(c, slot.primary) if ahead is not None else None
            pk_b, data = enc if enc is not None else (enc_key(slot.primary), rows.call_blob(c, slot.primary))
            yield (
                pk_b, s.agent, s.session_id, fid, c.timestamp, c.model,
                u.input, u.output, u.cache_write_5m, u.cache_write_1h, u.cache_read, u.reasoning, u.web_search,
                usd, pico, is_open, data, tools, others,
                slot_ck(u.input, u.output, u.cache_write_5m, u.cache_write_1h, u.cache_read, u.reasoning,
                        u.web_search, usd, pico, c.timestamp, is_open, fid),
            )

    conn.executemany(
        "INSERT INTO slots (pk, agent, session_id, file, ts, model, input, output, cw5, cw1h, cr, reasoning, "
        "web, cost_usd, cost_pico, open, data, tools, others, ck) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (pk) DO UPDATE SET agent = excluded.agent, session_id = excluded.session_id, "
        "file = excluded.file, ts = excluded.ts, model = excluded.model, input = excluded.input, "
        "output = excluded.output, cw5 = excluded.cw5, cw1h = excluded.cw1h, cr = excluded.cr, "
        "reasoning = excluded.reasoning, web = excluded.web, cost_usd = excluded.cost_usd, "
        "cost_pico = excluded.cost_pico, open = excluded.open, data = excluded.data, tools = excluded.tools, "
        "others = excluded.others, ck = excluded.ck",
        list(slot_rows()),  # a list: new paths get their ids before the statement runs
    )
    # A call's own key is its row's primary key: only its other keys (the replica rule's) have rows.
    conn.executemany(
        "INSERT OR REPLACE INTO keys (key, pk) VALUES (?, ?)",
        ((enc_key(k), enc_key(pk)) for k, pk in store.new_keys() if k != pk),
    )
    conn.executemany(
        "INSERT OR IGNORE INTO msgs (msg, key) VALUES (?, ?)",
        ((enc_key(m), enc_key(k)) for m, k in store.new_msgs()),
    )

    def event_rows():
        for s, ev, others in store.dirty_events():
            path = event_file(ev)
            enc = ahead.event(ev) if ahead is not None else None
            key_b, data = enc if enc is not None else (enc_key(ev.key), rows.event_blob(ev, path))
            yield (key_b, s.agent, s.session_id, file_id(path), data, codec.dumps(others) if others else None)

    conn.executemany(
        "INSERT INTO events (key, agent, session_id, file, data, others) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET agent = excluded.agent, session_id = excluded.session_id, "
        "file = excluded.file, data = excluded.data, others = excluded.others",
        list(event_rows()),
    )
    conn.executemany(
        "INSERT OR REPLACE INTO metas (path, agent, session_id, data) VALUES (?, ?, ?, ?)",
        ((enc_path(m.path), s.agent, s.session_id, codec.dumps(m)) for s, m in store.dirty_metas()),
    )


def write_summaries(conn: sqlite3.Connection, summaries: dict[SessionKey, SessionSummary],
                    archived: set[SessionKey] | frozenset = frozenset()) -> None:
    """Store summaries; a new row takes its ``archived`` flag from ``archived``, an existing one keeps its own."""
    conn.executemany(
        "INSERT INTO sessions (agent, session_id, archived, summary) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (agent, session_id) DO UPDATE SET summary = excluded.summary",
        [(k[0], k[1], int(k in archived), codec.dumps(s)) for k, s in summaries.items()],
    )


def cost_columns(cost: float | None) -> tuple[int | None, int | None]:
    """A call's cost for the calls table: (whole dollars, pico-dollars below a dollar), both
    integers, so any cost is exact and no single one overflows SQLite's 64-bit integers
    (one ``cost`` column of pico-dollars did past $9.2M). (NULL, NULL) when unpriced -- or when
    a price made it infinite or NaN: that is no cost."""
    if cost is None or not math.isfinite(cost):
        return None, None
    usd, pico = divmod(to_pico(cost), PICO)
    return usd, pico
