"""The dashboard's side of the persistent index. No Textual here: plain data, one thread.

Every method of :class:`IndexFeed` runs on the app's *index thread* (one thread, so
one ``Index`` and one SQLite connection, as the index requires). It answers with
:class:`IndexUpdate` values, which the app posts to the UI thread; the UI thread,
the single writer of what screens read, applies them. Objects in an update
(summaries, ``Session`` records) are handed over: the feed never touches them again.

How the dashboard uses it:

1. :meth:`IndexFeed.first_look`: every session's stored summary, without reading a
   transcript, so the table is complete at once (the sessions as the last run of any
   tokdash left them; archived ones included).
2. :meth:`IndexFeed.sync`: reads the bytes added since (all files at start, then the
   files the watcher reports) and answers with what changed. Which sessions changed
   is learnt from the index itself, by comparing stored summaries with the previous
   look, so a change saved first by another tokdash (a report, the status line) is
   seen too: that process consumed the new bytes, this one finds none to read.
3. :meth:`IndexFeed.load`: the records (calls, events) of sessions the UI needs in
   full: the recent ones (burn rates, the header's last hour and today) and any the
   user drills into. Records of a loaded session are sent again whenever it changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tokdash.ingest.discovery import Roots, discover
from tokdash.ingest.index import Index, SyncResult
from tokdash.model.history import Fact
from tokdash.model.session import SessionSummary
from tokdash.model.store import Session, SessionKey


@dataclass
class IndexUpdate:
    """What the index thread learnt, for the UI thread to apply."""

    summaries: dict[SessionKey, SessionSummary] = field(default_factory=dict)
    """New or changed sessions (every session when ``complete``)."""
    removed: set[SessionKey] = field(default_factory=set)
    """Sessions no longer in the index (forgotten by ``tokdash index --forget``)."""
    archived: frozenset[SessionKey] | None = None
    """Every archived session (all its files gone); None: not looked at."""
    sessions: dict[SessionKey, Session] = field(default_factory=dict)
    """Complete records of sessions the UI holds or asked for."""
    complete: bool = False
    """``summaries`` lists every session in the index (the first look)."""
    stale: bool = False
    """The summaries were stored by another version of the parser; a rebuild follows."""
    files_read: int = 0
    bytes_read: int = 0

    def then(self, later: IndexUpdate) -> IndexUpdate:
        """This update followed by ``later``, as one (for coalescing messages)."""
        summaries = {**self.summaries, **later.summaries}
        removed = (self.removed - later.summaries.keys()) | later.removed
        for key in later.removed:
            summaries.pop(key, None)
        sessions = {k: v for k, v in {**self.sessions, **later.sessions}.items() if k not in later.removed}
        return IndexUpdate(
            summaries, removed, later.archived if later.archived is not None else self.archived, sessions,
            self.complete or later.complete, later.stale if later.summaries else self.stale,
            self.files_read + later.files_read, self.bytes_read + later.bytes_read,
        )


class IndexFeed:
    """One index, used from one thread: the first look, syncs, records on demand, history facts.

    Args:
        roots: Every agent's roots (one index covers them all, as for reports).
        data_dir: Where the index lives (default: the platform data dir).
        config_path: The config file whose price overrides the index applies.
        warn: Where the index's one-line notices go (the app turns them into notifications).
    """

    def __init__(self, roots: Roots, *, data_dir: Path | None = None, config_path: Path | None = None,
                 warn: Callable[[str], None] | None = None) -> None:
        self.roots = roots
        self.index = Index.for_roots(roots, data_dir, config_path=config_path, warn=warn)
        """The index (its connection belongs to the thread that first uses it)."""
        self.result: SyncResult | None = None
        """The last sync's result (history facts of a run that could not save come from it)."""
        self.loaded: set[SessionKey] = set()
        """Sessions whose records the UI holds: their records are re-sent when they change."""
        self._prints: dict[SessionKey, int] = {}
        self._last_activity: dict[SessionKey, float] = {}

    def close(self) -> None:
        """Close the connection (its last close folds the WAL into the database)."""
        self.index.close()

    # --- sessions --------------------------------------------------------------------------

    def first_look(self) -> IndexUpdate | None:
        """Every session as stored, archived ones included; None when the index is new or unusable."""
        snap = self.index.sessions_snapshot()
        if snap is None:
            return None
        self._prints = snap.fingerprints
        self._note(snap.summaries)
        return IndexUpdate(snap.summaries, archived=frozenset(snap.archived), complete=True, stale=snap.stale)

    def sync(self, files: list[tuple[str, Path]] | None = None, *, hot_since: float | None = None,
             progress: Callable[[int, int], None] | None = None) -> IndexUpdate:
        """Read new bytes (of every transcript, or of ``files``) into the index; answer with what changed.

        Records come along for changed sessions the UI holds, and for changed sessions
        active since ``hot_since``. Raises ``IndexUnavailable`` when the index cannot be used.
        """
        found = discover(self.roots) if files is None else files
        result = self.index.sync(found, finalize=True, full=False, progress=progress)
        self.result = result
        snap = self.index.sessions_snapshot(self._prints)
        if snap is not None:
            summaries = dict(snap.summaries)
            removed = set(self._prints) - set(snap.fingerprints)
            prints, archived = snap.fingerprints, snap.archived
        else:  # nothing stored (a first build that could not save): this run's memory is all there is
            summaries, removed, prints, archived = {}, set(), {}, result.archived
        if not result.saved:
            # What this run read lives only in its memory; the next look decodes them again.
            for s in result.summaries:
                key = (s.agent, s.session_id)
                if key in result.changed:
                    summaries[key] = s
                    prints.pop(key, None)
        self._prints = prints
        for key in removed:
            self._last_activity.pop(key, None)
            self.loaded.discard(key)
        self._note(summaries)
        want = [k for k, s in summaries.items()
                if k in self.loaded or (hot_since is not None and (s.last_activity or 0.0) >= hot_since)]
        held = result.store.sessions if result.store is not None else {}
        sessions: dict[SessionKey, Session] = {}
        for key in want:
            # This run's store holds every session it changed, complete: no need to read it back.
            s = held.get(key) if key in result.changed else None
            if s is None:
                s = self.index.load_session(*key)
            if s is not None:
                sessions[key] = s
        self.loaded |= sessions.keys()
        return IndexUpdate(summaries, removed, frozenset(archived), sessions,
                           files_read=result.files_read, bytes_read=result.bytes_read)

    def hot(self, since: float) -> list[SessionKey]:
        """Sessions active since ``since`` whose records the UI does not hold yet, newest first."""
        keys = [k for k, t in self._last_activity.items() if t >= since and k not in self.loaded]
        keys.sort(key=lambda k: -self._last_activity[k])
        return keys

    def load(self, keys: Iterable[SessionKey]) -> IndexUpdate:
        """The complete records of ``keys`` (a session the index does not hold is left out)."""
        sessions: dict[SessionKey, Session] = {}
        for key in keys:
            s = self.index.load_session(*key)
            if s is not None:
                sessions[key] = s
        self.loaded |= sessions.keys()
        return IndexUpdate(sessions=sessions)

    def _note(self, summaries: dict[SessionKey, SessionSummary]) -> None:
        for key, s in summaries.items():
            self._last_activity[key] = s.last_activity or 0.0

    # --- history ------------------------------------------------------------------------------

    def facts(self, since: float | None, until: float | None) -> list[Fact]:
        """Usage per session, model and quarter hour in ``[since, until)``, grouped in SQL."""
        return self.index.facts(self.result or SyncResult([]), since, until)
