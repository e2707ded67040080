"""One sync: plan what to read, read it, merge it, and write it back in one transaction.

:func:`sync` first looks in a read-only transaction: with no new bytes (and valid
versions and prices) it answers from the cached summaries. Otherwise
:func:`_write_phase` takes the write lock and runs either an incremental
:func:`_update` (read only the new bytes, re-summarize only the touched sessions)
or a :func:`_rebuild` (read every file from zero, carrying over the records of
files that are gone), then writes the result. When the lock cannot be had, the
run computes its answer without saving it.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from tokdash.ingest.discovery import Roots, discover
from tokdash.ingest.index import codec, db, prices, tables
from tokdash.ingest.index.identity import NEW, SCHEMA_VERSION, code_fingerprint, version_problem
from tokdash.ingest.index.prices import _Prices
from tokdash.ingest.index.store import IndexStore
from tokdash.ingest.index.tables import FileRow
from tokdash.ingest.reader import FileState, read_state
from tokdash.model.session import SessionSummary, summarize
from tokdash.model.store import CallSlot, SessionKey
from tokdash.sources import SOURCES

PROGRESS_SECONDS = 0.1
"""``sync``'s progress callback is called at most this often while it reads files."""


class IndexUsageError(Exception):
    """A maintenance request that cannot be done (e.g. forgetting a path the index does not hold)."""


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


@dataclass(slots=True)
class SyncRun:
    """What one call of ``Index.sync`` works with: the open connection, the index's settings, its options."""

    conn: sqlite3.Connection
    reader: codec.Reader
    """Decodes stored rows; replaced after a commit (a rebuild stores this build's layouts)."""
    price_fp: str
    """The price fingerprint, taken once at the start of the run."""
    config_path: Path | None
    roots: Roots | None
    roots_sig: str
    warn: Callable[[str], None]
    full: bool = True
    """Return every session's summary, else only those this run changed."""
    progress: Callable[[int, int], None] | None = None
    """``progress(files done, files to read)``, now and then while files are read."""


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


def _plan(found: list[tuple[str, Path]], rows: dict[str, FileRow], forgotten: set[str]) -> tuple[list, list]:
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


def sync(run: SyncRun, found, *, finalize: bool, rebuild: bool, forget: list[str]) -> SyncResult:
    """One attempt at ``Index.sync`` (which handles a damaged file by moving it aside and retrying)."""
    conn = run.conn
    if not rebuild and not forget:
        # Read-only first: with nothing new, answer from one consistent snapshot.
        conn.execute("BEGIN")
        try:
            meta = db.read_meta(conn)
            if version_problem(meta) is None and meta.get("price_fp") == run.price_fp:
                to_read, vanished = _plan(found, tables.file_rows(conn), tables.forgotten(conn))
                if not to_read and not vanished:
                    return _cached_result(run)
        finally:
            conn.execute("ROLLBACK")
    return _write_phase(run, found, finalize=finalize, rebuild=rebuild, forget=forget)


def _cached_result(run: SyncRun) -> SyncResult:
    """The stored sessions, nothing read (every summary, or with ``full`` off only the archived keys)."""
    if not run.full:
        rows = run.conn.execute("SELECT agent, session_id FROM sessions WHERE archived = 1")
        return SyncResult([], set(map(tuple, rows)))
    summaries, archived = tables.cached_summaries(run.conn, run.reader)
    return SyncResult(summaries, archived)


def _write_phase(run: SyncRun, found, *, finalize: bool, rebuild: bool, forget: list[str]) -> SyncResult:
    """Take the write lock (or read without saving when another tokdash holds it), update or
    rebuild, and commit what the run read in one transaction."""
    conn = run.conn
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
        run.warn("tokdash: the index is busy (another tokdash is updating it); this report reads without saving")
    try:
        meta = db.read_meta(conn)
        problem = version_problem(meta)
        if problem is not None or rebuild or forget:
            if problem is not None and problem != NEW:
                run.warn(f"tokdash: {problem}; rebuilding it from the transcripts")
            result, write = _rebuild(run, found, finalize=finalize, meta=meta, forget=forget)
        else:
            result, write = _update(run, found, finalize=finalize, meta=meta)
        if write is None or not writable:
            conn.execute("ROLLBACK")
            result.saved = write is None
            return result
        try:
            write()
            conn.execute("COMMIT")
            run.reader = db.read_layouts(conn)
        except sqlite3.OperationalError as exc:
            db.abort(conn)
            result.saved = False
            run.warn(f"tokdash: could not save the index ({db.reason(exc)}); "
                     "this report is complete, the next run reads the new bytes again")
        return result
    except BaseException:
        db.abort(conn)
        raise


# --- an incremental run ---------------------------------------------------------------


def _update(run: SyncRun, found, *, finalize: bool, meta: dict[str, str]):
    """Read the new bytes of changed files into a store over the index: (result, write or None)."""
    conn, reader = run.conn, run.reader
    rows = tables.file_rows(conn)
    to_read, vanished = _plan(found, rows, tables.forgotten(conn))
    price_stale = meta.get("price_fp") != run.price_fp
    if not to_read and not vanished and not price_stale:
        return _cached_result(run), None  # another tokdash did the work meanwhile
    store = IndexStore(conn, empty=not rows, reader=reader)  # no file read yet: nothing to look up
    run_prices = prices.for_run(conn, reader, meta, run.price_fp, run.config_path)
    changed: set[SessionKey] = set()
    states: dict[str, tuple[str, FileState]] = {}
    gone = set(vanished)
    files_read = bytes_read = 0
    tick = _Ticker(run.progress, len(to_read))
    for agent, path in to_read:
        tick()
        p = str(path)
        row = rows.get(p)
        if row is not None:
            state = row.to_state(reader)
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
        repriced = prices.reprice(conn, reader, store, run_prices, meta, changed)
    fresh = {key: summarize(store.sessions[key], run_prices) for key in changed}
    cached = tables.cached_summaries(conn, reader, skip=set(fresh))[0] if run.full else []
    live = ({p for p, r in rows.items() if not r.gone} - gone) | set(states)
    archived = _archived(conn, store, live)
    result = SyncResult(cached + list(fresh.values()), archived, set(fresh), files_read, bytes_read,
                        store=store, prices=run_prices)

    def write() -> None:
        tables.write_files(conn, [(agent, st, False) for agent, st in states.values()])
        conn.executemany("UPDATE files SET gone = 1 WHERE path = ?", [(p,) for p in gone])
        tables.write_store(conn, store, run_prices)
        tables.write_summaries(conn, fresh)
        touched = set(store.sessions)
        for p in gone | set(states):
            touched.update(conn.execute("SELECT agent, session_id FROM metas WHERE path = ?", (p,)).fetchall())
        conn.executemany(
            "UPDATE sessions SET archived = ? WHERE agent = ? AND session_id = ?",
            [(int(k in archived), k[0], k[1]) for k in touched],
        )
        prices.write_prices(conn, run_prices, repriced)
        db.set_meta(conn, {"price_fp": run.price_fp})

    return result, write


def _archived(conn: sqlite3.Connection, store: IndexStore, live: set[str]) -> set[SessionKey]:
    """Sessions none of whose files is still there (``live``: the files present after this run)."""
    paths: dict[SessionKey, set[str]] = {}
    for path, agent, sid in conn.execute("SELECT path, agent, session_id FROM metas"):
        paths.setdefault((agent, sid), set()).add(path)
    for s in store.sessions.values():
        if s.metas:
            paths.setdefault(s.key, set()).update(s.metas)
    return {key for key, ps in paths.items() if ps.isdisjoint(live)}


# --- a rebuild -----------------------------------------------------------------------


def _rebuild(run: SyncRun, found, *, finalize: bool, meta: dict[str, str], forget: list[str]):
    """Read every file from zero into a fresh store; records of files that are gone are
    carried over (when the stored format can be read), forgotten files are not."""
    conn = run.conn
    if run.roots is not None:
        found = discover(run.roots)  # every file, even when this run was asked about a few
    carry = meta.get("schema") == str(SCHEMA_VERSION)
    rows = tables.file_rows(conn) if carry else {}
    forgotten = tables.forgotten(conn) if carry else set()
    prefixes = [f.rstrip(os.sep) + os.sep for f in forget]

    def is_forgotten(p: str) -> bool:
        return p in forgotten or p in forget or any(p.startswith(x) for x in prefixes)

    if forget:
        hit = {p for p in rows if is_forgotten(p)}
        if not hit:
            raise IndexUsageError("not in the index: " + ", ".join(forget))
        forgotten |= hit
    store = IndexStore(None, empty=True)
    run_prices = (prices.for_run(conn, run.reader, meta, run.price_fp, run.config_path) if carry
                  else _Prices(run.config_path, {}))
    # Files that will not be read again (gone, or no longer listed) keep what they gave.
    listed = {str(p) for _agent, p in found if os.access(p, os.R_OK)}
    carried = sorted(p for p in rows if not is_forgotten(p) and p not in listed)
    gone = {p for p in carried if rows[p].gone or not os.path.exists(p)}
    if carried:
        _carry(conn, run.reader, store, carried)
    states: list[tuple[str, FileState]] = []
    files_read = bytes_read = 0
    tick = _Ticker(run.progress, len(found))
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
    summaries = {key: summarize(s, run_prices) for key, s in store.sessions.items()}
    archived = {key for key, s in store.sessions.items() if s.metas and all(p in gone for p in s.metas)}
    result = SyncResult(list(summaries.values()), archived, set(summaries), files_read, bytes_read,
                        rebuilt=True, store=store, prices=run_prices)

    def write() -> None:
        if carry:
            for table in db.DATA_TABLES:
                conn.execute(f"DELETE FROM {table}")
        else:
            for table in db.ALL_TABLES:
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            db.create_schema(conn)
        conn.executemany("INSERT OR IGNORE INTO forgotten (path) VALUES (?)", [(p,) for p in forgotten])
        conn.executemany(
            "INSERT INTO files (path, agent, dev, ino, size, mtime, offset, resets, bad_lines, gone, ctx) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r.path, r.agent, r.dev, r.ino, r.size, r.mtime, r.offset, r.resets, r.bad_lines, int(r.path in gone),
              r.ctx) for r in (rows[p] for p in carried)],
        )
        tables.write_files(conn, [(agent, st, False) for agent, st in states])
        tables.write_store(conn, store, run_prices)
        tables.write_summaries(conn, summaries, archived)
        prices.write_prices(conn, run_prices, set(run_prices.seed))
        db.set_meta(conn, {"schema": str(SCHEMA_VERSION), "code": code_fingerprint(), "price_fp": run.price_fp,
                           "roots": run.roots_sig, "built": datetime.now(UTC).isoformat(timespec="seconds"),
                           "layouts": orjson.dumps(codec.current_layouts()).decode()})

    return result, write


def _carry(conn: sqlite3.Connection, reader: codec.Reader, store: IndexStore, gone: list[str]) -> None:
    """Put the records whose best copy came from a file that is not read again into a fresh store."""
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
            d = reader.loads(data)
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
            store.adopt_event(agent, reader.loads(data))  # type: ignore[arg-type]
        for agent, data in conn.execute("SELECT agent, data FROM metas WHERE path IN (SELECT path FROM gone_files)"):
            store.adopt_meta(agent, reader.loads(data))  # type: ignore[arg-type]
    finally:
        conn.execute("DROP TABLE temp.gone_files")
