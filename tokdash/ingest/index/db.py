"""The SQLite file itself: connecting, the schema, and telling damage from other errors.

Connections are in autocommit mode (every transaction is an explicit ``BEGIN``),
in WAL mode with ``synchronous=NORMAL``, and wait up to a busy timeout for another
tokdash's write. A database that does not decode is :class:`_Corrupt`; the index
then moves it aside (:func:`move_aside`) and rebuilds. Anything else that keeps the
index from being used at all is :class:`IndexUnavailable`.
"""

from __future__ import annotations

import os
import sqlite3
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import orjson

from tokdash.ingest.index import codec
from tokdash.ingest.index.identity import SCHEMA_VERSION

BUSY_TIMEOUT = 5.0
"""Seconds a writer waits for another tokdash's write transaction before giving up."""

_CORRUPT_ERRORS = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, agent TEXT NOT NULL, dev INTEGER, ino INTEGER, size INTEGER NOT NULL,
    mtime REAL NOT NULL, offset INTEGER NOT NULL, resets INTEGER NOT NULL, bad_lines INTEGER NOT NULL,
    gone INTEGER NOT NULL, ctx BLOB NOT NULL, head_len INTEGER NOT NULL, head_sum BLOB NOT NULL,
    ck INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS paths (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, ck INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS slots (
    pk BLOB PRIMARY KEY, agent TEXT NOT NULL, session_id TEXT NOT NULL, file INTEGER NOT NULL,
    ts REAL NOT NULL, model TEXT NOT NULL, input INTEGER NOT NULL, output INTEGER NOT NULL,
    cw5 INTEGER NOT NULL, cw1h INTEGER NOT NULL, cr INTEGER NOT NULL, reasoning INTEGER NOT NULL,
    web INTEGER NOT NULL, cost_usd INTEGER, cost_pico INTEGER, open INTEGER NOT NULL, data BLOB NOT NULL,
    tools BLOB, others BLOB, ck INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (key BLOB PRIMARY KEY, pk BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS msgs (msg BLOB PRIMARY KEY, key BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    key BLOB PRIMARY KEY, agent TEXT NOT NULL, session_id TEXT NOT NULL, file INTEGER NOT NULL,
    data BLOB NOT NULL, others BLOB
);
CREATE TABLE IF NOT EXISTS metas (
    path TEXT NOT NULL, agent TEXT NOT NULL, session_id TEXT NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (path, agent, session_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
    agent TEXT NOT NULL, session_id TEXT NOT NULL, archived INTEGER NOT NULL, summary BLOB NOT NULL,
    PRIMARY KEY (agent, session_id)
);
CREATE TABLE IF NOT EXISTS prices (model TEXT PRIMARY KEY, price BLOB) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS forgotten (path TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tally (name TEXT PRIMARY KEY, n INTEGER NOT NULL, ck INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO tally (name, n, ck) VALUES ('slots', 0, 0), ('sessions', 0, 0);
"""
INDEXES = {
    "slots_session": "slots (agent, session_id)",
    "slots_file": "slots (file)",
    "keys_pk": "keys (pk)",
    "events_session": "events (agent, session_id)",
    "events_file": "events (file)",
    "metas_session": "metas (agent, session_id)",
}
"""The secondary indexes: a build drops them, fills the tables and makes them again in one
sorted pass each (cheaper than keeping them up to date row by row)."""
_TALLY_M = 2147483647
TRIGGERS = f"""
CREATE TRIGGER IF NOT EXISTS slots_tally_ins AFTER INSERT ON slots BEGIN
    UPDATE tally SET n = n + 1, ck = (ck + NEW.ck) % {_TALLY_M} WHERE name = 'slots'; END;
CREATE TRIGGER IF NOT EXISTS slots_tally_del AFTER DELETE ON slots BEGIN
    UPDATE tally SET n = n - 1, ck = (ck - OLD.ck + {_TALLY_M}) % {_TALLY_M} WHERE name = 'slots'; END;
CREATE TRIGGER IF NOT EXISTS slots_tally_upd AFTER UPDATE OF ck ON slots BEGIN
    UPDATE tally SET ck = (ck - OLD.ck + NEW.ck + {_TALLY_M}) % {_TALLY_M} WHERE name = 'slots'; END;
CREATE TRIGGER IF NOT EXISTS sessions_tally_ins AFTER INSERT ON sessions BEGIN
    UPDATE tally SET n = n + 1 WHERE name = 'sessions'; END;
CREATE TRIGGER IF NOT EXISTS sessions_tally_del AFTER DELETE ON sessions BEGIN
    UPDATE tally SET n = n - 1 WHERE name = 'sessions'; END;
"""
"""The ``tally`` of the calls table (rows, and the sum of their ``ck`` modulo ``_TALLY_M``) and of
the sessions table (rows), kept by SQLite itself on every write. SQLite does not checksum its
pages: a flipped byte in a page header or an interior page can make a scan skip rows, or
read some twice, without an error; a scan that does not add up to the tally has met damage."""
TRIGGER_NAMES = ("slots_tally_ins", "slots_tally_del", "slots_tally_upd", "sessions_tally_ins", "sessions_tally_del")
DATA_TABLES = ("files", "paths", "slots", "keys", "msgs", "events", "metas", "sessions", "prices")
"""Everything a rebuild replaces (``meta`` is rewritten, ``forgotten`` survives)."""
ALL_TABLES = ("meta", *DATA_TABLES, "forgotten")


class IndexUnavailable(Exception):
    """The index cannot be used at all (unwritable data dir, I/O error): fall back to reading everything."""


class _Corrupt(Exception):
    """The database file (or a record in it) does not decode."""


def _connect(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with a busy timeout."""
    return sqlite3.connect(str(path), timeout=timeout, isolation_level=None)


def connect(path: Path, timeout: float) -> sqlite3.Connection:
    """Open (creating its folder) the database at ``path``; :class:`IndexUnavailable` if that fails.

    The index holds prompt excerpts, titles and paths: its folder is created ``0700`` and
    the database ``0600`` before SQLite opens it (SQLite gives its ``-wal`` and ``-shm``
    files the database's mode); a database an older tokdash left readable to others is
    made private too.
    """
    from tokdash.paths import ensure_private_dir, make_private

    try:
        ensure_private_dir(path.parent)
        make_private(path, create=True)
        for suffix in ("-wal", "-shm"):
            make_private(Path(str(path) + suffix))
        return _connect(path, timeout)
    except (OSError, sqlite3.OperationalError) as exc:
        raise IndexUnavailable(f"cannot open the index {path}: {reason(exc)}") from None


def prepare(conn: sqlite3.Connection) -> codec.Reader:
    """Put a fresh connection in WAL mode, create the schema of a new file; return its row reader.

    A file that is not a database (or is damaged) raises :class:`_Corrupt`; any other
    ``sqlite3.DatabaseError`` propagates. Either way an open transaction is rolled back.
    """
    try:
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone():
            conn.execute("BEGIN IMMEDIATE")
            create_schema(conn)
            conn.execute("INSERT OR IGNORE INTO meta (k, v) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            conn.execute("COMMIT")
        row = conn.execute("SELECT v FROM meta WHERE k = 'schema'").fetchone()
        if row is None or row[0] != str(SCHEMA_VERSION):
            return codec.Reader()  # another schema: not read as this one (see ``migrate``)
        return read_layouts(conn)
    except sqlite3.DatabaseError as exc:
        abort(conn)
        if is_corrupt(exc):
            raise _Corrupt(reason(exc)) from None
        raise


def create_schema(conn: sqlite3.Connection) -> None:
    """Create every table, index and tally trigger that does not exist yet."""
    for stmt in _SCHEMA.split(";"):
        if stmt.strip():
            conn.execute(stmt)
    create_indexes(conn)
    create_triggers(conn)


def create_indexes(conn: sqlite3.Connection) -> None:
    """The secondary indexes (``INDEXES``) that do not exist yet."""
    for name, on in INDEXES.items():
        conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")


def create_triggers(conn: sqlite3.Connection) -> None:
    """The triggers that keep ``tally`` (see ``TRIGGERS``)."""
    for stmt in TRIGGERS.split("END;"):
        if stmt.strip():
            conn.execute(stmt + "END;")


def clear_data(conn: sqlite3.Connection) -> None:
    """Empty every data table for a build that writes them all again (a rebuild), inside the
    caller's transaction: the tally triggers and secondary indexes go first (a build is
    counted and indexed once, by :func:`end_bulk`, not row by row)."""
    for name in TRIGGER_NAMES:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    for name in INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    for table in DATA_TABLES:
        conn.execute(f"DELETE FROM {table}")


def end_bulk(conn: sqlite3.Connection) -> None:
    """After a build filled the tables :func:`clear_data` emptied: the tallies from what was
    written, then the indexes and the triggers again."""
    conn.execute(f"UPDATE tally SET n = (SELECT COUNT(*) FROM slots), "
                 f"ck = (SELECT IFNULL(SUM(ck), 0) % {_TALLY_M} FROM slots) WHERE name = 'slots'")
    conn.execute("UPDATE tally SET n = (SELECT COUNT(*) FROM sessions), ck = 0 WHERE name = 'sessions'")
    create_indexes(conn)
    create_triggers(conn)


def tally(conn: sqlite3.Connection, name: str) -> tuple[int, int]:
    """(rows, sum of ``ck`` modulo the tally's modulus) the table ``name`` must add up to."""
    row = conn.execute("SELECT n, ck FROM tally WHERE name = ?", (name,)).fetchone()
    if row is None or type(row[0]) is not int or type(row[1]) is not int:
        raise _Corrupt("the index's tally is damaged")
    return row[0], row[1]


TALLY_MODULUS = _TALLY_M


def read_layouts(conn: sqlite3.Connection) -> codec.Reader:
    """A reader for the rows of this database, in the field layouts its last build stored.

    The layouts name the fields of every stored row: a flipped byte in them would decode
    every summary with a field missing, so they are stored with their CRC (``layouts_ck``)
    and one that fails it is damage."""
    rows = dict(conn.execute("SELECT k, v FROM meta WHERE k IN ('layouts', 'layouts_ck')").fetchall())
    text = rows.get("layouts")
    if not text:
        return codec.Reader(None)
    if rows.get("layouts_ck") != layouts_ck(text):
        raise _Corrupt("the index's field layouts fail their checksum")
    try:
        layouts = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _Corrupt("the index's field layouts do not decode") from None
    return codec.Reader(layouts if isinstance(layouts, dict) else None)


def layouts_meta() -> dict[str, str]:
    """The ``meta`` entries that store this build's field layouts (with their checksum)."""
    text = orjson.dumps(codec.current_layouts()).decode()
    return {"layouts": text, "layouts_ck": layouts_ck(text)}


def layouts_ck(text: str) -> str:
    """The checksum stored beside the layouts."""
    return str(zlib.crc32(text.encode()))


def read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    """The ``meta`` table: schema, code and price fingerprints, roots, build time, layouts."""
    return dict(conn.execute("SELECT k, v FROM meta").fetchall())


def set_meta(conn: sqlite3.Connection, values: dict[str, str]) -> None:
    """Write entries of the ``meta`` table."""
    conn.executemany("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", list(values.items()))


def abort(conn: sqlite3.Connection | None) -> None:
    """Roll back the open transaction, if any (and if the connection still can)."""
    if conn is not None and conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def rename_aside(path: Path, tag: str) -> Path:
    """Rename the database at ``path`` (and its WAL files) to ``<name>.<tag>-<timestamp>`` (``-2``,
    ``-3``... when taken); the new path. The caller closes its connections first."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.{tag}-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.{tag}-{stamp}-{n}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(path) + suffix)
        if src.exists():
            os.replace(src, Path(str(target) + suffix))
    return target


def move_aside(path: Path, why: str, warn: Callable[[str], None]) -> Path:
    """Rename a damaged database (and its WAL files) to ``*.corrupt-<timestamp>``; say so.

    The caller closes its connection first.
    """
    target = rename_aside(path, "corrupt")
    warn(f"tokdash: the index {path} was damaged ({why}); moved it to {target.name} and rebuilt it")
    return target


def damage(conn: sqlite3.Connection) -> str | None:
    """``PRAGMA quick_check``'s first complaint, or None when the file is sound (or the check
    itself cannot run): asked when a read fails in a way that does not say what it is."""
    try:
        row = conn.execute("PRAGMA quick_check(1)").fetchone()
    except sqlite3.DatabaseError as exc:
        return reason(exc) if is_corrupt(exc) else None
    if row is None or row[0] == "ok":
        return None
    return " ".join(str(row[0]).split())


def is_corrupt(exc: BaseException) -> bool:
    """Whether an error means the file does not decode (as opposed to busy, full, or I/O).

    Text that is not UTF-8 counts: tokdash only ever writes valid text (paths that are not
    are escaped), so such a column was damaged after it was written."""
    if isinstance(exc, sqlite3.OperationalError) and "decode to UTF-8" in str(exc):
        return True
    if not isinstance(exc, sqlite3.DatabaseError) or isinstance(exc, sqlite3.OperationalError):
        return False
    name = getattr(exc, "sqlite_errorname", None)
    if name is not None:
        return name in _CORRUPT_ERRORS
    text = str(exc)
    return "not a database" in text or "malformed" in text


def reason(exc: BaseException) -> str:
    """An error as one line of text."""
    return " ".join(str(exc).split()) or type(exc).__name__
