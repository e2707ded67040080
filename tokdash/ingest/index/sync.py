"""One sync: plan what to read, read it, merge it, and write it back in one transaction.

:func:`sync` first looks in a read-only transaction: with no new bytes (and valid
versions and prices) it answers from the cached summaries. Otherwise
:func:`_write_phase` takes the write lock and runs either an incremental
:func:`_update` (read only the new bytes, re-summarize only the touched sessions)
or a rebuild (``rebuild.py``: read every file from zero, carrying over the records
of files that are gone), then writes the result. When the lock cannot be had, the
run computes its answer without saving it.

Files follow the store's rule (``tokdash.model.store``): a file re-read from zero
replaces what it contributed; a gone file keeps it (its sessions are archived); a
renamed file (same inode, same first bytes, old name gone) is withdrawn under its old
name and read under its new one. A file that exists but cannot be read is neither:
its records stay as they are, it is not marked gone, and it is counted in
``SyncResult.unreadable``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from tokdash.ingest.collector import quiet_collector
from tokdash.ingest.index import codec, db, prices, tables
from tokdash.ingest.index import rebuild as rebuilding
from tokdash.ingest.index.identity import NEW, version_problem
from tokdash.ingest.index.run import (
    GONE,
    IndexUsageError,
    SyncResult,
    SyncRun,
    _Ticker,
    plan,
    presence,
    reoffer,
    settle,
    unreadable_of,
)
from tokdash.ingest.index.store import IndexStore
from tokdash.ingest.index.reading import read_in_order
from tokdash.ingest.reader import FileState
from tokdash.model.store import SessionKey
from tokdash.sources import SOURCES

__all__ = ["IndexUsageError", "SyncResult", "SyncRun", "sync"]

def sync(run: SyncRun, found, *, finalize: bool, rebuild: bool, forget: list[str]) -> SyncResult:
    """One attempt at ``Index.sync`` (which handles a damaged file by moving it aside and retrying)."""
    conn = run.conn
    stale = True
    if not rebuild and not forget and run.carry_from is None:
        # Read-only first: with nothing new, answer from one consistent snapshot.
        conn.execute("BEGIN")
        try:
            current = run.live.check(conn) if run.live is not None else False
            stale = not current
            meta = db.read_meta(conn)
            if version_problem(meta) is None and meta.get("price_fp") == run.price_fp:
                p = plan(found, _file_rows(run), _forgotten(run), others=run.others)
                if not p.to_read and not p.vanished:
                    result = _cached_result(run)
                    result.unreadable = unreadable_of(run, p.unreadable)
                    result.others_wrote = stale or not current
                    return result
        finally:
            conn.execute("ROLLBACK")
    with quiet_collector() as read:  # no collection over the records piling up (see collector)
        result = _write_phase(run, found, finalize=finalize, rebuild=rebuild, forget=forget, stale=stale)
        read.bytes = result.bytes_read
    return result


def _cached_result(run: SyncRun) -> SyncResult:
    """The stored sessions, nothing read (every summary, or with ``full`` off only the archived keys)."""
    if not run.full:
        return SyncResult([], set(_archived_keys(run)))
    summaries, archived = tables.cached_summaries(run.conn, run.reader)
    return SyncResult(summaries, archived)


def _archived_keys(run: SyncRun) -> set[SessionKey]:
    live = run.live
    if live is not None and live.archived is not None:
        return live.archived
    keys = set(map(tuple, run.conn.execute("SELECT agent, session_id FROM sessions WHERE archived = 1")))
    if live is not None:
        live.archived = keys  # type: ignore[assignment]
    return keys  # type: ignore[return-value]


def _file_rows(run: SyncRun) -> dict[str, tables.FileRow]:
    """Every ``files`` row: as a long-lived index kept them, or read now (and kept)."""
    live = run.live
    if live is not None and live.rows is not None:
        return live.rows
    rows = tables.file_rows(run.conn)
    if live is not None:
        live.rows = rows
    return rows


def _forgotten(run: SyncRun) -> set[str]:
    live = run.live
    if live is not None and live.forgotten is not None:
        return live.forgotten
    paths = tables.forgotten(run.conn)
    if live is not None:
        live.forgotten = paths
    return paths


def _write_phase(run: SyncRun, found, *, finalize: bool, rebuild: bool, forget: list[str],
                 stale: bool = True) -> SyncResult:
    """Take the write lock (or read without saving when another tokdash holds it), update or
    rebuild, and commit what the run read in one transaction. ``stale``: a look just before
    found what a long-lived index kept out of date (another connection wrote)."""
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
    live = run.live
    try:
        current = live.check(conn) if live is not None else False
        meta = db.read_meta(conn)
        problem = version_problem(meta)
        if problem is not None or rebuild or forget or run.carry_from is not None:
            if problem is not None and problem != NEW:
                run.warn(f"tokdash: {problem}; rebuilding it from the transcripts")
            if live is not None:
                live.drop()  # a rebuild rewrites everything: nothing kept holds after it
            result, write = rebuilding.rebuild(run, found, finalize=finalize, meta=meta, forget=forget)
        else:
            result, write = _update(run, found, finalize=finalize, meta=meta)
        result.others_wrote = stale or not current
        if write is None or not writable:
            conn.execute("ROLLBACK")
            result.saved = write is None
            if live is not None and write is not None:
                live.failed()
            return result
        try:
            write()
            conn.execute("COMMIT")
            run.reader = db.read_layouts(conn)
        except sqlite3.OperationalError as exc:
            db.abort(conn)
            result.saved = False
            if live is not None:
                live.failed()
            run.warn(f"tokdash: could not save the index ({db.reason(exc)}); "
                     "this report is complete, the next run reads the new bytes again")
        return result
    except BaseException:
        db.abort(conn)
        if live is not None:
            live.failed()
        raise


# --- an incremental run ---------------------------------------------------------------


def _update(run: SyncRun, found, *, finalize: bool, meta: dict[str, str]):
    """Read the new bytes of changed files into a store over the index: (result, write or None)."""
    conn, reader, live = run.conn, run.reader, run.live
    rows = _file_rows(run)
    p = plan(found, rows, _forgotten(run), reader, others=run.others)
    unreadable = dict(p.unreadable)
    price_stale = meta.get("price_fp") != run.price_fp
    if not p.to_read and not p.vanished and not price_stale:
        result = _cached_result(run)  # another tokdash did the work meanwhile
        result.unreadable = unreadable_of(run, unreadable)
        return result, None
    store = live.store if live is not None and live.store is not None else None
    if store is None:
        store = IndexStore(conn, empty=not rows, reader=reader)  # no file read yet: nothing to look up
    if live is not None and live.prices is not None and live.price_fp == run.price_fp and not price_stale:
        run_prices = live.prices
    else:
        run_prices = prices.for_run(conn, reader, meta, run.price_fp, run.config_path)
    found_agents = {str(path): agent for agent, path in found}

    def agent_of(q: str) -> str | None:
        row = rows.get(q)
        return found_agents.get(q) or (row.agent if row is not None else None)

    changed: set[SessionKey] = set()
    states: dict[str, tuple[str, FileState]] = {}
    gone = set(p.vanished) - set(p.renamed.values())
    dropped_rows = set(p.renamed.values())
    for new, old in p.renamed.items():
        changed |= store.withdraw_file(old, rows[old].agent)
    changed |= reoffer(store, agent_of, finalize)
    files_read = bytes_read = 0
    todo: list[tuple[str, FileState]] = []
    before: dict[str, tuple[int, int]] = {}
    for agent, path in p.to_read:
        q = str(path)
        row = rows.get(q)
        if row is not None:
            state = row.to_state(reader)
        else:
            ctx = SOURCES[agent].context_for(Path(q))
            if ctx is None:
                continue
            state = FileState(q, SOURCES[agent], ctx)
        before[q] = (state.offset, state.resets)
        todo.append((agent, state))
    tick = _Ticker(run.progress, len(todo))
    # Many files to read (a first run after days away): read on every core, merged in order.
    for agent, state, batch, why in read_in_order(todo, finalize=finalize):
        tick()
        q = state.path
        row = rows.get(q)
        offset, resets = before[q]
        if why is not None:
            unreadable[q] = why  # its records stay as they are; it is not gone
            continue
        if batch is None:
            why = presence(q)
            if why == GONE:
                if row is not None and not row.gone:
                    gone.add(q)
                continue
            if why is not None:
                unreadable[q] = why
                continue
        states[q] = (agent, state)
        if batch is not None:
            files_read += 1
            bytes_read += state.offset - (0 if state.resets != resets else offset)
            changed |= store.add_batch(batch, agent)
            changed |= reoffer(store, agent_of, finalize)
    repriced: set[str] = set()
    if price_stale:
        repriced = prices.reprice(conn, reader, store, run_prices, meta, changed)
    fresh, removed = settle(store, changed, run_prices)
    skip = set(fresh) | removed
    cached = tables.cached_summaries(conn, reader, skip=skip)[0] if run.full else []

    def present(q: str) -> bool:
        """The file is there after this run."""
        if q in states:
            return True
        row = rows.get(q)
        return row is not None and not row.gone and q not in gone and q not in dropped_rows

    touched = changed | _sessions_of(conn, gone | set(states) | dropped_rows)
    if live is not None:
        # Only sessions this run touched can change their flag: the others keep theirs.
        before_archived = _archived_keys(run)
        archived = (before_archived - touched - removed) | _archived(conn, store, present, removed, touched)
    else:
        archived = _archived(conn, store, present, removed)
    result = SyncResult(cached + list(fresh.values()), archived, set(fresh) | removed, files_read, bytes_read,
                        store=store, prices=run_prices, unreadable=unreadable_of(run, unreadable), removed=removed)

    def write() -> None:
        conn.executemany("DELETE FROM files WHERE path = ?", [(codec.enc_path(q),) for q in dropped_rows])
        written = tables.write_files(conn, [(agent, st, False) for agent, st in states.values()])
        conn.executemany("UPDATE files SET gone = 1 WHERE path = ?", [(codec.enc_path(q),) for q in gone])
        tables.write_store(conn, store, run_prices)
        tables.write_summaries(conn, fresh)
        conn.executemany("DELETE FROM sessions WHERE agent = ? AND session_id = ?", list(removed))
        conn.executemany(
            "UPDATE sessions SET archived = ? WHERE agent = ? AND session_id = ?",
            [(int(k in archived), k[0], k[1]) for k in touched if k not in removed],
        )
        prices.write_prices(conn, run_prices, repriced)
        db.set_meta(conn, {"price_fp": run.price_fp})
        if live is not None:
            live.committing(written, gone, dropped_rows, store, run_prices, run.price_fp, archived)

    return result, write


def _sessions_of(conn: sqlite3.Connection, paths: set[str]) -> set[SessionKey]:
    """The sessions holding facts of these files."""
    out: set[SessionKey] = set()
    for q in paths:
        out.update(conn.execute("SELECT agent, session_id FROM metas WHERE path = ?", (codec.enc_path(q),)).fetchall())
    return out


def _archived(conn: sqlite3.Connection, store: IndexStore, present: Callable[[str], bool],
              removed: set[SessionKey] | frozenset = frozenset(),
              among: set[SessionKey] | None = None) -> set[SessionKey]:
    """Sessions none of whose files is still there (``present``: is a file there after this
    run); of every session, or only of those ``among``."""
    withdrawn = store.withdrawn()[3]
    paths: dict[SessionKey, set[str]] = {}
    if among is None:
        stored = conn.execute("SELECT path, agent, session_id FROM metas").fetchall()
    else:
        stored = [(path_t, a, sid) for a, sid in among for (path_t,) in
                  conn.execute("SELECT path FROM metas WHERE agent = ? AND session_id = ?", (a, sid)).fetchall()]
    for path_t, agent, sid in stored:
        path = codec.dec_path(path_t)
        if (path, agent, sid) not in withdrawn:
            paths.setdefault((agent, sid), set()).add(path)
    for s in store.sessions.values():
        if s.metas and (among is None or s.key in among):
            paths.setdefault(s.key, set()).update(s.metas)
    return {key for key, ps in paths.items() if not any(map(present, ps)) and key not in removed}
