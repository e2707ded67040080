"""The in-memory feed: every transcript read into a store on the feed's own thread.

Used with ``--no-cache``, for the demo, and whenever the index is unusable (see
:func:`tokdash.ingest.feeds.open_feed`). Files are read newest first, and what
changed is emitted every ~100 ms, so the newest sessions show at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from tokdash.ingest.collector import quiet_collector
from tokdash.ingest.discovery import Roots, discover
from tokdash.ingest.feed_update import Emit, FeedUpdate, call_series
from tokdash.ingest.loader import Loader
from tokdash.model.detail import SessionDetail, build_detail
from tokdash.model.history import Fact, bucket_facts, facts_from_sessions
from tokdash.model.pricing import PriceBook
from tokdash.model.records import Batch
from tokdash.model.session import SessionSummary, summarize
from tokdash.model.store import SessionKey

FIRST_POST_SECONDS = 0.03
"""The first batch of the initial load is posted this soon: the newest sessions show at once."""
POST_SECONDS = 0.1
"""Later batches of the initial load are posted this often."""



class MemoryFeed:
    """Every transcript read into an in-memory store, on the feed's thread.

    Args:
        roots: The folders to read (the agents shown).
        prices: Prices of every call.
        clock: Real time, for deciding whether a file's unterminated tail has settled.
    """

    def __init__(self, roots: Roots, prices: PriceBook, *, clock: Callable[[], float] | None = None) -> None:
        self.roots = roots
        self.prices = prices
        self.loader = Loader(roots)
        """The reader and the store (owned by the feed's thread)."""
        self._clock = clock or (lambda: time.time())
        self._summaries: dict[SessionKey, tuple[int, SessionSummary]] = {}
        self._facts: dict[SessionKey, tuple[int, list[Fact]]] = {}
        self._tails_tried: dict[str, tuple[int, float]] = {}

    @property
    def store(self):
        """Every session read so far."""
        return self.loader.store

    def _summary(self, key: SessionKey) -> SessionSummary:
        session = self.store.sessions[key]
        hit = self._summaries.get(key)
        if hit is not None and hit[0] == session.version:
            return hit[1]
        s = summarize(session, self.prices)
        self._summaries[key] = (session.version, s)
        return s

    def _update(self, keys: Iterable[SessionKey], recent_since: float | None) -> FeedUpdate:
        out = FeedUpdate(unreadable=self.loader.unreadable)
        for key in keys:
            session = self.store.sessions.get(key)
            if session is None:  # a withdrawal emptied it (its file now holds none of it)
                out.removed.add(key)
                self._summaries.pop(key, None)
                self._facts.pop(key, None)
                continue
            s = out.summaries[key] = self._summary(key)
            if recent_since is not None and (s.last_activity or 0.0) >= recent_since:
                out.series[key] = call_series(session, self.prices)
        return out

    def read_once(self, recent_since: float | None = None) -> FeedUpdate:
        """Read everything (forked workers for large trees) while the price table loads; call
        series come along for the sessions active since ``recent_since``."""
        with quiet_collector() as read:  # no collection over the records piling up (see collector)
            read.bytes = self.loader.load_all(finalize=True, jobs=None, warm=self.prices.warm).bytes_read
            update = self._update(list(self.store.sessions), recent_since)
        update.complete, update.archived, update.loaded = True, frozenset(), True
        return update

    def start(self, emit: Emit, recent_since: float) -> None:
        """Read every transcript, newest first, emitting what changed every ~100 ms."""
        from tokdash.ingest.watcher import TAIL_SETTLE_SECONDS  # asyncio: not on a report's path

        started = time.perf_counter()
        files = discover(self.roots)
        total = len(files)
        emit(FeedUpdate(complete=True, archived=frozenset(), progress=(0, total)))
        changed: set[SessionKey] = set()
        last_post = time.perf_counter()
        interval = FIRST_POST_SECONDS
        for done, (agent, path) in enumerate(files, 1):
            try:
                # A file that stopped changing a while ago is complete even without a final
                # newline; a live one's half-written last line is left for later.
                settled = self._clock() - os.stat(path).st_mtime >= TAIL_SETTLE_SECONDS
                batch = self.loader.read_file(agent, path, finalize=settled)
            except OSError:
                continue
            if batch is not None:
                changed |= self.loader.merge(agent, batch)
            now = time.perf_counter()
            if now - last_post >= interval:
                update = self._update(changed, recent_since)
                update.progress = (done, total)
                emit(update)
                changed = set()
                last_post, interval = now, POST_SECONDS
        update = self._update(changed, recent_since)
        update.progress, update.loaded, update.seconds = (total, total), True, time.perf_counter() - started
        emit(update)

    def _read(self, paths: Iterable[tuple[str, Path | str]], finalize: bool) -> set[SessionKey]:
        changed: set[SessionKey] = set()
        for agent, path in paths:
            try:
                batch: Batch | None = self.loader.read_file(agent, path, finalize=finalize)
            except OSError:
                continue  # deleted or unreadable between the event and the read
            if batch is not None:
                changed |= self.loader.merge(agent, batch)
        return changed

    def refresh(self, files: list[tuple[str, Path]], emit: Emit, recent_since: float) -> None:
        """Read the new bytes of ``files``."""
        changed = self._read(files, False)
        if changed:
            emit(self._update(changed, recent_since))

    def tick(self, emit: Emit, recent_since: float) -> None:
        """Read unterminated last lines that stopped growing (finalize): a copied transcript
        without its final newline is complete. A tail that did not decode is retried only
        once it changes."""
        from tokdash.ingest.watcher import settled_tails

        fresh: list[tuple[str, str]] = []
        for path in settled_tails(self.loader.reader, self._clock()):
            st = self.loader.reader.files[path]
            sig = (st.size, st.mtime)
            if self._tails_tried.get(path) != sig:
                self._tails_tried[path] = sig
                fresh.append((st.source.name, path))
        if fresh:
            changed = self._read(fresh, True)
            if changed:
                emit(self._update(changed, recent_since))

    def detail(self, key: SessionKey) -> SessionDetail | None:
        """The detail of ``key`` from the store."""
        session = self.store.sessions.get(key)
        if session is None:
            return None
        return build_detail(session, self._summary(key), self.prices)

    def facts(self, since: float | None, until: float | None) -> list[Fact]:
        """History facts, re-derived only for sessions that changed since the last call."""
        out: list[Fact] = []
        for key, session in self.store.sessions.items():
            hit = self._facts.get(key)
            if hit is None or hit[0] != session.version:
                hit = self._facts[key] = (session.version, bucket_facts(facts_from_sessions([session], self.prices)))
            out.extend(f for f in hit[1] if (since is None or (f.ts > 0 and f.ts >= since))
                       and (until is None or (f.ts > 0 and f.ts < until)))
        return out

    def close(self) -> None:
        """Nothing is held open between reads."""


