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
report still prints the totals it computed. Damage is looked for on every path that
reads: blobs and rows carry checksums (see ``tables``), a read that fails for a
reason SQLite does not name is followed by ``PRAGMA quick_check``; a damaged database
is moved aside to ``*.corrupt-<timestamp>`` and rebuilt, saying so in one line. A
parser change rebuilds in place, carrying over the records of transcripts that are
gone; an index of an older schema is kept (moved aside to ``*.schema-<n>-<timestamp>``)
and its history carried into a new file; an index of a newer schema (a newer
tokdash) is never touched: this run reads without it. The database is private to
its owner (``0600`` in a ``0700`` folder).


The package, along its seams: ``identity`` (versions, fingerprints, the file's
path), ``db`` (connecting, the schema, damage), ``codec`` (the stored bytes),
``store`` (:class:`IndexStore`), ``prices`` (the run's price cache), ``tables``
(the rows a sync reads and writes), ``sync`` (plan, update or rebuild, write
back) and ``queries`` (history facts, one session, a snapshot, the status).
:class:`Index` here owns the connection and what a fault means, and delegates.

One ``Index`` (one connection) per thread; SQLite serializes writers.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from tokdash.ingest.discovery import Roots
from tokdash.ingest.index import codec, db, migrate, queries
from tokdash.ingest.index import sync as _sync
from tokdash.ingest.index.db import IndexUnavailable, _Corrupt
from tokdash.ingest.index.live import Live
from tokdash.ingest.index.identity import (
    PARSER_VERSION,
    SCHEMA_VERSION,
    code_fingerprint,
    index_path,
    price_fingerprint,
    roots_signature,
)
from tokdash.ingest.index.queries import SessionsSnapshot
from tokdash.ingest.index.store import IndexStore
from tokdash.ingest.index.sync import IndexUsageError, SyncResult, SyncRun
from tokdash.model.history import Fact
from tokdash.model.store import Session, SessionKey

__all__ = [
    "PARSER_VERSION",
    "SCHEMA_VERSION",
    "Index",
    "IndexStore",
    "IndexUnavailable",
    "IndexUsageError",
    "RefusedPath",
    "SessionsSnapshot",
    "SyncResult",
    "code_fingerprint",
    "index_path",
    "price_fingerprint",
    "roots_signature",
]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


class _Damaged(Exception):
    """A read found the index damaged; the file was moved aside."""


class RefusedPath(IndexUsageError):
    """A ``--forget`` path that cannot be meant: empty, a file system root, or a folder holding a
    whole root of the index (a usage error: nothing was changed)."""


def check_forget(paths: Iterable[str], roots: Roots | None = None) -> list[str]:
    """``--forget`` paths made absolute, refusing what cannot be meant: an empty path (an unset
    shell variable would otherwise name the current folder), a file system root, and a folder
    that holds a whole root of ``roots`` (that is forgetting everything: remove the index
    file instead). Raises :class:`RefusedPath`."""
    whole = [os.path.abspath(r) for rs in (roots.by_agent.values() if roots is not None else ()) for r in rs]
    out = []
    for p in paths:
        text = str(p)
        if not text.strip():
            raise RefusedPath("refusing to forget an empty path (an unset variable?)")
        full = os.path.abspath(os.path.expanduser(text))
        if os.path.dirname(full) == full:
            raise RefusedPath(f"refusing to forget {full}: that is every file there is")
        for r in whole:
            if r == full or r.startswith(full.rstrip(os.sep) + os.sep):
                raise RefusedPath(f"refusing to forget {full}: it holds all of {r}, a folder tokdash reads "
                                  "(to start over, remove the index file)")
        out.append(full)
    return out


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
        live: bool = False,
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
        self.reader = codec.Reader()
        """Decodes stored rows in the layouts they were written with."""
        self._told: set[str] = set()
        """The unreadable paths last told about."""
        self.live: Live | None = Live() if live else None
        """What this index keeps between syncs when it lives long (a dashboard's): see ``live``."""

    @classmethod
    def for_roots(cls, roots: Roots, data: Path | None = None, **kwargs) -> Index:
        """The index of these roots in the data dir (or in ``data``)."""
        return cls(index_path(roots, data), roots=roots, **kwargs)

    # connection ----------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (a later call opens it again)."""
        if self.live is not None:
            self.live.drop()  # it holds this connection
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
        conn = db.connect(self.path, self.busy_timeout)
        try:
            self.reader = db.prepare(conn)
            conn = migrate.current(conn, self.path, self.busy_timeout, self.warn)
            self.reader = db.prepare(conn)
        except BaseException:
            conn.close()
            raise
        self.conn = conn
        return self.conn

    def _abort(self) -> None:
        db.abort(self.conn)

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
        listed: bool = False,
        others: bool = True,
    ) -> SyncResult:
        """Bring the index up to date with the transcript files ``found``; return the sessions.

        ``found`` is normally every file ``discover`` lists; a live view may pass only
        the files a watcher saw change (other known files are then left as they are).
        With ``full`` every session's summary is returned, else only those of the
        sessions this run changed (``archived`` always covers every session).
        ``rebuild`` re-reads every file from zero (carrying over the records of files
        that are gone); ``forget`` drops files, or every file under a folder, from the
        index for good. ``progress(files done, files to read)`` is called now and then
        while files are read (a UI shows it during a first build). ``listed``: ``found`` is
        what ``discover`` lists for this index's roots, all of it (a rebuild then does not
        list the files again). ``others`` off: only ``found`` is looked at (a live sync of
        what a watcher reported), not whether other known files went away -- unless ``found``
        holds a file new to the index (it may be one of them renamed). Raises
        :class:`IndexUnavailable` when the index cannot be used at all (the caller then
        reads the transcripts without it).
        """
        forget = check_forget(forget, self.roots)
        for attempt in range(2):
            try:
                return self._sync_once(found, finalize=finalize, rebuild=rebuild, forget=forget, full=full,
                                       progress=progress, listed=listed, others=others)
            except (_Corrupt, codec.CodecError) as exc:
                self._abort()
                if attempt:
                    raise IndexUnavailable(f"the index {self.path} is unusable: {exc}") from None
                self._move_aside(str(exc))
            except sqlite3.DatabaseError as exc:
                self._abort()
                why = db.reason(exc) if db.is_corrupt(exc) else (db.damage(self.conn) if self.conn else None)
                if why is not None and not attempt:
                    self._move_aside(why)
                    continue
                raise IndexUnavailable(f"cannot use the index {self.path}: {db.reason(exc)}") from None
        raise AssertionError("unreachable")

    def _sync_once(self, found, *, finalize: bool, rebuild: bool, forget: list[str], full: bool,
                   progress: Callable[[int, int], None] | None, listed: bool = False,
                   others: bool = True) -> SyncResult:
        conn = self._open()
        run = SyncRun(conn, self.reader, price_fingerprint(self.config_path), self.config_path, self.roots,
                      self.roots_sig, self.warn, full=full, progress=progress, listed=listed, others=others,
                      live=self.live)
        with migrate.attached(conn) as old:
            run.carry_from = old
            try:
                result = _sync.sync(run, found, finalize=finalize, rebuild=rebuild, forget=forget)
            finally:
                self.reader = run.reader  # a commit stores this build's layouts
        self._tell_unreadable(result.unreadable)
        return result

    def _tell_unreadable(self, unreadable: dict[str, str]) -> None:
        """One line when files or folders under the roots cannot be read (again only when that changes)."""
        if set(unreadable) == self._told:
            return
        self._told = set(unreadable)
        if unreadable:
            from tokdash.format import clean

            first, why = sorted(unreadable.items())[0]
            more = f" and {len(unreadable) - 1} more" if len(unreadable) > 1 else ""
            self.warn(f"tokdash: not read: {clean(first)} ({clean(why)}){more}; "
                      "sessions there keep their history")

    def forget_preview(self, paths: Iterable[str]) -> tuple[list[str], set[SessionKey]]:
        """(the files, the sessions) ``sync(forget=paths)`` would drop, read without changing anything."""
        conn = self._open()
        return queries.forget_preview(conn, check_forget(paths, self.roots))

    def unforget(self, paths: Iterable[str]) -> list[str]:
        """Stop ignoring forgotten files (exactly these, or every one under these folders): the
        next sync reads them again if they still exist. Returns the paths no longer forgotten."""
        conn = self._open()
        wanted = [os.path.abspath(os.path.expanduser(str(p))) for p in paths]
        if self.live is not None:
            self.live.failed()  # this connection's own commit: no other connection's count moves
        return queries.unforget(conn, wanted)

    def facts(self, result: SyncResult, since: float | None = None, until: float | None = None) -> list[Fact]:
        """Usage per session, model and quarter hour in [since, until), for the history reports.

        Grouped in SQL from the calls table, so calls are never loaded one by one; the
        sessions of a run that could not save come from that run's memory instead. Every
        call counted is checked against its row checksum in the same pass: a damaged
        index is moved aside and rebuilt from the transcripts (one line), then asked again.
        """
        try:
            return self._reading(lambda: queries.facts(self._open, result, since, until))
        except _Damaged:
            if self.roots is None:
                raise IndexUnavailable(f"the index {self.path} is damaged") from None
            from tokdash.ingest.discovery import discover

            fresh = self.sync(discover(self.roots), listed=True)
            return queries.facts(self._open, fresh, since, until)

    def load_session(self, agent: str, session_id: str) -> Session | None:
        """One session with all its records (calls, events, file facts), e.g. for a detail view.

        Works for archived sessions too: their records live only here. A damaged index is
        moved aside and :class:`IndexUnavailable` raised (the caller reads without it).
        """
        try:
            return self._reading(lambda: queries.load_session(self._open(), self.reader, agent, session_id))
        except _Damaged as exc:
            raise IndexUnavailable(f"the index {self.path} is damaged ({exc})") from None

    def _reading(self, read: Callable[[], object]):
        """Run a read-only query; damage (a checksum, SQLite's own word, or ``quick_check``
        after an unexplained failure) moves the file aside and raises :class:`_Damaged`."""
        try:
            return read()
        except (_Corrupt, codec.CodecError) as exc:
            self._abort()
            self._move_aside(str(exc))
            raise _Damaged(str(exc)) from None
        except sqlite3.DatabaseError as exc:
            self._abort()
            why = db.reason(exc) if db.is_corrupt(exc) else (db.damage(self.conn) if self.conn else None)
            if why is None:
                raise IndexUnavailable(f"cannot use the index {self.path}: {db.reason(exc)}") from None
            self._move_aside(why)
            raise _Damaged(why) from None

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
            return queries.sessions_snapshot(conn, self.reader, known)
        except (_Corrupt, codec.CodecError):
            return None
        except sqlite3.DatabaseError as exc:
            if db.is_corrupt(exc):
                return None  # the next sync moves it aside and rebuilds
            raise IndexUnavailable(f"cannot use the index {self.path}: {db.reason(exc)}") from None

    def status(self) -> dict:
        """What ``tokdash index`` prints."""
        return queries.status(self._open(), self.path, self.roots_sig)
