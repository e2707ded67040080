"""A rebuild: read every file from zero into a fresh store, carrying history over.

What only the index still holds -- the records whose best copy came from a file that
will not be read again (deleted, no longer listed, or unreadable right now) -- is
carried over into the new build; forgotten files are not. The previous state is read
either from this same file (a parser change, ``tokdash index --rebuild``, ``--forget``)
or from an older index attached as ``carry_from`` (a schema change: the old file is
kept, moved aside, and read once).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import orjson

from tokdash.ingest.discovery import discover
from tokdash.ingest.index import codec, db, prices, tables
from tokdash.ingest.index import rows as flat
from tokdash.ingest.index.identity import SCHEMA_VERSION, code_fingerprint
from tokdash.ingest.index.prices import _Prices
from tokdash.ingest.index.store import IndexStore
from tokdash.ingest.index.run import GONE, IndexUsageError, SyncResult, SyncRun, _Ticker, presence, renames, unreadable_of
from tokdash.ingest.index.reading import read_in_order
from tokdash.ingest.reader import FileState
from tokdash.model.session import summarize
from tokdash.model.store import CallSlot
from tokdash.sources import SOURCES


def rebuild(run: SyncRun, found, *, finalize: bool, meta: dict[str, str], forget: list[str]):
    """Read every file from zero into a fresh store; records of files that are gone are
    carried over (when the stored format can be read), forgotten files are not."""
    conn = run.conn
    if run.roots is not None and not run.listed:
        found = discover(run.roots)  # every file, even when this run was asked about a few
    schema = run.carry_from or "main"
    try:
        old_reader = run.reader if schema == "main" else _attached_reader(conn, schema)
        checked = old_reader.checked
        rows = tables.file_rows(conn, schema, checked=checked)
        forgotten = tables.forgotten(conn, schema)
    except (sqlite3.DatabaseError, codec.CodecError, db._Corrupt) as exc:
        if schema == "main":
            raise
        # The older index cannot be read (damaged): it stays where it was moved; build without it.
        run.warn(f"tokdash: could not carry history over from the older index ({db.reason(exc)}); "
                 "it is kept as it was")
        schema, old_reader, checked, rows, forgotten = "main", run.reader, True, {}, set()
    prefixes = [f.rstrip(os.sep) + os.sep for f in forget]

    def is_forgotten(p: str) -> bool:
        return p in forgotten or p in forget or any(p.startswith(x) for x in prefixes)

    if forget:
        hit = {p for p in rows if is_forgotten(p)}
        if not hit:
            raise IndexUsageError("not in the index: " + ", ".join(forget))
        forgotten |= hit
    store = IndexStore(None, empty=True)
    run_prices = (prices.for_run(conn, run.reader, meta, run.price_fp, run.config_path) if schema == "main"
                  else _Prices(run.config_path, {}))
    # Files that will not be read again (gone, unreadable, or no longer listed) keep what they gave.
    unreadable: dict[str, str] = {}
    listed = set()
    for _agent, path in found:
        why = presence(str(path))
        if why is None:
            listed.add(str(path))
        elif why != GONE:
            unreadable[str(path)] = why
    candidates = [p for p in rows if not is_forgotten(p) and p not in listed]
    vanished = [p for p in candidates if presence(p) == GONE]
    renamed = set(renames([(a, p) for a, p in found if str(p) not in rows], vanished, rows, old_reader).values())
    carried = sorted(p for p in candidates if p not in renamed)  # a renamed file is read under its new name
    gone = set()
    for p in carried:
        why = presence(p)
        if rows[p].gone or why == GONE:
            gone.add(p)
        elif why is not None:
            unreadable[p] = why
    if carried:
        try:
            carry(conn, old_reader, store, carried, schema)
        except (sqlite3.DatabaseError, codec.CodecError) as exc:
            if schema == "main":
                raise
            run.warn(f"tokdash: could not carry history over from the older index ({db.reason(exc)}); "
                     "it is kept as it was")
            store = IndexStore(None, empty=True)
            carried, gone = [], set()
    todo: list[tuple[str, FileState]] = []
    for agent, path in found:
        p = str(path)
        if is_forgotten(p) or p not in listed:
            continue
        ctx = SOURCES[agent].context_for(Path(p))
        if ctx is not None:
            todo.append((agent, FileState(p, SOURCES[agent], ctx)))
    states: list[tuple[str, FileState]] = []
    files_read = bytes_read = 0
    tick = _Ticker(run.progress, len(todo))
    store.encoded = flat.Encoded()
    for agent, state, batch, why in read_in_order(todo, finalize=finalize, idle=run_prices.warm,
                                                  encoded=store.encoded):
        tick()
        if why is not None:
            unreadable[state.path] = why
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
                        rebuilt=True, store=store, prices=run_prices, unreadable=unreadable_of(run, unreadable))

    def carried_row(p: str) -> tuple:
        r = rows[p]
        if not checked:  # a schema-1 row: its context is stored again, with its checksum
            r = replace(r, ctx=codec.dumps(old_reader.loads(r.ctx)))
        return r.values(gone=p in gone)

    carried_rows = [carried_row(p) for p in carried]

    def write() -> None:
        db.clear_data(conn)
        conn.executemany("INSERT OR IGNORE INTO forgotten (path) VALUES (?)",
                         [(codec.enc_path(p),) for p in forgotten])
        tables.insert_file_rows(conn, carried_rows)
        tables.write_files(conn, [(agent, st, False) for agent, st in states])
        store.paths = flat.Paths(conn)  # the paths table was emptied with the rest
        tables.write_store(conn, store, run_prices)
        tables.write_summaries(conn, summaries, archived)
        db.end_bulk(conn)
        prices.write_prices(conn, run_prices, set(run_prices.seed))
        db.set_meta(conn, {"schema": str(SCHEMA_VERSION), "code": code_fingerprint(), "price_fp": run.price_fp,
                           "roots": run.roots_sig, "built": datetime.now(UTC).isoformat(timespec="seconds"),
                           **db.layouts_meta()})
        conn.execute("DELETE FROM meta WHERE k = 'carry_from'")

    return result, write


def _attached_reader(conn: sqlite3.Connection, schema: str) -> codec.Reader:
    """A reader for the rows of an attached older index (its layouts; schema 1 has no checksums)."""
    meta = dict(conn.execute(f"SELECT k, v FROM {schema}.meta").fetchall())
    try:
        layouts = orjson.loads(meta["layouts"]) if meta.get("layouts") else None
    except orjson.JSONDecodeError:
        layouts = None
    try:
        version = int(meta.get("schema") or 0)
    except ValueError:
        version = 0
    return codec.Reader(layouts if isinstance(layouts, dict) else None, checked=version >= 2)


def carry(conn: sqlite3.Connection, reader: codec.Reader, store: IndexStore, gone: list[str],
          schema: str = "main") -> None:
    """Put the records whose best copy came from a file that is not read again into a fresh store.

    Reads this schema's flat rows, or (``schema``: an attached older index) the rows of
    schemas 1-4, where a record's blob held all of it and a row named its file by path."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS gone_files (path TEXT PRIMARY KEY)")
    conn.execute("DELETE FROM gone_files")
    conn.executemany("INSERT INTO gone_files (path) VALUES (?)", [(codec.enc_path(p),) for p in gone])
    s = schema
    # Told by the tables themselves, not the version the file states (which may be off).
    flat_rows = conn.execute(f"SELECT 1 FROM {s}.sqlite_master WHERE type = 'table' AND name = 'paths'").fetchone() \
        is not None
    files = (f"(SELECT id FROM {s}.paths WHERE path IN (SELECT path FROM gone_files))" if flat_rows
             else "(SELECT path FROM gone_files)")
    try:
        paths = _gone_paths(conn, s) if flat_rows else {}
        keys_of: dict[bytes, list] = {}
        for key_b, pk_b in conn.execute(
            f"SELECT k.key, k.pk FROM {s}.keys k JOIN {s}.slots s ON s.pk = k.pk WHERE s.file IN {files}"
        ):
            keys_of.setdefault(pk_b, []).append(codec.dec_key(key_b))
        carried_keys: set = set()
        for slot_b, agent, slot in _carried_slots(conn, reader, s, files, paths, flat_rows):
            keys = keys_of.get(slot_b, [])
            carried_keys.update(keys)
            carried_keys.add(slot.primary)
            store.adopt_slot(agent, slot, keys)
        for msg_b, key_b in conn.execute(f"SELECT msg, key FROM {s}.msgs"):
            key = codec.dec_key(key_b)
            if key in carried_keys:
                store._by_msg.setdefault(codec.dec_key(msg_b), key)  # type: ignore[arg-type]
        if flat_rows:
            for agent, key_b, data, fid in conn.execute(
                f"SELECT agent, key, data, file FROM {s}.events WHERE file IN {files} ORDER BY rowid"
            ):
                store.adopt_event(agent, flat.load_event(reader, codec.dec_key(key_b), data, _path(paths, fid)))  # type: ignore
        else:
            for agent, data in conn.execute(
                f"SELECT agent, data FROM {s}.events WHERE file IN {files} ORDER BY rowid"
            ):
                store.adopt_event(agent, reader.loads(data))  # type: ignore[arg-type]
        for agent, data in conn.execute(
            f"SELECT agent, data FROM {s}.metas WHERE path IN (SELECT path FROM gone_files)"
        ):
            store.adopt_meta(agent, reader.loads(data))  # type: ignore[arg-type]
    finally:
        conn.execute("DROP TABLE temp.gone_files")


def _gone_paths(conn: sqlite3.Connection, s: str) -> dict[int, str]:
    out = {}
    for fid, text, ck in conn.execute(f"SELECT id, path, ck FROM {s}.paths WHERE path IN (SELECT path FROM gone_files)"):
        if type(text) is not str or ck != flat.path_ck(text):
            raise db._Corrupt("a stored file path fails its checksum")
        out[fid] = codec.dec_path(text)
    return out


def _path(paths: dict[int, str], fid: object) -> str:
    path = paths.get(fid)  # type: ignore[arg-type]
    if path is None:
        raise db._Corrupt("a stored record names a file the index does not hold")
    return path


def _carried_slots(conn, reader: codec.Reader, s: str, files: str, paths: dict[int, str], flat_rows: bool):
    """(stored primary key, agent, call) of every call whose best copy came from a gone file.
    Carried calls keep no list of other files (as before flat rows): those files are read anew."""
    if not flat_rows:
        for pk_b, agent, data, is_open in conn.execute(
            f"SELECT pk, agent, data, open FROM {s}.slots WHERE file IN {files} ORDER BY rowid"
        ):
            d = reader.loads(data)
            yield pk_b, agent, CallSlot(codec.dec_key(pk_b), d["best"], d["tools"], bool(is_open))  # type: ignore
        return
    for (pk_b, agent, data, is_open, tools, ts, *usage, usd, pico, fid, ck) in conn.execute(
        f"SELECT pk, agent, data, open, tools, ts, input, output, cw5, cw1h, cr, reasoning, web, cost_usd, cost_pico, "
        f"file, ck FROM {s}.slots WHERE file IN {files} ORDER BY rowid"
    ):
        if type(fid) is not int or type(ts) is not float or ck != flat.slot_ck(*usage, usd, pico, ts, is_open, fid):
            raise db._Corrupt("a stored call fails its checksum")
        yield pk_b, agent, flat.load_slot(reader, codec.dec_key(pk_b), data, is_open, tools, None, ts,  # type: ignore
                                          tuple(usage), _path(paths, fid))
