"""What one sync works with and decides before reading: its settings, its result, its plan.

:class:`SyncRun` is what a call of ``Index.sync`` works with; :class:`SyncResult` is what
it answers; :func:`plan` decides, from one ``stat`` per file and nothing read, which files
to read, which vanished, which cannot be read and which were renamed (see the rule in
``tokdash.model.store``). Shared by ``sync`` (an incremental run) and ``rebuild``.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tokdash.ingest.discovery import Roots
from tokdash.ingest.index import codec
from tokdash.ingest.index.live import Live
from tokdash.ingest.index.prices import _Prices
from tokdash.ingest.index.store import IndexStore
from tokdash.ingest.index.tables import FileRow
from tokdash.ingest.reader import describe, reread, same_file
from tokdash.model.session import SessionSummary, summarize
from tokdash.model.store import SessionKey
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
    """Sessions this run re-summarized (or removed)."""
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
    unreadable: dict[str, str] = field(default_factory=dict)
    """Files and folders under the roots that exist but could not be read, path -> why
    (their sessions keep their history, nothing is marked gone); see ``Roots.skipped``."""
    removed: set[SessionKey] = field(default_factory=set)
    """Sessions that no longer exist: every record of theirs was withdrawn (the file
    that held them now holds none of it)."""
    others_wrote: bool = True
    """Another connection may have written the index since this index's previous sync (a
    long-lived index knows when none did: what changed is then exactly ``changed``)."""


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
    carry_from: str | None = None
    """The schema of an attached older index to carry history over from (a migration)."""
    listed: bool = False
    """``found`` is every file of the roots (as ``discover`` lists them): a rebuild need not list again."""
    others: bool = True
    """Look at the known files ``found`` leaves out too (gone? unreadable?); see :func:`plan`."""
    live: Live | None = None
    """What a long-lived index keeps between syncs (see ``live``); None for a one-shot run."""


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


GONE = "gone"


def presence(path: str) -> str | None:
    """None when ``path`` is a file that can be read, ``GONE`` when it does not exist, else
    why it cannot be read. (``os.path.exists`` is False on "permission denied" too: a file
    in a folder tokdash may not enter is not a deleted file.)"""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return GONE
    except OSError as exc:
        return describe(exc)
    return None if stat.S_ISREG(st.st_mode) else "not a regular file"


@dataclass(slots=True)
class Plan:
    """What a run must do, from one ``stat`` per file and nothing read."""

    to_read: list[tuple[str, Path]]
    vanished: list[str]
    """Known files that are gone (not found, and not there)."""
    unreadable: dict[str, str]
    renamed: dict[str, str]
    """new path -> old path: known files found under a new name."""


def plan(found: list[tuple[str, Path]], rows: dict[str, FileRow], forgotten: set[str],
         reader: codec.Reader | None = None, others: bool = True) -> Plan:
    """Which files to read, which vanished, which cannot be read, which were renamed.

    With ``others`` off (a live sync of the files a watcher saw change) the known files
    ``found`` leaves out are not looked at -- unless ``found`` names a file the index does
    not know, which may be one of them renamed."""
    to_read = []
    seen = set()
    unreadable: dict[str, str] = {}
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
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            unreadable[p] = describe(exc)
            continue
        if st.st_size != row.size or st.st_mtime != row.mtime or (st.st_dev, st.st_ino) != (row.dev, row.ino):
            to_read.append((agent, path))
    vanished = []
    if not others and all(p in rows for p in seen):
        return Plan(to_read, vanished, unreadable, {})
    for p, row in rows.items():
        if row.gone or p in seen:
            continue
        why = presence(p)
        if why == GONE:
            vanished.append(p)
        elif why is not None:
            unreadable[p] = why
    renamed = renames(to_read, vanished, rows, reader) if vanished and reader is not None else {}
    return Plan(to_read, vanished, unreadable, renamed)


def renames(to_read, vanished: list[str], rows: dict[str, FileRow], reader: codec.Reader) -> dict[str, str]:
    by_ident = {(rows[p].dev, rows[p].ino): p for p in vanished if rows[p].dev is not None}
    out: dict[str, str] = {}
    for _agent, path in to_read:
        p = str(path)
        if p in rows:
            continue
        try:
            st = os.stat(p)
        except OSError:
            continue
        old = by_ident.get((st.st_dev, st.st_ino))
        if old is None or old in out.values():
            continue
        try:
            state = rows[old].to_state(reader)
        except (codec.CodecError, KeyError):
            continue
        if same_file(state, p):
            out[p] = old
    return out


def unreadable_of(run: SyncRun, found_now: dict[str, str]) -> dict[str, str]:
    skipped = dict(run.roots.skipped) if run.roots is not None else {}
    skipped.update(found_now)
    return skipped


def reoffer(store: IndexStore, agent_of: Callable[[str], str | None], finalize: bool) -> set[SessionKey]:
    """Offer again the records of the files the store asks for (see ``Store.reoffer``)."""
    changed: set[SessionKey] = set()
    while store.reoffer:
        path = store.reoffer.pop()
        agent = agent_of(path)
        batch = reread(SOURCES[agent], path, finalize=finalize) if agent in SOURCES else None
        if batch is not None:
            changed |= store.add_batch(batch, agent)  # type: ignore[arg-type]
    return changed


def settle(store: IndexStore, changed: set[SessionKey], run_prices) -> tuple[dict, set[SessionKey]]:
    """(fresh summaries of the changed sessions that still exist, the sessions that no longer do)."""
    fresh: dict[SessionKey, SessionSummary] = {}
    removed: set[SessionKey] = set()
    for key in changed:
        s = store.sessions.get(key)
        if s is None or s.empty:
            removed.add(key)
            store.sessions.pop(key, None)
        else:
            fresh[key] = summarize(s, run_prices)
    return fresh, removed
