"""One session's state for the status line, and the check that answers without reading anything.

Claude Code runs its status-line command after every assistant message and cancels
it after 300 ms, so the status line cannot re-read a 50 MB transcript each time. Per
session (its main transcript) tokdash keeps a small SQLite file in its data dir
(``<data dir>/statusline/<hash>.db``, ``0600``; a cache: deleting it costs one full read):

- ``meta``: the **header** -- the session's identity, its running totals
  (:class:`~tokdash.model.tally.Tally` state), the figures a line shows, the ``stat`` of
  each of its files and folders, the signatures of the counting code and of the prices,
  the config tables the line reads -- and the prices each model resolved to;
- ``files``: per file the offset read up to and the parser's context;
- ``copies``, ``keys``, ``msgs``: per API call its best copy (a compact tuple), the other
  keys and the message ids it is known under: what dedup needs, looked up by key, so a
  render touches only the calls its new lines meet, however long the session.

This module is the light half: the file, the signatures and :func:`unchanged`, which
tells from the header and a few ``stat`` calls that nothing moved since the last render,
so the line can be printed without importing a parser (``sqlite3`` is part of the
interpreter floor the status line is measured against). Reading on is
:mod:`tokdash.ingest.session_update`.
"""

from __future__ import annotations

import marshal
import os
import sqlite3
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

from tokdash.paths import data_dir

try:  # hashlib loads OpenSSL (~3 ms); the blake2 it would hand over is built in anyway
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b

STATE_VERSION = 2
"""Layout of the state file; a change reads every session again once."""
FOLDER = "statusline"
MARSHAL_VERSION = 4
BUSY_SECONDS = 2.0
"""How long a status line waits for another one writing the same session's state."""

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, row BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS copies (k BLOB PRIMARY KEY, c BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS keys (k BLOB PRIMARY KEY, pk BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS msgs (m BLOB PRIMARY KEY, k BLOB NOT NULL) WITHOUT ROWID",
)
TABLES = ("meta", "files", "copies", "keys", "msgs")

ROOT = Path(__file__).resolve().parents[1]
_CODE_FILES = ("model/records.py", "model/store.py", "model/tally.py", "model/context.py", "model/pricing.py",
               "ingest/reader.py", "ingest/session_state.py", "ingest/session_update.py", "ingest/session_prices.py")
"""Modules (besides ``sources/``) whose code decides what a state holds."""


def state_path(transcript: Path, data: Path | None = None) -> Path:
    """The state file of the session whose main transcript is ``transcript``."""
    digest = blake2b(os.path.abspath(transcript).encode("utf-8", "surrogateescape"), digest_size=12)
    return (data if data is not None else data_dir()) / FOLDER / f"{digest.hexdigest()}.db"


def code_signature() -> tuple:
    """(name, size, mtime) of every module whose code decides what is counted: a change of
    any of them (an upgrade, an edit) makes every state stale. ``stat`` calls, no reading."""
    names = list(_CODE_FILES)
    for dirpath, dirs, files in os.walk(ROOT / "sources"):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        names += sorted(os.path.relpath(os.path.join(dirpath, f), ROOT) for f in files if f.endswith(".py"))
    sig = []
    for rel in names:
        try:
            st = os.stat(ROOT / rel)
            sig.append((rel, st.st_size, st.st_mtime_ns))
        except OSError:
            sig.append((rel, -1, -1))
    return (STATE_VERSION, tuple(sig))


def price_signature(config_path: Path | None, table: str | None) -> tuple:
    """What a stored price depends on: the day (prices are dated), the config file, the
    pricing code and the installed price table ``table`` (its data module), by ``stat``."""
    sig: list = [datetime.now(UTC).date().isoformat()]
    for p in (config_path, ROOT / "model" / "pricing.py", ROOT / "model" / "config.py", table):
        try:
            st = os.stat(p) if p is not None else None
            sig.append((str(p), st.st_size, st.st_mtime_ns) if st else None)
        except OSError:
            sig.append((str(p), -1, -1))
    return tuple(sig)


# --- the file ------------------------------------------------------------------------------


def connect(path: Path, *, write: bool) -> sqlite3.Connection:
    """A connection to a state file (created, ``0600``, with ``write``); raises ``sqlite3.Error``
    or ``OSError``. Autocommit: every transaction is an explicit ``BEGIN``."""
    if write:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        conn = sqlite3.connect(str(path), timeout=BUSY_SECONDS, isolation_level=None)
        # A cache: a crash loses at most the last render (the next one reads those bytes again).
        conn.execute("PRAGMA synchronous = OFF")
        for stmt in SCHEMA:
            conn.execute(stmt)
        return conn
    uri = "file:" + urllib.parse.quote(str(path)) + "?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=0.2, isolation_level=None)


def read_meta(conn: sqlite3.Connection, key: str) -> object:
    """One value of the ``meta`` table (marshal), or None."""
    row = conn.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
    return marshal.loads(row[0]) if row is not None else None


def read_header(path: Path) -> dict | None:
    """The header of a state file, or None when it is missing, damaged or of another layout."""
    if not path.exists():
        return None
    try:
        conn = connect(path, write=False)
        try:
            header = read_meta(conn, "header")
        finally:
            conn.close()
    except (sqlite3.Error, OSError, ValueError, EOFError, TypeError):
        return None
    return header if isinstance(header, dict) and header.get("v") == STATE_VERSION else None


def stat_files(paths) -> dict[str, tuple]:
    """path -> (st_dev, st_ino, st_size, st_mtime) of the files that exist."""
    out = {}
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            continue
        out[str(p)] = (st.st_dev, st.st_ino, st.st_size, st.st_mtime)
    return out


def stat_dirs(paths) -> dict[str, int]:
    """folder -> st_mtime_ns (a file added to or removed from a folder changes it); -1 if missing."""
    out = {}
    for p in paths:
        try:
            out[str(p)] = os.stat(p).st_mtime_ns
        except OSError:
            out[str(p)] = -1
    return out


def config_unchanged(header: dict) -> bool:
    """Is the config file named in ``header`` as it was when the header was written (its
    ``stat`` is in the price signature)? Then the config tables the header keeps still hold."""
    sig = header.get("price_sig")
    config = header.get("config_path")
    if not isinstance(sig, tuple) or len(sig) < 2 or not config or header.get("config") is None:
        return False
    return price_signature(Path(config), None)[1] == sig[1]


def unchanged(transcript: Path, data: Path | None = None) -> dict | None:
    """The state's header when nothing it depends on moved since it was written -- no file of
    the session grew or changed, no sub-agent file appeared (their folders' mtimes), same
    code, same prices -- else None (the caller reads the new bytes: ``session_update``)."""
    header = read_header(state_path(transcript, data))
    if header is None or header.get("transcript") != str(transcript):
        return None
    files = header.get("files")
    dirs = header.get("dirs")
    if not isinstance(files, dict) or not isinstance(dirs, dict):
        return None
    if stat_files(files) != files or stat_dirs(dirs) != dirs:
        return None
    config = header.get("config_path")
    if header.get("price_sig") != price_signature(Path(config) if config else None, header.get("price_table")):
        return None
    if header.get("code") != code_signature():
        return None
    return header
