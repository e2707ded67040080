"""Bring one session's status-line state up to date: read only the bytes added since the last call.

The state (see :mod:`tokdash.ingest.session_state` for the file) holds per file of the
session its identity, the offset read up to and the parser's context, so reading
continues exactly where the last call stopped; per API call its best copy so far as a
compact tuple (:data:`tokdash.model.tally.Copy`) with the keys and message ids it is
known under, which :class:`_LazyStore` turns back into a store's slot only for the
calls that new lines meet, so the dedup rules of ``model/store.py`` apply unchanged;
the running totals; each model's price as resolved, so pricing a new call of a known
model never loads the genai-prices table.

A file that was truncated, replaced or rewritten, a state from another version of the
counting code, or one that does not decode: the session is read again from zero.
Always exact: the totals equal ``summarize`` over a fresh read of the same files.
"""

from __future__ import annotations

import dataclasses
import marshal
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from tokdash.ingest.reader import FileState, read_state as read_file
from tokdash.ingest.session_prices import Prices, SharedPrices, dec_price, enc_price, price_table
from tokdash.ingest.session_state import (
    MARSHAL_VERSION,
    SCHEMA,
    STATE_VERSION,
    TABLES,
    code_signature,
    connect,
    price_signature,
    read_meta,
    stat_dirs,
    stat_files,
    state_path,
)
from tokdash.model.records import SessionMeta
from tokdash.model.store import CallSlot, Store
from tokdash.model.tally import FAST, MODEL, OPEN, SID, USAGE, Tally, call_of, copy_of
from tokdash.sources.base import FileContext, Source

_CTX_FIELDS = tuple(f.name for f in dataclasses.fields(FileContext))
_META_FIELDS = tuple(f.name for f in dataclasses.fields(SessionMeta))


def _enc_ctx(ctx: FileContext) -> tuple:
    values = []
    for name in _CTX_FIELDS:
        v = getattr(ctx, name)
        if name == "meta" and v is not None:
            v = tuple(getattr(v, n) for n in _META_FIELDS)
        values.append(v)
    return tuple(values)


def _dec_ctx(values: tuple) -> FileContext:
    kw = dict(zip(_CTX_FIELDS, values, strict=True))
    if kw["meta"] is not None:
        kw["meta"] = SessionMeta(**dict(zip(_META_FIELDS, kw["meta"], strict=True)))
    return FileContext(**kw)


def enc_key(key: object) -> bytes:
    """Canonical bytes of a dedup key or message id (equal tuples, equal bytes): looked up by value."""
    return orjson.dumps(key)


def dec_key(data: bytes) -> object:
    """The key ``enc_key`` encoded, its tuples restored."""
    return _tuplify(orjson.loads(data))


def _tuplify(v: object) -> object:
    return tuple(_tuplify(x) for x in v) if type(v) is list else v


class _Table:
    """One key -> value table of the state, read by key on demand and written back in one go."""

    def __init__(self, conn: sqlite3.Connection, table: str, key: str, value: str, dec) -> None:
        self._get = f"SELECT {value} FROM {table} WHERE {key} = ?"
        self._put = f"INSERT OR REPLACE INTO {table} ({key}, {value}) VALUES (?, ?)"
        self._all = f"SELECT {key}, {value} FROM {table}"
        self._conn = conn
        self._dec = dec
        self.seen: dict = {}
        """key -> value (None: absent) as read."""
        self.new: dict = {}
        """key -> value to write."""

    def get(self, key: object, default=None):
        if key in self.new:
            return self.new[key]
        if key not in self.seen:
            row = self._conn.execute(self._get, (enc_key(key),)).fetchone()
            self.seen[key] = self._dec(row[0]) if row is not None else None
        v = self.seen[key]
        return default if v is None else v

    def __setitem__(self, key: object, value: object) -> None:
        self.new[key] = value

    def items(self):
        """Every (key, value), stored ones with this run's changes over them."""
        out = {dec_key(k): self._dec(v) for k, v in self._conn.execute(self._all)}
        out.update(self.new)
        return out.items()

    def write(self, enc) -> None:
        self._conn.executemany(self._put, [(enc_key(k), enc(v)) for k, v in self.new.items()])


def _marshal(v: object) -> bytes:
    return marshal.dumps(v, MARSHAL_VERSION)


class _LazyStore(Store):
    """A ``Store`` that knows the session's calls only as stored copies, and turns one into a
    real slot the first time a new line's call meets it (by key or message id)."""

    def __init__(self, agent: str, copies: _Table, keys: _Table, msgs: _Table) -> None:
        super().__init__()
        self._agent = agent
        self._copies = copies
        self._keys = keys
        self._msgs = msgs

    def _get_slot(self, key: tuple) -> CallSlot | None:
        slot = self.slots.get(key)
        if slot is not None:
            return slot
        primary = self._keys.get(key, key)
        slot = self.slots.get(primary)
        if slot is None:
            c = self._copies.get(primary)
            if c is None:
                return None
            slot = CallSlot(primary, call_of(primary, c), {}, c[OPEN])
            self.slots[primary] = slot
            self._session(self._agent, c[SID]).slots[primary] = slot
        if key != primary:
            self.slots[key] = slot
        return slot

    def _get_by_msg(self, msg_id: object) -> tuple | None:
        key = self._by_msg.get(msg_id)
        if key is None:
            key = self._msgs.get(msg_id)
            if key is not None:
                self._by_msg[msg_id] = key
        return key

    def _get_event(self, key: tuple) -> None:
        return None  # events are not counted by the status line


# --- one refresh ---------------------------------------------------------------------------


@dataclass
class SessionState:
    """One session as its state holds it after :func:`refresh`."""

    agent: str
    session_id: str | None
    project: str
    tally: Tally
    header: dict
    """The header written (what ``session_state.unchanged`` returns next time)."""
    bytes_read: int = 0
    """Bytes this refresh read (0: nothing new)."""
    rebuilt: bool = False
    """Read from zero (no usable state, a truncated or rewritten file, new counting code)."""
    saved: bool = True
    """False when the state could not be written (the answer is right; the next call reads again)."""


class _Reset(Exception):
    """A file of the session was truncated, replaced or rewritten: read everything again."""


def refresh(transcript: Path, source: Source, *, config_path: Path | None, data: Path | None = None,
            extra: dict | None = None, config: dict | None = None, now: float | None = None) -> SessionState:
    """Bring the state of one session up to date (new bytes only) and return it.

    ``extra`` (e.g. the status line's last ``context_window``) and ``config`` (tables of the
    config file the caller reads on every call; valid while the file's ``stat``, part of the
    price signature, holds) are kept in the header. A state that cannot be used (damaged,
    locked past the busy timeout, a read-only data dir) is not an error: the session is then
    read in memory, and the next call tries again.
    """
    now = time.time() if now is None else now
    path = state_path(transcript, data)
    for _attempt in range(2):
        conn = None
        try:
            conn = connect(path, write=True)
            conn.execute("BEGIN IMMEDIATE")
            state = _refresh(conn, transcript, source, config_path, extra, config, now, path.parent)
            conn.execute("COMMIT")
            return state
        except (sqlite3.OperationalError, OSError):
            break  # busy past the timeout, a full disk, a read-only data dir: read in memory this once
        except (sqlite3.DatabaseError, ValueError, TypeError, EOFError):
            # Not a database (any more), or a value that does not decode: a cache, start it over.
            _close(conn)
            conn = None
            _remove(path)
        finally:
            _close(conn)
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for stmt in SCHEMA:
            conn.execute(stmt)
        state = _refresh(conn, transcript, source, config_path, extra, config, now, path.parent)
        state.saved = False
        return state
    finally:
        conn.close()


def _close(conn: sqlite3.Connection | None) -> None:
    if conn is None:
        return
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass
    conn.close()


def _remove(path: Path) -> None:
    for suffix in ("", "-journal"):
        try:
            os.unlink(str(path) + suffix)
        except OSError:
            pass


def _refresh(conn: sqlite3.Connection, transcript: Path, source: Source, config_path: Path | None,
             extra: dict | None, config: dict | None, now: float, folder: Path) -> SessionState:
    code = code_signature()
    header = read_meta(conn, "header")
    if not isinstance(header, dict) or header.get("v") != STATE_VERSION or header.get("code") != code \
            or header.get("transcript") != str(transcript) or header.get("agent") != source.name:
        header = _wipe(conn)
    table = header.get("price_table") or price_table()
    shared = SharedPrices(folder)
    try:
        state, files, dirs, price_sig = _update(conn, transcript, source, header, config_path, table, shared)
    except _Reset:
        header = _wipe(conn)
        state, files, dirs, price_sig = _update(conn, transcript, source, header, config_path, table, shared)
    state.header = {
        "v": STATE_VERSION, "code": code, "transcript": str(transcript), "agent": source.name,
        "sid": state.session_id, "project": state.project, "updated": now, "tally": state.tally.state(),
        "figures": figures(state.tally.view()), "files": files, "dirs": dirs, "price_sig": price_sig,
        "price_table": table, "config_path": str(config_path) if config_path is not None else None,
        "config": config, "extra": extra if extra is not None else header.get("extra"),
    }
    try:
        blob = _marshal(state.header)
    except ValueError:  # a TOML date in a config table: keep no tables, read the file each time
        state.header["config"] = None
        blob = _marshal(state.header)
    conn.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('header', ?)", (blob,))
    return state


def _wipe(conn: sqlite3.Connection) -> dict:
    for t in TABLES:
        conn.execute(f"DELETE FROM {t}")
    return {}


def figures(view) -> dict:
    """What a status line prints of a session, as plain values (read back without importing
    the model: see ``tokdash.report.statusline.Figures``)."""
    u = view.usage
    return {"total": u.total, "input": u.input, "output": u.output, "cache_read": u.cache_read,
            "input_side": u.input_side, "cost": view.cost, "unpriced": view.unpriced_models,
            "models": view.models[:3], "calls": view.api_calls, "context_tokens": view.context_tokens,
            "context_window": view.context_window}


def _update(conn: sqlite3.Connection, transcript: Path, source: Source, header: dict, config_path: Path | None,
            table: str | None, shared: SharedPrices):
    files = {p: marshal.loads(row) for p, row in conn.execute("SELECT path, row FROM files")}
    copies = _Table(conn, "copies", "k", "c", marshal.loads)
    keys = _Table(conn, "keys", "k", "pk", dec_key)
    msgs = _Table(conn, "msgs", "m", "k", dec_key)
    price_sig = price_signature(config_path, table)
    stored = read_meta(conn, "prices") or {}
    stored_prices = {m: dec_price(p) for m, p in stored.items()}  # type: ignore[union-attr]
    fresh_prices = read_meta(conn, "price_sig") != price_sig
    prices = Prices(config_path, shared.read(price_sig) if fresh_prices else dict(stored_prices))
    store = _LazyStore(source.name, copies, keys, msgs)
    session_files = source.session_files(transcript)
    states: dict[str, FileState] = {}
    read = 0
    for p in session_files:
        key = str(p)
        row = files.get(key)
        try:
            st = os.stat(key)
        except OSError:
            continue
        if row is not None and (row[0], row[1], row[2], row[3]) == (st.st_dev, st.st_ino, st.st_size, st.st_mtime):
            continue
        if row is not None:
            fs = FileState(key, source, _dec_ctx(row[6]), row[4], (row[0], row[1]), row[2], row[3], row[5],
                           head_len=row[7], head_sum=row[8])
        else:
            ctx = source.context_for(p)
            if ctx is None:
                continue
            fs = FileState(key, source, ctx)
        before, resets = fs.offset, fs.resets
        try:
            batch = read_file(fs, finalize=True)
        except OSError:
            continue  # unreadable right now: the next call tries again
        if row is not None and (fs.resets != resets or (batch is not None and batch.replaces_file)):
            raise _Reset  # truncated, replaced or rewritten: what it held before must go too
        states[key] = fs
        if batch is not None:
            read += fs.offset - before
            batch.events.clear()
            store.add_batch(batch, source.name)
    for key, fs in states.items():
        files[key] = (*(fs.ident or (0, 0)), fs.size, fs.mtime, fs.offset, fs.resets, _enc_ctx(fs.ctx),
                      fs.head_len, fs.head_sum)
    conn.executemany("INSERT OR REPLACE INTO files (path, row) VALUES (?, ?)",
                     [(k, _marshal(files[k])) for k in states])
    main = str(transcript)
    ctx = states[main].ctx if main in states else (_dec_ctx(files[main][6]) if main in files else None)
    sid = ctx.session_id if ctx is not None else None
    project = (ctx.meta.cwd or "") if ctx is not None and ctx.meta is not None else ""
    if fresh_prices and header:
        _reprice(copies, stored_prices, prices)
    if header.get("tally") is not None and header.get("sid") == sid and not fresh_prices:
        tally = Tally(sid, header["tally"])
        _merge(store, copies, keys, msgs, prices, tally)
    else:  # no totals to continue from (or every cost may have moved): count every copy again
        _merge(store, copies, keys, msgs, prices, None)
        tally = Tally.of(sid, list(copies.items()))
    copies.write(_marshal)
    keys.write(enc_key)
    msgs.write(enc_key)
    if fresh_prices or prices.seed.keys() != stored_prices.keys():
        conn.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('prices', ?)",
                     (_marshal({m: enc_price(p) for m, p in prices.seed.items()}),))
        conn.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('price_sig', ?)", (_marshal(price_sig),))
    if prices.resolved:
        shared.write(price_sig, prices.seed)
    dirs = {str(transcript.parent)} | {str(Path(p).parent) for p in session_files}
    state = SessionState(source.name, sid, project, tally, {}, read, not header)
    return state, stat_files(session_files), stat_dirs(sorted(dirs)), price_sig


def _merge(store: _LazyStore, copies: _Table, keys: _Table, msgs: _Table, prices: Prices,
           tally: Tally | None) -> None:
    """Put the store's new or changed best copies into ``copies`` (and ``tally``)."""
    lost_last = False
    for s in store.sessions.values():
        for pk, slot in s.slots.items():
            old = copies.get(pk)
            best = slot.best
            u = best.usage
            usage = (u.input, u.output, u.cache_write_5m, u.cache_write_1h, u.cache_read, u.reasoning, u.web_search)
            if old is not None and old[USAGE] == usage and old[MODEL] == best.model and old[FAST] == best.fast:
                new = copy_of(best, slot.open, old[3])  # same tokens, same model: same cost
                if new == old:
                    continue
            else:
                new = copy_of(best, slot.open, prices.pico(best))
            copies[pk] = new
            if tally is not None and not tally.change(pk, old, new):
                lost_last = True
    for key, slot in store.slots.items():
        if key != slot.primary and keys.get(key) is None:
            keys[key] = slot.primary
    for m, k in store._by_msg.items():
        if msgs.get(m) is None:
            msgs[m] = k
    if lost_last and tally is not None:
        tally.find_last(dict(copies.items()))


def _reprice(copies: _Table, stored: dict, prices: Prices) -> None:
    """Prices may have moved (a new day, the config, the table): price every model again and
    re-cost the calls of the models whose price did change."""
    every = dict(copies.items())
    moved = {m for m in {c[MODEL] for c in every.values()} if prices._book.resolve(m) != stored.get(m, False)}
    for pk, c in every.items():
        if c[MODEL] in moved:
            copies[pk] = (*c[:3], prices.pico(call_of(pk, c)), *c[4:])
