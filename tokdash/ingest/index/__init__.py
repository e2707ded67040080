"""The persistent index: what tokdash has read, kept in SQLite under the data dir.

Claude Code deletes transcripts after 30 days and re-reading gigabytes at every
start is slow, so everything the in-memory :class:`~tokdash.model.store.Store`
would hold is kept in one SQLite file per set of roots
(``<data dir>/index-<hash of the roots>.db``):

- ``files``: per transcript its identity (path, st_dev/st_ino), size, mtime, the
  byte offset read up to, and the serialized parse context (``FileContext`` with
  ``state`` and ``meta``), so a run continues each file exactly where the last
  one stopped, mid-session state included;
- ``slots`` / ``keys`` / ``msgs``: per API call the best copy seen (dedup with
  replacement), its merged tool uses, every key it is known under and the
  ``msg_id`` index of the replica rule; plus per call its timestamp, model, tokens
  and cost as columns, which the history reports group in SQL;
- ``events`` and ``metas``: the best copy of every event, the facts of every file;
- ``sessions``: per session its cached ``SessionSummary`` and an ``archived`` flag
  (every file it was read from is gone: history outlives the transcripts).

A run stats every known file. With no new bytes it serves the cached summaries
(no call is loaded, no price table imported). With new bytes it reads only those,
merges them through :class:`IndexStore` -- a ``Store`` whose lookups fall back to
SQLite and which loads a session's records when the session is touched -- so
dedup against months of history costs a few key lookups, then re-summarizes only
the sessions that changed and writes everything back in ONE transaction. A file
that shrank or was replaced is re-read from zero; dedup keeps that idempotent.

Faults: WAL and a busy timeout let a report run while another tokdash writes
(a report that cannot get the write lock computes its answer without saving);
a kill mid-write rolls back to the last commit; a full disk rolls back and the
report still prints the totals it computed; a database that does not decode is
moved aside to ``*.corrupt-<timestamp>`` and rebuilt. A schema or parser change
rebuilds by itself, carrying over the records of transcripts that are gone.

One ``Index`` (one connection) per thread; SQLite serializes writers.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from tokdash.ingest.discovery import Roots, discover
from tokdash.ingest.index import codec, db
from tokdash.ingest.index import prices as prices_mod
from tokdash.ingest.index.db import ALL_TABLES as _ALL_TABLES
from tokdash.ingest.index.db import DATA_TABLES as _DATA_TABLES
from tokdash.ingest.index.db import IndexUnavailable, _Corrupt
from tokdash.ingest.index.db import create_schema as _create_schema
from tokdash.ingest.index.db import is_corrupt as _is_corrupt
from tokdash.ingest.index.db import reason as _reason
from tokdash.ingest.index.identity import NEW as _NEW
from tokdash.ingest.index.identity import (
    PARSER_VERSION,
    SCHEMA_VERSION,
    code_fingerprint,
    index_path,
    price_fingerprint,
    roots_signature,
    version_problem,
)
from tokdash.ingest.index.prices import _Prices
from tokdash.ingest.index.store import IndexStore
from tokdash.ingest.reader import FileState, read_state
from tokdash.model.history import BUCKET_SECONDS, Fact, facts_from_sessions, to_pico
from tokdash.model.records import Event, Usage
from tokdash.model.session import SessionSummary, summarize
from tokdash.model.store import CallSlot, Session, SessionKey
from tokdash.sources import SOURCES

__all__ = [
    "PARSER_VERSION",
    "SCHEMA_VERSION",
    "Index",
    "IndexStore",
    "IndexUnavailable",
    "IndexUsageError",
    "SessionsSnapshot",
    "SyncResult",
    "code_fingerprint",
    "index_path",
    "price_fingerprint",
    "roots_signature",
]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


# --- file rows ----------------------------------------------------------------------


@dataclass(slots=True)
class _FileRow:
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
        ctx = reader.loads(self.ctx)
        ident = (self.dev, self.ino) if self.dev is not None and self.ino is not None else None
        return FileState(self.path, SOURCES[self.agent], ctx, self.offset, ident, self.size, self.mtime,
                         self.resets, self.bad_lines)  # type: ignore[arg-type]


def _state_row(agent: str, st: FileState, gone: bool = False) -> tuple:
    dev, ino = st.ident if st.ident is not None else (None, None)
    return (st.path, agent, dev, ino, st.size, st.mtime, st.offset, st.resets, st.bad_lines, int(gone),
            codec.dumps(st.ctx))


# --- results --------------------------------------------------------------------------


@dataclass
class SyncResult:
    """What one run of the index gives a report or a UI."""

    summaries: list[SessionSummary]
    """Every session of the index, archived ones included."""
    archived: set[SessionKey] = field(default_factory=set)
    """Sessions whose transcript files are all gone."""
    changed: set[SessionKey] = field(default_factory=set)
    """Sessions this run re-summarized."""
    files_read: int = 0
    bytes_read: int = 0
    saved: bool = True
    """False when what this run read could not be written (the index was busy, the disk
    full): the numbers are still complete, and the next run reads those bytes again."""
    rebuilt: bool = False
    """Everything came from this run's reading (a cold build or a rebuild)."""
    store: IndexStore | None = None
    """The sessions this run loaded (every changed one), with all their records."""
    prices: _Prices | None = None


@dataclass
class SessionsSnapshot:
    """Every session as the index stores it at one moment (see :meth:`Index.sessions_snapshot`)."""

    summaries: dict[SessionKey, SessionSummary]
    """The sessions whose stored summary is new or differs from what the caller knew."""
    fingerprints: dict[SessionKey, int]
    """Every session's stored summary, fingerprinted: pass it back to learn only what changed."""
    archived: set[SessionKey]
    """Sessions whose transcript files are all gone."""
    stale: bool = False
    """Stored by another version of tokdash's parser: the next sync rebuilds, numbers may move."""


class IndexUsageError(Exception):
    """A maintenance request that cannot be done (e.g. forgetting a path the index does not hold)."""


# --- the index ------------------------------------------------------------------------


class Index:
    """One index file and its connection. :meth:`sync` brings it up to date and reads it."""

    def __init__(
        self,
        path: Path,
        *,
        roots: Roots | None = None,
        config_path: Path | None = None,
        busy_timeout: float | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.roots = roots
        """The roots this index covers; a rebuild lists their files itself."""
        self.roots_sig = roots_signature(roots) if roots is not None else ""
        self.config_path = config_path
        """The price config file (overrides); part of the price fingerprint."""
        self.busy_timeout = db.BUSY_TIMEOUT if busy_timeout is None else busy_timeout
        self.warn = warn or _stderr
        """Where one-line notices go (stderr by default)."""
        self.conn: sqlite3.Connection | None = None
        self._full = True
        self._progress: Callable[[int, int], None] | None = None
        self.reader = codec.Reader()
        """Decodes stored rows in the layouts they were written with."""
        self._price_fp = ""

    @classmethod
    def for_roots(cls, roots: Roots, data: Path | None = None, **kwargs) -> Index:
        """The index of these roots in the data dir (or in ``data``)."""
        return cls(index_path(roots, data), roots=roots, **kwargs)

    # connection ----------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (a later call opens it again)."""
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _open(self) -> sqlite3.Connection:
        if self.conn is not None:
            return self.conn
        self.conn = db.connect(self.path, self.busy_timeout)
        self.reader = db.prepare(self.conn)
        return self.conn

    def _read_layouts(self) -> None:
        self.reader = db.read_layouts(self.conn)  # type: ignore[arg-type]

    def _abort(self) -> None:
        db.abort(self.conn)

    def _meta(self) -> dict[str, str]:
        return db.read_meta(self.conn)  # type: ignore[arg-type]

    def _move_aside(self, reason: str) -> Path:
        """Close the connection and rename the damaged database to ``*.corrupt-<timestamp>``."""
        self.close()
        return db.move_aside(self.path, reason, self.warn)

    # public operations -----------------------------------------------------------------

    def sync(
        self,
        found: list[tuple[str, Path]],
        *,
        finalize: bool = True,
        rebuild: bool = False,
        forget: Iterable[str] = (),
        full: bool = True,
        progress: Callable[[int, int], None] | None = None,
    ) -> SyncResult:
        """Bring the index up to date with the transcript files ``found``; return the sessions.

        ``found`` is normally every file ``discover`` lists; a live view may pass only
        the files a watcher saw change (other known files are then left as they are).
        With ``full`` every session's summary is returned, else only those of the
        sessions this run changed (``archived`` always covers every session).
        ``rebuild`` re-reads every file from zero (carrying over the records of files
        that are gone); ``forget`` drops files, or every file under a folder, from the
        index for good. ``progress(files done, files to read)`` is called now and then
        while files are read (a UI shows it during a first build). Raises
        :class:`IndexUnavailable` when the index cannot be used at all (the caller then
        reads the transcripts without it).
        """
        forget = [os.path.abspath(os.path.expanduser(str(p))) for p in forget]
        self._full = full
        self._progress = progress
        for attempt in range(2):
            try:
                return self._sync(found, finalize=finalize, rebuild=rebuild, forget=forget)
            except (_Corrupt, codec.CodecError) as exc:
                self._abort()
                if attempt:
                    raise IndexUnavailable(f"the index {self.path} is unusable: {exc}") from None
                self._move_aside(str(exc))
            except sqlite3.DatabaseError as exc:
                self._abort()
                if _is_corrupt(exc) and not attempt:
                    self._move_aside(_reason(exc))
                    continue
                raise IndexUnavailable(f"cannot use the index {self.path}: {_reason(exc)}") from None
        raise AssertionError("unreachable")

    def _sync(self, found, *, finalize: bool, rebuild: bool, forget: list[str]) -> SyncResult:
        conn = self._open()
        self._price_fp = price_fingerprint(self.config_path)
        if not rebuild and not forget:
            # Read-only first: with nothing new, answer from one consistent snapshot.
            conn.execute("BEGIN")
            try:
                meta = self._meta()
                if self._version_problem(meta) is None and meta.get("price_fp") == self._price_fp:
                    to_read, vanished = _plan(found, self._file_rows(), self._forgotten())
                    if not to_read and not vanished:
                        return self._cached_result()
            finally:
                conn.execute("ROLLBACK")
        return self._write_phase(found, finalize=finalize, rebuild=rebuild, forget=forget)

    def _version_problem(self, meta: dict[str, str]) -> str | None:
        return version_problem(meta)

    def _write_phase(self, found, *, finalize: bool, rebuild: bool, forget: list[str]) -> SyncResult:
        conn = self.conn
        assert conn is not None
        writable = True
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if rebuild or forget:
                raise IndexUsageError("the index is busy (another tokdash is updating it); try again") from None
            writable = False
            conn.execute("BEGIN")
            self.warn("tokdash: the index is busy (another tokdash is updating it); this report reads without saving")
        try:
            meta = self._meta()
            problem = self._version_problem(meta)
            if problem is not None or rebuild or forget:
                if problem is not None and problem != _NEW:
                    self.warn(f"tokdash: {problem}; rebuilding it from the transcripts")
                result, write = self._rebuild(found, finalize=finalize, meta=meta, forget=forget)
            else:
                result, write = self._update(found, finalize=finalize, meta=meta)
            if write is None or not writable:
                conn.execute("ROLLBACK")
                result.saved = write is None
                return result
            try:
                write()
                conn.execute("COMMIT")
                self._read_layouts()
            except sqlite3.OperationalError as exc:
                self._abort()
                result.saved = False
                self.warn(f"tokdash: could not save the index ({_reason(exc)}); "
                          "this report is complete, the next run reads the new bytes again")
            return result
        except BaseException:
            self._abort()
            raise

    # reading state -----------------------------------------------------------------------

    def _file_rows(self) -> dict[str, _FileRow]:
        return {
            r[0]: _FileRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]), r[10])
            for r in self.conn.execute(  # type: ignore[union-attr]
                "SELECT path, agent, dev, ino, size, mtime, offset, resets, bad_lines, gone, ctx FROM files"
            )
        }

    def _forgotten(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT path FROM forgotten")}  # type: ignore[union-attr]

    def _cached_summaries(self, skip: set[SessionKey] | frozenset = frozenset()) -> tuple[list[SessionSummary], set[SessionKey]]:
        out: list[SessionSummary] = []
        archived: set[SessionKey] = set()
        loads = self.reader.loads
        for agent, sid, arch, blob in self.conn.execute(  # type: ignore[union-attr]
            "SELECT agent, session_id, archived, summary FROM sessions"
        ):
            if skip and (agent, sid) in skip:
                continue
            out.append(loads(blob))  # type: ignore[arg-type]
            if arch:
                archived.add((agent, sid))
        return out, archived

    def _cached_result(self) -> SyncResult:
        if not self._full:
            rows = self.conn.execute("SELECT agent, session_id FROM sessions WHERE archived = 1")  # type: ignore[union-attr]
            return SyncResult([], set(map(tuple, rows)))
        summaries, archived = self._cached_summaries()
        return SyncResult(summaries, archived)

    def _prices(self, meta: dict[str, str]) -> _Prices:
        """This run's prices, seeded with what earlier runs resolved if that is still valid."""
        return prices_mod.for_run(self.conn, self.reader, meta, self._price_fp, self.config_path)  # type: ignore[arg-type]

    # an incremental run ----------------------------------------------------------------------

    def _update(self, found, *, finalize: bool, meta: dict[str, str]):
        conn = self.conn
        assert conn is not None
        rows = self._file_rows()
        to_read, vanished = _plan(found, rows, self._forgotten())
        price_stale = meta.get("price_fp") != self._price_fp
        if not to_read and not vanished and not price_stale:
            return self._cached_result(), None  # another tokdash did the work meanwhile
        store = IndexStore(conn, empty=not rows, reader=self.reader)  # no file read yet: nothing to look up
        prices = self._prices(meta)
        changed: set[SessionKey] = set()
        states: dict[str, tuple[str, FileState]] = {}
        gone = set(vanished)
        files_read = bytes_read = 0
        tick = _Ticker(self._progress, len(to_read))
        for agent, path in to_read:
            tick()
            p = str(path)
            row = rows.get(p)
            if row is not None:
                state = row.to_state(self.reader)
            else:
                ctx = SOURCES[agent].context_for(Path(p))
                if ctx is None:
                    continue
                state = FileState(p, SOURCES[agent], ctx)
            before, resets = state.offset, state.resets
            try:
                batch = read_state(state, finalize=finalize)
            except OSError:
                continue  # unreadable right now (permissions, I/O): try again next run
            if batch is None and not os.path.exists(p):
                if row is not None and not row.gone:
                    gone.add(p)
                continue
            states[p] = (agent, state)
            if batch is not None:
                files_read += 1
                bytes_read += state.offset - (0 if state.resets != resets else before)
                changed |= store.add_batch(batch, agent)
        repriced: set[str] = set()
        if price_stale:
            repriced = self._reprice(store, prices, meta, changed)
        fresh = {key: summarize(store.sessions[key], prices) for key in changed}
        cached = self._cached_summaries(skip=set(fresh))[0] if self._full else []
        live = ({p for p, r in rows.items() if not r.gone} - gone) | set(states)
        archived = self._archived(store, live)
        result = SyncResult(cached + list(fresh.values()), archived, set(fresh), files_read, bytes_read,
                            store=store, prices=prices)

        def write() -> None:
            self._write_files([(agent, st, False) for agent, st in states.values()])
            conn.executemany("UPDATE files SET gone = 1 WHERE path = ?", [(p,) for p in gone])
            self._write_store(store, prices)
            self._write_summaries(fresh)
            touched = set(store.sessions)
            for p in gone | set(states):
                touched.update(conn.execute("SELECT agent, session_id FROM metas WHERE path = ?", (p,)).fetchall())
            conn.executemany(
                "UPDATE sessions SET archived = ? WHERE agent = ? AND session_id = ?",
                [(int(k in archived), k[0], k[1]) for k in touched],
            )
            self._write_prices(prices, repriced)
            self._set_meta({"price_fp": self._price_fp})

        return result, write

    def _archived(self, store: IndexStore, live: set[str]) -> set[SessionKey]:
        """Sessions none of whose files is still there (``live``: the files present after this run)."""
        paths: dict[SessionKey, set[str]] = {}
        for path, agent, sid in self.conn.execute("SELECT path, agent, session_id FROM metas"):  # type: ignore[union-attr]
            paths.setdefault((agent, sid), set()).add(path)
        for s in store.sessions.values():
            if s.metas:
                paths.setdefault(s.key, set()).update(s.metas)
        return {key for key, ps in paths.items() if ps.isdisjoint(live)}

    def _reprice(self, store: IndexStore, prices: _Prices, meta: dict[str, str], changed: set[SessionKey]) -> set[str]:
        return prices_mod.reprice(self.conn, self.reader, store, prices, meta, changed)  # type: ignore[arg-type]

    # a rebuild -----------------------------------------------------------------------------

    def _rebuild(self, found, *, finalize: bool, meta: dict[str, str], forget: list[str]):
        """Read every file from zero into a fresh store; records of files that are gone are
        carried over (when the stored format can be read), forgotten files are not."""
        conn = self.conn
        assert conn is not None
        if self.roots is not None:
            found = discover(self.roots)  # every file, even when this run was asked about a few
        carry = meta.get("schema") == str(SCHEMA_VERSION)
        rows = self._file_rows() if carry else {}
        forgotten = self._forgotten() if carry else set()
        prefixes = [f.rstrip(os.sep) + os.sep for f in forget]

        def is_forgotten(p: str) -> bool:
            return p in forgotten or p in forget or any(p.startswith(x) for x in prefixes)

        if forget:
            hit = {p for p in rows if is_forgotten(p)}
            if not hit:
                raise IndexUsageError("not in the index: " + ", ".join(forget))
            forgotten |= hit
        store = IndexStore(None, empty=True)
        prices = self._prices(meta) if carry else _Prices(self.config_path, {})
        # Files that will not be read again (gone, or no longer listed) keep what they gave.
        listed = {str(p) for _agent, p in found if os.access(p, os.R_OK)}
        carried = sorted(p for p in rows if not is_forgotten(p) and p not in listed)
        gone = {p for p in carried if rows[p].gone or not os.path.exists(p)}
        if carried:
            self._carry(store, carried)
        states: list[tuple[str, FileState]] = []
        files_read = bytes_read = 0
        tick = _Ticker(self._progress, len(found))
        for agent, path in found:
            tick()
            p = str(path)
            if is_forgotten(p) or p not in listed:
                continue
            ctx = SOURCES[agent].context_for(Path(p))
            if ctx is None:
                continue
            state = FileState(p, SOURCES[agent], ctx)
            try:
                batch = read_state(state, finalize=finalize)
            except OSError:
                continue
            if state.ident is None:
                continue  # vanished meanwhile
            states.append((agent, state))
            if batch is not None:
                files_read += 1
                bytes_read += state.offset
                store.add_batch(batch, agent)
        summaries = {key: summarize(s, prices) for key, s in store.sessions.items()}
        archived = {key for key, s in store.sessions.items() if s.metas and all(p in gone for p in s.metas)}
        result = SyncResult(list(summaries.values()), archived, set(summaries), files_read, bytes_read,
                            rebuilt=True, store=store, prices=prices)

        def write() -> None:
            if carry:
                for table in _DATA_TABLES:
                    conn.execute(f"DELETE FROM {table}")
            else:
                for table in _ALL_TABLES:
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
                _create_schema(conn)
            conn.executemany("INSERT OR IGNORE INTO forgotten (path) VALUES (?)", [(p,) for p in forgotten])
            conn.executemany(
                "INSERT INTO files (path, agent, dev, ino, size, mtime, offset, resets, bad_lines, gone, ctx) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(r.path, r.agent, r.dev, r.ino, r.size, r.mtime, r.offset, r.resets, r.bad_lines, int(r.path in gone),
                  r.ctx) for r in (rows[p] for p in carried)],
            )
            self._write_files([(agent, st, False) for agent, st in states])
            self._write_store(store, prices)
            self._write_summaries(summaries, archived)
            self._write_prices(prices, set(prices.seed))
            self._set_meta({"schema": str(SCHEMA_VERSION), "code": code_fingerprint(), "price_fp": self._price_fp,
                            "roots": self.roots_sig, "built": datetime.now(UTC).isoformat(timespec="seconds"),
                            "layouts": orjson.dumps(codec.current_layouts()).decode()})

        return result, write

    def _carry(self, store: IndexStore, gone: list[str]) -> None:
        """Put the records whose best copy came from a file that is not read again into a fresh store."""
        conn = self.conn
        assert conn is not None
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS gone_files (path TEXT PRIMARY KEY)")
        conn.execute("DELETE FROM gone_files")
        conn.executemany("INSERT INTO gone_files (path) VALUES (?)", [(p,) for p in gone])
        try:
            keys_of: dict[bytes, list] = {}
            for key_b, pk_b in conn.execute(
                "SELECT k.key, k.pk FROM keys k JOIN slots s ON s.pk = k.pk WHERE s.file IN (SELECT path FROM gone_files)"
            ):
                keys_of.setdefault(pk_b, []).append(codec.dec_key(key_b))
            carried_keys: set = set()
            for pk_b, agent, data, is_open in conn.execute(
                "SELECT pk, agent, data, open FROM slots WHERE file IN (SELECT path FROM gone_files) ORDER BY rowid"
            ):
                d = self.reader.loads(data)
                slot = CallSlot(codec.dec_key(pk_b), d["best"], d["tools"], bool(is_open))  # type: ignore[arg-type,index]
                keys = keys_of.get(pk_b, [])
                carried_keys.update(keys)
                carried_keys.add(slot.primary)
                store.adopt_slot(agent, slot, keys)
            for msg_b, key_b in conn.execute("SELECT msg, key FROM msgs"):
                key = codec.dec_key(key_b)
                if key in carried_keys:
                    store._by_msg.setdefault(codec.dec_key(msg_b), key)  # type: ignore[arg-type]
            for agent, data in conn.execute(
                "SELECT agent, data FROM events WHERE file IN (SELECT path FROM gone_files) ORDER BY rowid"
            ):
                store.adopt_event(agent, self.reader.loads(data))  # type: ignore[arg-type]
            for agent, data in conn.execute("SELECT agent, data FROM metas WHERE path IN (SELECT path FROM gone_files)"):
                store.adopt_meta(agent, self.reader.loads(data))  # type: ignore[arg-type]
        finally:
            conn.execute("DROP TABLE temp.gone_files")

    # writing ---------------------------------------------------------------------------------

    def _write_files(self, items: list[tuple[str, FileState, bool]]) -> None:
        self.conn.executemany(  # type: ignore[union-attr]
            "INSERT INTO files (path, agent, dev, ino, size, mtime, offset, resets, bad_lines, gone, ctx) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET agent = excluded.agent, "
            "dev = excluded.dev, ino = excluded.ino, size = excluded.size, mtime = excluded.mtime, "
            "offset = excluded.offset, resets = excluded.resets, bad_lines = excluded.bad_lines, "
            "gone = excluded.gone, ctx = excluded.ctx",
            [_state_row(agent, st, gone) for agent, st, gone in items],
        )

    def _write_store(self, store: IndexStore, prices: _Prices) -> None:
        conn = self.conn
        assert conn is not None
        enc_key, dumps = codec.enc_key, codec.dumps

        def slot_rows():
            for s, slot in store.dirty_slots():
                c = slot.best
                u = c.usage
                yield (
                    enc_key(slot.primary), s.agent, s.session_id, c.file_path, c.timestamp, c.model,
                    u.input, u.output, u.cache_write_5m, u.cache_write_1h, u.cache_read, u.reasoning, u.web_search,
                    _pico_or_none(prices.cost(c.model, u, fast=c.fast)), int(slot.open),
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
            ((enc_key(ev.key), s.agent, s.session_id, _event_file(ev), dumps(ev)) for s, ev in store.dirty_events()),
        )
        conn.executemany(
            "INSERT OR REPLACE INTO metas (path, agent, session_id, data) VALUES (?, ?, ?, ?)",
            ((m.path, s.agent, s.session_id, dumps(m)) for s, m in store.dirty_metas()),
        )

    def _write_summaries(self, summaries: dict[SessionKey, SessionSummary],
                         archived: set[SessionKey] | frozenset = frozenset()) -> None:
        self.conn.executemany(  # type: ignore[union-attr]
            "INSERT INTO sessions (agent, session_id, archived, summary) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (agent, session_id) DO UPDATE SET summary = excluded.summary",
            [(k[0], k[1], int(k in archived), codec.dumps(s)) for k, s in summaries.items()],
        )

    def _write_prices(self, prices: _Prices, models: set[str]) -> None:
        prices_mod.write_prices(self.conn, prices, models)  # type: ignore[arg-type]

    def _set_meta(self, values: dict[str, str]) -> None:
        db.set_meta(self.conn, values)  # type: ignore[arg-type]

    # history ---------------------------------------------------------------------------------

    def facts(self, result: SyncResult, since: float | None = None, until: float | None = None) -> list[Fact]:
        """Usage per session, model and quarter hour in [since, until), for the history reports.

        Grouped in SQL from the calls table, so calls are never loaded one by one; the
        sessions of a run that could not save come from that run's memory instead.
        """
        memory: dict[SessionKey, Session] = {}
        if not result.saved and result.store is not None:
            memory = dict(result.store.sessions)
            if result.rebuilt:
                return _in_range(facts_from_sessions(memory.values(), result.prices), since, until)
        where, args = [], []
        if since is not None:
            where.append("ts > 0 AND ts >= ?")
            args.append(since)
        if until is not None:
            where.append("ts > 0 AND ts < ?")
            args.append(until)
        sql = (
            f"SELECT CAST(ts / {BUCKET_SECONDS} AS INTEGER) * {BUCKET_SECONDS} AS b, agent, session_id, model, "
            "COUNT(*), SUM(input), SUM(output), SUM(cw5), SUM(cw1h), SUM(cr), SUM(reasoning), SUM(web), "
            "SUM(IFNULL(cost, 0)), SUM(cost IS NULL) FROM slots"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " GROUP BY b, agent, session_id, model"
        )
        out: list[Fact] = []
        for b, agent, sid, model, n, i, o, w5, w1, cr, rs, web, cost, unpriced in self._open().execute(sql, args):
            if memory and (agent, sid) in memory:
                continue
            out.append(Fact(float(b) if b > 0 else 0.0, agent, sid, model, Usage(i, o, w5, w1, cr, rs, web), n,
                            cost, unpriced))
        if memory:
            out += _in_range(facts_from_sessions(memory.values(), result.prices), since, until)
        return out

    def load_session(self, agent: str, session_id: str) -> Session | None:
        """One session with all its records (calls, events, file facts), e.g. for a detail view.

        Works for archived sessions too: their records live only here.
        """
        conn = self._open()
        conn.execute("BEGIN")
        try:
            return IndexStore(conn, empty=False, reader=self.reader).load_session(agent, session_id)
        finally:
            conn.execute("ROLLBACK")

    def sessions_snapshot(self, known: dict[SessionKey, int] | None = None) -> SessionsSnapshot | None:
        """Every session as stored now, without looking at a single transcript (read-only).

        For a UI: the first paint at start-up (the sessions as the last run of any
        tokdash left them), and after each sync, which sessions changed -- whoever
        wrote them (this process, or a report or status line that synced first).
        Only summaries whose stored bytes differ from ``known`` (the fingerprints of
        the previous snapshot) are decoded. None when the index holds nothing usable
        yet: it is new, damaged, or in another format (a sync then builds it).
        """
        try:
            conn = self._open()
            conn.execute("BEGIN")
            try:
                meta = self._meta()
                problem = self._version_problem(meta)
                if meta.get("schema") != str(SCHEMA_VERSION) or problem == _NEW:
                    return None
                known = known or {}
                summaries: dict[SessionKey, SessionSummary] = {}
                prints: dict[SessionKey, int] = {}
                archived: set[SessionKey] = set()
                loads = self.reader.loads
                for agent, sid, arch, blob in conn.execute("SELECT agent, session_id, archived, summary FROM sessions"):
                    key = (agent, sid)
                    fp = hash(blob)
                    prints[key] = fp
                    if known.get(key) != fp:
                        summaries[key] = loads(blob)  # type: ignore[assignment]
                    if arch:
                        archived.add(key)
                return SessionsSnapshot(summaries, prints, archived, stale=problem is not None)
            finally:
                conn.execute("ROLLBACK")
        except (_Corrupt, codec.CodecError):
            return None
        except sqlite3.DatabaseError as exc:
            if _is_corrupt(exc):
                return None  # the next sync moves it aside and rebuilds
            raise IndexUnavailable(f"cannot use the index {self.path}: {_reason(exc)}") from None

    # maintenance -------------------------------------------------------------------------------

    def status(self) -> dict:
        """What ``tokdash index`` prints."""
        conn = self._open()
        conn.execute("BEGIN")
        try:
            meta = self._meta()

            def one(sql: str):
                return conn.execute(sql).fetchone()[0]

            return {
                "path": str(self.path),
                "roots": (meta.get("roots") or self.roots_sig).splitlines(),
                "files": one("SELECT COUNT(*) FROM files WHERE gone = 0"),
                "files_gone": one("SELECT COUNT(*) FROM files WHERE gone = 1"),
                "sessions": one("SELECT COUNT(*) FROM sessions"),
                "archived_sessions": one("SELECT COUNT(*) FROM sessions WHERE archived = 1"),
                "api_calls": one("SELECT COUNT(*) FROM slots"),
                "bytes_read": int(one("SELECT TOTAL(offset) FROM files")),
                "forgotten": [r[0] for r in conn.execute("SELECT path FROM forgotten ORDER BY path")],
                "size_bytes": sum(
                    os.path.getsize(str(self.path) + s) for s in ("", "-wal") if os.path.exists(str(self.path) + s)
                ),
                "schema": meta.get("schema"),
                "built": meta.get("built"),
            }
        finally:
            conn.execute("ROLLBACK")


PROGRESS_SECONDS = 0.1
"""``sync``'s progress callback is called at most this often while it reads files."""


class _Ticker:
    """Calls ``progress(done, total)`` once per file, at most every ``PROGRESS_SECONDS``."""

    __slots__ = ("progress", "total", "done", "_next")

    def __init__(self, progress: Callable[[int, int], None] | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0
        self._next = 0.0

    def __call__(self) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if now >= self._next:
            self._next = now + PROGRESS_SECONDS
            self.progress(self.done, self.total)
        self.done += 1


def _pico_or_none(cost: float | None) -> int | None:
    """A call's cost for the calls table: integer pico-dollars, NULL when unpriced."""
    return None if cost is None else to_pico(cost)


def _in_range(facts: list[Fact], since: float | None, until: float | None) -> list[Fact]:
    return [
        f for f in facts
        if (since is None or (f.ts > 0 and f.ts >= since)) and (until is None or (f.ts > 0 and f.ts < until))
    ]


def _event_file(ev: Event) -> str:
    """The file an event was read from: part of its rank ``(native, start, path, offset)``."""
    rank = ev.rank
    if isinstance(rank, tuple) and len(rank) >= 3 and isinstance(rank[2], str):
        return rank[2]
    return ""


def _plan(found: list[tuple[str, Path]], rows: dict[str, _FileRow], forgotten: set[str]) -> tuple[list, list]:
    """(files to read, known files that vanished): one ``stat`` per file, nothing read."""
    to_read = []
    seen = set()
    for agent, path in found:
        p = str(path)
        seen.add(p)
        if p in forgotten:
            continue
        row = rows.get(p)
        if row is None or row.gone:
            to_read.append((agent, path))
            continue
        try:
            st = os.stat(p)
        except OSError:
            continue
        if st.st_size != row.size or st.st_mtime != row.mtime or (st.st_dev, st.st_ino) != (row.dev, row.ino):
            to_read.append((agent, path))
    vanished = [p for p, row in rows.items() if not row.gone and p not in seen and not os.path.exists(p)]
    return to_read, vanished
