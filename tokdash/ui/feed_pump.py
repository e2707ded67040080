"""The app's traffic with its feed: updates in, a large one in slices; files the watcher reports
out; the unterminated tails, a session's detail, all on the feed's own thread.

A mixin of :class:`~tokdash.ui.app.TokdashApp` (which sets the attributes named below in its
``__init__``): the app stays about navigation and configuration, this file about the one
writer and its thread.
"""

from __future__ import annotations

import asyncio
import gc
from collections import deque
from collections.abc import Callable
from functools import partial
from pathlib import Path

from textual import work

from tokdash.ingest.catalog import Changes, SessionCatalog
from tokdash.ingest.discovery import Roots
from tokdash.ingest.feed_update import FeedUpdate
from tokdash.ingest.feeds import ResilientFeed
from tokdash.ingest.watcher import Watcher
from tokdash.model.fleet import RECENT_SECONDS
from tokdash.model.store import SessionKey
from tokdash.ui.feed_thread import FeedThread
from tokdash.ui.messages import CatalogChanged, FeedUpdated

SLICE_SESSIONS = 250
"""A feed update of more sessions (a first load of thousands) is taken in this many at a time,
one slice per turn of the UI loop, so keys are answered meanwhile."""
SLICE_PAUSE_SECONDS = 0.001
"""Between two slices the loop runs whatever is ready (keys, redraws) for at least this long."""
NO_ROOTS_RETRY_SECONDS = 5.0
"""With no folder to watch yet, look again this often (a first agent run creates one)."""


class FeedPump:
    """The feed's side of the app (see the module doc)."""

    roots: Roots
    clock: Callable[[], float]
    catalog: SessionCatalog
    feed: ResilientFeed
    _inline: bool
    """Every feed call runs on the UI thread (an app seeded synchronously)."""
    _pool: FeedThread | None
    _backlog: deque[FeedUpdate]
    _stop: asyncio.Event
    _ticking: bool
    _details_in_flight: set[SessionKey]
    _details_again: set[SessionKey]
    _data_arrived: Callable[[], None]
    """Sessions changed (plan windows and budgets are read again soon: ``limits_check``)."""

    def _on_feed(self, fn: Callable, *args, **kwargs):
        """Run ``fn`` on the feed's thread (inline for a synchronously seeded app); await the result."""
        loop = asyncio.get_running_loop()
        if self._inline:
            done = loop.create_future()
            try:
                done.set_result(fn(*args, **kwargs))
            except Exception as exc:  # noqa: BLE001 - handed to the awaiting worker
                done.set_exception(exc)
            return done
        assert self._pool is not None
        return loop.run_in_executor(self._pool, partial(fn, *args, **kwargs))

    def _emit(self, update: FeedUpdate) -> None:
        """Called on the feed's thread: hand the update to the UI thread (nothing once quitting)."""
        if self._inline:
            self._take(update)
        elif not self._stop.is_set():
            self.post_message(FeedUpdated(update))

    def _take(self, update: FeedUpdate) -> None:
        """Take in an update: at once when the app is not running (seeded synchronously), else
        after the updates before it, a large one in slices (see :meth:`_take_next`)."""
        if self._inline or not self.is_running:
            self._take_now(update)
            return
        self._backlog.append(update)
        if len(self._backlog) == 1:
            self._take_next()

    def _take_next(self) -> None:
        """Take in the next update of the backlog, or its first slice: the rest waits for the next
        turn of the loop (keys typed meanwhile are answered first)."""
        if not self._backlog or not self.is_running:
            return
        update = self._backlog.popleft()
        parts = self.catalog.slices(update, SLICE_SESSIONS)  # split now: it reads the catalog as it is
        self._backlog.extendleft(reversed(parts[1:]))
        self._take_now(parts[0])
        if len(parts[0].summaries) >= SLICE_SESSIONS:
            # A first load of thousands of sessions lives as long as the app: out of the cyclic
            # GC's reach, whose full passes over it froze every thread for 0.3-0.7 s at 50,000.
            gc.freeze()
        if self._backlog:
            # A timer, not call_later: the app's queue is not left for the event loop between
            # two queued messages, so keys would wait for the last slice.
            self.set_timer(SLICE_PAUSE_SECONDS, self._take_next, name="next slice")

    def _take_now(self, update: FeedUpdate) -> None:
        """Apply an update to the catalog (the single writer) and tell every screen."""
        changes = self.catalog.apply(update)
        if changes.sessions:
            self._data_arrived()
        if changes:
            self._announce(changes)
        for key in changes.sessions & self._details_in_flight:
            self._details_again.add(key)

    def _advance(self) -> None:
        """Rows that are due change by themselves (time passing)."""
        changes = self.catalog.advance()
        if changes:
            self._announce(changes)

    def _announce(self, changes: Changes) -> None:
        if not self.is_running:
            return
        for screen in self.screen_stack:
            screen.post_message(CatalogChanged(changes))

    def _recent(self) -> float:
        return self.clock() - RECENT_SECONDS

    @work(exclusive=True, group="feed", exit_on_error=False, name="feed loader")
    async def _start(self) -> None:
        """The initial load, on the feed's thread."""
        await self._on_feed(self.feed.start, self._emit, self._recent())

    async def refresh_files(self, files: list[tuple[str, Path]]) -> None:
        """Read what was appended to ``files`` (what the watcher does on a change)."""
        await self._on_feed(self.feed.refresh, files, self._emit, self._recent())

    def _check_tails(self) -> None:
        """Every ~2 s: let the feed read unterminated last lines that stopped growing."""
        if not self._ticking:
            self._ticking = True
            self._tail_tick()

    @work(group="tails", exit_on_error=False, name="tail reader")
    async def _tail_tick(self) -> None:
        try:
            await self._on_feed(self.feed.tick, self._emit, self._recent())
        finally:
            self._ticking = False

    @work(exclusive=True, group="watch", exit_on_error=False, name="file watcher")
    async def _watch(self) -> None:
        """Follow every root: the feed reads the files the watcher reports."""
        watcher = Watcher(self.roots)
        while not self._stop.is_set():
            if not await asyncio.to_thread(watcher.watch_dirs):
                try:
                    await asyncio.wait_for(self._stop.wait(), NO_ROOTS_RETRY_SECONDS)
                except TimeoutError:
                    pass
                continue
            async for changes in watcher.changes(self._stop):
                await self.refresh_files(changes)

    # --- what screens ask for -------------------------------------------------------

    def _want_detail(self, key: SessionKey) -> None:
        """A screen wants ``key``'s detail: fetch it on the feed's thread, one at a time per key."""
        if self._inline:
            self.catalog.set_detail(key, self.catalog.version(key), self.feed.detail(key))
            self._announce(Changes(details=frozenset({key})))
            return
        if key in self._details_in_flight:
            self._details_again.add(key)
            return
        self._details_in_flight.add(key)
        self._fetch_detail(key)

    @work(group="details", exit_on_error=False, name="detail")
    async def _fetch_detail(self, key: SessionKey) -> None:
        try:
            version = self.catalog.version(key)
            detail = await self._on_feed(self.feed.detail, key)
            self.catalog.set_detail(key, version, detail)
        finally:
            self._details_in_flight.discard(key)
        self._announce(Changes(details=frozenset({key})))
        if key in self._details_again:
            self._details_again.discard(key)
            if self.catalog.detail(key) is None:
                self._want_detail(key)
