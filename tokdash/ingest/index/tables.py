"""Rows of the index's tables as a sync reads and writes them.

Reading: per file where the last run stopped (:class:`FileRow`), the forgotten
paths, the cached summaries. Writing: file states, the records an
:class:`~tokdash.ingest.index.store.IndexStore` holds new or changed (with each
call's tokens and cost as columns, for the history reports), and summaries.
Every function works inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from tokdash.ingest.index import codec
from tokdash.ingest.index.prices import _Prices
from tokdash.ingest.index.store import IndexStore
from tokdash.ingest.reader import FileState
from tokdash.model.history import to_pico
from tokdash.model.records import Event
from tokdash.model.session import SessionSummary
from tokdash.model.store import SessionKey
from tokdash.sources import SOURCES

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

    def to_state(self, reader: codec.Reader) -> FileState:
        """The reader state to continue this file from (parse context included)."""
        ctx = reader.loads(self.ctx)
        ident = (self.dev, self.ino) if self.dev is not None and self.ino is not None else None
        return FileState(self.path, SOURCES[self.agent], ctx, self.offset, ident, self.size, self.mtime,
                         self.resets, self.bad_lines)  # type: ignore[arg-type]


def file_rows(conn: sqlite3.Connection) -> dict[str, FileRow]:
    """Every file the index knows, by path (gone ones included)."""
    return {
        r[0]: FileRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]), r[10])
        for r in conn.execute(
            "SELECT path, agent, dev, ino, size, mtime, offset, resets, bad_lines, gone, ctx FROM files"
        )
    }


def forgotten(conn: sqlite3.Connection) -> set[str]:
    """The paths ``tokdash index --forget`` dropped for good."""
    return {r[0] for r in conn.execute("SELECT path FROM forgotten")}


def cached_summaries(conn: sqlite3.Connection, reader: codec.Reader,
                     skip: set[SessionKey] | frozenset = frozenset()) -> tuple[list[SessionSummary], set[SessionKey]]:
    """(every stored summary but those of ``skip``, the archived sessions among them)."""
    out: list[SessionSummary] = []
    archived: set[SessionKey] = set()
    loads = reader.loads
    for agent, sid, arch, blob in conn.execute("SELECT agent, session_id, archived, summary FROM sessions"):
        if skip and (agent, sid) in skip:
            continue
        out.append(loads(blob))  # type: ignore[arg-type]
        if arch:
            archived.add((agent, sid))
    return out, archived


# --- writing ----------------------------------------------------------------------------


def state_row(agent: str, st: FileState, gone: bool = False) -> tuple:
    """The ``files`` row of a reader state."""
    dev, ino = st.ident if st.ident is not None else (None, None)
    return (st.path, agent, dev, ino, st.size, st.mtime, st.offset, st.resets, st.bad_lines, int(gone),
            codec.dumps(st.ctx))


def write_files(conn: sqlite3.Connection, items: list[tuple[str, FileState, bool]]) -> None:
    """Insert or update the ``files`` rows of (agent, state, gone)."""
    conn.executemany(
        "INSERT INTO files (path, agent, dev, ino, size, mtime, offset, resets, bad_lines, gone, ctx) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET agent = excluded.agent, "
        "dev = excluded.dev, ino = excluded.ino, size = excluded.size, mtime = excluded.mtime, "
        "offset = excluded.offset, resets = excluded.resets, bad_lines = excluded.bad_lines, "
        "gone = excluded.gone, ctx = excluded.ctx",
        [state_row(agent, st, gone) for agent, st, gone in items],
    )


def write_store(conn: sqlite3.Connection, store: IndexStore, prices: _Prices) -> None:
    """Write what ``store`` holds new or changed: calls (priced), keys, message ids, events, file facts."""
    enc_key, dumps = codec.enc_key, codec.dumps

    def slot_rows():
        for s, slot in store.dirty_slots():
            c = slot.best
            u = c.usage
            yield (
                enc_key(slot.primary), s.agent, s.session_id, c.file_path, c.timestamp, c.model,
                u.input, u.output, u.cache_write_5m, u.cache_write_1h, u.cache_read, u.reasoning, u.web_search,
                pico_or_none(prices.cost(c.model, u, fast=c.fast)), int(slot.open),
                dumps({"best": c, "tools": slot.tools}),
            )

    conn.executemany(
        "INSERT INTO slots (pk, agent, session_id, file, ts, model, input, output, cw5, cw1h, cr, reasoning, "
        "web, cost, open, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (pk) DO UPDATE "
        "SET agent = excluded.agent, session_id = excluded.session_id, file = excluded.file, ts = excluded.ts, "
        "model = excluded.model, input = excluded.input, output = excluded.output, cw5 = excluded.cw5, "
        "cw1h = excluded.cw1h, cr = excluded.cr, reasoning = excluded.reasoning, web = excluded.web, "
        "cost = excluded.cost, open = excluded.open, data = excluded.data",
        slot_rows(),
    )
    conn.executemany(
        "INSERT OR REPLACE INTO keys (key, pk) VALUES (?, ?)",
        ((enc_key(k), enc_key(pk)) for k, pk in store.new_keys()),
    )
    conn.executemany(
        "INSERT OR IGNORE INTO msgs (msg, key) VALUES (?, ?)",
        ((enc_key(m), enc_key(k)) for m, k in store.new_msgs()),
    )
    conn.executemany(
        "INSERT INTO events (key, agent, session_id, file, data) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) "
        "DO UPDATE SET agent = excluded.agent, session_id = excluded.session_id, file = excluded.file, "
        "data = excluded.data",
        ((enc_key(ev.key), s.agent, s.session_id, event_file(ev), dumps(ev)) for s, ev in store.dirty_events()),
    )
    conn.executemany(
        "INSERT OR REPLACE INTO metas (path, agent, session_id, data) VALUES (?, ?, ?, ?)",
        ((m.path, s.agent, s.session_id, dumps(m)) for s, m in store.dirty_metas()),
    )


def write_summaries(conn: sqlite3.Connection, summaries: dict[SessionKey, SessionSummary],
                    archived: set[SessionKey] | frozenset = frozenset()) -> None:
    """Store summaries; a new row takes its ``archived`` flag from ``archived``, an existing one keeps its own."""
    conn.executemany(
        "INSERT INTO sessions (agent, session_id, archived, summary) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (agent, session_id) DO UPDATE SET summary = excluded.summary",
        [(k[0], k[1], int(k in archived), codec.dumps(s)) for k, s in summaries.items()],
    )


def pico_or_none(cost: float | None) -> int | None:
    """A call's cost for the calls table: integer pico-dollars, NULL when unpriced."""
    return None if cost is None else to_pico(cost)


def event_file(ev: Event) -> str:
    """The file an event was read from: part of its rank ``(native, start, path, offset)``."""
    rank = ev.rank
    if isinstance(rank, tuple) and len(rank) >= 3 and isinstance(rank[2], str):
        return rank[2]
    return ""
