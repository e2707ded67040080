"""The index feed: the persistent index, used from the feed's own thread.

How the dashboard uses it:

1. :meth:`IndexFeed.first_look`: every session's stored summary, without reading a
   transcript, so the table is complete at once (the sessions as the last run of any
   tokdash left them; archived ones included).
2. :meth:`IndexFeed.sync`: reads the bytes added since (all files at start, then the
   files the watcher reports) and answers with what changed. Which sessions changed
   is learnt from the index itself, by comparing stored summaries with the previous
   look, so a change saved first by another tokdash (a report, the status line) is
   seen too: that process consumed the new bytes, this one finds none to read.
3. :meth:`IndexFeed.load`: the call series of the recent sessions (burn rates, the
   header's last hour and today), re-sent whenever such a session changes; and
   :meth:`IndexFeed.detail` for a session drilled into (archived ones too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from tokdash.ingest.discovery import Roots, discover
from tokdash.ingest.feed_update import Emit, FeedUpdate, Warn, call_series
from tokdash.ingest.index import Index, SyncResult
from tokdash.model.activity import CallSeries
from tokdash.model.pricing import PriceBook
from tokdash.model.session import SessionSummary, summarize
from tokdash.model.store import SessionKey

if TYPE_CHECKING:  # annotations only: a report does not load the detail's models
    from tokdash.model.detail import SessionDetail
    from tokdash.model.history import Fact

RECORDS_CHUNK = 8
"""Recent sessions' records are read this many at a time (newest first)."""
LOOK_SECONDS = 5.0
"""How often a live feed looks at every known file (a watcher reports no deletion)."""



class IndexFeed:
    """The persistent index, used from one thread: first look, syncs, series and details.

    Args:
        roots: Every agent's roots (one index covers them all, as for reports).
        prices: Prices for series and details (summaries are priced by the index itself).
        agents: The agents shown (None: all); sessions of other agents are left out.
        data_dir: Where the index lives (default: the platform data dir).
        config_path: The config file whose price overrides the index applies.
        warn: Where the index's one-line notices go.
    """

    def __init__(self, roots: Roots, prices: PriceBook, *, agents: Iterable[str] | None = None,
                 data_dir: Path | None = None, config_path: Path | None = None, warn: Warn | None = None) -> None:
        self.roots = roots
        self.prices = prices
        self.agents = set(agents) if agents is not None else None
        self.index = Index.for_roots(roots, data_dir, config_path=config_path, warn=warn, live=True)
        """The index (its connection belongs to the thread that first uses it); it keeps the
        sessions its syncs loaded between syncs, so a live sync costs what is new."""
        self.result: SyncResult | None = None
        """The last sync's result (history facts of a run that could not save come from it)."""
        self.loaded: set[SessionKey] = set()
        """Recent sessions whose series the catalog holds: sent again whenever they change."""
        self._prints: dict[SessionKey, int | None] = {}
        """Every session's stored summary, fingerprinted as last looked at (None: changed by
        this feed's own sync since, so decoded again if a look ever compares it)."""
        self._last_activity: dict[SessionKey, float] = {}
        self._looked = 0.0
        """When known files were last all looked at (gone? unreadable?)."""
        self._archived: frozenset[SessionKey] | None = None
        """The archived sessions last sent."""

    def _mine(self, key: SessionKey) -> bool:
        return self.agents is None or key[0] in self.agents

    def close(self) -> None:
        """Close the connection (its last close folds the WAL into the database)."""
        self.index.close()

    def read_once(self, recent_since: float | None = None) -> FeedUpdate:
        """One sync of every transcript; every session's summary, and the call series of the
        sessions active since ``recent_since`` (the spend-rate rule needs them)."""
        self.result = result = self.index.sync(discover(self.roots), finalize=True, listed=True)
        summaries = {(s.agent, s.session_id): s for s in result.summaries if self._mine((s.agent, s.session_id))}
        series: dict[SessionKey, CallSeries] = {}
        if recent_since is not None:
            held = result.store.sessions if result.store is not None else {}
            for key, s in summaries.items():
                if (s.last_activity or 0.0) >= recent_since:
                    session = held.get(key) or self.index.load_session(*key)
                    if session is not None:
                        series[key] = call_series(session, self.prices)
        return FeedUpdate(summaries, series, archived=frozenset(k for k in result.archived if self._mine(k)),
                          complete=True, loaded=True, unreadable=result.unreadable)

    def start(self, emit: Emit, recent_since: float) -> None:
        """The stored sessions at once; then the new bytes; then the recent sessions' series."""
        started = time.perf_counter()
        first = self.first_look()
        if first is not None:
            first.note = "reading new transcript bytes…"
            emit(first)
        else:
            emit(FeedUpdate(note="building the index (first run: every transcript is read once)"))
        update = self.sync(None, recent_since, progress=lambda done, total: emit(FeedUpdate(progress=(done, total))))
        update.loaded, update.seconds = True, time.perf_counter() - started
        hot = self.hot(recent_since)
        update.pending = bool(hot)
        emit(update)
        for i in range(0, len(hot), RECORDS_CHUNK):
            emit(self.load(hot[i : i + RECORDS_CHUNK]))
        if hot:
            emit(FeedUpdate(pending=False))

    def refresh(self, files: list[tuple[str, Path]], emit: Emit, recent_since: float) -> None:
        """Sync ``files`` (what the watcher saw change); send what changed (whoever wrote it:
        this process or another tokdash). Other known files are looked at by :meth:`tick`."""
        emit(self.sync(files, recent_since, others=False))

    def tick(self, emit: Emit, recent_since: float) -> None:
        """Every ``LOOK_SECONDS``: whether known files went away (their sessions are archived)
        or cannot be read any more; a watcher reports no deletion. (Complete-but-unterminated
        lines need nothing: the index reads them as reports do.)"""
        now = time.monotonic()
        if now - self._looked < LOOK_SECONDS:
            return
        self._looked = now
        before = self._archived
        update = self.sync([], recent_since)
        if update.summaries or update.removed or update.series or update.archived != before:
            emit(update)

    def first_look(self) -> FeedUpdate | None:
        """Every session as stored, archived ones included; None when the index is new or unusable."""
        snap = self.index.sessions_snapshot()
        if snap is None:
            return None
        self._prints = snap.fingerprints
        self._note(snap.summaries)
        return FeedUpdate({k: s for k, s in snap.summaries.items() if self._mine(k)},
                          archived=frozenset(k for k in snap.archived if self._mine(k)), complete=True)

    def sync(self, files: list[tuple[str, Path]] | None, hot_since: float | None,
             progress: Callable[[int, int], None] | None = None, others: bool = True) -> FeedUpdate:
        """Read new bytes (of every transcript, or of ``files``) into the index; answer with what changed.

        When no other tokdash wrote the index since this feed's last sync, what changed is
        what this sync changed. Otherwise it is learnt from the index itself, by comparing
        stored summaries with the previous look, so a change saved first by another tokdash
        (a report, the status line) is seen too. Series come along for changed sessions the
        catalog holds, and for changed sessions active since ``hot_since``. ``others``: see
        ``Index.sync``.
        """
        found = discover(self.roots) if files is None else files
        result = self.index.sync(found, finalize=True, full=False, progress=progress, listed=files is None,
                                 others=others)
        self.result = result
        if not result.others_wrote and result.saved and self._prints:
            # Only this feed wrote: what changed is what this sync changed (no snapshot to read).
            summaries = {(s.agent, s.session_id): s for s in result.summaries
                         if (s.agent, s.session_id) in result.changed}
            removed = set(result.removed)
            prints = self._prints
            for key in summaries:
                prints[key] = None
            for key in removed:
                prints.pop(key, None)
            archived = result.archived
        else:
            snap = self.index.sessions_snapshot(self._prints)  # type: ignore[arg-type]
            if snap is not None:
                summaries = dict(snap.summaries)
                removed = set(self._prints) - set(snap.fingerprints)
                prints, archived = snap.fingerprints, snap.archived  # type: ignore[assignment]
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
        series: dict[SessionKey, CallSeries] = {}
        for key in want:
            if not self._mine(key):
                continue
            # This run's store holds every session it changed, complete: no need to read it back.
            s = held.get(key) if key in result.changed else None
            if s is None:
                s = self.index.load_session(*key)
            if s is not None:
                series[key] = call_series(s, self.prices)
        self.loaded |= series.keys()
        self._archived = frozenset(k for k in archived if self._mine(k))
        return FeedUpdate({k: v for k, v in summaries.items() if self._mine(k)}, series,
                          {k for k in removed if self._mine(k)}, self._archived, unreadable=result.unreadable)

    def hot(self, since: float) -> list[SessionKey]:
        """Sessions active since ``since`` whose series the catalog does not hold yet, newest first."""
        keys = [k for k, t in self._last_activity.items() if t >= since and k not in self.loaded and self._mine(k)]
        keys.sort(key=lambda k: -self._last_activity[k])
        return keys

    def load(self, keys: Iterable[SessionKey]) -> FeedUpdate:
        """The series of ``keys`` (a session the index does not hold is left out)."""
        series: dict[SessionKey, CallSeries] = {}
        for key in keys:
            s = self.index.load_session(*key)
            if s is not None:
                series[key] = call_series(s, self.prices)
        self.loaded |= series.keys()
        return FeedUpdate(series=series)

    def detail(self, key: SessionKey) -> SessionDetail | None:
        """The detail of ``key`` from its records in the index (archived sessions too)."""
        session = self.index.load_session(*key)
        if session is None:
            return None
        from tokdash.model.detail import build_detail  # the detail's models load with the first detail

        return build_detail(session, summarize(session, self.prices), self.prices)

    def facts(self, since: float | None, until: float | None) -> list[Fact]:
        """Usage per session, model and quarter hour in ``[since, until)``, grouped in SQL."""
        facts = self.index.facts(self.result or SyncResult([]), since, until)
        return facts if self.agents is None else [f for f in facts if f.agent in self.agents]

    def _note(self, summaries: dict[SessionKey, SessionSummary]) -> None:
        for key, s in summaries.items():
            self._last_activity[key] = s.last_activity or 0.0


