"""The serve loop: the dashboard's feed and catalog, live, without Textual.

Threads, as in the dashboard (``tokdash/ui/app.py``):

- the **feed** (the index, or memory when the index is unusable: ``open_feed``)
  runs every call on ONE worker thread of its own (:class:`FeedWorker`): the initial
  load, then the files the watcher reports, then, every ~2 s, unterminated tails
  that settled (memory only);
- the **loop thread** (asyncio) owns the :class:`SessionCatalog`: it applies each
  update, lets the fleet re-derive statuses once a second, and after a change
  publishes a new immutable :class:`Snapshot` (coalesced, at most every
  :data:`COALESCE_SECONDS`);
- scrapes (the HTTP server's threads) and OTLP pushes (the SDK's thread) only read
  the last snapshot: they never touch the catalog or the feed.

No call series are loaded (``recent_since`` is infinite): burn rates and the
header's windows are the dashboard's; a status needs only the summary.
"""

from __future__ import annotations

import asyncio
import math
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from tokdash.ingest.catalog import SessionCatalog
from tokdash.ingest.discovery import Roots
from tokdash.ingest.feed_update import FeedUpdate, Warn
from tokdash.ingest.feeds import open_feed
from tokdash.ingest.watcher import Watcher
from tokdash.model.pricing import PriceBook
from tokdash.serve.gauges import GAUGE_PROVIDERS, GaugeProvider, collect
from tokdash.serve.labels import LabelPolicy
from tokdash.serve.totals import CounterValues, Counters, Snapshot, status_counts

NO_SERIES = math.inf
"""``recent_since`` for the feed: no session is recent enough to need its call series."""
COALESCE_SECONDS = 0.2
"""Changes are folded into a new snapshot at most this often (a burst of appends folds once)."""
ROWS_TICK_SECONDS = 1.0
"""How often statuses that are due (working -> idle -> done) are re-derived."""
TAIL_CHECK_SECONDS = 2.0
"""How often the feed reads unterminated last lines that stopped growing (memory feed)."""
NO_ROOTS_RETRY_SECONDS = 5.0
"""With no folder to watch yet, look again this often (a first agent run creates one)."""
CLOSE_SECONDS = 5.0
"""At a stop, how long to wait for the feed's thread (a first index build may still run)."""
LIMITS_SECONDS = 30.0
"""How often plan windows and budgets are read again for their gauges."""


class SnapshotBox:
    """The last published snapshot; read from any thread (a reference swap is atomic)."""

    def __init__(self, machine: str) -> None:
        self.value = Snapshot(machine)

    def get(self) -> Snapshot:
        """The last snapshot."""
        return self.value


class FeedWorker:
    """The feed's one thread: calls run in the order they were asked for, one at a time.

    A daemon thread, so a stop during a long first index build does not wait for it:
    the index is transactional, and what was not saved is read again next time.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="tokdash-feed", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, args, loop, future = job
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting side
                if loop is not None:
                    loop.call_soon_threadsafe(_settle, future, None, exc)
            else:
                if loop is not None:
                    loop.call_soon_threadsafe(_settle, future, result, None)

    def call(self, fn: Callable, *args) -> asyncio.Future:
        """Run ``fn(*args)`` on the feed's thread; await the result on the running loop."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((fn, args, loop, future))
        return future

    def stop(self, fn: Callable[[], object], timeout: float) -> bool:
        """Run ``fn`` last (closing the feed), then end; False when not done within ``timeout``."""
        self._jobs.put((fn, (), None, None))
        self._jobs.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()


def _settle(future: asyncio.Future, result, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is None:
        future.set_result(result)
    else:
        future.set_exception(exc)


class Serve:
    """The live state behind the metrics: feed, catalog, counters, and the published snapshot.

    Args:
        roots: The folders read and watched (absolute paths).
        prices: The price book (the report's: bundled table plus the config's overrides).
        box: Where snapshots are published.
        policy: Label values (projects kept, hashed or dropped).
        cache: Over the persistent index (False: memory, as ``--no-cache``).
        index_roots: What the index covers (every agent's roots, as for reports).
        config_path: The config file whose price overrides the index applies.
        warn: One-line notices (any thread).
        providers: Extra gauges (default: :data:`~tokdash.serve.gauges.GAUGE_PROVIDERS`).
        data_dir: Where the index lives (default: the platform data dir).
    """

    def __init__(self, roots: Roots, prices: PriceBook, box: SnapshotBox, policy: LabelPolicy, *,
                 cache: bool = True, index_roots: Roots | None = None, config_path: Path | None = None,
                 warn: Warn, providers: Iterable[GaugeProvider] | None = None, data_dir: Path | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.roots = roots
        self.box = box
        self.policy = policy
        self.warn = warn
        self.clock = clock
        self.providers = GAUGE_PROVIDERS if providers is None else list(providers)
        self.catalog = SessionCatalog(clock=lambda: self.clock(), looked_in=roots.describe(), problems=roots.problems)
        """The state the metrics are derived from; written on the loop thread only."""
        self.feed = open_feed(roots, prices, cache=cache, index_roots=index_roots, data_dir=data_dir,
                              config_path=config_path, warn=warn, live=True)
        self.counters = Counters(policy)
        self.failed: BaseException | None = None
        """Why the initial load failed, if it did (the loop then stops)."""
        self._values = CounterValues()
        self._changed_at: float | None = None
        self._dirty = False
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    # --- the catalog's thread -----------------------------------------------------------------

    def take(self, update: FeedUpdate) -> None:
        """Apply one update from the feed (called on the loop thread)."""
        changes = self.catalog.apply(update)
        if changes.sessions:
            self._dirty = True
        if changes:
            self._schedule()

    def _schedule(self) -> None:
        if self._scheduled or self._loop is None:
            self.publish()
            return
        self._scheduled = True
        self._loop.call_later(COALESCE_SECONDS, self.publish)

    def publish(self) -> None:
        """Fold what changed into a new snapshot and swap it in."""
        self._scheduled = False
        if self._dirty:
            self._dirty = False
            self._values = self.counters.fold({k: self.catalog.summary(k) for k in self.catalog.keys()})
            self._changed_at = self.clock()
        now = self.clock()
        old = self.box.value
        new = Snapshot(old.machine, self._values, status_counts(self.catalog.fleet.rows.values(), self.policy),
                       collect(self.providers, self.catalog, now, self.warn), not self.catalog.loading,
                       self._changed_at)
        if new != old:  # an unchanged snapshot keeps its identity: scrapes reuse its rendering
            self.box.value = new

    # --- the loop -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Load, follow the files and keep the snapshot current until ``stop`` is set."""
        loop = self._loop = asyncio.get_running_loop()
        self._stop = stop
        worker = FeedWorker()

        def emit(update: FeedUpdate) -> None:  # on the feed's thread
            loop.call_soon_threadsafe(self.take, update)

        load = worker.call(self.feed.start, emit, NO_SERIES)
        load.add_done_callback(self._loaded)
        tasks = [asyncio.create_task(self._watch(worker, emit, stop)),
                 asyncio.create_task(self._advance(stop)),
                 asyncio.create_task(self._tails(worker, emit, stop)),
                 asyncio.create_task(self._limits(worker, stop))]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if not await asyncio.to_thread(worker.stop, self.feed.close, CLOSE_SECONDS):
                self.warn("tokdash serve: stopped during the initial load (the index keeps what it saved)")

    def _loaded(self, future: asyncio.Future) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            self.failed = exc
            self.warn(f"tokdash serve: the initial load failed: {exc!r}")
            if self._stop is not None:
                self._stop.set()

    async def _watch(self, worker: FeedWorker, emit, stop: asyncio.Event) -> None:
        watcher = Watcher(self.roots)
        while not stop.is_set():
            if not await asyncio.to_thread(watcher.watch_dirs):
                await _wait(stop, NO_ROOTS_RETRY_SECONDS)
                continue
            async for files in watcher.changes(stop):
                try:
                    await worker.call(self.feed.refresh, files, emit, NO_SERIES)
                except Exception as exc:  # noqa: BLE001 - a live server keeps going
                    self.warn(f"tokdash serve: reading changed files failed: {exc!r}")

    async def _advance(self, stop: asyncio.Event) -> None:
        while not await _wait(stop, ROWS_TICK_SECONDS):
            if self.catalog.advance() or self.providers:
                self._schedule()

    async def _limits(self, worker: FeedWorker, stop: asyncio.Event) -> None:
        """Plan windows and budgets into the catalog now and then (files and history read off
        the loop thread), for the gauge providers of ``tokdash.serve.limits``."""
        from tokdash.ingest.budget_watch import BudgetWatch
        from tokdash.model.budget import evaluate
        from tokdash.model.config import default_config_path

        watch = BudgetWatch(self.roots, default_config_path())
        while True:
            try:
                now = self.clock()
                since = watch.since(now)
                facts = await worker.call(self.feed.facts, since, now + 1) if since is not None else []
                windows = await asyncio.to_thread(watch.windows, now)
                projects = {k: self.catalog.summary(k).project for k in self.catalog.keys()}
                statuses = evaluate(watch.config, facts, now, watch.tz, projects=projects) if watch.config.active else []
                if self.catalog.set_limits(self.catalog.gauges, windows, self.catalog.notices, statuses):
                    self._schedule()
            except Exception as exc:  # noqa: BLE001 - a live server keeps going
                self.warn(f"tokdash serve: reading plan windows and budgets failed: {exc!r}")
            if await _wait(stop, LIMITS_SECONDS):
                return

    async def _tails(self, worker: FeedWorker, emit, stop: asyncio.Event) -> None:
        while not await _wait(stop, TAIL_CHECK_SECONDS):
            try:
                await worker.call(self.feed.tick, emit, NO_SERIES)
            except Exception as exc:  # noqa: BLE001 - a live server keeps going
                self.warn(f"tokdash serve: reading settled tails failed: {exc!r}")


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` or until ``stop``; True when stopped."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


def run_until_signal(serve: Serve) -> None:
    """Run ``serve`` until SIGTERM or SIGINT (or a failed initial load)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve.run(stop)

    asyncio.run(main())
