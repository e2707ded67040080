"""An index written by another schema: keep it, and carry its history into a new file.

SQLite tables of an older tokdash are never dropped in place (they hold the only
copy of deleted transcripts' records and of the forgotten list): the old file is
moved aside to ``<name>.schema-<n>-<timestamp>`` -- kept, not deleted -- a new file is
started, and the next sync carries the old file's history over (``rebuild.carry``
reads it attached as ``old``; ``meta.carry_from`` names it until a build that carried
it is committed, so a run that could not save retries). An index of a *newer*
schema belongs to a newer tokdash: it is left exactly as it is and this run reads
without it (:class:`~tokdash.ingest.index.db.IndexUnavailable`, one line).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from tokdash.ingest.index import db
from tokdash.ingest.index.db import IndexUnavailable
from tokdash.ingest.index.identity import SCHEMA_VERSION

OLD = "old"
"""The schema name an older index is attached under."""


def stored_schema(conn: sqlite3.Connection) -> int | None:
    """The schema version an index says it has (None: not a number, i.e. not ours to read)."""
    row = conn.execute("SELECT v FROM meta WHERE k = 'schema'").fetchone()
    try:
        return int(row[0]) if row is not None else None
    except (TypeError, ValueError):
        return None


def current(conn: sqlite3.Connection, path: Path, timeout: float, warn: Callable[[str], None]) -> sqlite3.Connection:
    """A connection to an index of this schema at ``path``: ``conn`` itself when it is one;
    for an older one, a connection to a new file (the old one moved aside, its history to
    be carried over). Raises :class:`IndexUnavailable` for a newer one."""
    version = stored_schema(conn)
    if version == SCHEMA_VERSION:
        return conn
    if version is not None and version > SCHEMA_VERSION:
        conn.close()
        raise IndexUnavailable(f"the index {path} was written by a newer tokdash (schema {version}; this one "
                               f"reads {SCHEMA_VERSION}); it is left as it is")
    conn.close()
    aside = _move_aside(path, version)
    if aside is None:  # another tokdash migrated it meanwhile
        return db.connect(path, timeout)
    warn(f"tokdash: the index {path} is from an older tokdash (schema {version}); kept it as {aside.name} "
         "and carried its history into a new index")
    new = db.connect(path, timeout)
    db.prepare(new)
    new.execute("BEGIN IMMEDIATE")
    db.set_meta(new, {"carry_from": str(aside)})
    new.execute("COMMIT")
    return new


def _move_aside(path: Path, version: int | None) -> Path | None:
    """Rename the old index (and its WAL files) to ``*.schema-<n>-<timestamp>``; None when the
    file at ``path`` is of this schema by now (another process moved it first)."""
    check = sqlite3.connect(str(path), timeout=db.BUSY_TIMEOUT)
    try:
        still_old = stored_schema(check) == version
    except sqlite3.DatabaseError:
        still_old = True
    finally:
        check.close()
    if not still_old:
        return None
    return db.rename_aside(path, f"schema-{version}")


@contextlib.contextmanager
def attached(conn: sqlite3.Connection) -> Iterator[str | None]:
    """The schema name under which the index to carry history from is attached (None: none).

    Reads ``meta.carry_from``; a file named there that is gone is forgotten about.
    """
    row = conn.execute("SELECT v FROM meta WHERE k = 'carry_from'").fetchone()
    source = row[0] if row else None
    if not source:
        yield None
        return
    if not os.path.exists(source):
        conn.execute("DELETE FROM meta WHERE k = 'carry_from'")
        yield None
        return
    conn.execute("ATTACH DATABASE ? AS old", (source,))
    try:
        yield OLD
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("DETACH DATABASE old")
